"""Applying an import in batches writes exactly what the record-by-record ORM path wrote.

The expected records and audit events below were produced by the ORM path (one object saved
per record) for the same file and database: same event kinds, values before and after, actor,
owners, shares and milestones. Ids are replaced by what they name (a person's name, a
position's person, program and start, a faculty's email), so that the comparison does not
depend on the order in which rows get their ids.
"""

import json
from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.database import (
    ROWS_PER_STATEMENT,
    bulk_insert,
    bulk_insert_repeated,
    json_text,
    reserve_ids,
)
from portal.extensions import db
from portal.models import (
    AuditEvent,
    Institution,
    Milestone,
    Person,
    Position,
    Supervision,
    User,
    utcnow,
)
from portal.roster import applying
from portal.roster.applying import apply_import
from portal.roster.planning import plan_import
from portal.roster.reading import read_roster_file
from portal.roster.reports import ROSTER_COLUMNS

pytestmark = pytest.mark.both_backends  # bulk inserts and RETURNING on both databases

ANNE = "anne@example.org"
BEN = "ben@example.org"
UDEM = "Université de Montréal"


def roster(*rows: tuple) -> bytes:
    lines = [",".join(ROSTER_COLUMNS)]
    for faculty, name, email, program, institution, role, start, end, outcome in rows:
        cells = [faculty, name, email, program, institution, role, start, end, "", outcome]
        lines.append(",".join(cells + [""] * (len(ROSTER_COLUMNS) - len(cells))))
    return ("\r\n".join(lines) + "\r\n").encode()


FILE = roster(
    # A new person and position with two faculty: principal and co-supervisor (50/50).
    (ANNE, "Ada New", "ada@example.org", "PhD", UDEM, "principal", "2031-09-01", "", ""),
    (BEN, "Ada New", "ada@example.org", "PhD", UDEM, "co-supervisor", "2031-09-01", "", ""),
    # A new person without email, at a new institution, hosted, with an end and an outcome.
    (
        ANNE,
        "Bo New",
        "",
        "Master's Research",
        "ETH Zurich",
        "none",
        "2031-01-15",
        "2033-01-14",
        "Postdoc at ETH",
    ),
    # The position on record: new name, new institution, an end date, the principal steps down.
    (
        ANNE,
        "Known P. Person",
        "known@example.org",
        "PhD",
        "McGill University",
        "co-supervisor",
        "2020-09-01",
        "2031-08-31",
        "",
    ),
    # A new stint of the person on record.
    (
        ANNE,
        "Known P. Person",
        "known@example.org",
        "Postdoctorate",
        UDEM,
        "principal",
        "2031-09-01",
        "",
        "",
    ),
)

ADA_PHD = ("Ada New", "PhD", "2031-09-01")
BO_MASTERS = ("Bo New", "Master's Research", "2031-01-15")
KNOWN_PHD = ("Known P. Person", "PhD", "2020-09-01")
KNOWN_POSTDOC = ("Known P. Person", "Postdoctorate", "2031-09-01")


def position_after(person, program, institution, start, end=None, outcome=None) -> dict:
    return {
        "person_id": person,
        "program": program,
        "institution": institution,
        "start_date": start,
        "end_date": end,
        "outcome": outcome,
        # The whole record (extended roster format): nothing in these columns of the file.
        "note": None,
        "departure_reason": None,
    }


def link_after(position, supervisor, role, share) -> dict:
    return {
        "position_id": position,
        "supervisor_id": supervisor,
        # External supervisors' names and institutions, and the agreement state, are audited
        # with every link since the extended roster format.
        "external_name": None,
        "external_institution": None,
        "role": role,
        "share": share,
        "state": "confirmed",
    }


# (action, entity_type, entity, before, after), all by the administrator who imported.
EXPECTED_EVENTS = sorted(
    [
        (
            "import-create",
            "persons",
            "Ada New",
            None,
            {"full_name": "Ada New", "email": "ada@example.org", "orcid": None},
        ),
        (
            "import-create",
            "positions",
            ADA_PHD,
            None,
            position_after("Ada New", "PhD", UDEM, "2031-09-01"),
        ),
        (
            "import-create",
            "supervisions",
            (*ADA_PHD, ANNE),
            None,
            link_after(ADA_PHD, ANNE, "principal", "50.00"),
        ),
        (
            "import-create",
            "supervisions",
            (*ADA_PHD, BEN),
            None,
            link_after(ADA_PHD, BEN, "co-supervisor", "50.00"),
        ),
        (
            "import-create",
            "persons",
            "Bo New",
            None,
            {"full_name": "Bo New", "email": None, "orcid": None},
        ),
        ("import-create", "institutions", "ETH Zurich", None, {"name": "ETH Zurich"}),
        (
            "import-create",
            "positions",
            BO_MASTERS,
            None,
            position_after(
                "Bo New",
                "Master's Research",
                "ETH Zurich",
                "2031-01-15",
                "2033-01-14",
                "Postdoc at ETH",
            ),
        ),
        (
            "import-create",
            "supervisions",
            (*BO_MASTERS, ANNE),
            None,
            link_after(BO_MASTERS, ANNE, "none", "100.00"),
        ),
        (
            "import-update",
            "persons",
            "Known P. Person",
            {"full_name": "Known Person", "email": "known@example.org", "orcid": None},
            {"full_name": "Known P. Person", "email": "known@example.org", "orcid": None},
        ),
        ("import-create", "institutions", "McGill University", None, {"name": "McGill University"}),
        (
            "import-update",
            "positions",
            KNOWN_PHD,
            position_after("Known P. Person", "PhD", UDEM, "2020-09-01"),
            position_after(
                "Known P. Person", "PhD", "McGill University", "2020-09-01", "2031-08-31"
            ),
        ),
        (
            "import-update",
            "supervisions",
            (*KNOWN_PHD, ANNE),
            link_after(KNOWN_PHD, ANNE, "principal", "100.00"),
            link_after(KNOWN_PHD, ANNE, "co-supervisor", "100.00"),
        ),
        (
            "import-create",
            "positions",
            KNOWN_POSTDOC,
            None,
            position_after("Known P. Person", "Postdoctorate", UDEM, "2031-09-01"),
        ),
        (
            "import-create",
            "supervisions",
            (*KNOWN_POSTDOC, ANNE),
            None,
            link_after(KNOWN_POSTDOC, ANNE, "principal", "100.00"),
        ),
    ],
    key=repr,
)

# (person, program, institution, start, end, outcome, owner) and each position's links.
EXPECTED_POSITIONS = {
    ADA_PHD: (
        UDEM,
        None,
        None,
        ANNE,
        [(ANNE, "principal", "50.00"), (BEN, "co-supervisor", "50.00")],
    ),
    BO_MASTERS: ("ETH Zurich", "2033-01-14", "Postdoc at ETH", ANNE, [(ANNE, "none", "100.00")]),
    KNOWN_PHD: ("McGill University", "2031-08-31", None, ANNE, [(ANNE, "co-supervisor", "100.00")]),
    KNOWN_POSTDOC: (UDEM, None, None, ANNE, [(ANNE, "principal", "100.00")]),
}

# The milestones the new positions get from their programs' default plans (future starts, so
# that repeating items begin at their first occurrence whatever the day of the run).
EXPECTED_MILESTONES = {
    ADA_PHD: [
        ("Research plan", 1, "2032-09-01"),
        ("Qualifying exam", 1, "2033-09-01"),
        ("Thesis proposal", 1, "2034-03-01"),
        ("Progress report", 1, "2032-09-01"),
        ("Thesis submission", 1, "2036-09-01"),
        ("Defense", 1, None),
    ],
    BO_MASTERS: [("Research plan", 1, "2031-07-15"), ("Progress report", 1, "2032-01-15")],
    KNOWN_POSTDOC: [("Annual review", 1, "2032-09-01")],
}


@pytest.fixture
def imported(app, make_faculty, make_admin, make_member, request, monkeypatch):
    """The file above imported by an administrator over one position on record."""
    anne = make_faculty(ANNE, "Anne Faculty")
    make_faculty(BEN, "Ben Faculty")
    admin = make_admin("office@example.org", "Office")
    make_member(anne, "Known Person", email="known@example.org", start_date=date(2020, 9, 1))
    # Batches of one row as well as of all rows: the batch boundaries change nothing.
    monkeypatch.setattr(applying, "WRITE_BATCH", request.param, raising=False)
    with app.app_context():
        actor = db.session.get(User, admin.id)
        plan = plan_import(
            read_roster_file(FILE, "roster.csv", max_bytes=None), actor, only_faculty=None
        )
        assert plan.ok, plan.problems
        summary = apply_import(plan, actor)
        db.session.commit()
    return admin, summary


def names() -> dict:
    """Ids of people, positions, faculty and institutions -> what they name."""
    people = dict(db.session.execute(select(Person.id, Person.full_name)).all())
    users = dict(db.session.execute(select(User.id, User.email)).all())
    positions = {
        position.id: (
            people[position.person_id],
            position.program.name,
            position.start_date.isoformat(),
        )
        for position in db.session.scalars(select(Position))
    }
    links = {
        link.id: (*positions[link.position_id], users[link.supervisor_id])
        for link in db.session.scalars(select(Supervision))
    }
    institutions = dict(db.session.execute(select(Institution.id, Institution.name)).all())
    return {
        "persons": people,
        "users": users,
        "positions": positions,
        "supervisions": links,
        "institutions": institutions,
    }


def by_name(values: dict | None, known: dict) -> dict | None:
    if values is None:
        return None
    named = dict(values)
    for key, table in (
        ("person_id", "persons"),
        ("position_id", "positions"),
        ("supervisor_id", "users"),
    ):
        if key in named:
            named[key] = known[table][named[key]]
    return named


@pytest.mark.parametrize("imported", [1_000, 1], indirect=True)
def test_batched_import_writes_the_same_audit_events_as_the_orm_path(app, imported):
    admin, summary = imported
    with app.app_context():
        known = names()
        events = [
            (
                event.action,
                event.entity_type,
                known[event.entity_type][event.entity_id],
                by_name(event.before, known),
                by_name(event.after, known),
            )
            for event in db.session.scalars(
                select(AuditEvent).where(AuditEvent.action.like("import-%"))
            )
        ]
        actors = set(
            db.session.scalars(
                select(AuditEvent.actor_id).where(AuditEvent.action.like("import-%"))
            )
        )
    assert sorted(events, key=repr) == EXPECTED_EVENTS
    assert actors == {admin.id}
    assert summary.created == {
        "people": 2,
        "positions": 3,
        "supervision links": 4,
        "institutions": 2,
    }
    assert (summary.new_rows, summary.updated_rows, summary.unchanged_rows) == (4, 1, 0)


@pytest.mark.parametrize("imported", [1_000, 1], indirect=True)
def test_batched_import_writes_the_same_records_as_the_orm_path(app, imported):
    with app.app_context():
        known = names()
        positions = {}
        for position in db.session.scalars(select(Position)):
            key = known["positions"][position.id]
            positions[key] = (
                position.institution.name,
                position.end_date.isoformat() if position.end_date else None,
                position.outcome,
                known["users"][position.owner_id],
                [
                    (known["users"][link.supervisor_id], link.role.value, str(link.share))
                    for link in position.supervisions
                ],
            )
            assert {link.state.value for link in position.supervisions} == {"confirmed"}
            assert position.version == (2 if key == KNOWN_PHD else 1)
        people = dict(db.session.execute(select(Person.full_name, Person.email)).all())
        milestones = {}
        for milestone in db.session.scalars(select(Milestone).order_by(Milestone.id)):
            key = known["positions"][milestone.position_id]
            if key == KNOWN_PHD:
                continue  # rebuilt by sync_plan, as before
            milestones.setdefault(key, []).append(
                (
                    milestone.name_en,
                    milestone.occurrence,
                    milestone.due_date.isoformat() if milestone.due_date else None,
                )
            )
            assert milestone.planned_date == milestone.due_date
            assert milestone.status.value == "open"
    assert positions == EXPECTED_POSITIONS
    assert people == {
        "Ada New": "ada@example.org",
        "Bo New": None,
        "Known P. Person": "known@example.org",
    }
    assert milestones == EXPECTED_MILESTONES


def test_a_large_import_writes_in_a_fixed_number_of_statements(app, make_faculty, query_counter):
    """Batches, not rows: 50 and 150 new rows (900 milestones, within one batch) cost the same
    number of statements. (On SQLite a batch goes ROWS_PER_STATEMENT rows a statement: rows
    that are not a multiple of it cost one more, shorter statement per table.)"""
    anne = make_faculty(ANNE, "Anne Faculty")

    def statements(prefix: str, count: int) -> int:
        data = roster(
            *[
                (
                    ANNE,
                    f"{prefix} {n}",
                    f"{prefix}{n}@example.org",
                    "PhD",
                    UDEM,
                    "principal",
                    "2031-09-01",
                    "",
                    "",
                )
                for n in range(count)
            ]
        )
        with app.app_context():
            actor = db.session.get(User, anne.id)
            plan = plan_import(
                read_roster_file(data, "roster.csv", max_bytes=None), actor, only_faculty=actor
            )
            assert plan.ok
            with query_counter() as executed:
                apply_import(plan, actor)
            db.session.commit()
        return len(executed)

    statements("first", 1)  # creates the institution
    assert ROWS_PER_STATEMENT == 50
    assert statements("few", 50) == statements("many", 150)


def test_a_bulk_insert_that_breaks_a_unique_key_raises_integrity_error(app):
    """The view answers 409 to an IntegrityError: a bulk insert (COPY on PostgreSQL) raises
    SQLAlchemy's, as a statement would, and writes nothing."""
    with app.app_context():
        now = utcnow()
        first, second = reserve_ids(db.session, Person.__table__, 2)
        row = {
            "full_name": "Dee Twice",
            "name_key": "dee twice",
            "email": "dee@example.org",
            "version": 1,
            "created_at": now,
            "updated_at": now,
        }
        with pytest.raises(IntegrityError):
            bulk_insert(db.session, Person.__table__, [{**row, "id": first}, {**row, "id": second}])
        db.session.rollback()
        assert db.session.scalar(select(Person).where(Person.email == "dee@example.org")) is None


def _people_and_positions(count: int) -> list[int]:
    """`count` new positions (one person each), written with bulk_insert; their ids."""
    now = utcnow()
    people = reserve_ids(db.session, Person.__table__, count)
    bulk_insert(
        db.session,
        Person.__table__,
        [
            {
                "id": key,
                "full_name": f"Bulk {n}",
                "name_key": f"bulk {n}",
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }
            for n, key in enumerate(people)
        ],
    )
    positions = reserve_ids(db.session, Position.__table__, count)
    bulk_insert(
        db.session,
        Position.__table__,
        [
            {
                "id": key,
                "person_id": person,
                "program_id": 1,
                "start_date": date(2030, 9, 1),
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }
            for key, person in zip(positions, people, strict=True)
        ],
    )
    return positions


def test_bulk_insert_writes_every_row_in_order_past_a_whole_statement(app):
    """120 rows on SQLite: two statements of ROWS_PER_STATEMENT rows and one of 20."""
    with app.app_context():
        positions = _people_and_positions(2 * ROWS_PER_STATEMENT + 20)
        rows = db.session.execute(
            select(Person.full_name, Position.id)
            .join(Position.person)
            .where(Position.id.in_(positions))
            .order_by(Person.id)
        ).all()
        assert rows == [(f"Bulk {n}", key) for n, key in enumerate(positions)]


@pytest.mark.parametrize("limit", [None, 20])
def test_bulk_insert_repeated_writes_what_the_expanded_rows_would(app, monkeypatch, limit):
    """Each row crossed with its shared list, in order, ids counted in that order; with more
    values than SQLite binds in one statement (limit 20), the expanded rows instead."""
    if limit is not None:
        monkeypatch.setattr("portal.database.variable_limit", lambda _connection: limit)
    with app.app_context():
        now = utcnow()
        first, second, third = _people_and_positions(3)
        plan_a = [
            {"occurrence": 1, "name_en": "A one", "name_fr": "A un", "due_date": date(2031, 1, 1)},
            {"occurrence": 1, "name_en": "A two", "name_fr": "A deux", "due_date": None},
        ]
        plan_b = [{"occurrence": 2, "name_en": "B", "name_fr": "B", "due_date": date(2032, 2, 29)}]
        for plan in (plan_a, plan_b):
            for values in plan:
                values.update(status="open", version=1, created_at=now, updated_at=now)
        bulk_insert_repeated(
            db.session,
            Milestone.__table__,
            "position_id",
            [(first, plan_a), (second, plan_b), (second, []), (third, plan_a)],
        )
        written = db.session.execute(
            select(Milestone.id, Milestone.position_id, Milestone.name_en, Milestone.due_date)
            .where(Milestone.position_id.in_([first, second, third]))
            .order_by(Milestone.id)
        ).all()
        assert [row[1:] for row in written] == [
            (first, "A one", date(2031, 1, 1)),
            (first, "A two", None),
            (second, "B", date(2032, 2, 29)),
            (third, "A one", date(2031, 1, 1)),
            (third, "A two", None),
        ]
        ids = [row[0] for row in written]
        assert ids == list(range(ids[0], ids[0] + 5))


def test_json_text_is_what_json_dumps_writes():
    for value in (
        None,
        "Université",
        {"full_name": 'Zoë O\'Neill "Z"', "orcid": None, "share": "12.50", "n": 3},
        {"list": [1.5, True, False, None, {"nested": "😀"}], "nan": float("nan")},
    ):
        assert json_text(value) == json.dumps(value)
    with pytest.raises(TypeError):
        json_text({"when": date(2031, 1, 1)})
