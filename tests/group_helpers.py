"""Helpers shared by the group tests: a whole-database fingerprint, bulk group creation, and
forgetting what the group pages keep per process."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from portal.extensions import db
from portal.group import queries, rows
from portal.group.views import KEPT_CONTENT, KEPT_PAGES
from portal.models import AuditEvent, Institution, Person, Position, Program, Supervision, User

WATCHED = (Person, Position, Supervision, Institution, AuditEvent)


def forget_kept() -> None:
    """Forget the group pages' kept pages, content and rows: the next page reads and renders
    afresh."""
    KEPT_CONTENT.clear()
    KEPT_PAGES.clear()
    queries._kept_groups.clear()
    queries._kept_pages.clear()
    rows._kept.clear()


def database_fingerprint(app) -> dict[str, list[tuple]]:
    """Every row of the tables a group form could write, to prove that nothing was written."""
    with app.app_context():
        state = {}
        for model in WATCHED:
            columns = list(model.__table__.columns)
            rows = db.session.execute(select(*columns).order_by(model.__table__.c.id)).all()
            state[model.__tablename__] = [tuple(row) for row in rows]
        db.session.remove()
        return state


def add_many_members(
    app,
    faculty: User,
    count: int,
    *,
    start: int = 0,
    end_date: date | None = None,
    colleague: User | None = None,
) -> None:
    """Add `count` members to the faculty's group in one transaction (fast for big groups)."""
    with app.app_context():
        programs = list(db.session.scalars(select(Program).order_by(Program.sort_order)))
        institutions = [
            db.session.scalar(select(Institution).where(Institution.name == f"Institution {n}"))
            or Institution(name=f"Institution {n}")
            for n in range(3)
        ]
        for number in range(start, start + count):
            position = Position(
                person=Person(full_name=f"Bulk Member {number:04d}"),
                program=programs[number % len(programs)],
                institution=institutions[number % len(institutions)],
                start_date=date(2020, 1, 1),
                end_date=end_date,
            )
            position.supervisions.append(
                Supervision(
                    supervisor_id=faculty.id, role="principal", share=50 if colleague else 100
                )
            )
            if colleague is not None:
                position.supervisions.append(
                    Supervision(supervisor_id=colleague.id, role="co-supervisor", share=25)
                )
                position.supervisions.append(
                    Supervision(external_name=f"External {number}", role="co-supervisor", share=25)
                )
            db.session.add(position)
        db.session.commit()
        db.session.remove()


def answer_data(app, link_id: int, decision: str, **fields) -> dict[str, str]:
    """What the requests page's answer form posts for a proposal: the decision, and the
    version of the record the page showed (here: as it is now)."""
    with app.app_context():
        link = db.session.get(Supervision, link_id)
        version = str(link.position.version) if link is not None else ""
        db.session.remove()
    return {"decision": decision, "version": version, **fields}
