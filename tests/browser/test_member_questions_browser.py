"""In real Chromium: the role follows the program, and the form's questions are axe-clean."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.browser.test_accessibility import blocking_violations
from tests.browser.test_group_browser import log_in

pytestmark = pytest.mark.slow


def test_role_defaults_to_host_and_the_questions_are_accessible(
    app, live_server, new_page, screenshot, faculty, make_member
):
    make_member(faculty, "Zoë Tremblay")
    page = new_page()
    log_in(page, live_server, faculty.email)
    page.goto(f"{live_server}/group/members/new")
    role = page.get_by_label("Supervision role", exact=True)
    expect(role).to_have_value("principal")
    page.get_by_label("Program", exact=True).select_option(label="Collaborating researcher")
    expect(role).to_have_value("none")  # hosted, by default
    page.get_by_label("Program", exact=True).select_option(label="PhD")
    expect(role).to_have_value("principal")

    # A supervising role on a hosted program, and a namesake in the group: asked, not saved.
    page.get_by_label("Full name").fill("zoe tremblay")
    page.locator("#institution").fill("McGill University")
    page.get_by_label("Program", exact=True).select_option(label="Collaborating researcher")
    role.select_option("principal")
    page.get_by_role("button", name="Add member").click()
    expect(page.get_by_text("Is this the same person as Zoë Tremblay")).to_be_visible()
    screenshot(page, "same-person-question")
    assert blocking_violations(Axe(), page) == []
    page.get_by_label("No, it is a different person").check()
    page.get_by_role("button", name="Add member").click()
    expect(page.get_by_text("Check the supervision role.")).to_be_visible()
    assert blocking_violations(Axe(), page) == []
    page.get_by_label("Keep this role anyway").check()
    page.get_by_role("button", name="Add member").click()
    expect(page.get_by_text("Added zoe tremblay to the group.")).to_be_visible()
