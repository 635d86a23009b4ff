"""Indexes the planner must (and must not) choose, checked with SQLite's EXPLAIN QUERY PLAN."""

from __future__ import annotations

from datetime import date

from sqlalchemy import event, select

from portal.auth.queries import _session_user_statement
from portal.extensions import db
from portal.group.queries import _request_count_statement
from portal.models import Supervision, SupervisionState, User


def query_plan(statement, parameters=None) -> str:
    """SQLite's plan of `statement` as the engine sends it (values written into the SQL
    included): the statement is run once, and what reached the driver is explained."""
    sent: list[tuple[str, tuple]] = []

    def record(_conn, _cursor, sql, values, _context, _executemany):
        sent.append((sql, values))

    connection = db.session.connection()
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        connection.execute(statement, parameters or {}).all()
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    ((sql, values),) = sent
    rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", values)
    return " | ".join(row[-1] for row in rows)


def test_the_pending_count_reads_the_proposals_index(app_context):
    plan = query_plan(_request_count_statement(), {"user_id": 1})
    assert "ix_supervisions_proposed" in plan, plan


def test_the_session_user_reads_the_pending_count_through_the_proposals_index(app_context):
    plan = query_plan(_session_user_statement(), {"user_id": 1})
    assert "ix_supervisions_proposed" in plan, plan


def test_confirmed_links_are_never_looked_up_through_the_proposals_index(app_context):
    # Without statistics SQLite took an index of every link's state as selective, and read
    # nearly every link through it for `state = 'confirmed'`; the partial index cannot serve it.
    statement = select(Supervision.id).where(Supervision.state == SupervisionState.CONFIRMED)
    plan = query_plan(statement)
    assert "ix_supervisions_proposed" not in plan, plan
    assert "SCAN" in plan, plan


def test_the_proposals_condition_is_written_into_the_sql(app_context, query_counter):
    # Bound, the value decides whether the partial index applies, and SQLite then prepares the
    # statement anew at every execution (the navigation's count, on every page).
    with query_counter() as statements:
        db.session.execute(_session_user_statement(), {"user_id": 1}).all()
        db.session.execute(_request_count_statement(), {"user_id": 1}).all()
    selects = [sql for sql in statements if sql.startswith("SELECT")]
    assert len(selects) == 2
    assert all("supervisions.state = 'proposed'" in sql for sql in selects), selects


def plan_of_call(call) -> tuple[str, str]:
    """(SQL, SQLite's plan) of the one SELECT that `call()` sends."""
    sent: list[tuple[str, tuple]] = []

    def record(_conn, _cursor, sql, values, _context, _executemany):
        sent.append((sql, values))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        call()
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    ((sql, values),) = [(sql, values) for sql, values in sent if sql.startswith("SELECT")]
    rows = db.session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", values)
    return sql, " | ".join(row[-1] for row in rows)


def test_the_loads_pages_pending_count_reads_the_proposals_index(app_context):
    from portal.loads import pending_proposals

    sql, plan = plan_of_call(lambda: pending_proposals(date(2026, 11, 30)))
    assert "supervisions.state = 'proposed'" in sql
    assert "ix_supervisions_proposed" in plan, plan


def test_one_groups_milestones_are_read_through_its_positions(app_context):
    # An index of milestones by status and due date made SQLite (without statistics) read every
    # open milestone of the institution for one group's "What's due" panel and calendar feed.
    from portal.group.queries import group_milestones
    from portal.tracking.queries import group_open_milestones

    faculty = User(id=1)
    today = date(2026, 11, 30)
    for call in (
        lambda: group_milestones(faculty, today, [1]),
        lambda: group_open_milestones(faculty, today),
    ):
        _sql, plan = plan_of_call(call)
        assert "ix_milestones_position_id" in plan, plan
        assert "SCAN milestones" not in plan, plan
        assert plan.index("supervisions") < plan.index("milestones"), plan


def test_the_proposals_a_faculty_member_sent_are_read_through_the_proposer_index(app_context):
    from portal.group.queries import requests_sent

    _sql, plan = plan_of_call(lambda: requests_sent(User(id=1)))
    assert "ix_supervisions_proposed_by" in plan, plan
    assert "SCAN supervisions" not in plan, plan


def test_an_owners_notices_are_looked_up_by_their_positions(app_context):
    # Joined on the entity type alone, SQLite read every position event of the institution.
    from portal.group.queries import notices_for

    sql, plan = plan_of_call(lambda: notices_for(User(id=1)))
    assert (
        "SEARCH audit_events USING INDEX ix_audit_events_entity (entity_type=? AND entity_id=?)"
        in plan
    ), plan
    assert "ix_positions_owner_id" in plan, plan
