"""Programs and caps administered in the portal: changes are audited, bad input writes nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import AuditEvent, LoadPolicy, Program, User


def _snapshot(app):
    """Everything these pages can change, to show that a rejected form wrote nothing."""
    with app.app_context():
        programs = [
            (p.name, p.kind.value, p.weight, p.counts_toward_load, p.is_active)
            for p in db.session.scalars(select(Program).order_by(Program.id))
        ]
        policy = db.session.get(LoadPolicy, 1)
        caps = [
            (u.id, u.principal_cap, u.weighted_cap)
            for u in db.session.scalars(select(User).order_by(User.id))
        ]
        events = db.session.scalar(select(func.count()).select_from(AuditEvent))
        return programs, (policy.default_principal_cap, policy.default_weighted_cap), caps, events


def _program(app, name: str) -> Program:
    with app.app_context():
        return db.session.scalar(select(Program).where(Program.name == name))


def test_programs_page_lists_programs_with_weights(admin_client):
    page = admin_client.get("/admin/programs").get_data(as_text=True)
    assert "Master&#39;s Research" in page and "0.50" in page and "Collaborating researcher" in page


def test_create_program_is_audited(app, admin_client):
    response = admin_client.post(
        "/admin/programs",
        data={
            "name": "Doctorat en cotutelle",
            "kind": "phd",
            "weight": "0,75",
            "counts_toward_load": "y",
            "is_active": "y",
        },
        headers={"Accept-Language": "fr-CA"},  # a French page reads the decimal comma
    )
    assert response.status_code == 302
    program = _program(app, "Doctorat en cotutelle")
    assert program.weight == Decimal("0.75") and program.counts_toward_load
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.entity_type == "programs"))
        assert event.action == "create" and event.after["weight"] == "0.75"


def test_edit_program_changes_name_kind_weight_and_flags(app, admin_client):
    intern = _program(app, "Research Intern")
    response = admin_client.post(
        f"/admin/programs/{intern.id}/edit",
        data={"name": "Summer intern", "kind": "visitor", "weight": "0"},
    )
    assert response.status_code == 302
    with app.app_context():
        program = db.session.get(Program, intern.id)
        assert (
            program.name,
            program.kind.value,
            program.weight,
            program.counts_toward_load,
            program.is_active,
        ) == ("Summer intern", "visitor", Decimal("0.00"), False, False)
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "update"))
        assert event.before["name"] == "Research Intern" and event.after["name"] == "Summer intern"


def test_edit_form_shows_current_values(app, admin_client):
    masters = _program(app, "Master's Research")
    page = admin_client.get(f"/admin/programs/{masters.id}/edit").get_data(as_text=True)
    assert 'value="0.50"' in page and 'selected value="masters"' in page


def test_unknown_program_is_404(admin_client):
    assert admin_client.get("/admin/programs/99999/edit").status_code == 404


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"name": "phd", "kind": "phd", "weight": "1"},
            "A program named &#39;phd&#39; already exists.",
        ),
        ({"name": "New", "kind": "phd", "weight": "-1"}, "The weight cannot be negative."),
        ({"name": "New", "kind": "phd", "weight": "heavy"}, "Enter a number such as 300 or 0.5"),
        ({"name": "New", "kind": "phd", "weight": ""}, "Enter a weight such as 1 or 0.5."),
        ({"name": "", "kind": "phd", "weight": "1"}, "A program name is required."),
        ({"name": "New", "kind": "dean", "weight": "1"}, "Not a valid choice"),
        ({"name": "New", "kind": "phd", "weight": "NaN"}, "Enter a number such as 300 or 0.5"),
    ],
)
def test_bad_new_program_is_a_400_with_a_message_and_writes_nothing(
    app, admin_client, data, message
):
    before = _snapshot(app)
    response = admin_client.post("/admin/programs", data=data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert _snapshot(app) == before


def test_wtforms_own_messages_are_french_on_a_french_page_and_read_once(app, admin_client):
    from portal.catalogue import wtforms_catalogue

    french = {"Accept-Language": "fr-CA,fr;q=0.9"}
    data = {"name": "New", "kind": "dean", "weight": "1"}
    first = admin_client.post("/admin/programs", data=data, headers=french)
    assert first.status_code == 400
    assert "N&#39;est pas un choix valide." in first.get_data(as_text=True)
    read = wtforms_catalogue.cache_info().misses
    again = admin_client.post("/admin/programs", data=data, headers=french)
    assert "N&#39;est pas un choix valide." in again.get_data(as_text=True)
    english = admin_client.post("/admin/programs", data=data)
    assert "Not a valid choice" in english.get_data(as_text=True)
    assert wtforms_catalogue.cache_info().misses <= read + 1  # English, once per process


def test_renaming_a_program_onto_another_is_refused(app, admin_client):
    masters = _program(app, "Master's Research")
    before = _snapshot(app)
    response = admin_client.post(
        f"/admin/programs/{masters.id}/edit",
        data={"name": "PHD", "kind": "masters", "weight": "0.5", "counts_toward_load": "y"},
    )
    assert response.status_code == 400
    assert "A program named &#39;PHD&#39; already exists." in response.get_data(as_text=True)
    assert _snapshot(app) == before


def test_keeping_a_programs_own_name_is_allowed(app, admin_client):
    phd = _program(app, "PhD")
    response = admin_client.post(
        f"/admin/programs/{phd.id}/edit",
        data={
            "name": "PhD",
            "kind": "phd",
            "weight": "2",
            "counts_toward_load": "y",
            "is_active": "y",
        },
    )
    assert response.status_code == 302
    assert _program(app, "PhD").weight == Decimal("2.00")


def test_default_caps_are_saved_and_audited(app, admin_client):
    response = admin_client.post(
        "/admin/caps", data={"principal_cap": "6", "weighted_cap": "250.5"}
    )
    assert response.status_code == 302
    with app.app_context():
        policy = db.session.get(LoadPolicy, 1)
        assert policy.default_principal_cap == 6
        assert policy.default_weighted_cap == Decimal("250.50")
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.entity_type == "load_policy"))
        assert event.before == {"default_principal_cap": 8, "default_weighted_cap": "300.00"}


def test_caps_page_shows_defaults_and_exceptions(app, admin_client, make_faculty):
    make_faculty("x@example.org", "Prof. Exception", principal_cap=12)
    page = admin_client.get("/admin/caps").get_data(as_text=True)
    assert 'value="8"' in page and 'value="300"' in page
    assert "Prof. Exception" in page and ">12<" in page


def test_caps_page_finds_faculty_and_shows_them_a_page_at_a_time(
    app, admin_client, make_faculty, monkeypatch
):
    from portal.admin import queries

    monkeypatch.setattr(queries, "ACCOUNTS_PAGE_SIZE", 2)
    for number in range(1, 4):
        make_faculty(f"capped{number}@example.org", f"Prof. Capped {number}", principal_cap=number)
    make_faculty("gone@example.org", "Prof. Gone", is_active=False)

    first = admin_client.get("/admin/caps").get_data(as_text=True)
    # Faculty only (the administrator has no caps), deactivated ones included, by name.
    assert "Faculty members 1–2 of 4" in first
    assert "Prof. Capped 1" in first and "Prof. Capped 2" in first
    assert "Prof. Capped 3" not in first and "Admin" not in first.split("<tbody>")[1]
    assert 'href="/admin/caps?page=2" rel="next"' in first
    second = admin_client.get("/admin/caps?page=2").get_data(as_text=True)
    assert "Prof. Capped 3" in second and "Prof. Gone (deactivated)" in second
    assert "Faculty members 3–4 of 4" in second and 'rel="next"' not in second
    # The default caps form is on every page of the list.
    assert 'name="principal_cap"' in second

    found = admin_client.get("/admin/caps?find=CAPPED3").get_data(as_text=True)
    assert "Faculty members 1–1 of 1" in found and "Prof. Capped 3" in found
    assert "Prof. Capped 1" not in found
    nobody = admin_client.get("/admin/caps?find=admin%40example.org").get_data(as_text=True)
    assert "No faculty account matches “admin@example.org”." in nobody


def test_caps_page_before_any_faculty_account_says_so(admin_client):
    page = admin_client.get("/admin/caps").get_data(as_text=True)
    assert "No faculty account yet." in page
    assert "Faculty members 1–0" not in page and "<tbody>" not in page
    assert 'name="principal_cap"' in page  # the default caps can be set already


def test_faculty_cap_exception_is_saved_and_can_be_cleared(app, admin_client, faculty):
    response = admin_client.post(
        f"/admin/caps/{faculty.id}", data={"principal_cap": "10", "weighted_cap": "400"}
    )
    assert response.status_code == 302
    with app.app_context():
        user = db.session.get(User, faculty.id)
        assert (user.principal_cap, user.weighted_cap) == (10, Decimal("400.00"))
    admin_client.post(f"/admin/caps/{faculty.id}", data={"principal_cap": "", "weighted_cap": ""})
    with app.app_context():
        user = db.session.get(User, faculty.id)
        assert (user.principal_cap, user.weighted_cap) == (None, None)
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "update-caps")
            )
            == 2
        )


def test_caps_of_an_admin_or_unknown_user_are_404(app, admin_client, admin):
    assert admin_client.get(f"/admin/caps/{admin.id}").status_code == 404
    assert admin_client.get("/admin/caps/99999").status_code == 404


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"principal_cap": "eight", "weighted_cap": "300"}, "Enter a whole number such as 8"),
        ({"principal_cap": "8.5", "weighted_cap": "300"}, "Enter a whole number such as 8"),
        ({"principal_cap": "8", "weighted_cap": "lots"}, "Enter a number such as 300 or 0.5"),
        ({"principal_cap": "-1", "weighted_cap": "300"}, "The principal cap cannot be negative."),
        ({"principal_cap": "8", "weighted_cap": "-5"}, "The weighted cap cannot be negative."),
    ],
)
@pytest.mark.parametrize("target", ["default", "faculty"])
def test_bad_caps_are_a_400_with_a_message_and_write_nothing(
    app, admin_client, faculty, data, message, target
):
    url = "/admin/caps" if target == "default" else f"/admin/caps/{faculty.id}"
    before = _snapshot(app)
    response = admin_client.post(url, data=data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert _snapshot(app) == before
