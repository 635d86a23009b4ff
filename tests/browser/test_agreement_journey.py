"""Co-supervision is agreed (issue 12), in real Chromium, in English and in French.

Prof. Tremblay-Okafor (A) proposes Prof. O'Neill (B) as co-supervisor of a new student. B sees
the request (and its count in the navigation), confirms it, and the student appears in B's
group and in B's load on the administrators' loads page. A second proposal is declined with a
message, and A sees why on the requests page. Elements are found by ids, names, hrefs and data
attributes, never by English text, so the same steps run on the French pages.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.admin_helpers import html_table
from tests.browser.helpers import HTML_LANG, LANGUAGES, PHD_LABEL, log_in_as
from tests.browser.test_journeys import group_row, submit_member_form, user_id

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("language", list(LANGUAGES))]

SUBMIT = '[type="submit"]'
FIRST = {"en": "Ingrid Følstad-Ouimet", "fr": "Maëlle Brisebois-N'Diaye"}
SECOND = {"en": "Declan Ó Briain", "fr": "Éléonore Laflèche"}
REASON = {"en": "No funding this year", "fr": "Pas de financement cette année"}
B_NAME = "Prof. Marc-André O'Neill"


def assert_language(page, language: str) -> None:
    expect(page.locator("html")).to_have_attribute("lang", HTML_LANG[language])


def propose(page, site, colleague_id: int, student: str, email: str, language: str) -> None:
    page.goto(f"{site.url}/group/members/new")
    page.locator("#full_name").fill(student)
    page.locator("#email").fill(email)
    page.locator("#program").select_option(label=PHD_LABEL[language])
    page.locator("#institution").fill("McGill University")
    page.locator("#role").select_option("principal")
    page.locator("#start_date").fill("2025-09-02")
    page.locator('select[name="supervisors-0-supervisor"]').select_option(str(colleague_id))
    page.locator('select[name="supervisors-0-role"]').select_option("co-supervisor")
    submit_member_form(page)


def b_co_supervisions(page, site) -> int:
    """B's co-supervisor count on the administrators' loads page."""
    page.goto(f"{site.url}/admin/loads?show=roles")  # the roles' columns come on demand
    table = html_table(page.content())
    column = 9  # the answer's nine columns (name ... status), then co-supervisor, host, total
    row = next(cells for cells in table[1:] if cells[0].startswith(B_NAME))
    return int(row[column])


def test_a_colleague_confirms_one_proposal_and_declines_another(
    app, demo_site, open_page, screenshot, language
):
    colleague = user_id(app, demo_site.second_email)
    a_page = open_page(language)
    log_in_as(a_page, demo_site, demo_site.faculty_email)
    assert_language(a_page, language)
    admin = open_page(language)
    log_in_as(admin, demo_site, demo_site.admin_email)
    before = b_co_supervisions(admin, demo_site)

    # A proposes B as co-supervisor: A's group says whom it awaits.
    propose(
        a_page, demo_site, colleague, FIRST[language], f"first-{language}@example.org", language
    )
    expect(group_row(a_page, FIRST[language])).to_contain_text(B_NAME)
    assert b_co_supervisions(admin, demo_site) == before  # a proposal does not count

    # B sees the request, with its count in the navigation, and confirms it.
    b_page = open_page(language)
    log_in_as(b_page, demo_site, demo_site.second_email)
    assert_language(b_page, language)
    expect(group_row(b_page, FIRST[language])).to_have_count(0)
    badge = b_page.locator('nav a[href$="/group/requests"] .badge')
    expect(badge).to_contain_text("1")
    b_page.locator('nav a[href$="/group/requests"]').click()
    b_page.wait_for_url(re.compile(r"/group/requests$"))
    assert_language(b_page, language)
    request = b_page.locator("table.requests tbody tr").filter(has_text=FIRST[language])
    expect(request).to_have_count(1)
    screenshot(b_page, "request")
    request.locator(f'button{SUBMIT}[name="decision"][value="confirm"]').click()
    b_page.wait_for_url(re.compile(r"/group/requests$"))
    expect(b_page.locator(".flash--success")).to_be_visible()
    b_page.goto(f"{demo_site.url}/group")
    mine = group_row(b_page, FIRST[language])
    expect(mine).to_have_count(1)
    expect(mine).to_contain_text("Prof. Hélène Tremblay-Okafor")
    assert b_co_supervisions(admin, demo_site) == before + 1

    # A second proposal: B declines with a message, and A sees why.
    propose(
        a_page, demo_site, colleague, SECOND[language], f"second-{language}@example.org", language
    )
    b_page.goto(f"{demo_site.url}/group/requests")
    request = b_page.locator("table.requests tbody tr").filter(has_text=SECOND[language])
    request.locator("textarea[name='message']").fill(REASON[language])
    request.locator(f'button{SUBMIT}[name="decision"][value="decline"]').click()
    b_page.wait_for_url(re.compile(r"/group/requests$"))
    b_page.goto(f"{demo_site.url}/group")
    expect(group_row(b_page, SECOND[language])).to_have_count(0)

    a_page.locator('nav a[href$="/group/requests"]').click()
    a_page.wait_for_url(re.compile(r"/group/requests$"))
    assert_language(a_page, language)
    sent = a_page.locator("section[aria-labelledby='sent'] table.requests tbody tr").filter(
        has_text=SECOND[language]
    )
    expect(sent.locator(".request-state")).to_contain_text(B_NAME)
    expect(sent.locator(".request-state")).to_contain_text(REASON[language])
    screenshot(a_page, "declined")
    assert b_co_supervisions(admin, demo_site) == before + 1
