"""The milestones migration seeds the default plans and gives today's positions their milestones."""

from __future__ import annotations

from datetime import date

import pytest
from flask_migrate import upgrade
from sqlalchemy import text

from portal import create_app
from portal.extensions import db
from portal.milestones import add_months
from tests.conftest import app_config, reset_database

pytestmark = pytest.mark.both_backends


def _drop_everything():
    db.drop_all()
    with db.engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")


def test_existing_positions_get_their_plan(database_url, tmp_path):
    app = create_app(app_config(database_url), instance_path=str(tmp_path))
    today = date.today()
    with app.app_context():
        try:
            _drop_everything()
            upgrade(revision="b98ec492eaef")
            with db.engine.begin() as connection:
                connection.execute(
                    text(
                        "INSERT INTO institutions (name, name_key, created_at, updated_at)"
                        " VALUES ('McGill', 'mcgill', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                    )
                )
                for number, (program, start, end) in enumerate(
                    [
                        ("PhD", date(2020, 1, 31), None),  # current
                        ("Master's Research", date(2015, 1, 1), date(2017, 1, 1)),  # alumni
                        ("Research Intern", date(2024, 1, 1), None),  # no plan
                    ],
                    start=1,
                ):
                    connection.execute(
                        text(
                            "INSERT INTO persons (id, full_name, version, created_at, updated_at)"
                            " VALUES (:id, :name, 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                        ),
                        {"id": number, "name": f"Person {number}"},
                    )
                    connection.execute(
                        text(
                            "INSERT INTO positions (id, person_id, program_id, institution_id,"
                            " start_date, end_date, version, created_at, updated_at)"
                            " SELECT :id, :id, programs.id, institutions.id, :start, :end, 1,"
                            " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP FROM programs, institutions"
                            " WHERE programs.name = :program"
                        ),
                        {"id": number, "program": program, "start": start, "end": end},
                    )
            upgrade()
            with db.engine.connect() as connection:
                durations = dict(
                    connection.execute(
                        text("SELECT name, expected_duration_months FROM programs")
                    ).all()
                )
                plans = connection.execute(
                    text(
                        "SELECT programs.name, count(*) FROM milestone_plan_items"
                        " JOIN programs ON programs.id = milestone_plan_items.program_id"
                        " GROUP BY programs.name ORDER BY programs.name"
                    )
                ).all()
                milestones = connection.execute(
                    text(
                        "SELECT position_id, name_en, occurrence, due_date, status"
                        " FROM milestones ORDER BY position_id, id"
                    )
                ).all()
        finally:
            db.session.remove()
            _drop_everything()
            db.create_all()
            reset_database()
            db.session.remove()
            db.engine.dispose()
    assert durations["PhD"] == 60
    assert durations["Master's Research"] == 24
    assert durations["Research Intern"] is None
    assert plans == [("Master's Research", 3), ("PhD", 6), ("Postdoctorate", 1)]
    assert {row[0] for row in milestones} == {1}  # the alumni and the intern get none
    by_name = {row[1]: row for row in milestones}

    def as_date(value):
        return date.fromisoformat(value) if isinstance(value, str) else value

    assert as_date(by_name["Research plan"][3]) == date(2021, 1, 31)
    assert as_date(by_name["Qualifying exam"][3]) == date(2022, 1, 31)
    assert as_date(by_name["Thesis submission"][3]) == date(2025, 1, 31)
    assert by_name["Defense"][3] is None
    report = by_name["Progress report"]
    assert as_date(report[3]) >= today
    assert as_date(report[3]) == add_months(date(2020, 1, 31), 12 * report[2])
    assert {row[4] for row in milestones} == {"open"}
