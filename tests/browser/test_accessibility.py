"""axe-core in real Chromium on every main page, in English and in French; page structure checks.

axe-core comes with the axe-playwright-python package (no CDN). A page passes when axe reports
no violation of impact "serious" or "critical". The pages hold the demo data (a group of 30,
alumni, a published profile), loaded once per module and backend and never changed here.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.browser.helpers import DESKTOP, HTML_LANG, LANGUAGES, PHONE, DemoSite, log_in_as

pytestmark = pytest.mark.slow

SMALL_ROSTER = (
    "faculty_email,name,email,program,institution,role,start_date,end_date,status,outcome\n"
    ",Éloïse Brunet-Côté,eloise.brunet@example.org,PhD,Université de Montréal,principal,"
    "2025-09-01,,,\n"
    ",Nikolaj Ødegård,,Master's Research,McGill University,co-supervisor,2025-01-06,,,\n"
)
BLOCKING_IMPACTS = {"serious", "critical"}


@dataclass(frozen=True)
class MainPage:
    name: str
    who: str | None  # "faculty", "admin" or None (not logged in)
    path: str  # may hold {member_id}


MAIN_PAGES = [
    MainPage("login", None, "/login"),
    MainPage("group", "faculty", "/group"),
    MainPage("alumni", "faculty", "/group/alumni"),
    MainPage("member-new", "faculty", "/group/members/new"),
    MainPage("member-edit", "faculty", "/group/members/{member_id}/edit"),
    MainPage("member-shared", "second", "/group/members/{shared_id}/edit"),
    MainPage("requests", "faculty", "/group/requests"),
    MainPage("requests-admin", "admin", "/group/requests"),
    MainPage("import", "faculty", "/group/import"),
    MainPage("import-preview", "faculty", "/group/import"),  # after uploading SMALL_ROSTER
    MainPage("profile", "faculty", "/profile"),
    MainPage("publications", "faculty", "/profile/publications"),
    MainPage("loads", "admin", "/admin/loads"),
    MainPage("accounts", "admin", "/admin/accounts"),
    MainPage("programs", "admin", "/admin/programs"),
    MainPage("institutions", "admin", "/admin/institutions"),
    MainPage("member-milestones", "faculty", "/group/members/{member_id}/milestones"),
    MainPage("open-milestones", "faculty", "/group/milestones"),
    MainPage("progress", "admin", "/admin/progress"),
    MainPage("milestone-plans", "admin", "/admin/milestone-plans"),
    MainPage("reauthenticate", "admin", "/reauthenticate?next=/admin/accounts"),
    MainPage("public-profile", None, "/people/helene-tremblay-okafor"),
    MainPage("not-found", "faculty", "/group/no-such-page"),
    MainPage("api-reference", None, "/api/docs"),
]
# Violations that need a template change (see the report); the lead removes a marker once fixed.
PHONE_NEEDS_TEMPLATE_FIX: dict[str, str] = {}


def page_params(needs_template_fix: dict[str, str] | None = None) -> list:
    needs_template_fix = needs_template_fix or {}
    params = []
    for main_page in MAIN_PAGES:
        for language in LANGUAGES:
            marks = []
            if main_page.name in needs_template_fix:
                marks.append(
                    pytest.mark.xfail(strict=True, reason=needs_template_fix[main_page.name])
                )
            params.append(
                pytest.param(main_page, language, id=f"{main_page.name}-{language}", marks=marks)
            )
    return params


@pytest.fixture(scope="module")
def axe():
    return Axe()


@pytest.fixture(scope="module")
def logged_in(browser, shared_demo_site):
    """logged_in(who, language): a page in a context logged in once per module, kept open."""
    pages = {}

    def get(who: str | None, language: str):
        key = (who, language)
        if key not in pages:
            context = browser.new_context(locale=LANGUAGES[language], viewport=DESKTOP)
            context.set_default_timeout(15_000)
            page = context.new_page()
            if who:
                site = shared_demo_site
                email = {
                    "faculty": site.faculty_email,
                    "second": site.second_email,
                    "admin": site.admin_email,
                }[who]
                log_in_as(page, site, email)
            pages[key] = page
        return pages[key]

    yield get
    for page in pages.values():
        page.context.close()


def visit(page, site: DemoSite, main_page: MainPage) -> None:
    """Open `main_page` (for the preview: upload the small roster first)."""
    response = page.goto(
        site.url + main_page.path.format(member_id=site.member_id, shared_id=site.shared_id)
    )
    if main_page.name == "not-found":
        assert response.status == 404
    else:
        assert response.ok, f"{main_page.path}: HTTP {response.status}"
    if main_page.name == "import-preview":
        page.locator('input[type="file"][name="file"]').set_input_files(
            files=[
                {
                    "name": "small-roster.csv",
                    "mimeType": "text/csv",
                    "buffer": SMALL_ROSTER.encode("utf-8"),
                }
            ]
        )
        page.locator('form[enctype="multipart/form-data"] [type="submit"]').click()
        page.wait_for_selector('form[action$="/group/import/confirm"]')


def describe(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"][:5]:
            lines.append(f"    {' '.join(node['target'])}: {node['html'][:160]}")
            summary = node.get("failureSummary", "").replace("\n", " ")
            lines.append(f"      {summary[:300]}")
    return "\n".join(lines)


@contextmanager
def viewport(page, size: dict):
    """Resize the (shared) page for the duration of a check, then back to the desktop."""
    page.set_viewport_size(size)
    try:
        yield page
    finally:
        page.set_viewport_size(DESKTOP)


def blocking_violations(axe, page) -> list[dict]:
    results = axe.run(page)
    return [v for v in results.response["violations"] if v["impact"] in BLOCKING_IMPACTS]


@pytest.mark.parametrize(("main_page", "language"), page_params())
def test_no_serious_or_critical_axe_violation(
    axe, logged_in, shared_demo_site, screenshot, main_page, language
):
    page = logged_in(main_page.who, language)
    visit(page, shared_demo_site, main_page)
    assert page.locator("html").get_attribute("lang") == HTML_LANG[language]
    blocking = blocking_violations(axe, page)
    screenshot(page, "desktop")
    assert not blocking, "\n" + describe(blocking)


# One visit at 375 px per page and language: the structure checks in both languages, and axe in
# French only. The pages' structure and styles are the same in both languages (axe checks both at
# desktop width above), and French labels are the longer ones, the harder case for touch targets
# and wrapping.
@pytest.mark.parametrize(("main_page", "language"), page_params(PHONE_NEEDS_TEMPLATE_FIX))
def test_on_a_phone_one_h1_landmarks_table_headers_it_fits_and_axe_passes(
    axe, logged_in, shared_demo_site, screenshot, main_page, language
):
    """One h1, a main landmark, th headers; at 375px only tables and the chart scroll sideways;
    no serious or critical axe violation (French)."""
    page = logged_in(main_page.who, language)
    with viewport(page, PHONE):
        visit(page, shared_demo_site, main_page)
        assert page.locator("h1").count() == 1
        assert page.locator("main, [role=main]").count() == 1
        assert page.locator("header, [role=banner]").count() >= 1
        tables = page.locator("table")
        for index in range(tables.count()):
            table = tables.nth(index)
            assert table.locator("thead th[scope=col]").count(), (
                f"table {index} has no column headers (thead th scope=col)"
            )
            assert table.locator("tbody td, tbody th").count(), f"table {index} is empty"
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        if language == "fr":
            blocking = blocking_violations(axe, page)
            screenshot(page, "phone")
            assert not blocking, "\n" + describe(blocking)


@pytest.mark.parametrize("language", list(LANGUAGES))
@pytest.mark.parametrize(
    ("path", "who"),
    [
        pytest.param("/group", "faculty", id="group"),
        pytest.param("/group/alumni", "faculty", id="alumni"),
        pytest.param("/admin/loads", "admin", id="loads"),
    ],
)
def test_rosters_print_without_navigation_or_forms(
    logged_in, shared_demo_site, screenshot, path, who, language
):
    page = logged_in(who, language)
    page.goto(shared_demo_site.url + path)
    page.emulate_media(media="print")
    try:
        for hidden in (
            ".site-header",
            "form",
            ".tabs",
            ".roster-links",
            ".admin-nav",
            "td.actions",
        ):
            for index in range(page.locator(hidden).count()):
                expect(page.locator(hidden).nth(index)).to_be_hidden()
        expect(page.locator("h1")).to_be_visible()
        expect(page.locator("table.data thead th").first).to_be_visible()
        expect(page.locator("table.data tbody tr").first).to_be_visible()
        assert (
            page.evaluate("getComputedStyle(document.querySelector('table.data thead')).display")
            == "table-header-group"
        )
        screenshot(page, "print")
    finally:
        page.emulate_media(media="screen")
