"""In real Chromium: a faculty member adds a co-supervised student, edits, moves them to alumni."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from portal.extensions import db
from portal.models import Person, Position, Supervision
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.slow

STUDENT = "Zoë Nguyễn-Lefèvre O'Brien"


def log_in(page, base_url: str, email: str) -> None:
    page.goto(f"{base_url}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="My group")).to_be_visible()


def test_faculty_keeps_a_co_supervised_student_from_arrival_to_alumni(
    app, live_server, new_page, screenshot, faculty, make_faculty, make_member
):
    colleague = make_faculty("colleague@example.org", "Prof. Marc-André O'Neill")
    make_member(faculty, "Existing Student", institution="Université de Montréal")

    page = new_page()
    log_in(page, live_server, faculty.email)

    # Add a student with an accented name and a co-supervisor.
    page.get_by_role("link", name="Add a member").click()
    page.get_by_label("Full name").fill(STUDENT)
    page.get_by_label("Email").fill("zoe.nguyen@example.org")
    page.get_by_label("Program").select_option(label="PhD")
    page.locator("#institution").fill("universite de montreal")
    page.get_by_label("Supervision role").select_option("principal")
    page.get_by_label("Start date").fill("2024-09-01")
    page.locator('select[name="supervisors-0-supervisor"]').select_option(
        label="Prof. Marc-André O'Neill"
    )
    page.locator('select[name="supervisors-0-role"]').select_option("co-supervisor")
    screenshot(page, "1-add-form")
    page.get_by_role("button", name="Add member").click()

    expect(page.get_by_text(f"Added {STUDENT} to the group.")).to_be_visible()
    row = page.get_by_role("row").filter(has_text=STUDENT)
    expect(row).to_contain_text("Principal supervisor")
    expect(row).to_contain_text("Université de Montréal")  # matched, not a second institution
    expect(row).to_contain_text("awaiting Prof. Marc-André O'Neill (co-supervisor)")
    screenshot(page, "2-my-group")

    # The co-supervisor is asked first; once they confirm, the student is in their group too,
    # with their own role.
    other = new_page()
    log_in(other, live_server, colleague.email)
    expect(other.get_by_role("row").filter(has_text=STUDENT)).to_have_count(0)
    other.get_by_role("link", name="Requests").click()
    other.get_by_role("row").filter(has_text=STUDENT).get_by_role("button", name="Confirm").click()
    expect(other.get_by_text(f"Confirmed the supervision of {STUDENT}.")).to_be_visible()
    other.get_by_role("link", name="My group").click()
    other_row = other.get_by_role("row").filter(has_text=STUDENT)
    expect(other_row).to_contain_text("Co-supervisor")
    expect(other_row).to_contain_text("Prof. Hélène Faculty (principal)")
    screenshot(other, "3-colleague-group")

    # Edit: a note and an expected end date.
    row.get_by_role("link", name="Edit").click()
    expect(page.get_by_label("Full name")).to_have_value(STUDENT)
    expect(page.locator("#institution")).to_have_value("Université de Montréal")
    screenshot(page, "4-edit-form")
    page.get_by_label("Note").fill("thesis on graph learning")
    page.get_by_label("End date").fill("2028-08-31")
    # A second, external co-supervisor; emptying the shares brings back the defaults 50/25/25.
    page.locator('input[name="supervisors-1-external_name"]').fill("Prof. Ingrid Sørensen")
    page.get_by_role("button", name="Empty every share (use the defaults)").click()
    expect(page.get_by_label("Share (%)").first).to_have_value("")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text(f"Saved the changes to {STUDENT}.")).to_be_visible()
    row = page.get_by_role("row").filter(has_text=STUDENT)
    expect(row).to_contain_text("thesis on graph learning")
    expect(row).to_contain_text("2028-08-31")
    expect(row).to_contain_text("Prof. Ingrid Sørensen (co-supervisor)")
    with app.app_context():
        shares = db.session.execute(
            select(Supervision.external_name, Supervision.supervisor_id, Supervision.share)
            .join(Supervision.position)
            .join(Position.person)
            .where(Person.full_name == STUDENT)
            .order_by(Supervision.share.desc())
        ).all()
        db.session.remove()
    assert [share for _name, _id, share in shares] == [Decimal("50"), Decimal("25"), Decimal("25")]
    assert shares[0].supervisor_id == faculty.id

    # Move to alumni, then find them under alumni and no longer among current members.
    row.get_by_role("link", name="Move to alumni").click()
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    expect(page.get_by_label("End date")).to_have_value(yesterday)
    page.get_by_label("How they left").select_option(label="Graduated")
    page.get_by_label("Where they went next").fill("Postdoc at ETH Zurich")
    page.get_by_role("button", name="Move to alumni").click()
    expect(page.get_by_role("heading", name="Alumni of my group")).to_be_visible()
    alumni_row = page.get_by_role("row").filter(has_text=STUDENT)
    expect(alumni_row).to_contain_text("Graduated")
    expect(alumni_row).to_contain_text("Postdoc at ETH Zurich")
    screenshot(page, "5-alumni")
    page.get_by_role("link", name="Current members").click()
    expect(page.get_by_role("row").filter(has_text=STUDENT)).to_have_count(0)
