"""Turn domain objects into the API's JSON resources, and compute their ETags."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

from flask import json

from portal.group.queries import RequestRow
from portal.loads import LoadRow
from portal.milestones import due_state
from portal.models import Milestone, Position, Supervision
from portal.roster.reports import ROSTER_COLUMNS


def member_status(position: Position, today: date) -> str:
    """current, incoming or alumni: the one definition, Position.status_on."""
    return position.status_on(today).value


def member_resource(position: Position, today: date, milestones: list[Milestone]) -> dict[str, Any]:
    """A member: the position, its supervision links (with their agreement state) and its
    milestones (the ones the member's page lists, in the same order)."""
    person = position.person
    return {
        "id": position.id,
        "version": position.version,
        "status": member_status(position, today),
        "person": {
            "id": person.id,
            "full_name": person.full_name,
            "email": person.email,
            "orcid": person.orcid,
        },
        "program": {
            "id": position.program.id,
            "name": position.program.name,
            "kind": position.program.kind.value,
        },
        "institution": (
            {"id": position.institution.id, "name": position.institution.name}
            if position.institution
            else None
        ),
        "start_date": position.start_date,
        "end_date": position.end_date,
        "departure_reason": (
            position.departure_reason.value if position.departure_reason else None
        ),
        "outcome": position.outcome,
        "note": position.note,
        "supervisors": [supervisor_resource(link) for link in position.supervisions],
        "milestones": [milestone_resource(milestone, today) for milestone in milestones],
    }


def supervisor_resource(link: Supervision) -> dict[str, Any]:
    """One supervision link: who, role, share, and whether it is agreed (who proposed it)."""
    proposer = link.proposed_by
    return {
        "link_id": link.id,
        "supervisor_id": link.supervisor_id,
        "name": link.supervisor_name,
        "external": link.supervisor_id is None,
        "institution": link.external_institution,
        "role": link.role.value,
        "share": link.share,
        "state": link.state.value,
        "proposed_by": (
            {"id": proposer.id, "name": proposer.display_name} if proposer is not None else None
        ),
        "proposed_at": link.proposed_at,
        "answered_at": link.answered_at,
    }


def milestone_resource(milestone: Milestone, today: date) -> dict[str, Any]:
    """A milestone: its plan step, dates, stored status and its state on `today`."""
    return {
        "id": milestone.id,
        "version": milestone.version,
        "position_id": milestone.position_id,
        "plan_item_id": milestone.plan_item_id,
        "occurrence": milestone.occurrence,
        "name_en": milestone.name_en,
        "name_fr": milestone.name_fr,
        "planned_date": milestone.planned_date,
        "due_date": milestone.due_date,
        "status": milestone.status.value,
        "due_state": due_state(milestone.status, milestone.due_date, today).value,
        "done_on": milestone.done_on,
        "waived_reason": milestone.waived_reason,
        "note": milestone.note,
    }


def member_etag(position: Position, milestones: list[Milestone]) -> str:
    """Strong ETag of a member: its id and optimistic-lock version, its person's (name, email
    and ORCID iD change through any of the person's positions) and its milestones' versions
    (recording a milestone does not change the position, but it changes the resource)."""
    marks = ",".join(
        [f"p{position.person.version}"]
        + [f"{milestone.id}.{milestone.version}" for milestone in milestones]
    )
    digest = hashlib.sha256(marks.encode("ascii")).hexdigest()[:12]
    return f'"member-{position.id}-v{position.version}-m{digest}"'


def milestone_etag(milestone: Milestone) -> str:
    """Strong ETag of a milestone: its id and optimistic-lock version."""
    return f'"milestone-{milestone.id}-v{milestone.version}"'


def proposal_resource(row: RequestRow) -> dict[str, Any]:
    """A co-supervision proposal as its answerer sees it on the requests page."""
    return {
        "id": row.link_id,
        "position_id": row.position_id,
        "person": row.person,
        "program": row.program,
        "institution": row.institution,
        "start_date": row.start_date,
        "role": row.role.value,
        "share": row.share,
        "proposed_by": row.proposer,
        "named": row.named,
        "state": row.state.value,
        "proposed_at": row.proposed_at,
        "answered_at": row.answered_at,
        "message": row.message,
        "join_request": row.join_request,
        "etag": proposal_etag(row),
    }


def proposal_etag(row: RequestRow) -> str:
    """Strong ETag of a proposal: its state and the version of the record it is about (the
    owner changing the role or share while it waits makes an earlier read stale)."""
    return f'"proposal-{row.link_id}-{row.state.value}-v{row.position_version}"'


def content_etag(data: Any) -> str:
    """Weak ETag of any other resource: a hash of its JSON."""
    text = json.dumps(data, sort_keys=True, default=str)
    return 'W/"' + hashlib.sha256(text.encode("utf-8")).hexdigest()[:32] + '"'


def load_resource(row: LoadRow) -> dict[str, Any]:
    return {
        "faculty_id": row.faculty_id,
        "name": row.name,
        "department": row.department,
        "principal": row.principal,
        "co_supervisor": row.co_supervisor,
        "host": row.host,
        "total": row.total,
        "by_kind": {kind.value: count for kind, count in row.by_kind.items()},
        "weighted": row.weighted,
        "principal_cap": row.principal_cap,
        "weighted_cap": row.weighted_cap,
        "over_cap": row.over_cap,
        "status": row.status,
    }


def roster_resource(row: tuple) -> dict[str, Any]:
    return dict(zip(ROSTER_COLUMNS, row, strict=True))


def page_envelope(items: list, page: int, per_page: int, total: int, **extra) -> dict[str, Any]:
    return {
        "items": items,
        "page": page,
        "per_page": per_page,
        "total": total,
        "pages": max(1, -(-total // per_page)),
        **extra,
    }
