"""/group keeps its rendered content and its rows per process under everything they show: after
any write, however it was made (form, import, API, a change straight in the database), the page
is the one a fresh render gives, and a viewer's content is never another viewer's."""

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import create_engine, update
from sqlalchemy.exc import DBAPIError

from portal import create_app
from portal.extensions import db
from portal.group.views import KEPT_CONTENT, KEPT_PAGES
from portal.models import LoadPolicy, Milestone, Person, Position, Program, Supervision, User
from tests.conftest import (
    app_config,
    assert_flashed_message_shows_once,
    ensure_postgres_database,
    login_client,
    reset_database,
    two_sessions_tokens,
)
from tests.group_helpers import forget_kept

pytestmark = pytest.mark.both_backends  # the page's statements differ per database

CSRF = re.compile(r'name="csrf_token" value="[^"]*"')


def page(client, path="/group", language="en") -> str:
    html = client.get(path, headers={"Accept-Language": language}).get_data(as_text=True)
    return CSRF.sub('name="csrf_token" value=""', html)


def assert_fresh(client, path="/group") -> str:
    """The page as served (from what is kept, when it is) is the page rendered afresh."""
    served = {language: page(client, path, language) for language in ("en", "fr-CA")}
    forget_kept()
    for language, html in served.items():
        assert html == page(client, path, language), (path, language)
    return served["en"]


def change(app, statement) -> None:
    """A write that goes through no form and no portal function (as an import or a script)."""
    with app.app_context():
        db.session.execute(statement)
        db.session.commit()


@pytest.fixture
def group(app, faculty, make_faculty, make_member):
    colleague = make_faculty("colleague@example.org", "Prof. Colleague")
    member = make_member(faculty, "Amélie Bouchard", others=[(colleague, "co-supervisor")])
    make_member(faculty, "Björn Halvorsen", program="Master's Research", role="co-supervisor")
    make_member(faculty, "Incoming Student", start_date=date.today() + timedelta(days=30))
    return member, colleague


def test_every_write_shows_on_the_next_page(app, faculty, faculty_client, group):
    member, colleague = group
    assert "Amélie Bouchard" in assert_fresh(faculty_client)
    writes = [
        (
            update(Person).where(Person.id == member.person_id).values(full_name="Amélie B."),
            "Amélie B.",
        ),
        (
            update(User).where(User.id == colleague.id).values(display_name="Prof. Renamed"),
            "Prof. Renamed",
        ),
        (
            update(Supervision)
            .where(Supervision.position_id == member.id, Supervision.supervisor_id == faculty.id)
            .values(share=Decimal("12.50")),
            "12.50 %",
        ),
        (
            update(Supervision)
            .where(Supervision.position_id == member.id, Supervision.supervisor_id == colleague.id)
            .values(state="declined"),
            "declined by Prof. Renamed",
        ),
        (
            update(Position).where(Position.id == member.id).values(note="Thesis on ice"),
            "Thesis on ice",
        ),
        (update(Program).where(Program.name == "PhD").values(name_fr="Doctorat renommé"), None),
        (
            update(Position)
            .where(Position.id == member.id)
            .values(end_date=date.today() - timedelta(days=1)),
            None,
        ),
    ]
    for statement, shown in writes:
        change(app, statement)
        html = assert_fresh(faculty_client)
        if shown:
            assert shown in html
    assert "Amélie B." not in html  # now an alumna
    assert "Doctorat renommé" in page(faculty_client, "/group/alumni", "fr-CA")


def test_milestones_and_filters_are_part_of_what_is_kept(app, faculty, faculty_client, group):
    member, _ = group
    assert_fresh(faculty_client)
    with app.app_context():
        db.session.add(
            Milestone(
                position_id=member.id,
                name_en="Comprehensive exam",
                name_fr="Examen de synthèse",
                due_date=date.today() + timedelta(days=3),
                planned_date=date.today() + timedelta(days=3),
            )
        )
        db.session.commit()
    assert "Comprehensive exam" in assert_fresh(faculty_client)
    for path in ("/group?q=bjorn", "/group?sort=role&dir=desc", "/group?role=principal"):
        assert_fresh(faculty_client, path)


def test_content_is_kept_per_viewer(app, faculty, admin, faculty_client, group):
    admin_client = login_client(app.test_client(), admin)
    forget_kept()
    own = page(faculty_client)
    viewed = page(admin_client, f"/group?faculty={faculty.id}")
    assert "My group</h1>" in own and "Group of Prof. Hélène Faculty</h1>" in viewed
    keys = list(KEPT_CONTENT.entries)
    assert {key[0] for key in keys} == {faculty.id, admin.id}  # one viewer's, never shared
    assert_fresh(admin_client, f"/group?faculty={faculty.id}")


def test_kept_content_stays_within_its_budget(app, faculty_client, group, monkeypatch):
    monkeypatch.setattr(KEPT_CONTENT, "max_bytes", 1)
    forget_kept()
    page(faculty_client)
    page(faculty_client, "/group?sort=role")
    assert len(KEPT_CONTENT.entries) == 1
    assert_fresh(faculty_client)


def test_nothing_is_kept_when_templates_reload(app, faculty_client, group):
    app.jinja_env.auto_reload = True
    try:
        forget_kept()
        page(faculty_client)
        assert not KEPT_CONTENT.entries
    finally:
        app.jinja_env.auto_reload = False


def test_the_page_sql_does_not_grow_with_the_group(
    app, faculty, faculty_client, group, make_member, query_counter
):
    """The other supervisors and next milestones are read by the group's parameters, not by a
    list of ids (a few hundred bound values to render and send on every request)."""

    def statements() -> list[str]:
        page(faculty_client)
        forget_kept()  # the page read afresh, its rows with it
        with query_counter() as seen:
            page(faculty_client)
        return seen

    before = statements()
    for number in range(10):
        make_member(faculty, f"Another Student {number}")
    assert statements() == before


def test_a_kept_page_reads_no_row_while_nothing_changed(app, faculty_client, group, query_counter):
    """Kept content is keyed by the database's data state, read with the session's user: while
    nothing was written, the page reads no row of the group."""
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        # Any write on the server moves PostgreSQL's snapshot, and the suite's other workers
        # write all the time: there, the tests above show that no write is missed.
        pytest.skip("the snapshot moves with every write on the server: SQLite only")
    forget_kept()
    with query_counter() as fresh:
        first = page(faculty_client)
    with query_counter() as kept:
        again = page(faculty_client)
    assert again == first
    assert len(kept) < len(fresh)
    assert not any("FROM positions" in statement for statement in kept), kept


def test_a_write_on_another_connection_shows_on_the_next_page(app, faculty_client, group):
    """As another gunicorn worker, a script or an import in another process would write."""
    member, _ = group
    page(faculty_client)
    assert "Amélie Bouchard" in page(faculty_client)  # from what was kept
    with app.app_context():
        other = create_engine(db.engine.url)
    try:
        with other.begin() as connection:
            connection.execute(
                update(Person).where(Person.id == member.person_id).values(full_name="Amélie C.")
            )
        assert "Amélie C." in assert_fresh(faculty_client)
    finally:
        other.dispose()


def test_the_state_read_with_the_user_lasts_only_its_transaction(app, faculty):
    """A request that committed since reading the user reads its rows again."""
    from portal.auth.queries import data_state_read_with_user, load_user_from_session

    with app.test_request_context("/group"):
        assert load_user_from_session(f"{faculty.id}:{faculty.session_token}") is not None
        assert data_state_read_with_user() is not None
        db.session.commit()
        assert data_state_read_with_user() is None
    with app.test_request_context("/group", method="POST"):
        load_user_from_session(f"{faculty.id}:{faculty.session_token}")
        assert data_state_read_with_user() is None  # only page reads keep it


def test_another_databases_group_is_never_served(app, faculty, make_member, tmp_path):
    """One process may serve two databases (on PostgreSQL, of the same server, whose snapshot
    they share): a viewer with the same account id and session in each sees each one's group."""
    make_member(faculty, "Alice In The First Database")
    with app.app_context():
        url = db.engine.url
    if url.get_backend_name() == "postgresql":
        other_url = ensure_postgres_database(
            url.set(database=f"{url.database}_other").render_as_string(hide_password=False)
        )
    else:
        other_url = f"sqlite:///{tmp_path / 'other.sqlite3'}"
    other = create_app(app_config(other_url), instance_path=str(tmp_path))
    try:
        with other.app_context():
            db.drop_all()
            db.create_all()
            reset_database()
            twin = User(email="twin@example.org", display_name="Prof. Twin", is_active=True)
            twin.set_password("twin passphrase that is long", method="scrypt:1024:8:1")
            db.session.add(twin)
            db.session.commit()
            assert twin.id == faculty.id
            db.session.execute(update(User).values(session_token=faculty.session_token))
            db.session.commit()
        first = login_client(app.test_client(), faculty)
        second = login_client(other.test_client(), faculty)  # the same "id:token"
        forget_kept()
        assert "Alice In The First Database" in page(first)
        assert "Alice In The First Database" not in page(second)
        assert "Alice In The First Database" in page(first)  # nothing written meanwhile
    finally:
        with other.app_context():
            db.drop_all()
            db.engine.dispose()


@pytest.mark.parametrize("served", [False, True], ids=["tested", "served"])
def test_a_migration_that_changes_a_column_type_costs_one_page_a_connection(
    app, faculty_client, served
):
    """PostgreSQL refuses a prepared statement whose result no longer fits its table ("cached
    plan must not change result type"): the failed page forgets the prepared statements (its
    rollback, or the connection when the statement ran before the transaction), and the next
    page prepares them afresh. Served as in production, the failed page is the error page."""
    if served:
        app.config["PROPAGATE_EXCEPTIONS"] = False
    with app.app_context():
        url = db.engine.url
        db.engine.dispose()  # one pooled connection: it fails one page
    if url.get_backend_name() != "postgresql":
        pytest.skip("prepared statements: PostgreSQL only")
    for _ in range(7):
        forget_kept()
        assert faculty_client.get("/group").status_code == 200
    migration = create_engine(url, isolation_level="AUTOCOMMIT")  # as from another process
    try:
        with migration.connect() as connection:
            connection.exec_driver_sql(
                "ALTER TABLE users ALTER COLUMN display_name TYPE varchar(300)"
            )
        outcomes = []
        for _ in range(3):
            forget_kept()
            try:
                outcomes.append(faculty_client.get("/group").status_code)
            except DBAPIError as error:  # TESTING lets the error through
                outcomes.append(type(error.orig).__name__)
        assert outcomes[1:] == [200, 200], outcomes
        if served:
            assert outcomes[0] == 500, outcomes
    finally:
        with migration.connect() as connection:
            connection.exec_driver_sql(
                "ALTER TABLE users ALTER COLUMN display_name TYPE varchar(200)"
            )
        migration.dispose()
        with app.app_context():
            db.engine.dispose()


def test_a_write_the_page_does_not_show_reuses_its_content(app, faculty_client, group):
    """A write elsewhere moves the data state: the page reads its rows again, finds them as
    they were, and gives the content it kept without rendering; the new state then stands for
    that content, in place of the old one."""
    forget_kept()
    first = page(faculty_client)
    kept_before = dict(KEPT_CONTENT.entries)
    states_before = dict(KEPT_CONTENT.states)
    change(app, update(LoadPolicy).values(default_principal_cap=LoadPolicy.default_principal_cap))
    assert page(faculty_client) == first
    assert KEPT_CONTENT.entries.keys() == kept_before.keys()
    assert all(KEPT_CONTENT.entries[key] is html for key, html in kept_before.items())
    # One state a page and connection, the newest: the one the write left is not kept beside it.
    assert KEPT_CONTENT.states.keys() == states_before.keys()
    assert KEPT_CONTENT.states != states_before


def test_a_write_of_the_pages_own_transaction_is_never_kept_under_the_state(
    app, faculty, faculty_client, group
):
    """A page whose transaction wrote before the session's user was read (a hook that records
    something, say) reads a state with its own write in it, which its rollback does not move
    back: what it shows is not kept under that state, and the next page shows the data as
    committed."""
    from flask import request

    member, _ = group
    forget_kept()
    assert "Amélie Bouchard" in page(faculty_client)

    def write_first():
        if request.path == "/group":
            db.session.execute(
                update(Person).where(Person.id == member.person_id).values(full_name="Rolled Back")
            )

    hooks = app.before_request_funcs.setdefault(None, [])
    hooks.insert(0, write_first)  # before the session's user is read
    try:
        assert "Rolled Back" in page(faculty_client)  # its own uncommitted write
    finally:
        hooks.remove(write_first)
    html = page(faculty_client)  # the same pooled connection, nothing written since
    assert "Rolled Back" not in html
    assert "Amélie Bouchard" in html


def test_a_message_flashed_to_a_session_shows_once_on_a_kept_page(app, faculty_client, group):
    """A page kept whole is not given while a message waits: the message shows, once."""
    forget_kept()
    assert_flashed_message_shows_once(faculty_client, lambda: page(faculty_client))


def test_a_page_kept_whole_is_one_sessions_own(app, faculty, group):
    """Two sessions of the same account each get the page with their own CSRF token, however
    often they come back."""
    forget_kept()
    first, second = two_sessions_tokens(app, faculty, "/group")
    assert first != second


def test_no_page_is_kept_whole_when_csrf_tokens_have_a_time_limit(app, faculty_client, group):
    """With WTF_CSRF_TIME_LIMIT set, Flask-WTF signs a session's token anew each second: a page
    kept under one token would never be asked for again, so none is kept."""
    forget_kept()
    app.config["WTF_CSRF_TIME_LIMIT"] = 3600
    for _ in range(3):
        assert faculty_client.get("/group").status_code == 200
    assert not KEPT_PAGES.entries
    app.config["WTF_CSRF_TIME_LIMIT"] = None
    # Kept once the data state stays the same from one page to the next (on PostgreSQL, a
    # commit anywhere on the server moves it: the suite's other workers).
    for _ in range(50):
        assert faculty_client.get("/group").status_code == 200
        if KEPT_PAGES.entries:
            break
    assert len(KEPT_PAGES.entries) == 1
