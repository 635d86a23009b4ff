"""Student tracking in real Chromium: mark a milestone done, move another with a reason, and
see the "What's due" panel of /group follow (in English and in French).

Fields are found by their ids (each milestone's forms carry its own prefix), never by English text.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from portal.extensions import db
from portal.models import Milestone, MilestoneStatus, Person, Position
from tests.browser.helpers import HTML_LANG, LANGUAGES, log_in_as

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("language", list(LANGUAGES))]


def _open_milestone(app, member: str, name: str) -> tuple[int, int]:
    """(position id, milestone id) of a demo member's open milestone."""
    with app.app_context():
        row = db.session.execute(
            select(Position.id, Milestone.id)
            .join(Milestone, Milestone.position_id == Position.id)
            .join(Person, Person.id == Position.person_id)
            .where(
                Person.full_name == member,
                Milestone.name_en == name,
                Milestone.status == MilestoneStatus.OPEN,
            )
        ).one()
        db.session.remove()
    return row


def test_mark_done_and_extend_then_the_panel_updates(app, demo_site, open_page, language):
    proposal_position, proposal = _open_milestone(
        app, "Amélie Bouchard-Nakamura", "Thesis proposal"
    )
    exam_position, exam = _open_milestone(app, "Li Wei Fontaine", "Qualifying exam")
    page = open_page(language)
    log_in_as(page, demo_site, demo_site.faculty_email)
    page.goto(f"{demo_site.url}/group")
    expect(page.locator("html")).to_have_attribute("lang", HTML_LANG[language])
    panel = page.locator("section.due-panel")
    proposal_link = panel.locator(f'a[href$="/group/members/{proposal_position}/milestones"]')
    exam_link = panel.locator(f'a[href$="/group/members/{exam_position}/milestones"]')
    expect(proposal_link).to_have_count(1)
    expect(exam_link).to_have_count(1)

    # Mark Amélie's thesis proposal done, from the panel's link.
    proposal_link.click()
    page.wait_for_url(f"**/group/members/{proposal_position}/milestones")
    done_on = (date.today() - timedelta(days=2)).isoformat()
    page.locator(f"#m{proposal}-done_on").fill(done_on)
    page.locator(f'form[action$="/group/milestones/{proposal}/done"] [type="submit"]').click()
    page.wait_for_url(f"**/group/members/{proposal_position}/milestones")
    expect(page.locator(".flash--success")).to_be_visible()
    section = page.locator(f'section[aria-labelledby="milestone-{proposal}"]')
    expect(section.locator(".milestone-state--done")).to_have_count(1)

    # Move Li Wei's qualifying exam, with the reason.
    page.goto(f"{demo_site.url}/group/members/{exam_position}/milestones")
    new_date = (date.today() + timedelta(days=90)).isoformat()
    page.locator(f"#m{exam}-due_date").fill(new_date)
    page.locator(f"#m{exam}-reason").fill("Comité incomplet / committee incomplete")
    page.locator(f'form[action$="/group/milestones/{exam}/extend"] [type="submit"]').click()
    page.wait_for_url(f"**/group/members/{exam_position}/milestones")
    section = page.locator(f'section[aria-labelledby="milestone-{exam}"]')
    expect(section).to_contain_text("Comité incomplet / committee incomplete")
    expect(section.locator(".milestone-state--upcoming")).to_have_count(1)

    # Back on the group page, neither is in the panel any more; the others still are.
    page.goto(f"{demo_site.url}/group")
    panel = page.locator("section.due-panel")
    expect(
        panel.locator(f'a[href$="/group/members/{proposal_position}/milestones"]')
    ).to_have_count(0)
    expect(panel.locator(f'a[href$="/group/members/{exam_position}/milestones"]')).to_have_count(0)
    expect(panel.locator("li").first).to_be_visible()
    with app.app_context():
        assert db.session.get(Milestone, proposal).done_on == date.fromisoformat(done_on)
        moved = db.session.get(Milestone, exam)
        assert moved.due_date == date.fromisoformat(new_date)
        assert [e.reason for e in moved.extensions] == ["Comité incomplet / committee incomplete"]
        db.session.remove()
