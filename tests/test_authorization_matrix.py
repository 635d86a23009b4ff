"""Who may do what: every route x {anonymous, owner, confirmed co-supervisor, proposed
co-supervisor, unrelated faculty, administrator}.

The expectations are a table keyed by endpoint. A route without an entry fails the test, so
whoever adds a route also states here who may use it. The owner (faculty A) owns a member that
a colleague co-supervises (confirmed) and another colleague was only proposed for; the
unrelated faculty (B) has a member of their own that nobody else may see. Ids in URLs point at
A's rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.milestones import sync_plan
from portal.models import (
    ApiToken,
    Milestone,
    Position,
    Publication,
    PublicationAuthor,
    Supervision,
    User,
)
from portal.models.supervision import SupervisionState
from tests.api_helpers import bearer, new_token
from tests.conftest import login_client, reset_database
from tests.routes import build_url, database_snapshot, methods, rules

ANONYMOUS, ADMIN = "anonymous", "administrator"
OWNER, CONFIRMED, PROPOSED = (
    "owner (faculty A)",
    "confirmed co-supervisor",
    "proposed co-supervisor",
)
UNRELATED = "unrelated faculty (B)"
FACULTY_A, FACULTY_B = OWNER, UNRELATED
ROLES = (ANONYMOUS, OWNER, CONFIRMED, PROPOSED, UNRELATED, ADMIN)
FACULTY = (OWNER, CONFIRMED, PROPOSED, UNRELATED)
TO_LOGIN = "to login"  # 302 to the login page


@dataclass
class Scenario:
    """The rows the matrix requests are about: A's and B's accounts and members."""

    faculty_a: User
    faculty_b: User
    admin: User
    co_supervisor: User  # confirmed on A's member
    proposed: User  # named on A's member, has not answered
    member_a: int  # position id of A's member
    member_b: int
    member_a_name: str
    member_b_name: str
    archived_a: int  # position id of an archived entry of A's group
    publication_a: int  # id of a publication on A's profile
    institution_a: int  # id of the institution of A's member
    proposal: int  # id of the proposed link (answered by `proposed`)
    tokens: dict  # role -> the secret of a write-scope API token of that role's account
    token_a_id: int  # id of A's API token
    milestone_a: int = 0  # id of a milestone of A's member


def everyone(status):
    return dict.fromkeys(ROLES, status)


def logged_in(status, anonymous=TO_LOGIN):
    return {ANONYMOUS: anonymous, **dict.fromkeys(FACULTY, status), ADMIN: status}


def own_or_admin(status, confirmed=403):
    """URL about A's row: A and administrators get `status`; a confirmed co-supervisor reads
    but may not change (403, or `confirmed`); a proposal and B get 404 (not 403: no hint)."""
    return {
        ANONYMOUS: TO_LOGIN,
        OWNER: status,
        CONFIRMED: confirmed,
        PROPOSED: 404,
        UNRELATED: 404,
        ADMIN: status,
    }


def owner_only(status):
    """A row only its owner may reach: everyone else logged in gets 404."""
    return {ANONYMOUS: TO_LOGIN, **dict.fromkeys(FACULTY, 404), OWNER: status, ADMIN: 404}


def admin_only(status):
    return {ANONYMOUS: TO_LOGIN, **dict.fromkeys(FACULTY, 403), ADMIN: status}


# The API (endpoints "api.*"): each role sends its own write-scope token, anonymous none (401);
# a session cookie counts for nothing there. Requests without a body are refused by validation
# (422) before any row is looked up, whoever owns the id: the answer says nothing about it.
def api_any(status):
    return {ANONYMOUS: 401, **dict.fromkeys(FACULTY, status), ADMIN: status}


def api_own_or_admin(status):
    """A's member: the owner, a confirmed co-supervisor (who reads it) and administrators."""
    return {
        ANONYMOUS: 401,
        OWNER: status,
        CONFIRMED: status,
        PROPOSED: 404,
        UNRELATED: 404,
        ADMIN: status,
    }


def api_admin_only(status):
    return {ANONYMOUS: 401, **dict.fromkeys(FACULTY, 403), ADMIN: status}


def api_record(status):
    """Recording A's milestone: the owner and administrators; the confirmed co-supervisor
    reads it but gets 403 on a change; a proposal and B get 404."""
    return {**api_own_or_admin(status), CONFIRMED: 403}


def api_answerer(status):
    """The proposal naming `proposed`: they answer it, administrators may act on their behalf;
    everyone else (the proposer included) gets 404, not a hint that it exists."""
    return {
        ANONYMOUS: 401,
        OWNER: 404,
        CONFIRMED: 404,
        PROPOSED: status,
        UNRELATED: 404,
        ADMIN: status,
    }


# endpoint -> {"url": scenario -> URL values (optional), METHOD: {role: expected}}.
# Expected is an exact status, or TO_LOGIN. Requests carry no form data: a write route
# answers a logged-in user with its "invalid form" status (400), never 2xx.
EXPECTED = {
    "static": {"url": lambda s: {"filename": "css/portal.css"}, "GET": everyone(200)},
    "health.healthz": {"GET": everyone(200)},
    "health.favicon": {"GET": everyone(200)},
    "auth.login": {
        "GET": logged_in(302, anonymous=200),  # a logged-in user is sent on to the group page
        "POST": logged_in(302, anonymous=400),
    },
    "auth.logout": {"POST": logged_in(302)},
    # The password again (re-authentication): any logged-in user, for their own account.
    "auth.reauthenticate": {"GET": logged_in(200), "POST": logged_in(400)},
    # Single sign-on is not configured in the matrix's app: both addresses are 404 for all
    # (tests/test_oidc.py runs them against a real provider).
    "auth.sso_login": {"GET": everyone(404)},
    "auth.sso_callback": {"GET": everyone(404)},
    "auth.home": {"GET": logged_in(302)},
    "group.index": {"GET": logged_in(200)},
    # The group forms (feature/group): a faculty member reaches only their own rows (another's
    # id is 404); an administrator reaches every group.
    "group.alumni": {"GET": logged_in(200)},
    "group.new": {"GET": logged_in(200), "POST": logged_in(400)},
    # A confirmed co-supervisor reads the record (read-only page) but a POST is 403.
    "group.edit": {
        "url": lambda s: {"position_id": s.member_a},
        "GET": own_or_admin(200, confirmed=200),
        "POST": own_or_admin(400),
    },
    "group.move": {
        "url": lambda s: {"position_id": s.member_a},
        "GET": own_or_admin(200),
        "POST": own_or_admin(400),
    },
    # Their own note: every confirmed supervisor (the owner too); an administrator has no link.
    "group.own_note": {
        "url": lambda s: {"position_id": s.member_a},
        "POST": {**own_or_admin(302, confirmed=302), ADMIN: 403},
    },
    # Ending one's own involvement: a confirmed co-supervisor; the owner must transfer instead.
    "group.leave": {
        "url": lambda s: {"position_id": s.member_a},
        "POST": {**own_or_admin(403, confirmed=302), ADMIN: 403},
    },
    "group.transfer": {"url": lambda s: {"position_id": s.member_a}, "POST": admin_only(303)},
    # Requests: everyone logged in has the page; a proposal is answered by the person it names
    # (an empty answer is sent back to the page, 303) or an administrator; anyone else 404.
    "group.requests": {"GET": logged_in(200)},
    "group.answer": {
        "url": lambda s: {"link_id": s.proposal},
        "POST": {
            ANONYMOUS: TO_LOGIN,
            OWNER: 404,
            CONFIRMED: 404,
            PROPOSED: 303,
            UNRELATED: 404,
            ADMIN: 303,
        },
    },
    "group.archive": {
        "url": lambda s: {"position_id": s.member_a},
        "GET": own_or_admin(200),
        "POST": own_or_admin(302),
    },
    "group.restore": {"url": lambda s: {"position_id": s.member_a}, "POST": own_or_admin(302)},
    # Everyone sees the archived entries of their own group; only the owner (or an
    # administrator) restores one. An archived entry is out of co-supervisors' lists: 404.
    "group.archived": {"GET": logged_in(200)},
    "group.restore_archived_entry": {
        "url": lambda s: {"position_id": s.archived_a},
        "POST": own_or_admin(302, confirmed=404),
    },
    # Administration: administrators only; other users 403, anonymous users to login.
    "admin.index": {"GET": admin_only(302)},
    "admin.loads": {"GET": admin_only(200)},
    "admin.loads_csv": {"GET": admin_only(200)},
    "admin.loads_xlsx": {"GET": admin_only(200)},
    "admin.accounts": {"GET": admin_only(200)},
    "admin.new_account": {"POST": admin_only(400)},
    "admin.deactivate_account": {
        "url": lambda s: {"user_id": s.faculty_a.id},
        "GET": admin_only(200),
        "POST": admin_only(302),
    },
    "admin.reactivate_account": {
        "url": lambda s: {"user_id": s.faculty_a.id},
        "POST": admin_only(302),
    },
    "admin.reset_password": {
        "url": lambda s: {"user_id": s.faculty_a.id},
        # No password given: one is generated and shown once (200).
        "GET": admin_only(200),
        "POST": admin_only(200),
    },
    "admin.programs": {"GET": admin_only(200), "POST": admin_only(400)},
    "admin.edit_program": {
        "url": lambda s: {"program_id": 1},
        "GET": admin_only(200),
        "POST": admin_only(400),
    },
    "admin.caps": {"GET": admin_only(200), "POST": admin_only(302)},  # empty = no default cap
    "admin.faculty_caps": {
        "url": lambda s: {"user_id": s.faculty_a.id},
        "GET": admin_only(200),
        "POST": admin_only(302),
    },
    "admin.institutions": {"GET": admin_only(200)},
    "admin.rename_institution": {
        "url": lambda s: {"institution_id": s.institution_a},
        "GET": admin_only(200),
        "POST": admin_only(400),
    },
    "admin.merge_institutions": {"POST": admin_only(400)},
    "admin.confirm_merge": {"POST": admin_only(400)},
    # Rosters: a faculty member exports and imports their own group; the institution-wide
    # exports are for administrators.
    "roster.group_export_csv": {"GET": logged_in(200)},
    "roster.group_export_xlsx": {"GET": logged_in(200)},
    "roster.group_export_json": {"GET": logged_in(200)},
    "roster.coi": {"GET": logged_in(200)},
    "roster.import_roster": {"GET": logged_in(200), "POST": logged_in(400)},
    "roster.import_confirm": {"POST": logged_in(400)},
    "roster.admin_export_csv": {"GET": admin_only(200)},
    "roster.admin_export_xlsx": {"GET": admin_only(200)},
    "roster.admin_export_json": {"GET": admin_only(200)},
    # Profiles: each user edits their own; publications are the owner's alone (even an
    # administrator gets 404 on another's). Published profiles are public.
    "people.profile": {"GET": logged_in(200), "POST": logged_in(302)},  # empty = unpublished
    "people.publications": {"GET": logged_in(200)},
    "people.new_publication": {"GET": logged_in(200), "POST": logged_in(400)},
    "people.edit_publication": {
        "url": lambda s: {"publication_id": s.publication_a},
        "GET": owner_only(200),
        "POST": owner_only(400),
    },
    "people.delete_publication_view": {
        "url": lambda s: {"publication_id": s.publication_a},
        "POST": owner_only(302),
    },
    "people.import_bibtex": {"GET": logged_in(200), "POST": logged_in(400)},
    "people.relink_publication_authors": {"POST": logged_in(302)},
    "people.index": {"GET": everyone(200)},
    # Portraits: nobody in the scenario has one (404); an upload without a file is 400.
    "people.portrait": {"url": lambda s: {"slug": PUBLISHED_SLUG}, "GET": everyone(404)},
    "people.own_portrait": {"GET": logged_in(404), "POST": logged_in(400)},
    # A's portrait: A and administrators may remove it (none there: 302 with a note), no one else.
    "people.remove_portrait_view": {
        "url": lambda s: {"user_id": s.faculty_a.id},
        "POST": {ANONYMOUS: TO_LOGIN, **dict.fromkeys(FACULTY, 403), OWNER: 302, ADMIN: 302},
    },
    # The institution's branding: set by administrators (an empty form restores the defaults),
    # shown to everyone; no logo is set in the scenario.
    "admin.branding": {"GET": admin_only(200), "POST": admin_only(302)},
    "branding.stylesheet": {"GET": everyone(200)},
    "branding.logo": {"GET": everyone(404)},
    "people.show": {"url": lambda s: {"slug": PUBLISHED_SLUG}, "GET": everyone(200)},
    "people.show_json": {"url": lambda s: {"slug": PUBLISHED_SLUG}, "GET": everyone(200)},
    "i18n.switch_language": {"POST": everyone(302)},
    # Personal API tokens: created on one's own profile; only the owner revokes one.
    "people.new_token": {"POST": logged_in(400)},  # no form data
    "people.revoke_token_view": {
        "url": lambda s: {"token_id": s.token_a_id},
        "POST": owner_only(302),
    },
    # The API's document and reference page are public; the API itself takes tokens only.
    "api-docs.openapi_json": {"GET": everyone(200)},
    "api_reference": {"GET": everyone(200)},
    "api.me": {"GET": api_any(200)},
    "api.list_members": {"GET": api_any(200)},
    "api.list_alumni": {"GET": api_any(200)},
    "api.create_member": {"POST": api_any(422)},
    "api.get_member": {"url": lambda s: {"position_id": s.member_a}, "GET": api_own_or_admin(200)},
    "api.update_member_view": {"url": lambda s: {"position_id": s.member_a}, "PUT": api_any(422)},
    "api.end_position": {"url": lambda s: {"position_id": s.member_a}, "POST": api_any(422)},
    "api.list_programs": {"GET": api_any(200)},
    "api.list_supervisors": {"GET": api_any(200)},
    "api.get_profile": {"url": lambda s: {"slug": PUBLISHED_SLUG}, "GET": api_any(200)},
    "api.admin_loads": {"GET": api_admin_only(200)},
    "api.admin_roster": {"GET": api_admin_only(200)},
    # Proposals: listed for whoever they wait on; answered by the named person (or an admin on
    # their behalf). Without If-Match an answer is refused (428) once the proposal is found.
    "api.list_proposals": {"GET": api_any(200)},
    "api.get_proposal": {"url": lambda s: {"link_id": s.proposal}, "GET": api_answerer(200)},
    "api.confirm_proposal_view": {
        "url": lambda s: {"link_id": s.proposal},
        "POST": api_answerer(428),
    },
    "api.decline_proposal_view": {
        "url": lambda s: {"link_id": s.proposal},
        "POST": api_answerer(428),
    },
    # Milestones through the API: read like the member, recorded like on the page. Done,
    # waive and extend need a body (422 first); note and reopen get to If-Match (428).
    "api.get_milestone": {
        "url": lambda s: {"milestone_id": s.milestone_a},
        "GET": api_own_or_admin(200),
    },
    **{
        f"api.milestone_{action}": {
            "url": lambda s: {"milestone_id": s.milestone_a},
            "POST": api_any(422),
        }
        for action in ("done", "waive", "extend")
    },
    **{
        f"api.milestone_{action}": {
            "url": lambda s: {"milestone_id": s.milestone_a},
            "POST": api_record(428),
        }
        for action in ("note", "reopen")
    },
    # Student tracking: a member's milestones are reached like the member: the owner and admins
    # record them, a confirmed co-supervisor reads them (403 on every change), a proposal and B
    # get 404. Empty forms are refused (400). The plans and the progress report are for admins.
    "tracking.member": {
        "url": lambda s: {"position_id": s.member_a},
        "GET": own_or_admin(200, confirmed=200),
    },
    **{
        f"tracking.{action}": {
            "url": lambda s: {"milestone_id": s.milestone_a},
            "POST": own_or_admin(400),
        }
        for action in ("mark_done", "waive", "extend", "note", "reopen")
    },
    "tracking.calendar_page": {"GET": logged_in(200)},
    "tracking.calendar_ics": {"GET": logged_in(200)},
    "tracking.new_feed": {"POST": logged_in(200)},  # shows the new URL once
    "tracking.revoke_feed": {"POST": logged_in(302)},
    # Public by design, opened with its secret token; an unknown token is 404 for everyone.
    "tracking.calendar_feed": {"url": lambda s: {"token": "not-a-token"}, "GET": everyone(404)},
    "tracking_admin.plans": {"GET": admin_only(200)},
    "tracking_admin.add_item": {"url": lambda s: {"program_id": 1}, "POST": admin_only(400)},
    "tracking_admin.set_duration": {"url": lambda s: {"program_id": 1}, "POST": admin_only(302)},
    "tracking_admin.edit_item": {
        "url": lambda s: {"item_id": 1},
        "GET": admin_only(200),
        "POST": admin_only(400),
    },
    "tracking_admin.retire_item": {"url": lambda s: {"item_id": 1}, "POST": admin_only(302)},
    "tracking_admin.restore_item": {"url": lambda s: {"item_id": 1}, "POST": admin_only(302)},
    "tracking_admin.progress_page": {"GET": admin_only(200)},
    "tracking_admin.progress_csv": {"GET": admin_only(200)},
    "tracking_admin.progress_xlsx": {"GET": admin_only(200)},
}

# A's profile is published: its page shows A's current members to everyone, by design.
PUBLISHED_SLUG = "prof-alpha"
PUBLIC_BY_DESIGN = {"people.show", "people.show_json", "api.get_profile"}
# The person a proposal names sees the member's name on the requests page, to answer it.
SHOWN_TO_THE_PROPOSED = {"group.requests", "api.list_proposals", "api.get_proposal"}


@pytest.fixture
def build_scenario(app, make_faculty, make_admin, make_member):
    """Empty the database and create the scenario; the same ids every time on both backends."""

    def build() -> Scenario:
        with app.app_context():
            reset_database()
            db.session.remove()
        faculty_a = make_faculty("a@example.org", "Prof. Alpha")
        faculty_b = make_faculty("b@example.org", "Prof. Beta")
        admin = make_admin("grad.office@example.org", "Grad Office")
        co_supervisor = make_faculty("c@example.org", "Prof. Gamma")
        proposed = make_faculty("p@example.org", "Prof. Delta")
        member_a = make_member(
            faculty_a,
            "Alice Onlyalpha",
            others=[(co_supervisor, "co-supervisor"), (proposed, "co-supervisor")],
        )
        member_b = make_member(faculty_b, "Bruno Onlybeta")
        archived_a = make_member(
            faculty_a, "Archived Alphamember", archived_at=datetime(2025, 1, 1, tzinfo=UTC)
        )
        with app.app_context():
            alpha = db.session.get(User, faculty_a.id)
            alpha.slug, alpha.profile_published = PUBLISHED_SLUG, True
            publication = Publication(owner_id=faculty_a.id, title="Alpha's paper", year=2024)
            publication.authors.append(PublicationAuthor(position=1, name="Prof. Alpha"))
            db.session.add(publication)
            proposal = db.session.scalar(
                select(Supervision).where(Supervision.supervisor_id == proposed.id)
            )
            proposal.state = SupervisionState.PROPOSED
            proposal.proposed_by_id = faculty_a.id
            sync_plan(db.session.get(Position, member_a.id))
            db.session.commit()
            publication_id = publication.id
            proposal_id = proposal.id
            milestone_id = db.session.scalar(
                select(Milestone.id).where(Milestone.position_id == member_a.id).limit(1)
            )
            db.session.remove()
        tokens = {
            FACULTY_A: new_token(app, faculty_a, "write"),
            CONFIRMED: new_token(app, co_supervisor, "write"),
            PROPOSED: new_token(app, proposed, "write"),
            FACULTY_B: new_token(app, faculty_b, "write"),
            ADMIN: new_token(app, admin, "write"),
        }
        with app.app_context():
            token_a_id = db.session.scalar(
                select(ApiToken.id).where(ApiToken.user_id == faculty_a.id)
            )
        return Scenario(
            faculty_a,
            faculty_b,
            admin,
            co_supervisor,
            proposed,
            member_a.id,
            member_b.id,
            "Alice Onlyalpha",
            "Bruno Onlybeta",
            archived_a.id,
            publication_id,
            member_a.institution_id,
            proposal_id,
            tokens,
            token_a_id,
            milestone_id,
        )

    return build


@pytest.fixture
def scenario(build_scenario) -> Scenario:
    return build_scenario()


def _client_as(app, role, scenario):
    client = app.test_client()
    user = {
        OWNER: scenario.faculty_a,
        CONFIRMED: scenario.co_supervisor,
        PROPOSED: scenario.proposed,
        UNRELATED: scenario.faculty_b,
        ADMIN: scenario.admin,
    }.get(role)
    if user is not None:
        with app.app_context():  # the current token: an earlier /logout rotated it
            login_client(client, db.session.get(User, user.id))
            db.session.remove()
    return client


def _matches(expected, response):
    if expected == TO_LOGIN:
        return response.status_code == 302 and response.headers["Location"].startswith("/login")
    return response.status_code == expected


def test_every_endpoint_has_expectations(app):
    missing = sorted({rule.endpoint for rule in rules(app)} - set(EXPECTED))
    assert not missing, (
        f"Routes without an entry in EXPECTED (tests/test_authorization_matrix.py): {missing}. "
        "Add who may use them."
    )
    for rule in rules(app):
        for method in methods(rule):
            assert method in EXPECTED[rule.endpoint], f"{rule.endpoint}: no entry for {method}"
            assert set(EXPECTED[rule.endpoint][method]) == set(ROLES), rule.endpoint


@pytest.mark.slow
@pytest.mark.parametrize("role", ROLES, ids=lambda role: role.split()[0])  # a test per role
def test_authorization_matrix(app, build_scenario, role):
    failures = []
    checked = 0
    scenario = build_scenario()
    fresh = _fingerprint(app)
    for rule in rules(app):
        for method in methods(rule):
            entry = EXPECTED.get(rule.endpoint)
            if entry is None or method not in entry:
                continue  # reported by test_every_endpoint_has_expectations
            checked += 1
            failures += _check(app, rule, method, role, entry, scenario)
            if method != "GET" and _fingerprint(app) != fresh:
                # A write that succeeded (logout, archive...) must not change what the next
                # check sees: start again from the same fresh scenario. (Refused writes leave
                # every row as it was: no need to build it again.)
                scenario = build_scenario()
                fresh = _fingerprint(app)
    assert not failures, "\n".join(failures)
    assert checked >= len([e for e in EXPECTED if e in app.view_functions])


def _fingerprint(app) -> dict[str, list[tuple]]:
    """Every row of the database, but when a token was last used (noted on each API request,
    to the minute; it decides nothing): equal fingerprints mean the scenario is untouched."""
    snapshot = database_snapshot(app)
    last_used = list(ApiToken.__table__.columns.keys()).index("last_used_at")
    snapshot["api_tokens"] = [
        row[:last_used] + row[last_used + 1 :] for row in snapshot["api_tokens"]
    ]
    return snapshot


def _check(app, rule, method, role, entry, scenario) -> list[str]:
    """One request of the matrix; the list of what went wrong with it (empty when all is well)."""
    failures = []
    url = build_url(rule, entry["url"](scenario) if "url" in entry else {})
    headers = {}
    if rule.endpoint.startswith("api.") and role in scenario.tokens:
        headers = bearer(scenario.tokens[role])  # the session cookie alone is refused
    response = _client_as(app, role, scenario).open(url, method=method, headers=headers)
    expected = entry[method][role]
    if not _matches(expected, response):
        failures.append(
            f"{method} {url} as {role}: expected {expected}, got {response.status_code}"
        )
    if rule.endpoint in PUBLIC_BY_DESIGN:
        return failures
    page = response.get_data().decode("utf-8", "replace")  # exports may be binary (XLSX)
    if role in (OWNER, CONFIRMED, PROPOSED) and scenario.member_b_name in page:
        failures.append(f"{method} {url}: {role} sees B's member")
    if role == UNRELATED and scenario.member_a_name in page:
        failures.append(f"{method} {url}: faculty B sees A's member")
    if (
        role == PROPOSED
        and scenario.member_a_name in page
        and rule.endpoint not in SHOWN_TO_THE_PROPOSED
    ):
        failures.append(f"{method} {url}: a proposal shows A's member before it is confirmed")
    return failures


def test_each_faculty_sees_their_own_member(app, scenario):
    page_a = _client_as(app, FACULTY_A, scenario).get("/group").get_data(as_text=True)
    page_b = _client_as(app, FACULTY_B, scenario).get("/group").get_data(as_text=True)
    assert scenario.member_a_name in page_a and scenario.member_b_name not in page_a
    assert scenario.member_b_name in page_b and scenario.member_a_name not in page_b


def test_confirmed_sees_the_shared_member_and_a_proposal_does_not(app, scenario):
    confirmed = _client_as(app, CONFIRMED, scenario)
    proposed = _client_as(app, PROPOSED, scenario)
    assert scenario.member_a_name in confirmed.get("/group").get_data(as_text=True)
    for path in ("/group", "/group/export.csv?status=all", "/group/coi.csv"):
        assert scenario.member_a_name not in proposed.get(path).get_data(as_text=True), path
    requests_page = proposed.get("/group/requests").get_data(as_text=True)
    assert scenario.member_a_name in requests_page
    assert 'class="badge">1' in requests_page  # the count in the navigation
