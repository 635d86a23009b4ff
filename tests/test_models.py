"""Integrity rules the database enforces itself, whatever the forms do."""

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.identifiers import name_key, normalise_orcid
from portal.models import (
    DEFAULT_PROGRAMS,
    Institution,
    Person,
    Position,
    Program,
    Supervision,
    SupervisionRole,
    User,
)
from portal.models.supervision import default_shares

pytestmark = pytest.mark.both_backends  # constraints are enforced by the database


def _position(person_name="Zoë O'Brien", start=date(2024, 1, 1), end=None) -> Position:
    program = db.session.scalar(select(Program).where(Program.name == "PhD"))
    return Position(
        person=Person(full_name=person_name),
        program=program,
        institution=Institution(name="Université de Montréal"),
        start_date=start,
        end_date=end,
    )


def _user(email: str) -> User:
    return User(
        email=email, display_name="Someone", password_hash="x", is_admin=False, is_active=True
    )


def test_user_email_is_unique_case_insensitively(app_context):
    db.session.add(_user("Ada@Example.org"))
    db.session.commit()
    assert db.session.scalar(select(User.email)) == "ada@example.org"
    db.session.add(_user("ADA@example.ORG"))
    with pytest.raises(IntegrityError):
        db.session.commit()


def test_database_refuses_mixed_case_email_written_around_the_model(app_context):
    with pytest.raises(IntegrityError):
        db.session.execute(
            text(
                "INSERT INTO users (email, display_name, password_hash, is_admin, is_active,"
                " session_token, research_topics, profile_published, created_at, updated_at)"
                " VALUES ('Mixed@Example.org', 'x', 'x', false, true, 't', '[]', false,"
                " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
        db.session.commit()


def test_person_email_unique_case_insensitively_and_optional(app_context):
    db.session.add_all(
        [
            Person(full_name="A", email=None),
            Person(full_name="B", email=None),
            Person(full_name="C", email="c@example.org"),
        ]
    )
    db.session.commit()
    db.session.add(Person(full_name="D", email="C@EXAMPLE.ORG"))
    with pytest.raises(IntegrityError):
        db.session.commit()


def test_end_date_not_before_start_date(app_context):
    db.session.add(_position(start=date(2024, 5, 1), end=date(2024, 4, 30)))
    with pytest.raises(IntegrityError):
        db.session.commit()


def test_end_date_on_start_date_is_allowed(app_context):
    db.session.add(_position(start=date(2024, 5, 1), end=date(2024, 5, 1)))
    db.session.commit()


def test_one_principal_supervisor_per_position(app_context):
    first, second = _user("one@example.org"), _user("two@example.org")
    position = _position()
    position.supervisions = [
        Supervision(supervisor=first, role=SupervisionRole.PRINCIPAL, share=Decimal(50)),
        Supervision(supervisor=second, role=SupervisionRole.PRINCIPAL, share=Decimal(50)),
    ]
    db.session.add(position)
    with pytest.raises(IntegrityError):
        db.session.commit()


def test_principal_and_co_supervisors_are_allowed(app_context):
    first, second = _user("one@example.org"), _user("two@example.org")
    position = _position()
    position.supervisions = [
        Supervision(supervisor=first, role=SupervisionRole.PRINCIPAL, share=Decimal(50)),
        Supervision(supervisor=second, role=SupervisionRole.CO_SUPERVISOR, share=Decimal(25)),
        Supervision(
            external_name="Prof. Ingrid Sørensen",
            role=SupervisionRole.CO_SUPERVISOR,
            share=Decimal(25),
        ),
    ]
    db.session.add(position)
    db.session.commit()
    assert {s.supervisor_name for s in position.supervisions} == {
        "Someone",
        "Prof. Ingrid Sørensen",
    }


def test_supervision_needs_an_account_or_an_external_name(app_context):
    position = _position()
    position.supervisions = [Supervision(role=SupervisionRole.PRINCIPAL, share=Decimal(100))]
    db.session.add(position)
    with pytest.raises(IntegrityError):
        db.session.commit()


def test_foreign_keys_are_enforced(app_context):
    with pytest.raises(IntegrityError):
        db.session.execute(
            text(
                "INSERT INTO supervisions (position_id, supervisor_id, role, share)"
                " VALUES (987654, NULL, 'none', 100)"
            )
        )
        db.session.commit()


def test_unknown_role_is_refused_by_the_database(app_context):
    position = _position()
    db.session.add(position)
    db.session.commit()
    with pytest.raises(IntegrityError):
        db.session.execute(
            text(
                "INSERT INTO supervisions (position_id, external_name, role, share)"
                " VALUES (:id, 'X', 'boss', 100)"
            ),
            {"id": position.id},
        )
        db.session.commit()


def test_institution_names_match_without_case_or_accents(app_context):
    db.session.add(Institution(name="Université de Montréal"))
    db.session.commit()
    db.session.add(Institution(name="universite  de montreal"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    stored = db.session.scalar(select(Institution))
    assert stored.name == "Université de Montréal"
    assert stored.name_key == name_key("UNIVERSITÉ DE MONTRÉAL") == "universite de montreal"


def test_default_programs_are_seeded(app_context):
    names = db.session.scalars(select(Program.name).order_by(Program.sort_order)).all()
    assert names == [program["name"] for program in DEFAULT_PROGRAMS]


def test_names_keep_accents_and_punctuation_exactly(app_context):
    name = 'Zoë O\'Brien-Lefèvre ("Zo"), Jr.'
    db.session.add(Person(full_name=name))
    db.session.commit()
    db.session.expire_all()
    assert db.session.scalar(select(Person.full_name)) == name


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("0000-0002-1825-0097", "0000-0002-1825-0097"),
        ("https://orcid.org/0000-0001-5109-3700", "0000-0001-5109-3700"),
        ("0000000218250097", "0000-0002-1825-0097"),
        ("0000-0002-1694-233x", "0000-0002-1694-233X"),
        ("0000-0002-1825-0098", None),
        ("1234", None),
        ("", None),
    ],
)
def test_orcid_checksum(raw, expected):
    assert normalise_orcid(raw) == expected


@pytest.mark.parametrize(
    "roles, expected",
    [
        (["principal"], ["100.00"]),
        (["principal", "co-supervisor"], ["50.00", "50.00"]),
        (["principal", "co-supervisor", "co-supervisor"], ["50.00", "25.00", "25.00"]),
        (
            ["co-supervisor", "principal", "co-supervisor", "co-supervisor"],
            ["16.67", "50.00", "16.67", "16.66"],
        ),
        (["none"], ["100.00"]),
        (["co-supervisor", "co-supervisor"], ["50.00", "50.00"]),
    ],
)
def test_default_shares_total_one_hundred(roles, expected):
    shares = default_shares([SupervisionRole(role) for role in roles])
    assert shares == [Decimal(value) for value in expected]
    assert sum(shares) == Decimal("100.00")
