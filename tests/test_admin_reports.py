"""Service tests for the loads report: cap warnings before a new supervision, exact rounding."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal.admin.reports import COLUMN_KEYS, SUMMED, _cells, loads_report
from portal.extensions import db
from portal.loads import (
    UNKNOWN_INSTITUTION,
    LoadRow,
    cap_breaches_after,
    load_policy,
    load_rows,
    loads_parameters,
    loads_query,
    percent_from_units,
)
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


def test_cells_totals_and_sorting_read_what_value_gives(app, faculty, make_faculty, make_member):
    other = make_faculty("other@example.org", "Prof. Other", weighted_cap=Decimal("120.50"))
    make_member(faculty, "PhD One", start_date=date(2025, 9, 1))
    make_member(faculty, "Visitor", program="Independent visiting researcher", role="none")
    make_member(other, "Master One", program="Master's Research", start_date=date(2025, 9, 1))
    make_member(other, "Co Two", role="co-supervisor", others=[(faculty, "principal")])
    with app.app_context():
        report = loads_report(TODAY)
        assert len(report.rows) == 2
        for row in report.rows:
            assert _cells(row) == [row.value(key) for key in COLUMN_KEYS]
        for index, key in enumerate(COLUMN_KEYS):
            if key in SUMMED:
                assert report.totals[index] == sum(row.value(key) for row in report.rows)
            else:
                assert report.totals[index] in ("Total", "0 over cap", None)
        for key in COLUMN_KEYS:
            for descending in (False, True):
                rows = loads_report(TODAY, sort=key, descending=descending).rows
                values = [row.value(key) for row in rows]
                keys = [
                    (value is None, (value.casefold() if isinstance(value, str) else value) or 0)
                    for value in values
                ]
                assert keys == sorted(keys, reverse=descending), key


def test_the_loads_statement_is_built_once_per_shape_of_filter():
    first, first_values = loads_parameters(date(2026, 1, 1))
    again, again_values = loads_parameters(date(2020, 1, 1), department="")
    assert first is again and first_values == {"as_of": date(2026, 1, 1)}
    assert again_values == {"as_of": date(2020, 1, 1)}
    by_institution, values = loads_parameters(TODAY, department="Physics", institution_id=4)
    assert by_institution is loads_parameters(TODAY, department="Math", institution_id=9)[0]
    assert by_institution is not first
    assert values == {"as_of": TODAY, "department": "Physics", "institution_id": 4}
    unknown, values = loads_parameters(TODAY, institution_id=UNKNOWN_INSTITUTION)
    assert unknown not in (first, by_institution) and values == {"as_of": TODAY}
    # Printed with its values, as the bench runs it on the DB-API.
    assert "2026-06-01" in str(loads_query(TODAY).compile(compile_kwargs={"literal_binds": True}))


def test_a_load_row_works_out_its_flags_and_status_once_made():
    def row(principal, weighted, principal_cap=8, weighted_cap=Decimal("300.00")):
        return LoadRow(
            1, "A", None, principal, 1, 2, {}, Decimal(weighted), principal_cap, weighted_cap
        )

    at_cap = row(8, "100.00")
    assert (at_cap.total, at_cap.principal_headroom, at_cap.status) == (11, 0, "Near cap")
    assert at_cap.near_principal_cap and not at_cap.near_weighted_cap and not at_cap.over_cap
    nine_tenths = row(1, "270.00")
    assert nine_tenths.near_weighted_cap and nine_tenths.status == "Near cap"
    below = row(6, "269.99")
    assert not below.near_cap and below.status == "Within cap"
    assert below.weighted_headroom == Decimal("30.01")
    both = row(9, "300.01")
    assert both.status == "Over cap (principal and weighted)" and not both.near_cap
    assert row(9, "0").status == "Over cap (principal)"
    assert row(0, "0", None, None).status == "No cap"
    assert row(0, "0", None, None).principal_headroom is None


def test_loads_see_changes_not_yet_flushed(app, faculty, make_member):
    make_member(faculty, "One", start_date=date(2025, 9, 1))
    with app.app_context():
        policy = load_policy()  # kept in the session: nothing else flushes before the loads query
        db.session.get(User, faculty.id).principal_cap = 1  # pending, as in an edit
        [row] = load_rows(TODAY)
        assert (row.principal, row.principal_cap, row.status) == (1, 1, "Near cap")
        assert policy.default_principal_cap == 8
        db.session.rollback()
