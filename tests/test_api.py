"""The API: tokens, scopes, the same operations as the forms, ETags, pagination, problems."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import ApiToken, AuditEvent, Institution, Person, Position, Program
from tests.api_helpers import bearer, new_token
from tests.conftest import login_client
from tests.routes import database_snapshot


@pytest.fixture
def faculty_token(app, faculty):
    return new_token(app, faculty, "write")


@pytest.fixture
def read_token(app, faculty):
    return new_token(app, faculty, "read")


@pytest.fixture
def admin_token(app, admin):
    return new_token(app, admin, "read")


def _program_id(app, name="PhD"):
    with app.app_context():
        return db.session.scalar(select(Program.id).where(Program.name == name))


def _new_member_body(app, **overrides):
    body = {
        "full_name": "Zoé Apiadded",
        "email": "Zoe@Example.org",
        "program_id": _program_id(app),
        "institution": "Université de Montréal",
        "role": "principal",
        "start_date": "2024-09-01",
    }
    body.update(overrides)
    return body


def test_no_token_no_cookie_auth(app, faculty, client):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.content_type == "application/problem+json"
    problem = response.get_json()
    assert problem["status"] == 401 and problem["type"] == "about:blank" and problem["detail"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    # A logged-in browser session is not accepted either.
    browser = login_client(app.test_client(), faculty)
    assert browser.get("/group").status_code == 200
    response = browser.get("/api/v1/me")
    assert response.status_code == 401
    assert "Set-Cookie" not in response.headers


def test_me_and_last_use(app, client, faculty, faculty_token):
    response = client.get("/api/v1/me", headers=bearer(faculty_token))
    assert response.status_code == 200
    assert response.get_json()["email"] == faculty.email
    assert response.get_json()["token_scope"] == "write"
    assert "Set-Cookie" not in response.headers
    with app.app_context():
        token = db.session.scalar(select(ApiToken))
        assert token.last_used_at is not None
        assert token.token_hash != faculty_token and faculty_token not in token.token_hash


@pytest.mark.parametrize("secret", ["rgp_nope", "nope", "", "rgp_" + "x" * 300])
def test_unknown_tokens_are_refused(client, faculty, secret):
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 401


def test_expired_revoked_and_deactivated_tokens_are_refused(app, client, faculty, admin):
    from portal.admin.operations import deactivate_account
    from portal.auth.tokens import create_token, revoke_token
    from portal.models import User, utcnow

    with app.app_context():
        user = db.session.get(User, faculty.id)
        expired = create_token(user, user, "read", expires_days=1, now=utcnow() - timedelta(days=2))
        revoked = create_token(user, user, "read")
        revoke_token(user, revoked.token)
        live = create_token(user, user, "read")
        db.session.commit()
        secrets = expired.secret, revoked.secret, live.secret
        db.session.remove()
    assert client.get("/api/v1/me", headers=bearer(secrets[0])).status_code == 401
    assert client.get("/api/v1/me", headers=bearer(secrets[1])).status_code == 401
    assert client.get("/api/v1/me", headers=bearer(secrets[2])).status_code == 200
    with app.app_context():
        deactivate_account(db.session.get(User, admin.id), db.session.get(User, faculty.id))
        db.session.commit()
        assert all(t.revoked_at is not None for t in db.session.scalars(select(ApiToken)))
        db.session.remove()
    assert client.get("/api/v1/me", headers=bearer(secrets[2])).status_code == 401


def test_list_members_paginated_with_etag(app, client, faculty, faculty_token, make_member):
    for number in range(5):
        make_member(faculty, f"Member {number}", others=[("Dr. External", "co-supervisor")])
    make_member(faculty, "Gone Alumna", start_date=date(2019, 1, 1), end_date=date(2020, 1, 1))
    response = client.get("/api/v1/group/members?per_page=2&page=2", headers=bearer(faculty_token))
    assert response.status_code == 200
    data = response.get_json()
    assert (data["total"], data["pages"], data["page"], len(data["items"])) == (5, 3, 2, 2)
    member = data["items"][0]
    assert member["status"] == "current"
    roles = {(s["name"], s["role"], s["share"], s["external"]) for s in member["supervisors"]}
    assert roles == {
        (faculty.display_name, "principal", "50.00", False),
        ("Dr. External", "co-supervisor", "50.00", True),
    }
    etag = response.headers["ETag"]
    again = client.get(
        "/api/v1/group/members?per_page=2&page=2",
        headers={**bearer(faculty_token), "If-None-Match": etag},
    )
    assert again.status_code == 304 and again.data == b""
    alumni = client.get("/api/v1/group/alumni", headers=bearer(faculty_token)).get_json()
    assert [m["person"]["full_name"] for m in alumni["items"]] == ["Gone Alumna"]
    everyone = client.get("/api/v1/group/members?status=all", headers=bearer(faculty_token))
    assert everyone.get_json()["total"] == 6


def test_bad_query_is_a_problem_with_field_errors(client, faculty, faculty_token):
    response = client.get("/api/v1/group/members?per_page=1000", headers=bearer(faculty_token))
    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    assert "per_page" in response.get_json()["errors"]["query"]


def test_create_member_uses_the_form_operation(app, client, faculty, faculty_token):
    response = client.post(
        "/api/v1/group/members", json=_new_member_body(app), headers=bearer(faculty_token)
    )
    assert response.status_code == 201, response.get_json()
    member = response.get_json()
    assert member["person"]["email"] == "zoe@example.org"
    assert response.headers["Location"].endswith(f"/api/v1/group/members/{member['id']}")
    assert response.headers["ETag"].startswith(f'"member-{member["id"]}-v{member["version"]}-m')
    # The new PhD student's plan is there, as on the member's milestones page.
    assert [step["name_en"] for step in member["milestones"]][:2] == [
        "Research plan",
        "Qualifying exam",
    ]
    assert member["supervisors"][0]["state"] == "confirmed"
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "create"))
        assert event.actor_id == faculty.id and event.entity_id == member["id"]
    page = login_client(app.test_client(), faculty).get("/group").get_data(as_text=True)
    assert "Zoé Apiadded" in page


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"full_name": "   "}, "full_name"),
        ({"email": "not-an-email"}, "email"),
        ({"orcid": "0000-0002-1825-0098"}, "orcid"),
        ({"end_date": "2020-01-01"}, "end_date"),
        ({"start_date": "0024-09-01"}, "start_date"),
        ({"start_date": "9999-06-01"}, "start_date"),
        ({"end_date": "2101-01-01"}, "end_date"),
        ({"program_id": 999_999}, "program_id"),
        ({"role": "boss"}, "role"),
        ({"full_name": "Nul\x00Byte"}, "full_name"),
        ({"share": 40}, "share"),
        ({"supervisors": [{"supervisor_id": 999_999, "role": "co-supervisor"}]}, "supervisors"),
        (
            {"supervisors": [{"external_name": "Dr. X", "role": "principal"}]},
            "role",
        ),
    ],
)
def test_invalid_member_writes_nothing(app, client, faculty, faculty_token, overrides, field):
    before = database_snapshot(app)
    response = client.post(
        "/api/v1/group/members",
        json=_new_member_body(app, **overrides),
        headers=bearer(faculty_token),
    )
    assert response.status_code == 422, response.get_json()
    problem = response.get_json()
    assert response.content_type == "application/problem+json"
    errors = problem["errors"].get("json", problem["errors"])
    assert field in errors, problem
    after = database_snapshot(app)
    after.pop("api_tokens"), before.pop("api_tokens")  # last use is noted
    assert after == before


def test_duplicate_email_is_a_conflict(app, client, faculty, faculty_token, make_member):
    make_member(faculty, "Zoé Already", email="zoe@example.org")
    response = client.post(
        "/api/v1/group/members", json=_new_member_body(app), headers=bearer(faculty_token)
    )
    assert response.status_code == 409
    assert "Zoé Already" in response.get_json()["detail"]


def test_read_only_token_cannot_write(app, client, faculty, read_token, make_member):
    member = make_member(faculty, "Read Only")
    before = database_snapshot(app)
    response = client.post(
        "/api/v1/group/members", json=_new_member_body(app), headers=bearer(read_token)
    )
    assert response.status_code == 403
    assert "insufficient_scope" in response.headers["WWW-Authenticate"]
    response = client.put(
        f"/api/v1/group/members/{member.id}",
        json=_new_member_body(app),
        headers={**bearer(read_token), "If-Match": f'"member-{member.id}-v1"'},
    )
    assert response.status_code == 403
    after = database_snapshot(app)
    after.pop("api_tokens"), before.pop("api_tokens")
    assert after == before


def test_other_faculty_sees_404(app, client, faculty, make_faculty, make_member):
    mine = make_member(faculty, "Private Member")
    other = make_faculty("other@example.org", "Prof. Other")
    token = new_token(app, other, "write")
    for method, url in [
        ("GET", f"/api/v1/group/members/{mine.id}"),
        ("PUT", f"/api/v1/group/members/{mine.id}"),
        ("POST", f"/api/v1/group/members/{mine.id}/end"),
        ("GET", f"/api/v1/group/members?faculty={faculty.id}"),
    ]:
        response = client.open(
            url,
            method=method,
            json=_new_member_body(app) if method == "PUT" else None,
            headers={**bearer(token), "If-Match": "*"},
        )
        if method == "POST":
            response = client.post(
                url,
                json={"end_date": "2024-12-31", "departure_reason": "graduated"},
                headers={**bearer(token), "If-Match": "*"},
            )
        assert response.status_code == 404, (method, url, response.get_json())
        assert "Private Member" not in response.get_data(as_text=True)
    listing = client.get("/api/v1/group/members", headers=bearer(token)).get_json()
    assert listing["total"] == 0


def test_update_needs_if_match_and_refuses_stale(app, client, faculty, faculty_token, make_member):
    member = make_member(faculty, "Ver Sioned")
    url = f"/api/v1/group/members/{member.id}"
    read = client.get(url, headers=bearer(faculty_token))
    etag = read.headers["ETag"]
    assert (
        client.get(url, headers={**bearer(faculty_token), "If-None-Match": etag}).status_code == 304
    )
    body = _new_member_body(app, full_name="Ver Renamed", email=None)
    missing = client.put(url, json=body, headers=bearer(faculty_token))
    assert missing.status_code == 428
    saved = client.put(url, json=body, headers={**bearer(faculty_token), "If-Match": etag})
    assert saved.status_code == 200, saved.get_json()
    assert saved.get_json()["person"]["full_name"] == "Ver Renamed"
    assert saved.headers["ETag"] != etag
    stale = client.put(
        url,
        json=_new_member_body(app, full_name="Lost Update", email=None),
        headers={**bearer(faculty_token), "If-Match": etag},
    )
    assert stale.status_code == 412
    with app.app_context():
        assert db.session.get(Position, member.id).person.full_name == "Ver Renamed"


def test_an_etag_read_before_the_person_changed_through_another_position_is_stale(
    app, client, faculty, faculty_token, make_member
):
    first = make_member(faculty, "Ana Old-Name")
    with app.app_context():
        person_id = db.session.get(Position, first.id).person_id
    second = make_member(faculty, "Ana Old-Name", program="Postdoctorate")
    with app.app_context():  # the same person: a second current position of theirs
        db.session.get(Position, second.id).person_id = person_id
        db.session.commit()
    urls = [f"/api/v1/group/members/{position.id}" for position in (first, second)]
    etags = [client.get(url, headers=bearer(faculty_token)).headers["ETag"] for url in urls]
    renamed = client.put(
        urls[0],
        json=_new_member_body(app, full_name="Ana New-Name", email=None),
        headers={**bearer(faculty_token), "If-Match": etags[0]},
    )
    assert renamed.status_code == 200, renamed.get_json()
    assert (
        client.get(
            urls[1], headers={**bearer(faculty_token), "If-None-Match": etags[1]}
        ).status_code
        == 200
    )
    stale = client.put(
        urls[1],
        json=_new_member_body(
            app, full_name="Ana Old-Name", email=None, program_id=_program_id(app, "Postdoctorate")
        ),
        headers={**bearer(faculty_token), "If-Match": etags[1]},
    )
    assert stale.status_code == 412
    with app.app_context():
        assert db.session.get(Person, person_id).full_name == "Ana New-Name"


def test_end_position_same_rules_as_the_form(app, client, faculty, faculty_token, make_member):
    member = make_member(faculty, "Leav Ing")
    url = f"/api/v1/group/members/{member.id}/end"
    etag = client.get(f"/api/v1/group/members/{member.id}", headers=bearer(faculty_token)).headers[
        "ETag"
    ]
    headers = {**bearer(faculty_token), "If-Match": etag}
    future = client.post(
        url,
        json={"end_date": date.today().isoformat(), "departure_reason": "graduated"},
        headers=headers,
    )
    assert future.status_code == 422
    assert "end_date" in future.get_json()["errors"]
    ended = client.post(
        url,
        json={"end_date": "2025-06-30", "departure_reason": "graduated", "outcome": "Postdoc"},
        headers=headers,
    )
    assert ended.status_code == 200, ended.get_json()
    assert ended.get_json()["status"] == "alumni"
    with app.app_context():
        actions = db.session.scalars(select(AuditEvent.action)).all()
        assert "move-to-alumni" in actions


def test_admin_routes(app, client, faculty, admin, admin_token, faculty_token, make_member):
    make_member(
        faculty,
        "Roster Person",
        institution=None,
        role="co-supervisor",
        others=[("Prof. Outside, Jr.", "principal")],
    )
    loads = client.get("/api/v1/admin/loads", headers=bearer(admin_token))
    assert loads.status_code == 200
    assert [row["name"] for row in loads.get_json()["items"]] == [faculty.display_name]
    roster = client.get("/api/v1/admin/roster?status=all", headers=bearer(admin_token))
    item = roster.get_json()["items"][0]
    assert item["name"] == "Roster Person" and item["institution"] is None
    assert item["share"] == "50.00"
    assert item["other_supervisors"] == [
        {
            "email": None,
            "name": "Prof. Outside, Jr.",
            "institution": None,
            "role": "principal",
            "share": 50.0,
        }
    ]
    assert client.get("/api/v1/admin/loads", headers=bearer(faculty_token)).status_code == 403
    assert client.get("/api/v1/admin/roster", headers=bearer(faculty_token)).status_code == 403
    group = client.get(f"/api/v1/group/members?faculty={faculty.id}", headers=bearer(admin_token))
    assert group.get_json()["total"] == 1


def test_public_profile(app, client, faculty, faculty_token, make_member):
    from portal.models import User

    make_member(faculty, "Shown Student")
    assert client.get("/api/v1/people/nobody", headers=bearer(faculty_token)).status_code == 404
    with app.app_context():
        user = db.session.get(User, faculty.id)
        user.slug, user.profile_published = "helene", True
        db.session.commit()
    response = client.get("/api/v1/people/helene", headers=bearer(faculty_token))
    assert response.status_code == 200
    assert response.get_json()["current_members"][0]["name"] == "Shown Student"


def test_admin_loads_filter_by_unknown_institution_like_the_page(
    app, client, faculty, make_faculty, admin_token, make_member
):
    elsewhere = make_faculty("elsewhere@example.org", "Prof. Elsewhere")
    make_member(faculty, "Nowhere Known", institution=None)
    make_member(faculty, "At Montreal")
    make_member(elsewhere, "Also Montreal")
    with app.app_context():
        montreal = db.session.scalar(
            select(Institution.id).where(Institution.name == "Université de Montréal")
        )

    def loads(query: str):
        return client.get(f"/api/v1/admin/loads?{query}", headers=bearer(admin_token))

    unknown = loads("unknown_institution=true").get_json()
    assert [(row["name"], row["principal"]) for row in unknown["items"]] == [
        (faculty.display_name, 1)
    ]
    assert unknown["total"] == 1
    everyone = loads("unknown_institution=false").get_json()["items"]
    assert {row["name"]: row["principal"] for row in everyone} == {
        faculty.display_name: 2,
        "Prof. Elsewhere": 1,
    }
    at_montreal = loads(f"institution={montreal}").get_json()["items"]
    assert {row["name"]: row["principal"] for row in at_montreal} == {
        faculty.display_name: 1,
        "Prof. Elsewhere": 1,
    }
    both = loads(f"institution={montreal}&unknown_institution=true")
    assert both.status_code == 422
    assert both.get_json()["errors"]["query"]["unknown_institution"] == [
        "Filter by an institution or by an unknown institution, not both."
    ]
    in_french = client.get(
        f"/api/v1/admin/loads?institution={montreal}&unknown_institution=1",
        headers={**bearer(admin_token), "Accept-Language": "fr-CA"},
    )
    assert in_french.get_json()["errors"]["query"]["unknown_institution"] == [
        "Filtrez par un établissement ou par un établissement inconnu, pas les deux."
    ]
    assert loads("unknown_institution=perhaps").status_code == 422
    for day in ("0006-01-01", "2101-01-01"):  # the pages' range (portal/days.py)
        outside = loads(f"as_of={day}")
        assert outside.status_code == 422
        assert outside.get_json()["errors"]["query"]["as_of"] == [
            "Enter a date between 1950-01-01 and 2100-12-31."
        ]
    assert loads("as_of=2100-12-31").status_code == 200
    gone = loads("institution=99999")  # no institution, or one merged into another since
    assert gone.status_code == 422
    assert gone.get_json()["errors"]["query"]["institution"] == [
        "No institution has this id: it may have been merged into another."
    ]
    spec = client.get("/api/openapi.json").get_json()
    parameters = spec["paths"]["/api/v1/admin/loads"]["get"]["parameters"]
    [documented] = [item for item in parameters if item["name"] == "unknown_institution"]
    assert documented["schema"]["type"] == "boolean"
    assert "unknown" in documented["description"]


def test_openapi_document_and_reference_page(client):
    document = client.get("/api/openapi.json")
    assert document.status_code == 200
    spec = document.get_json()
    assert spec["openapi"].startswith("3.1")
    assert "/api/v1/group/members" in spec["paths"]
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/api/v1/group/members" in html and "<script" not in html
    assert "script-src" not in page.headers["Content-Security-Policy"]  # default-src 'self' only


def test_api_rate_limit(database_url, tmp_path, make_faculty):
    from tests.conftest import build_app

    app = build_app(
        database_url, str(tmp_path), RATELIMIT_ENABLED=True, API_RATE_LIMIT="3 per minute"
    )
    with app.app_context():
        from portal.models import User

        user = User(email="limited@example.org", display_name="Limited", password_hash="x")
        db.session.add(user)
        db.session.commit()
        db.session.refresh(user)
        db.session.expunge(user)
    secret = new_token(app, user, "read")
    client = app.test_client()
    statuses = [client.get("/api/v1/me", headers=bearer(secret)).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = client.get("/api/v1/me", headers=bearer(secret))
    assert limited.content_type == "application/problem+json"
    assert "Retry-After" in limited.headers


def test_problems_speak_the_callers_language(client, faculty, read_token):
    response = client.post(
        "/api/v1/group/members", json={}, headers={**bearer(read_token), "Accept-Language": "fr"}
    )
    assert response.status_code == 403
    assert "ne peut que lire" in response.get_json()["detail"]


def test_unknown_api_address_is_a_problem(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.content_type == "application/problem+json"
