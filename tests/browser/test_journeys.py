"""What people do with the portal, in real Chromium, each journey in English and in French.

Elements are found by stable attributes (ids, names, hrefs, roles), never by English text, so
the same steps run on the French pages; the French variant checks <html lang="fr-CA">. Data
(names, programs, institutions) is the demo data's and does not depend on the language.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect
from sqlalchemy import select

from portal.demo import CURRENT_GROUP
from portal.extensions import db
from portal.models import Person, Position, User
from tests.browser.helpers import HTML_LANG, LANGUAGES, PHD_LABEL, log_in_as

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("language", list(LANGUAGES))]

ROSTER_HEADER = (
    "faculty_email,name,email,program,institution,role,start_date,end_date,status,outcome,"
    "share,other_supervisors,orcid,note,departure_reason"
)
STUDENT = {"en": "Zoë Nguyễn-Lefèvre O'Brien", "fr": "Anaïs Côté-Ébène Ødegård"}
SUBMIT = '[type="submit"]'


def assert_language(page, language: str) -> None:
    expect(page.locator("html")).to_have_attribute("lang", HTML_LANG[language])


def group_row(page, name: str):
    """The row of the group (or alumni) table that holds `name`."""
    return page.locator("table.data tbody tr").filter(has_text=name)


def submit_member_form(page) -> None:
    """Submit the add/edit form; if it warns of a cap, tick "save anyway" and submit again."""
    page.locator(f"form.member-form {SUBMIT}").click()
    page.wait_for_load_state()
    over_cap = page.locator("#accept_over_cap")
    if "/members/" in page.url and over_cap.count():
        over_cap.check()
        page.locator(f"form.member-form {SUBMIT}").click()
    page.wait_for_url(re.compile(r"/group(\?.*)?$"))


def user_id(app, email: str) -> int:
    with app.app_context():
        found = db.session.scalar(select(User.id).where(User.email == email))
        db.session.remove()
    return found


def test_log_in(demo_site, open_page, language):
    """Log in, in the browser's language (Accept-Language), after one wrong password."""
    page = open_page(language)
    page.goto(f"{demo_site.url}/login")
    assert_language(page, language)

    # A wrong password: a message in the live region at the top of main, still on the login page.
    page.locator("#email").fill(demo_site.faculty_email)
    page.locator("#password").fill("not the password")
    with page.expect_response(re.compile(r"/login$")) as answer:
        page.locator(f'form[action$="/login"] {SUBMIT}').click()
    assert answer.value.status == 401
    # The message is on the password field, announced with it (role=alert, aria-describedby).
    expect(page.locator('#password-error[role="alert"]')).to_be_visible()
    assert page.locator("#password").get_attribute("aria-describedby") == "password-error"
    assert page.url.endswith("/login")

    page.locator("#password").fill(demo_site.passwords[demo_site.faculty_email])
    page.locator(f'form[action$="/login"] {SUBMIT}').click()
    page.wait_for_url(re.compile(r"/group$"))
    assert_language(page, language)
    expect(page.locator("h1")).to_have_count(1)
    expect(page.locator(".account__name")).to_have_text("Prof. Hélène Tremblay-Okafor")
    expect(group_row(page, "Amélie Bouchard-Nakamura")).to_have_count(1)


def test_the_language_chosen_before_logging_in_stays_after(demo_site, open_page, language):
    """The header's language button, pressed on the login page, still holds once logged in."""
    other = "fr" if language == "en" else "en"
    page = open_page(other)  # the browser asks for the other language
    page.goto(f"{demo_site.url}/login")
    assert_language(page, other)
    code = "fr_CA" if language == "fr" else "en"
    page.locator(f'form.language-switch button[name="language"][value="{code}"]').click()
    assert_language(page, language)
    page.locator("#email").fill(demo_site.faculty_email)
    page.locator("#password").fill(demo_site.passwords[demo_site.faculty_email])
    page.locator(f'form[action$="/login"] {SUBMIT}').click()
    page.wait_for_url(re.compile(r"/group$"))
    assert page.locator("html").get_attribute("lang") == HTML_LANG[language]


def test_the_language_button_switches_and_is_saved_for_the_account(
    app, demo_site, open_page, language
):
    """Logged in, the header's button switches every page and saves the account's choice."""
    other = "fr" if language == "en" else "en"
    page = open_page(other)
    log_in_as(page, demo_site, demo_site.faculty_email)
    assert_language(page, other)
    code = "fr_CA" if language == "fr" else "en"
    page.locator(f'form.language-switch button[name="language"][value="{code}"]').click()
    page.wait_for_url(re.compile(r"/group$"))
    assert_language(page, language)
    page.locator('a[href$="/group/alumni"]').first.click()
    assert_language(page, language)
    with app.app_context():
        saved = db.session.scalar(select(User.locale).where(User.email == demo_site.faculty_email))
        db.session.remove()
    assert saved == code


def test_add_a_co_supervised_student_then_move_them_to_alumni(
    app, demo_site, open_page, screenshot, language
):
    student = STUDENT[language]
    colleague = user_id(app, demo_site.second_email)
    page = open_page(language)
    log_in_as(page, demo_site, demo_site.faculty_email)
    assert_language(page, language)

    page.locator('a[href$="/group/members/new"]').first.click()
    page.locator("#full_name").fill(student)
    page.locator("#email").fill(f"student-{language}@example.org")
    page.locator("#program").select_option(label=PHD_LABEL[language])
    page.locator("#institution").fill("universite de montreal")
    page.locator("#role").select_option("principal")
    page.locator("#start_date").fill("2025-09-02")
    page.locator('select[name="supervisors-0-supervisor"]').select_option(str(colleague))
    page.locator('select[name="supervisors-0-role"]').select_option("co-supervisor")
    screenshot(page, "add-form")
    submit_member_form(page)

    row = group_row(page, student)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Université de Montréal")  # matched, not a new institution
    expect(row).to_contain_text("Prof. Marc-André O'Neill")
    screenshot(page, "my-group")

    # The colleague was proposed, not linked: the student is not in their group until they
    # confirm (tests/browser/test_agreement_journey.py follows the confirmation through).
    other = open_page(language)
    log_in_as(other, demo_site, demo_site.second_email)
    assert_language(other, language)
    expect(group_row(other, student)).to_have_count(0)

    # Move to alumni; they leave the current list and appear under alumni with the outcome.
    row.locator('a[href*="/move-to-alumni"]').click()
    expect(page.locator("#end_date")).to_have_value((date.today() - timedelta(days=1)).isoformat())
    page.locator("#departure_reason").select_option("graduated")
    page.locator("#outcome").fill("Postdoc à l'ETH Zürich")
    page.locator(f"form {SUBMIT}").last.click()
    page.wait_for_url(re.compile(r"/group/alumni"))
    assert_language(page, language)
    alumni_row = group_row(page, student)
    expect(alumni_row).to_have_count(1)
    expect(alumni_row).to_contain_text("Postdoc à l'ETH Zürich")
    screenshot(page, "alumni")
    page.locator('nav.tabs a[href$="/group"]').click()
    expect(group_row(page, "Amélie Bouchard-Nakamura")).to_have_count(1)
    expect(group_row(page, student)).to_have_count(0)


def test_export_the_group_as_csv_and_xlsx(demo_site, open_page, tmp_path, language):
    page = open_page(language)
    log_in_as(page, demo_site, demo_site.faculty_email)
    current_names = {name for name, *_ in CURRENT_GROUP}

    with page.expect_download() as download_info:
        page.locator('a[href*="/group/export.csv"]').first.click()
    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    text = Path(download.path()).read_text(encoding="utf-8-sig")
    assert text.splitlines()[0] == ROSTER_HEADER
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {row["name"] for row in rows} == current_names
    assert "Amélie Bouchard-Nakamura" in text and "Noémie St-Laurent" in text
    assert {row["faculty_email"] for row in rows} == {demo_site.faculty_email}

    with page.expect_download() as download_info:
        page.locator('a[href*="/group/export.xlsx"]').first.click()
    download = download_info.value
    assert download.suggested_filename.endswith(".xlsx")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    sheet = load_workbook(saved, read_only=True).worksheets[0]
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert ",".join(values[0]) == ROSTER_HEADER
    assert {row[1] for row in values[1:]} == current_names


def test_import_a_roster_after_its_preview(app, demo_site, open_page, screenshot, language):
    newcomers = [f"Éloïse Brunet-Côté {language}", f"Nikolaj Ødegård {language}"]
    roster = (
        ROSTER_HEADER + "\n"
        f",{newcomers[0]},eloise-{language}@example.org,PhD,Université de Montréal,principal,"
        "2025-09-01,,,\n"
        f",{newcomers[1]},,Master's Research,McGill University,co-supervisor,2025-01-06,,,\n"
    )
    page = open_page(language)
    log_in_as(page, demo_site, demo_site.faculty_email)
    page.locator('a[href$="/group/import"]').first.click()
    assert_language(page, language)
    page.locator('input[type="file"][name="file"]').set_input_files(
        files=[{"name": "newcomers.csv", "mimeType": "text/csv", "buffer": roster.encode("utf-8")}]
    )
    page.locator(f'form[enctype="multipart/form-data"] {SUBMIT}').click()

    confirm = page.locator('form[action$="/group/import/confirm"]')
    expect(confirm).to_be_visible()
    rows = page.locator("table.data tbody tr")
    expect(rows).to_have_count(2)
    for index, name in enumerate(newcomers):
        expect(rows.nth(index)).to_contain_text(name)
        if language == "en":  # the action's word is translated; English pins it down
            expect(rows.nth(index).locator("td").nth(1)).to_have_text("new")
    screenshot(page, "preview")
    with app.app_context():  # the preview wrote nothing
        assert not db.session.scalar(select(Person.id).where(Person.full_name == newcomers[0]))
        db.session.remove()

    # The demo faculty is near a cap: the preview names the breach and asks, as the form does.
    page.locator("#accept_over_cap").check()
    confirm.locator(SUBMIT).click()
    page.wait_for_url(re.compile(r"/group$"))  # the group, the new rows pointed out
    expect(page.locator(".flash--success")).to_be_visible()
    for name in newcomers:
        expect(group_row(page, name)).to_have_count(1)
        expect(group_row(page, name)).to_have_class(re.compile("imported"))
    expect(group_row(page, newcomers[0])).to_contain_text("Université de Montréal")


def test_the_administrator_sees_loads_with_a_chart(demo_site, open_page, screenshot, language):
    page = open_page(language)
    log_in_as(page, demo_site, demo_site.admin_email)
    page.locator('nav a[href$="/admin/loads"]').first.click()
    page.wait_for_url(re.compile(r"/admin/loads"))
    assert_language(page, language)

    faculty_rows = page.locator("table.loads tbody tr")
    expect(faculty_rows).to_have_count(2)  # the two demo faculty members
    chart = page.locator("figure.cap-chart")
    expect(chart).to_be_visible()
    expect(chart.locator(".cap-chart__row")).to_have_count(2)  # one row per faculty member
    for name in ("Prof. Hélène Tremblay-Okafor", "Prof. Marc-André O'Neill"):
        expect(chart.locator(".cap-chart__name").filter(has_text=name)).to_have_count(1)
    # Over cap: flagged in the table with a symbol, not by colour alone, and in the chart.
    over = page.locator("table.loads tbody tr.over-cap")
    expect(over.filter(has_text="Prof. Marc-André O'Neill")).to_have_count(1)
    expect(over.locator(".over-cap__flag").first).to_contain_text("⚠")
    expect(chart.locator(".cap-chart__row--over .cap-chart__text").first).to_contain_text("⚠")
    screenshot(page, "loads")


def test_the_public_profile_lists_the_current_students(demo_site, open_page, language):
    page = open_page(language)  # not logged in: the profile is public
    response = page.goto(f"{demo_site.url}/people/helene-tremblay-okafor")
    assert response.status == 200
    assert_language(page, language)
    expect(page.locator("h1")).to_have_text("Prof. Hélène Tremblay-Okafor")
    names = page.locator('section[aria-labelledby="current-students"] .profile__person-name')
    assert set(names.all_text_contents()) == {name for name, *_ in CURRENT_GROUP}
    alumni = page.locator('section[aria-labelledby="alumni"] .profile__person-name')
    expect(alumni.filter(has_text="Dr. Maude Archambault")).to_have_count(1)


def tab_to(page, selector: str, text: str = "", limit: int = 80) -> None:
    """Press Tab until the focused element matches `selector` (and holds `text`)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(
            """([selector, text]) => {
                const element = document.activeElement;
                return !!element && element.matches(selector) && element.textContent.includes(text);
            }""",
            [selector, text],
        ):
            return
    raise AssertionError(f"Tab never reached {selector} {text}")


def assert_focus_is_visible(page) -> None:
    style = page.evaluate("""() => {
        const s = getComputedStyle(document.activeElement);
        return [s.outlineStyle, s.outlineWidth];
    }""")
    assert style[0] != "none" and style[1] != "0px", f"no visible focus ring: {style}"


def test_keyboard_only_log_in_and_move_a_member_to_alumni(
    app, demo_site, open_page, screenshot, language
):
    """No mouse: Tab, typing and Enter log in, skip to content, move a member to alumni."""
    member = "Saoirse D'Arcy"
    page = open_page(language)
    page.goto(f"{demo_site.url}/login")
    assert_language(page, language)
    # The email field has the focus on arrival; Tab goes to the password; Enter submits.
    page.keyboard.type(demo_site.faculty_email)
    tab_to(page, "#password")
    assert_focus_is_visible(page)
    page.keyboard.type(demo_site.passwords[demo_site.faculty_email])
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/group$"))

    # The first Tab lands on the skip link, which moves on to the main content.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.matches('a.skip-link')")
    assert_focus_is_visible(page)
    page.keyboard.press("Enter")
    # Waited for, not read at once: under load the fragment can arrive after the key returns.
    page.wait_for_url(re.compile(r"#main$"))

    tab_to(page, 'a[href*="/move-to-alumni"]', text=member, limit=300)
    assert_focus_is_visible(page)
    screenshot(page, "focus")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/move-to-alumni"))
    tab_to(page, "#departure_reason")
    page.keyboard.press("ArrowDown")  # from "graduated" to the next reason
    tab_to(page, "#outcome")
    page.keyboard.type("Ingénieure de recherche, Mila")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/group/alumni"))
    expect(group_row(page, member)).to_contain_text("Ingénieure de recherche, Mila")

    with app.app_context():
        position = db.session.scalar(
            select(Position).join(Position.person).where(Person.full_name == member)
        )
        assert position.end_date == date.today() - timedelta(days=1)
        assert position.departure_reason.value != "graduated"
        db.session.remove()
