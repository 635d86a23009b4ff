"""/admin/loads keeps its rendered content per process under everything it shows: after any
write, however it was made (a change straight in the database here), the page is the one a
fresh render gives, and an administrator's content is never another's."""

import re
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from portal.admin.views import KEPT_LOAD_PAGES, KEPT_LOADS, KEPT_LOADS_READS
from portal.extensions import db
from portal.models import (
    Institution,
    LoadPolicy,
    Program,
    Supervision,
    SupervisionState,
    User,
)
from tests.conftest import assert_flashed_message_shows_once, login_client, two_sessions_tokens

pytestmark = pytest.mark.both_backends  # the aggregate query differs per database

CSRF = re.compile(r'name="csrf_token" value="[^"]*"')
PATHS = (
    "/admin/loads",
    "/admin/loads?show=roles&show=programs&sort=weighted&dir=desc",
    "/admin/loads?department=Mathematics",
)


def page(client, path="/admin/loads", language="en") -> str:
    response = client.get(path, headers={"Accept-Language": language})
    assert response.status_code == 200, path
    return CSRF.sub('name="csrf_token" value=""', response.get_data(as_text=True))


def assert_fresh(client, paths=PATHS) -> None:
    """Each page as served (from what is kept, when it is) is the page rendered afresh."""
    served = {
        (path, language): page(client, path, language)
        for path in paths
        for language in ("en", "fr-CA")
    }
    forget_kept()
    for (path, language), html in served.items():
        assert html == page(client, path, language), (path, language)


def forget_kept() -> None:
    """Forget the loads pages, their content and their small reads: the next page reads and
    renders afresh."""
    KEPT_LOAD_PAGES.clear()
    KEPT_LOADS.clear()
    KEPT_LOADS_READS.clear()


def change(app, statement) -> None:
    """A write that goes through no form and no portal function (as an import or a script)."""
    with app.app_context():
        db.session.execute(statement)
        db.session.commit()


@pytest.fixture
def loads(app, make_faculty, make_member):
    ada = make_faculty("ada@example.org", "Prof. Ada Lovelace", department="Computer Science")
    bob = make_faculty("bob@example.org", "Prof. Bob O'Brien", department="Mathematics")
    make_member(ada, "P1 PhD shared", others=[(bob, "co-supervisor")])
    make_member(ada, "P2 PhD sole", institution="McGill University")
    make_member(bob, "P3 Masters", program="Master's Research")
    return ada, bob


def test_a_repeated_page_is_kept_and_the_same(app, loads, admin_client):
    KEPT_LOADS.clear()
    first = page(admin_client)
    assert len(KEPT_LOADS.entries) == 1
    assert page(admin_client) == first
    assert len(KEPT_LOADS.entries) == 1
    assert_fresh(admin_client)


def test_a_repeated_page_reads_only_the_loads_while_nothing_was_written(
    app, loads, admin_client, query_counter
):
    """The filter's choices, the proposals pending and the default caps are kept under the data
    state; the loads statement itself runs for every page."""
    KEPT_LOADS_READS.clear()
    with query_counter() as first:
        page(admin_client, "/admin/loads")
    # Kept reads are used while the data state stays the same (on PostgreSQL a commit anywhere
    # on the server moves it: the suite's other workers), so the page is asked for until then.
    for _ in range(50):
        with query_counter() as second:
            page(admin_client, "/admin/loads?page=1&sort=name")
        if len(second) < len(first):
            break
    assert len(second) == len(first) - 4  # departments, institutions, pending, default caps
    assert not any("FROM load_policy" in text for text in second)
    for statements in (first, second):
        assert sum("current_loads" in text for text in statements) == 1  # the loads
    ada, _bob = loads
    change(app, update(User).where(User.id == ada.id).values(department="Physics"))
    with query_counter() as after_a_write:
        html = page(admin_client, "/admin/loads")
    assert len(after_a_write) == len(first)
    assert '<option value="Physics">Physics</option>' in html


def test_every_write_shows_on_the_next_page(app, loads, admin_client):
    ada, bob = loads
    with app.app_context():
        mcgill = db.session.scalar(
            select(Institution.id).where(Institution.name == "McGill University")
        )
    paths = (*PATHS, f"/admin/loads?institution={mcgill}")
    assert_fresh(admin_client, paths)
    writes = (
        update(User).where(User.id == ada.id).values(principal_cap=1),
        update(User).where(User.id == bob.id).values(weighted_cap=Decimal("40.00")),
        update(User).where(User.id == ada.id).values(display_name="Prof. Ada <King>"),
        update(User).where(User.id == bob.id).values(department="Physics"),
        update(Supervision).where(Supervision.supervisor_id == bob.id).values(share=Decimal(25)),
        update(Supervision)
        .where(Supervision.supervisor_id == ada.id)
        .values(state=SupervisionState.PROPOSED),
        update(LoadPolicy).values(default_principal_cap=1, default_weighted_cap=Decimal(50)),
        update(Program).where(Program.name == "Master's Research").values(weight=Decimal(2)),
        update(Institution).where(Institution.id == mcgill).values(name="Université McGill"),
    )
    for write in writes:
        for path in paths:  # what is kept before the write
            page(admin_client, path)
        change(app, write)
        assert_fresh(admin_client, paths)


def test_content_is_kept_per_viewer(app, loads, admin, make_admin):
    other = make_admin("office@example.org", "Graduate Office")
    KEPT_LOADS.clear()
    page(login_client(app.test_client(), admin))
    other_client = login_client(app.test_client(), other)
    page(other_client)
    assert {key[0] for key in KEPT_LOADS.entries} == {admin.id, other.id}  # never shared
    assert_fresh(other_client)


def test_the_day_is_part_of_what_is_kept(app, loads, admin_client):
    KEPT_LOADS.clear()
    page(admin_client, f"/admin/loads?as_of={date.today().isoformat()}")
    page(admin_client, "/admin/loads?as_of=2000-01-01")
    assert len(KEPT_LOADS.entries) == 2
    assert_fresh(admin_client, ("/admin/loads?as_of=2000-01-01",))


def test_kept_content_stays_within_its_budget(app, loads, admin_client, monkeypatch):
    monkeypatch.setattr(KEPT_LOADS, "max_bytes", 1)
    KEPT_LOADS.clear()
    page(admin_client)
    page(admin_client, "/admin/loads?sort=principal")
    assert len(KEPT_LOADS.entries) == 1
    assert_fresh(admin_client)


def test_nothing_is_kept_when_templates_reload_or_the_filter_is_wrong(app, loads, admin_client):
    KEPT_LOADS.clear()
    assert admin_client.get("/admin/loads?as_of=tomorrow").status_code == 400
    assert not KEPT_LOADS.entries
    app.jinja_env.auto_reload = True
    try:
        page(admin_client)
        assert not KEPT_LOADS.entries
    finally:
        app.jinja_env.auto_reload = False


def test_a_page_kept_whole_shows_a_flashed_message_once(app, loads, admin_client):
    """The page around kept content is kept too, per session, and neither given nor kept while
    a message waits: the message shows, once."""
    forget_kept()
    assert_flashed_message_shows_once(admin_client, lambda: page(admin_client))
    assert len(KEPT_LOAD_PAGES.entries) == 1
    assert_fresh(admin_client, ("/admin/loads",))


def test_a_page_kept_whole_is_one_sessions_own(app, loads, admin):
    """Two sessions of the same administrator each get the page with their own CSRF token."""
    forget_kept()
    first, second = two_sessions_tokens(app, admin, "/admin/loads")
    assert first != second


def test_a_page_kept_whole_follows_the_language_and_the_loads(app, loads, admin_client):
    """The kept page is the content's: another language, or another load, is another page."""
    forget_kept()
    english = page(admin_client)
    french = page(admin_client, language="fr-CA")
    assert english != french and page(admin_client) == english
    ada, _bob = loads
    change(app, update(User).where(User.id == ada.id).values(principal_cap=0))
    assert page(admin_client) != english
    assert_fresh(admin_client, ("/admin/loads",))
