"""Adding a member that takes a supervisor over a cap warns first; saving is still allowed."""

from datetime import date, timedelta

from sqlalchemy import func, select

from portal.admin.reports import loads_report
from portal.extensions import db
from portal.models import Position
from tests.group_helpers import database_fingerprint
from tests.test_group_forms import new_member_data


def _today_data(app, **overrides):
    return new_member_data(
        app, start_date=(date.today() - timedelta(days=1)).isoformat(), **overrides
    )


def _positions(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Position))


def test_principal_cap_warns_and_writes_nothing_until_confirmed(app, make_faculty, make_member):
    from tests.conftest import login_client

    faculty = make_faculty("capped@example.org", "Prof. Capped", principal_cap=1)
    make_member(faculty, "Already Supervised", start_date=date.today() - timedelta(days=90))
    client = login_client(app.test_client(), faculty)
    before = database_fingerprint(app)

    response = client.post("/group/members/new", data=_today_data(app, email=""))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Over a supervision cap." in page
    assert "Prof. Capped would be principal supervisor of 2 people, over their cap of 1." in page
    assert 'name="accept_over_cap"' in page
    assert database_fingerprint(app) == before

    confirmed = client.post(
        "/group/members/new", data=_today_data(app, email="", accept_over_cap="y")
    )
    assert confirmed.status_code == 302
    assert _positions(app) == 2
    with app.app_context():
        row = next(r for r in loads_report(date.today()).rows if r.faculty_id == faculty.id)
        assert row.principal == 2 and row.over_principal_cap


def test_co_supervisor_over_weighted_cap_is_named(app, faculty, faculty_client, make_faculty):
    colleague = make_faculty("busy@example.org", "Prof. Busy Colleague", weighted_cap=40)
    response = faculty_client.post(
        "/group/members/new",
        data=_today_data(app, **{"supervisors-0-supervisor": str(colleague.id)}),
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Prof. Busy Colleague&#39;s weighted load would be 50%, over their cap of 40%." in page
    assert _positions(app) == 0


def test_under_the_cap_saves_at_once(app, faculty, faculty_client):
    response = faculty_client.post("/group/members/new", data=_today_data(app))
    assert response.status_code == 302
    assert _positions(app) == 1


def test_a_future_position_does_not_warn_today(app, make_faculty):
    from tests.conftest import login_client

    faculty = make_faculty("capped@example.org", "Prof. Capped", principal_cap=0)
    client = login_client(app.test_client(), faculty)
    future = (date.today() + timedelta(days=30)).isoformat()
    response = client.post("/group/members/new", data=new_member_data(app, start_date=future))
    assert response.status_code == 302
    assert _positions(app) == 1


def test_invalid_shares_are_an_error_not_a_warning(app, make_faculty):
    from tests.conftest import login_client

    faculty = make_faculty("capped@example.org", "Prof. Capped", principal_cap=0)
    client = login_client(app.test_client(), faculty)
    response = client.post("/group/members/new", data=_today_data(app, share="70"))
    assert response.status_code == 400
    assert "Shares must total 100 %" in response.get_data(as_text=True)
    assert _positions(app) == 0


def test_an_imports_additions_count_one_by_one_however_many_repeat(app, make_faculty):
    """An import's links are weighed by kind (program, share, role); each repeat still counts."""
    from decimal import Decimal

    from portal.loads import cap_breaches_after_adding
    from portal.models import Program

    def warnings(faculty) -> list[str]:
        with app.app_context():
            program = {p.name: p.id for p in db.session.scalars(select(Program))}
            return cap_breaches_after_adding(
                faculty.id,
                [
                    (program["PhD"], Decimal("50"), "principal"),
                    (program["PhD"], Decimal("50.00"), "principal"),
                    (program["Master's Research"], Decimal("100"), "principal"),
                    (program["PhD"], "25", "co-supervisor"),
                    (program["Collaborating researcher"], Decimal("100"), "none"),
                ],
                date.today(),
            )

    # Three principal seats and 50 + 50 + 50 (a master's counts half) + 25 = 175% weighted.
    over = make_faculty("over@example.org", "Prof. Over", principal_cap=2, weighted_cap=150)
    assert warnings(over) == [
        "Prof. Over would be principal supervisor of 3 people, over their cap of 2.",
        "Prof. Over's weighted load would be 175%, over their cap of 150%.",
    ]
    at_caps = make_faculty("at@example.org", "Prof. At", principal_cap=3, weighted_cap=175)
    assert warnings(at_caps) == []
