"""Indexes the planner must (and must not) choose, checked with SQLite's EXPLAIN QUERY PLAN."""

from __future__ import annotations

from sqlalchemy import select

from portal.extensions import db
from portal.group.queries import _request_count_statement
from portal.models import Supervision, SupervisionState


def query_plan(statement, parameters=None) -> str:
    compiled = statement.compile(db.engine)
    values = compiled.construct_params(parameters or {})
    rows = db.session.connection().exec_driver_sql(
        f"EXPLAIN QUERY PLAN {compiled}", tuple(values[name] for name in compiled.positiontup)
    )
    return " | ".join(row[-1] for row in rows)


def test_the_pending_count_reads_the_proposals_index(app_context):
    plan = query_plan(_request_count_statement(), {"user_id": 1})
    assert "ix_supervisions_proposed" in plan, plan


def test_confirmed_links_are_never_looked_up_through_the_proposals_index(app_context):
    # Without statistics SQLite took an index of every link's state as selective, and read
    # nearly every link through it for `state = 'confirmed'`; the partial index cannot serve it.
    statement = select(Supervision.id).where(Supervision.state == SupervisionState.CONFIRMED)
    plan = query_plan(statement)
    assert "ix_supervisions_proposed" not in plan, plan
    assert "SCAN" in plan, plan
