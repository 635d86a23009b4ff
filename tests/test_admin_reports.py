"""Service tests for the loads report: cap warnings before a new supervision, exact rounding."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal.admin.reports import loads_report
from portal.extensions import db
from portal.loads import cap_breaches_after, percent_from_units
from portal.models import LoadPolicy, Program, User

pytestmark = pytest.mark.both_backends  # the aggregate query differs per database

TODAY = date(2026, 6, 1)


def _program_id(name: str) -> int:
    return db.session.scalar(select(Program.id).where(Program.name == name))


def test_percent_from_units_rounds_half_up_exactly():
    assert percent_from_units(1_000_000) == Decimal("100.00")
    assert percent_from_units(166_650) == Decimal("16.67")  # 33.33 % x 0.5 = 16.665
    assert percent_from_units(0) == Decimal("0.00")


def test_no_warning_when_the_new_supervision_stays_within_caps(app, faculty, make_member):
    make_member(faculty, "One", start_date=date(2025, 9, 1))
    with app.app_context():
        assert cap_breaches_after(faculty.id, _program_id("PhD"), 100, "principal", TODAY) == []


def test_warns_when_principal_cap_would_be_exceeded(app, make_faculty, make_member):
    faculty = make_faculty("cap@example.org", "Prof. Capped", principal_cap=2)
    for number in range(2):
        make_member(faculty, f"Student {number}", start_date=date(2025, 9, 1))
    with app.app_context():
        warnings = cap_breaches_after(faculty.id, _program_id("PhD"), 50, "principal", TODAY)
        assert warnings == [
            "Prof. Capped would be principal supervisor of 3 people, over their cap of 2."
        ]
        # As co-supervisor the principal count does not change.
        assert cap_breaches_after(faculty.id, _program_id("PhD"), 50, "co-supervisor", TODAY) == []


def test_warns_when_weighted_cap_would_be_exceeded(app, make_faculty, make_member):
    faculty = make_faculty("w@example.org", "Prof. Weighted", weighted_cap=Decimal("150"))
    make_member(faculty, "Sole PhD", start_date=date(2025, 9, 1))
    with app.app_context():
        assert cap_breaches_after(faculty.id, _program_id("PhD"), 50, "co-supervisor", TODAY) == []
        warnings = cap_breaches_after(
            faculty.id, _program_id("PhD"), Decimal("50.01"), "co-supervisor", TODAY
        )
        assert warnings == [
            "Prof. Weighted's weighted load would be 150.01%, over their cap of 150%."
        ]
        # A program that does not count toward load never warns about the weighted cap.
        assert (
            cap_breaches_after(
                faculty.id, _program_id("Collaborating researcher"), 100, "none", TODAY
            )
            == []
        )


def test_warning_uses_the_load_on_the_given_day(app, make_faculty, make_member):
    faculty = make_faculty("d@example.org", "Prof. Dated", principal_cap=1)
    make_member(faculty, "Ended", start_date=date(2020, 9, 1), end_date=date(2025, 5, 1))
    with app.app_context():
        assert cap_breaches_after(faculty.id, _program_id("PhD"), 100, "principal", TODAY) == []
        assert (
            cap_breaches_after(faculty.id, _program_id("PhD"), 100, "principal", date(2024, 1, 1))
            != []
        )


def test_default_caps_apply_and_both_breaches_are_reported(app, faculty, make_member):
    make_member(faculty, "Sole PhD", start_date=date(2025, 9, 1))
    with app.app_context():
        policy = db.session.get(LoadPolicy, 1)
        policy.default_principal_cap = 1
        policy.default_weighted_cap = Decimal("150")
        db.session.commit()
        warnings = cap_breaches_after(faculty.id, _program_id("PhD"), 100, "principal", TODAY)
        assert len(warnings) == 2


def test_unknown_faculty_or_program_gives_no_warning(app, faculty):
    with app.app_context():
        assert cap_breaches_after(999_999, _program_id("PhD"), 100, "principal", TODAY) == []
        assert cap_breaches_after(faculty.id, 999_999, 100, "principal", TODAY) == []


def test_report_caps_fall_back_to_the_policy(app, make_faculty):
    make_faculty("a@example.org", "A", principal_cap=3)
    make_faculty("b@example.org", "B")
    with app.app_context():
        rows = {row.name: row for row in loads_report(TODAY).rows}
        assert rows["A"].principal_cap == 3 and rows["A"].weighted_cap == Decimal("300.00")
        assert rows["B"].principal_cap == 8
        assert not db.session.scalar(select(User).where(User.email == "a@example.org")).is_admin
