"""Input and output: trusted hosts, size limits, plain error pages with rollback, inert payloads."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from portal.extensions import db
from portal.models import Institution, User
from tests.conftest import TEST_PASSWORD, build_app, login_client
from tests.routes import build_url, database_snapshot, rules

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'
XSS_ESCAPED = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"


# ---------------------------------------------------------------------------------------------
# Trusted hosts (Flask 3.1 checks TRUSTED_HOSTS when it matches the request's URL).


@pytest.fixture
def production_app(monkeypatch, database_url, tmp_path):
    monkeypatch.setenv("PORTAL_ENV", "production")
    monkeypatch.setenv("TRUSTED_HOSTS", "portal.example.org, .portal.example.org")
    return build_app(database_url, str(tmp_path))


def test_production_reads_trusted_hosts_from_the_environment(production_app):
    assert production_app.config["TRUSTED_HOSTS"] == ["portal.example.org", ".portal.example.org"]


@pytest.mark.parametrize("host", ["portal.example.org", "www.portal.example.org"])
def test_trusted_host_is_served(production_app, host):
    response = production_app.test_client().get("/login", headers={"Host": host})
    assert response.status_code == 200


@pytest.mark.parametrize("host", ["evil.example", "portal.example.org.evil.example"])
def test_untrusted_host_is_refused_with_a_plain_page(production_app, host):
    response = production_app.test_client().get("/login", headers={"Host": host})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Bad request" in page and "Traceback" not in page
    assert host not in page


# ---------------------------------------------------------------------------------------------
# Size limit.


def test_default_body_limit_is_set(app):
    assert app.config["MAX_CONTENT_LENGTH"] == 5 * 1024 * 1024


@pytest.mark.parametrize("csrf", [False, True])
def test_oversized_body_gets_413_plain_page_and_writes_nothing(
    database_url, tmp_path, make_faculty, csrf
):
    app = build_app(database_url, str(tmp_path), MAX_CONTENT_LENGTH=2048, WTF_CSRF_ENABLED=csrf)
    user = make_faculty()
    before = database_snapshot(app)
    response = app.test_client().post(
        "/login", data={"email": user.email, "password": TEST_PASSWORD, "padding": "x" * 5000}
    )
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "Too large" in page and "The upload is larger than the portal accepts." in page
    assert "Traceback" not in page
    assert database_snapshot(app) == before


# ---------------------------------------------------------------------------------------------
# Errors: a plain page, and nothing of the request is kept.


def _failing_app(database_url, tmp_path):
    # Not TESTING: under tests Flask lets a crash propagate (with its traceback) on purpose.
    app = build_app(database_url, str(tmp_path), TESTING=False)

    def write_then_fail():
        db.session.add(Institution(name="Written before the crash"))
        db.session.flush()
        raise RuntimeError("internal detail that must not be shown")

    def write_then_violate():
        db.session.add(Institution(name="Written before the violation"))
        db.session.flush()
        existing = db.session.scalars(select(User)).first()
        db.session.add(User(email=existing.email, display_name="Duplicate", password_hash="x"))
        db.session.flush()  # unique email: IntegrityError
        return "not reached"

    app.add_url_rule("/_test/write-then-fail", view_func=write_then_fail, methods=["POST"])
    app.add_url_rule("/_test/write-then-violate", view_func=write_then_violate, methods=["POST"])
    return app


@pytest.mark.parametrize("path", ["/_test/write-then-fail", "/_test/write-then-violate"])
def test_error_shows_a_plain_page_and_rolls_back(database_url, tmp_path, make_faculty, path):
    app = _failing_app(database_url, tmp_path)
    user = make_faculty(name="Prof. Still Shown")
    before = database_snapshot(app)
    response = login_client(app.test_client(), user).post(path)
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Something went wrong" in page and "nothing was saved" in page
    assert "Traceback" not in page and "internal detail" not in page
    assert "IntegrityError" not in page and "UNIQUE" not in page.upper().replace("UNIQUE_", "")
    assert "Prof. Still Shown" in page  # the page renders with the session usable again
    assert database_snapshot(app) == before
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Institution)) == 0


# ---------------------------------------------------------------------------------------------
# Payloads stay data.


@pytest.mark.parametrize(
    "email, password",
    [
        ("' OR 1=1 --", "' OR 1=1 --"),
        ("faculty@example.org' --", "anything"),
        ("faculty@example.org", "' OR '1'='1"),
        ("x'; DROP TABLE users; --", "x'; DROP TABLE users; --"),
    ],
)
def test_sql_looking_login_input_is_plain_text(app, client, faculty, email, password):
    before = database_snapshot(app)
    response = client.post("/login", data={"email": email, "password": password})
    assert response.status_code == 401
    page = response.get_data(as_text=True)
    assert "Invalid email or password." in page
    assert "&#39;" in page or "'" not in email  # the input comes back escaped in the field
    assert client.get("/group").status_code == 302
    after = database_snapshot(app)
    # A wrong password for an existing account is counted on it (its owner is told at the
    # next login); nothing else about the account, and nothing elsewhere, changes.
    with app.app_context():
        columns = [column.name for column in User.__table__.columns]
    changing = {columns.index("failed_logins"), columns.index("last_failed_login_at")}

    def steady(rows):
        return [tuple(v for i, v in enumerate(row) if i not in changing) for row in rows]

    assert steady(after.pop("users")) == steady(before.pop("users"))
    assert after == before


def test_xss_in_display_name_and_member_name_is_escaped_on_every_page(
    app, make_faculty, make_member
):
    user = make_faculty(name=XSS)
    make_member(user, name=XSS)
    client = app.test_client()
    shown = 0
    for rule in rules(app):
        if "GET" not in rule.methods:
            continue
        login_client(client, user)
        url = build_url(rule)
        response = client.get(url)
        if response.mimetype != "text/html":
            # Files (CSV, XLSX, JSON) carry the text as data, as attachments a browser never
            # renders as a page: what matters is that they are not served as HTML.
            assert response.headers.get("Content-Disposition", "").startswith(
                "attachment"
            ) or response.mimetype in {
                "text/plain",
                "application/json",
                "application/problem+json",
                "text/css",
                "image/vnd.microsoft.icon",
            }, url
            response.close()  # a streamed export not read to the end
            continue
        page = response.get_data(as_text=True)
        assert "<script>alert" not in page and "<img src=x" not in page, url
        shown += XSS_ESCAPED in page
    group_page = login_client(client, user).get("/group").get_data(as_text=True)
    assert group_page.count(XSS_ESCAPED) >= 2  # the account name and the member's name
    assert shown >= 1


def test_a_save_that_loses_a_race_is_a_conflict_not_a_crash(
    database_url, tmp_path, make_faculty, make_member
):
    app = build_app(database_url, str(tmp_path))
    user = make_faculty()
    member = make_member(user)

    def save_after_someone_else():
        from portal.models import Position

        position = db.session.get(Position, member.id)
        # Another request saved the row in between (its version moved on under us).
        db.session.execute(
            text("UPDATE positions SET version = version + 1 WHERE id = :id"), {"id": member.id}
        )
        position.note = "my change"
        db.session.flush()  # UPDATE ... WHERE version = <the old one>: no row matches
        return "not reached"

    app.add_url_rule("/_test/stale-save", view_func=save_after_someone_else, methods=["POST"])
    before = database_snapshot(app)
    response = login_client(app.test_client(), user).post("/_test/stale-save")
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "changed by someone else since you opened it" in page
    assert "Traceback" not in page and "StaleDataError" not in page
    assert database_snapshot(app) == before


def _fill_every_text_field_with_xss(app, faculty: User, colleague: User) -> None:
    """The payload in every free-text field a page can show, each with its own marker."""
    from datetime import date

    from portal.models import (
        DepartureReason,
        Person,
        Position,
        Program,
        Publication,
        PublicationAuthor,
        Supervision,
        SupervisionRole,
    )

    with app.app_context():
        owner = db.session.get(User, faculty.id)
        owner.title, owner.department = XSS + "title", XSS + "department"
        owner.biography, owner.research_topics = XSS + "biography", [XSS + "topic"]
        owner.slug, owner.profile_published = "xss-prof", True
        program = Program(name=XSS + "program", kind="phd")
        institution = Institution(name=XSS + "institution")
        current = Position(
            person=Person(full_name=XSS + "member"),
            program=program,
            institution=institution,
            start_date=date(2024, 1, 1),
            note=XSS + "note",
        )
        current.supervisions = [
            Supervision(supervisor_id=owner.id, role=SupervisionRole.PRINCIPAL, share=50),
            Supervision(
                external_name=XSS + "external", role=SupervisionRole.CO_SUPERVISOR, share=25
            ),
            Supervision(supervisor_id=colleague.id, role=SupervisionRole.CO_SUPERVISOR, share=25),
        ]
        former = Position(
            person=Person(full_name=XSS + "alumna"),
            program=program,
            institution=institution,
            start_date=date(2019, 1, 1),
            end_date=date(2023, 1, 1),
            outcome=XSS + "outcome",
            departure_reason=DepartureReason.GRADUATED,
        )
        former.supervisions = [
            Supervision(supervisor_id=owner.id, role=SupervisionRole.PRINCIPAL, share=100)
        ]
        publication = Publication(
            owner_id=owner.id,
            title=XSS + "paper",
            venue=XSS + "venue",
            year=2024,
            url="https://example.org/paper",
        )
        publication.authors.append(PublicationAuthor(position=1, name=XSS + "author"))
        db.session.add_all([current, former, publication])
        db.session.commit()
        db.session.remove()


def test_xss_in_every_text_field_is_escaped_on_every_page(app, make_faculty, make_admin):
    faculty = make_faculty(name=XSS + "faculty")
    colleague = make_faculty(name=XSS + "colleague")
    admin = make_admin()
    _fill_every_text_field_with_xss(app, faculty, colleague)
    seen = set()
    for user in (None, faculty, colleague, admin):
        for rule in rules(app):
            if "GET" not in rule.methods:
                continue
            client = app.test_client()
            if user is not None:
                login_client(client, user)
            response = client.get(build_url(rule, {"slug": "xss-prof"}))
            if response.mimetype != "text/html":
                response.close()  # a streamed export not read to the end
                continue
            page = response.get_data(as_text=True)
            assert "<script>alert" not in page and "<img src=x" not in page, rule.rule
            for marker in (
                "title",
                "department",
                "biography",
                "topic",
                "program",
                "institution",
                "member",
                "note",
                "external",
                "alumna",
                "outcome",
                "paper",
                "venue",
                "author",
                "faculty",
                "colleague",
            ):
                if XSS_ESCAPED + marker in page:
                    seen.add(marker)
    # Every field really reached some page, so the walk above really checked its escaping.
    assert seen == {
        "title",
        "department",
        "biography",
        "topic",
        "program",
        "institution",
        "member",
        "note",
        "external",
        "alumna",
        "outcome",
        "paper",
        "venue",
        "author",
        "faculty",
        "colleague",
    }


@pytest.mark.parametrize(
    ("host", "status"),
    [
        ("portal.example.org", 200),
        ("portal.example.org:80", 200),
        ("portal.example.org:8080", 400),
        ("portal.example.org:8443", 200),
        ("staff.example.org:8443", 400),
        ("staff.example.org:8444", 200),
        ("staff.example.org", 400),
        ("evil.example:8443", 400),
    ],
)
def test_trusted_hosts_are_matched_with_their_ports(
    monkeypatch, database_url, tmp_path, host, status
):
    monkeypatch.setenv("PORTAL_ENV", "production")
    monkeypatch.setenv(
        "TRUSTED_HOSTS", "portal.example.org, portal.example.org:8443, staff.example.org:8444"
    )
    app = build_app(database_url, str(tmp_path))
    response = app.test_client().get("/login", headers={"Host": host})
    assert response.status_code == status
