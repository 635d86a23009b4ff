"""A first day, in real Chromium at 1280 px and 375 px, in English and French: the import
preview and what follows it, the loads page an administrator lands on, the login page.

Each test loads a page once and checks several things at both widths; screenshots go to the
git-ignored tests/screenshots/ when PORTAL_TEST_SCREENSHOTS=1.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.models import User
from tests.browser.conftest import SAVE_SCREENSHOTS, SCREENSHOTS
from tests.browser.helpers import DESKTOP, HTML_LANG, LANGUAGES, PHD_LABEL, PHONE, log_in_as

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("language", list(LANGUAGES))]

SUBMIT = '[type="submit"]'
ROSTER_HEADER = (
    "faculty_email,name,email,program,institution,role,start_date,end_date,status,outcome"
)
BAD_ROSTER = (
    ROSTER_HEADER + "\n"
    ",Amara Okonkwo-Delacroix,amara.okonkwo-delacroix.with.a.long.address@example.org,PhD,"
    "Université de Montréal,co-supervisor,2025-09-01,2029-08-31,,\n"
    ",Wrong Role Person,,PhD,McGill University,supervisor-ish,2025-09-01,,,\n"
    ",Host Person,,Collaborating researcher,ETH Zurich,none,2025-01-06,,,\n"
)
GOOD_ROSTER = (
    ROSTER_HEADER + "\n"
    ",First Newcomer,,PhD,Université de Montréal,co-supervisor,2025-09-01,,,\n"
    ",Second Newcomer,,Master's Research,McGill University,co-supervisor,2025-09-01,,,\n"
    ",Third Newcomer,,Collaborating researcher,ETH Zurich,none,2025-01-06,,,\n"
)
WORDS = {
    "en": {
        "co": "Co-supervisor",
        "host": "Host (no supervision role)",
        "added": "Added 3 people to the group.",
        "over": "1 over the cap",
        "deactivated": "This account is deactivated.",
    },
    "fr": {
        "co": "Codirection",
        "host": "Accueil (sans rôle de direction)",
        "added": "3 personnes ajoutées au groupe.",
        "over": "1 au-delà du plafond",
        "deactivated": "Ce compte est désactivé.",
    },
}


def _upload(page, site, roster: str) -> None:
    page.goto(f"{site.url}/group/import")
    page.locator('input[type="file"][name="file"]').set_input_files(
        files=[{"name": "roster.csv", "mimeType": "text/csv", "buffer": roster.encode()}]
    )
    page.locator(f'form[enctype="multipart/form-data"] {SUBMIT}').click()
    page.wait_for_selector("table.import-table")


def _fits(page, selector: str) -> bool:
    """Whether the element shows all its content without scrolling sideways."""
    return page.locator(selector).first.evaluate("e => e.scrollWidth <= e.clientWidth + 1")


def _inside_the_window(locator, width: int) -> bool:
    box = locator.bounding_box()
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width + 1


def test_import_preview_then_the_group_with_the_new_rows(
    demo_site, open_page, screenshot, language
):
    words = WORDS[language]
    page = open_page(language)
    log_in_as(page, demo_site, demo_site.faculty_email)

    # The demo faculty is near a cap, not over: the first "Add" saves without a cap block.
    page.goto(f"{demo_site.url}/group/members/new")
    page.locator("#full_name").fill(f"First Addition {language}")
    page.locator("#program").select_option(label=PHD_LABEL[language])
    page.locator("#institution").fill("McGill University")
    page.locator("#role").select_option("principal")
    page.locator("#start_date").fill("2025-09-02")
    page.locator(f"form.member-form {SUBMIT}").click()
    page.wait_for_url(re.compile(r"/group$"))

    _upload(page, demo_site, BAD_ROSTER)
    expect(page.locator("html")).to_have_attribute("lang", HTML_LANG[language])
    table = page.locator("table.import-table")
    headers = table.locator("thead th").count()
    rows = table.locator("tbody tr.import-row")
    expect(rows).to_have_count(3)
    for index in range(3):  # every value under its own header: no extra cell in any row
        expect(rows.nth(index).locator("td")).to_have_count(headers)
    problem = table.locator("tbody tr.import-row__problems td")
    expect(problem).to_have_count(1)
    expect(problem).to_have_attribute("colspan", str(headers))
    expect(problem).to_contain_text("supervisor-ish")
    expect(rows.nth(0)).to_contain_text(words["co"])  # roles in words, in the page's language
    expect(rows.nth(2)).to_contain_text(words["host"])
    assert _fits(page, ".import-rows"), "the rows table is cut at 1280 px"
    screenshot(page, "preview-desktop")

    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert _inside_the_window(problem, PHONE["width"]), "the row's problem is off-screen"
    assert _inside_the_window(page.locator(".import-problems li").first, PHONE["width"])
    expect(problem).to_be_visible()
    screenshot(page, "preview-phone")
    page.set_viewport_size(DESKTOP)

    _upload(page, demo_site, GOOD_ROSTER)
    page.locator("#accept_over_cap").check()  # the import takes her over a cap: said, and asked
    page.locator(f'form[action$="/group/import/confirm"] {SUBMIT}').click()
    page.wait_for_url(re.compile(r"/group$"))
    expect(page.locator(".flash--success")).to_have_text(words["added"])
    imported = page.locator("table.data tbody tr.imported")
    expect(imported).to_have_count(3)
    for name in ("First Newcomer", "Second Newcomer", "Third Newcomer"):
        expect(imported.filter(has_text=name)).to_have_count(1)
    screenshot(page, "imported-desktop")
    if SAVE_SCREENSHOTS:  # a close-up of the first section with imported rows, for review
        imported.first.locator("xpath=ancestor::div[1]").screenshot(
            path=str(SCREENSHOTS / f"first-day-imported-rows-{language}.png")
        )
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "imported-phone")


def test_an_administrator_lands_on_loads_that_lead_with_the_answer(
    demo_site, open_page, screenshot, language
):
    words = WORDS[language]
    page = open_page(language)
    log_in_as(page, demo_site, demo_site.admin_email)
    page.wait_for_url(re.compile(r"/admin/loads$"))  # no group of their own: the loads page
    expect(page.locator("html")).to_have_attribute("lang", HTML_LANG[language])

    # The answer first: the colleague over the principal cap, by how much; the faculty near.
    notices = page.locator(".cap-answer__item")
    expect(notices).to_have_count(2)
    expect(notices.nth(0)).to_contain_text("Prof. Marc-André O'Neill")
    expect(notices.nth(0)).to_contain_text(words["over"])
    expect(notices.nth(1)).to_contain_text("Prof. Hélène Tremblay-Okafor")
    expect(page.locator(".cap-answer__help dd").first).to_be_hidden()  # details on demand
    page.locator(".cap-answer__help summary").click()
    expect(page.locator(".cap-answer__help dd").nth(1)).to_contain_text("100")
    # No hint about a format next to the browser's own date picker.
    expect(page.locator("#as_of")).to_have_attribute("type", "date")
    expect(page.locator("form.filters")).not_to_contain_text("YYYY")

    # The primary columns fit 1280 px; the chart compares each load with its cap.
    assert _fits(page, ".loads-wrap"), "the loads table scrolls sideways at 1280 px"
    status_header = page.locator("table.loads thead th").nth(8)
    assert _inside_the_window(status_header, DESKTOP["width"])
    chart = page.locator("figure.cap-chart")
    expect(chart.locator(".cap-chart__row--over")).to_have_count(1)
    expect(chart.locator(".cap-chart__row--over")).to_contain_text("7")
    screenshot(page, "loads-desktop")

    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert _fits(page, "figure.cap-chart"), "the chart is cut at 375 px"
    for index in range(chart.locator(".cap-chart__bar").count()):
        assert _inside_the_window(chart.locator(".cap-chart__bar").nth(index), PHONE["width"])
    screenshot(page, "loads-phone")
    page.set_viewport_size(DESKTOP)

    # Details on demand: the roles' columns, and back.
    page.locator('.column-groups a[href*="show=roles"]').click()
    page.wait_for_url(re.compile(r"show=roles"))
    expect(page.locator("table.loads thead th")).to_have_count(12)
    screenshot(page, "loads-roles")

    # The administrator's own "My group" does not contradict itself.
    page.goto(f"{demo_site.url}/group")
    expect(page.locator("#faculty-find")).to_be_visible()
    expect(page.locator("main p").filter(has_text=re.compile("loads|charges"))).to_have_count(1)
    screenshot(page, "admin-group")


def test_the_first_visit_and_a_deactivated_account(app, demo_site, open_page, screenshot, language):
    with app.app_context():
        db.session.query(User).filter(User.email == demo_site.second_email).update(
            {"is_active": False}
        )
        db.session.commit()
        db.session.remove()
    page = open_page(language)
    page.goto(f"{demo_site.url}/")
    page.wait_for_url(re.compile(r"/login$"))
    expect(page.locator(".flash")).to_have_count(0)  # no "please log in" as if it were an error
    icon = page.request.get(f"{demo_site.url}/favicon.ico")
    assert icon.status == 200 and icon.headers["content-type"] == "image/vnd.microsoft.icon"

    page.locator("#email").fill(demo_site.second_email)
    page.locator("#password").fill("not the password")
    page.locator(f'form[action$="/login"] {SUBMIT}').click()
    expect(page.locator("#password-error")).to_be_visible()
    expect(page.locator("#password-error")).not_to_contain_text(WORDS[language]["deactivated"])
    page.locator("#password").fill(demo_site.passwords[demo_site.second_email])
    page.locator(f'form[action$="/login"] {SUBMIT}').click()
    expect(page.locator("#password-error")).to_contain_text(WORDS[language]["deactivated"])
    screenshot(page, "deactivated-desktop")
    page.set_viewport_size(PHONE)
    assert _inside_the_window(page.locator("#password-error"), PHONE["width"])
    screenshot(page, "deactivated-phone")
