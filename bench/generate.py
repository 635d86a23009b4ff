"""Institution-scale data in bulk: thousands of faculty, tens of thousands of people and positions.

Rows are inserted with Core executemany in chunks and explicit ids, which takes seconds. The first
faculty member (`BENCH_FACULTY_EMAIL`) gets a group of exactly 30 current members, like the
institute page, the third (`BENCH_LARGE_GROUP_EMAIL`) ten times that mix (300 members), the second
(`BENCH_IMPORT_FACULTY_EMAIL`) none (the import figure fills it); everyone else gets random groups
with co-supervision, alumni and hosted visitors.
"""

from __future__ import annotations

import os
import random
import sqlite3
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from flask_migrate import upgrade
from sqlalchemy import func, inspect, select, text
from sqlalchemy.engine import make_url
from werkzeug.security import generate_password_hash

from portal import create_app
from portal.extensions import db
from portal.identifiers import name_key
from portal.models import (
    Institution,
    Person,
    Position,
    Program,
    ProgramKind,
    Supervision,
    SupervisionRole,
    User,
)
from portal.models.supervision import default_shares

BENCH_FACULTY_EMAIL = "faculty1@bench.example.org"
BENCH_LARGE_GROUP_EMAIL = "faculty3@bench.example.org"
BENCH_IMPORT_FACULTY_EMAIL = "faculty2@bench.example.org"
BENCH_ADMIN_EMAIL = "admin@bench.example.org"
# Account ids: 1 is the administrator, facultyN is N + 1.
BENCH_FACULTY_ID = 2
BENCH_LARGE_GROUP_ID = 4
LARGE_GROUP_REPEATS = 10  # 300 members
# Random groups draw their faculty from here on: the three accounts above keep exact groups.
FIRST_RANDOM_FACULTY_ID = 5
BENCH_PASSWORD = "bench passphrase for the portal"
CHUNK = 5_000

FIRST = [
    "Amélie",
    "Tomás",
    "Li",
    "Noémie",
    "Kwame",
    "Saoirse",
    "Élodie",
    "Rafael",
    "Anaïs",
    "Jean-Philippe",
    "Mariam",
    "Björn",
    "Priya",
    "Zoë",
    "Chidi",
    "Hugo",
    "Inès",
    "Olivier",
    "Yasmine",
    "Mateo",
    "Ayesha",
    "Felix",
    "Camille",
    "Samuel",
    "Léa",
    "Oren",
    "Astrid",
]
LAST = [
    "Bouchard",
    "O'Donnell",
    "Fontaine",
    "St-Laurent",
    "Asante",
    "D'Arcy",
    "Marchand",
    "Quiñones",
    "Kowalczyk",
    "Côté",
    "El-Khoury",
    "Halvorsen",
    "Raman",
    "Papadopoulos",
    "Okonkwo",
    "Lefèvre",
    "Benali",
    "Lapointe",
    "Haddad",
    "García",
    "Siddiqui",
    "Brandt",
    "Nguyen",
    "Adeyemi",
    "Beaulieu",
    "Ben-David",
    "Lindqvist",
    "Tremblay",
    "Gagnon",
    "Roy",
]
REAL_INSTITUTIONS = [
    "Université de Montréal",
    "McGill University",
    "Polytechnique Montréal",
    "Concordia University",
    "ETH Zurich",
    "Western Washington University",
]
DEPARTMENTS = [f"Department {n}" for n in range(1, 21)]
YEARS_BY_KIND = {
    ProgramKind.PHD: 5,
    ProgramKind.MASTERS: 2,
    ProgramKind.POSTDOC: 3,
    ProgramKind.INTERN: 0.4,
    ProgramKind.COLLABORATOR: 3,
    ProgramKind.VISITOR: 0.5,
    ProgramKind.ALUMNI_COLLABORATOR: 3,
}
HOSTED_KINDS = {ProgramKind.COLLABORATOR, ProgramKind.VISITOR, ProgramKind.ALUMNI_COLLABORATOR}


@dataclass(frozen=True)
class Scale:
    faculty: int = 2_000
    people: int = 40_000
    positions: int = 60_000
    years: int = 20


@dataclass
class Generated:
    faculty: int
    people: int
    positions: int
    supervisions: int
    seconds: float


def generate(scale: Scale, today: date, seed: int = 7) -> Generated:
    """Fill an empty, migrated database (inside an app context) and return what was made."""
    started = datetime.now(UTC)
    rng = random.Random(seed)
    now = datetime.now(UTC)
    stamps = {"created_at": now, "updated_at": now}
    password_hash = generate_password_hash(BENCH_PASSWORD, method="scrypt")

    # Every row has every key: an insert of many rows takes its columns from the first.
    users = [
        {
            "id": 1,
            "email": BENCH_ADMIN_EMAIL,
            "display_name": "Bench Admin",
            "is_admin": True,
            "department": None,
        }
    ]
    for number in range(1, scale.faculty + 1):
        users.append(
            {
                "id": number + 1,
                "email": f"faculty{number}@bench.example.org",
                "display_name": f"Prof. {rng.choice(FIRST)} {rng.choice(LAST)} {number}",
                "is_admin": False,
                "department": rng.choice(DEPARTMENTS),
            }
        )
    for row in users:
        row.update(
            password_hash=password_hash,
            is_active=True,
            session_token=f"bench{row['id']}",
            research_topics=[],
            profile_published=False,
            **stamps,
        )
    _insert(User, users)

    institutions = REAL_INSTITUTIONS + [f"Institute of Research {n}" for n in range(1, 45)]
    _insert(
        Institution,
        [
            {"id": n, "name": name, "name_key": name_key(name), **stamps}
            for n, name in enumerate(institutions, start=1)
        ],
    )

    people = [
        {
            "id": n,
            "full_name": f"{rng.choice(FIRST)} {rng.choice(LAST)}-{n}",
            "email": f"person{n}@bench.example.org" if n % 3 else None,
            "version": 1,
            **stamps,
        }
        for n in range(1, scale.people + 1)
    ]
    for person in people:
        person["name_key"] = name_key(person["full_name"])  # as Person's validator sets it
    _insert(Person, people)

    programs = db.session.execute(select(Program.id, Program.kind)).all()
    positions: list[dict] = []
    links: list[dict] = []

    def random_faculty() -> int:
        return rng.randint(FIRST_RANDOM_FACULTY_ID, scale.faculty + 1)

    first_day = today - timedelta(days=365 * scale.years)

    def add_position(
        person_id: int,
        program_id: int,
        kind: ProgramKind,
        start: date,
        end: date | None,
        supervisors: list[tuple[int | None, str | None, SupervisionRole]],
    ) -> None:
        position_id = len(positions) + 1
        # The owner, as the portal decides it: the principal's account, else the first account.
        accounts = [(user_id, role) for user_id, _, role in supervisors if user_id is not None]
        principal = [user_id for user_id, role in accounts if role == SupervisionRole.PRINCIPAL]
        owner_id = (principal or [user_id for user_id, _ in accounts] or [None])[0]
        positions.append(
            {
                "id": position_id,
                "person_id": person_id,
                "program_id": program_id,
                "institution_id": rng.randint(1, len(institutions)),
                "start_date": start,
                "end_date": end,
                "version": 1,
                "owner_id": owner_id,
                **stamps,
                "departure_reason": "graduated" if end and end < today else None,
                "outcome": "Postdoc elsewhere" if end and end < today else None,
            }
        )
        shares = default_shares([role for _, _, role in supervisors])
        for (user_id, external, role), share in zip(supervisors, shares, strict=True):
            links.append(
                {
                    "id": len(links) + 1,
                    "position_id": position_id,
                    "supervisor_id": user_id,
                    "external_name": external,
                    "role": role.value,
                    "share": share,
                }
            )

    # The bench faculty's group: exactly 30 current members in the institute page's mix.
    mix = (
        [(ProgramKind.PHD, SupervisionRole.PRINCIPAL)] * 5
        + [(ProgramKind.MASTERS, SupervisionRole.PRINCIPAL)] * 2
        + [(ProgramKind.POSTDOC, SupervisionRole.PRINCIPAL)] * 2
        + [(ProgramKind.PHD, SupervisionRole.CO_SUPERVISOR)] * 7
        + [(ProgramKind.MASTERS, SupervisionRole.CO_SUPERVISOR)] * 4
        + [(ProgramKind.POSTDOC, SupervisionRole.CO_SUPERVISOR)] * 1
        + [(ProgramKind.INTERN, SupervisionRole.NONE)] * 2
        + [(ProgramKind.COLLABORATOR, SupervisionRole.NONE)] * 3
        + [(ProgramKind.VISITOR, SupervisionRole.NONE)] * 2
        + [(ProgramKind.ALUMNI_COLLABORATOR, SupervisionRole.NONE)] * 2
    )
    by_kind = {kind: program_id for program_id, kind in programs}
    exact_groups = [(BENCH_FACULTY_ID, mix), (BENCH_LARGE_GROUP_ID, mix * LARGE_GROUP_REPEATS)]
    person_id = 0
    for faculty_id, members in exact_groups:
        for kind, role in members:
            person_id += 1
            supervisors = [(faculty_id, None, role)]
            if role == SupervisionRole.CO_SUPERVISOR:
                supervisors.append((random_faculty(), None, SupervisionRole.PRINCIPAL))
            add_position(
                person_id,
                by_kind[kind],
                kind,
                today - timedelta(days=rng.randint(30, 900)),
                None,
                supervisors,
            )

    exact = len(positions)
    person_ids = list(range(exact + 1, scale.people + 1))
    while len(positions) < scale.positions:
        person_id = person_ids[(len(positions) - exact) % len(person_ids)]
        program_id, kind = rng.choice(programs)
        start = first_day + timedelta(days=rng.randint(0, 365 * scale.years))
        end = start + timedelta(days=int(365 * YEARS_BY_KIND[kind] * rng.uniform(0.6, 1.3)))
        principal = random_faculty()
        if kind in HOSTED_KINDS:
            supervisors = [(principal, None, SupervisionRole.NONE)]
        else:
            supervisors = [(principal, None, SupervisionRole.PRINCIPAL)]
            if rng.random() < 0.4:
                other = random_faculty()
                if other != principal:
                    supervisors.append((other, None, SupervisionRole.CO_SUPERVISOR))
            if rng.random() < 0.1:
                supervisors.append(
                    (None, f"Prof. External {rng.randint(1, 300)}", SupervisionRole.CO_SUPERVISOR)
                )
        add_position(
            person_id,
            program_id,
            kind,
            start,
            end if end < today else (end if rng.random() < 0.5 else None),
            supervisors,
        )

    _insert(Position, positions)
    _insert(Supervision, links)
    reset_sequences()
    db.session.commit()
    seconds = (datetime.now(UTC) - started).total_seconds()
    return Generated(scale.faculty, scale.people, len(positions), len(links), seconds)


def _insert(model, rows: list[dict]) -> None:
    for start in range(0, len(rows), CHUNK):
        db.session.execute(model.__table__.insert(), rows[start : start + CHUNK])


def reset_sequences() -> None:
    """PostgreSQL: move each sequence past the keys inserted explicitly."""
    if db.engine.dialect.name != "postgresql":
        return
    for table in ("users", "institutions", "persons", "positions", "supervisions"):
        db.session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f" (SELECT COALESCE(MAX(id), 1) FROM {table}))"
            )
        )


def counts() -> dict[str, int]:
    return {
        model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
        for model in (User, Person, Position, Supervision)
    }


def fill_database(database_url: str, scale: Scale, instance: Path) -> Generated:
    """Empty the database (the Django peer's tables of an earlier run too), migrate it to head
    and fill it at `scale`."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url}, instance_path=str(instance))
    with app.app_context():
        with db.engine.begin() as connection:
            for table in inspect(connection).get_table_names():
                if table.startswith(("auth_", "django_")):
                    connection.execute(text(f'DROP TABLE IF EXISTS "{table}" CASCADE'))
        db.drop_all()
        with db.engine.begin() as connection:
            connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        upgrade()
        generated = generate(scale, date.today())
        db.engine.dispose()
    settle(database_url)
    return generated


def settle(database_url: str) -> None:
    """After a bulk load, the state a database reaches on its own within minutes, reached now,
    so that the measures that follow do not share the machine with it.

    PostgreSQL: what autovacuum does after a bulk load (VACUUM ANALYZE: statistics and the
    visibility map), then a checkpoint, which writes out the load's pages at once rather than
    over the next minutes beside the measures. SQLite: its write-ahead log copied into the file
    (SQLite keeps no statistics unless someone runs ANALYZE, and the portal does not). Then
    every file written is flushed to disk.
    """
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        import psycopg

        address = url.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(address, autocommit=True) as connection:
            connection.execute("VACUUM ANALYZE")
            try:
                connection.execute("CHECKPOINT")
            except psycopg.errors.InsufficientPrivilege:
                pass  # a checkpoint needs the pg_checkpoint role: the server writes in time
    else:
        with sqlite3.connect(url.database) as connection:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.close()
    os.sync()


def small_database_url(database_url: str, work: Path) -> str:
    """A second database on the same backend for small data: a SQLite file in `work`, or, on
    PostgreSQL, `<name>_small` on the same server (created when missing)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return f"sqlite:///{work / 'small.sqlite3'}"
    import psycopg

    small = url.set(database=f"{url.database}_small")
    server = url.set(drivername="postgresql", database="postgres")
    with psycopg.connect(server.render_as_string(hide_password=False), autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (small.database,)
        ).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{small.database}"')
    return small.render_as_string(hide_password=False)
