"""Look and feel in real Chromium, at 1280 px and 375 px, in English and in French (issue 18).

Saves screenshots of the main pages under tests/screenshots/ (git-ignored, with
PORTAL_TEST_SCREENSHOTS=1) for review, and checks
what a person would notice: member tables on one column grid, Edit and Move to alumni in view
on a phone, shares shown, History near the top of the edit page, links not underlined where
their place says they are links, one primary action per page, a compact header on phones,
program names in the page's language. Then the destructive actions: each asks first, on a page
that says what will happen, and the owner undoes an archive.
"""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.browser.helpers import DESKTOP, LANGUAGES, PHD_LABEL, PHONE, DemoSite, log_in_as

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("language", list(LANGUAGES))]

MAIN_PAGES = {
    "login": (None, "/login"),
    "group": ("faculty", "/group"),
    "member-edit": ("faculty", "/group/members/{member_id}/edit"),
    "alumni": ("faculty", "/group/alumni"),
    "loads": ("admin", "/admin/loads"),
    "public-profile": (None, "/people/helene-tremblay-okafor"),
}
# Pages whose one main action is a filled (primary) button.
ONE_PRIMARY_ACTION = {"login", "group", "member-edit", "alumni"}


def assert_axe_clean(page) -> None:
    """No axe-core violation of impact serious or critical (as tests/browser/test_accessibility)."""
    violations = Axe().run(page).response["violations"]
    blocking = [v["id"] for v in violations if v["impact"] in {"serious", "critical"}]
    assert not blocking, f"{page.url}: {blocking}"


def _email(site: DemoSite, who: str) -> str:
    return {"faculty": site.faculty_email, "admin": site.admin_email}[who]


def _boxes(page, selector: str) -> list[dict]:
    return page.eval_on_selector_all(
        selector,
        "nodes => nodes.filter(n => n.offsetParent !== null).map(n => {"
        " const r = n.getBoundingClientRect();"
        " return {left: r.left, right: r.right, top: r.top, width: r.width}; })",
    )


def _decoration(page, selector: str) -> str:
    return page.eval_on_selector(selector, "n => getComputedStyle(n).textDecorationLine")


def check_group_page(page, width: int, language: str) -> None:
    tables = page.locator("table.data--members:not(.incoming)")
    assert tables.count() >= 4, "the demo group fills the sections of /group"
    # Every section's columns are as wide as every other's (one grid for the five tables).
    widths = [
        page.eval_on_selector_all(
            f"table.data--members:not(.incoming) >> nth={index} >> thead th",
            "cells => cells.map(c => Math.round(c.getBoundingClientRect().width))",
        )
        for index in range(tables.count())
    ]
    assert all(row == widths[0] for row in widths), widths
    # Edit and Move to alumni of every row are on screen, without scrolling sideways.
    rows = page.locator("table.data--members tbody tr").count()
    edits = _boxes(page, 'table.data--members .row-actions a[href$="/edit"]')
    moves = _boxes(page, 'table.data--members .row-actions a[href$="/move-to-alumni"]')
    assert len(edits) == rows and len(moves) >= rows // 2  # shared records: Edit only
    assert all(box["left"] >= 0 and box["right"] <= width for box in edits + moves), edits[:3]
    # The viewer's share is on every row.
    shares = page.locator("table.data--members tbody td.share")
    assert shares.count() == page.locator("table.data--members tbody tr").count()
    expect(shares.first).to_contain_text("%")
    # Program names in the page's language; links in tables are not underlined.
    expect(tables.first.locator("tbody tr").first).to_contain_text(PHD_LABEL[language])
    assert _decoration(page, "table.data--members .row-actions a") == "none"
    assert _decoration(page, "nav.tabs a") == "none"


def check_edit_page(page) -> None:
    history = page.locator('.page-links a[href="#history"]')
    expect(history).to_be_visible()
    assert history.bounding_box()["y"] < 400, "History is reachable near the top"
    history.click()
    expect(page.locator("#history-heading")).to_be_in_viewport()


def test_main_pages_look_finished_at_both_widths(browser, shared_demo_site, screenshot, language):
    site = shared_demo_site
    contexts = {}
    try:
        for who in ("faculty", "admin", None):
            context = browser.new_context(locale=LANGUAGES[language], viewport=DESKTOP)
            context.set_default_timeout(15_000)
            page = context.new_page()
            if who:
                log_in_as(page, site, _email(site, who))
            contexts[who] = page
        for size_name, size in (("desktop", DESKTOP), ("phone", PHONE)):
            for name, (who, path) in MAIN_PAGES.items():
                page = contexts[who]
                page.set_viewport_size(size)
                response = page.goto(site.url + path.format(member_id=site.member_id))
                assert response.ok, f"{path}: HTTP {response.status}"
                screenshot(page, f"{name}-{size_name}")
                assert page.evaluate("document.documentElement.scrollWidth") <= size["width"], (
                    f"{name} is wider than the {size_name} window"
                )
                if name in ONE_PRIMARY_ACTION:
                    primaries = _boxes(page, "main .button--primary")
                    assert len(primaries) == 1, f"{name}: {len(primaries)} primary actions"
                header = page.locator(".site-header").bounding_box()
                if size is PHONE:
                    assert header["height"] <= 100, f"{name}: header {header['height']} px"
                if name == "group":
                    check_group_page(page, size["width"], language)
                if name == "member-edit":
                    check_edit_page(page)
    finally:
        for page in contexts.values():
            page.context.close()


def test_archive_asks_first_and_the_owner_undoes_it(demo_site, open_page, screenshot, language):
    page = open_page(language, PHONE)
    log_in_as(page, demo_site, demo_site.faculty_email)
    edit = f"{demo_site.url}/group/members/{demo_site.member_id}/edit"
    page.goto(edit)
    name = page.locator("#full_name").input_value()
    page.locator(f'a[href$="/members/{demo_site.member_id}/archive"]').click()
    # The confirmation page says what will happen; its one button is within reach on a phone.
    expect(page.locator("h1")).to_contain_text(name)
    expect(page.locator("ul.consequences li")).to_have_count(3)
    assert_axe_clean(page)
    screenshot(page, "archive-confirm")
    confirm = page.locator("form.confirm-actions [type=submit]")
    box = confirm.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    confirm.click()
    page.wait_for_url(re.compile(r"/group/archived$"))
    row = page.locator("table.data tbody tr").filter(has_text=name)
    expect(row).to_have_count(1)
    assert_axe_clean(page)
    screenshot(page, "archived")
    page.goto(f"{demo_site.url}/group")
    expect(page.locator("table.data tbody tr").filter(has_text=name)).to_have_count(0)

    # Undo: the owner restores it; it is back in the group, and the history says so in words.
    page.goto(f"{demo_site.url}/group/archived")
    row.locator('form[action$="/restore-archived"] [type=submit]').click()
    page.wait_for_url(re.compile(r"/group/archived$"))
    page.goto(f"{demo_site.url}/group")
    expect(page.locator("table.data tbody tr").filter(has_text=name)).to_have_count(1)
    page.goto(edit)
    history = page.locator("#history")
    expect(history.locator("li").first).not_to_contain_text("→")
    expect(history.locator("li").first).not_to_contain_text("True")
    screenshot(page, "history")


def test_deactivation_and_merge_ask_first(demo_site, open_page, screenshot, language):
    page = open_page(language)
    log_in_as(page, demo_site, demo_site.admin_email)
    page.goto(f"{demo_site.url}/admin/accounts")
    page.locator('a[href$="/deactivate"]').first.click()
    expect(page.locator("ul.consequences li")).to_have_count(3)
    assert_axe_clean(page)
    screenshot(page, "deactivate-confirm")
    page.locator("form.confirm-actions a.button").click()  # Cancel: nothing changed
    page.wait_for_url(re.compile(r"/admin/accounts$"))
    expect(page.locator('a[href$="/deactivate"]').first).to_be_visible()

    page.goto(f"{demo_site.url}/admin/institutions")
    options = page.locator("#duplicate_id option").all_inner_texts()
    page.locator("#duplicate_id").select_option(index=1)
    page.locator("#keep_id").select_option(index=2)
    page.locator('form[action$="/merge/confirm"] [type=submit]').click()
    expect(page.locator("ul.consequences li")).to_have_count(3)
    assert_axe_clean(page)
    screenshot(page, "merge-confirm")
    page.locator("form.confirm-actions a.button").click()
    page.wait_for_url(re.compile(r"/admin/institutions$"))
    assert page.locator("#duplicate_id option").all_inner_texts() == options
