"""Turn domain objects into the API's JSON resources, and compute their ETags."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

from flask import json

from portal.loads import LoadRow
from portal.models import Position
from portal.roster.reports import ROSTER_COLUMNS


def member_status(position: Position, today: date) -> str:
    """current, incoming or alumni: the one definition, Position.status_on."""
    return position.status_on(today).value


def member_resource(position: Position, today: date) -> dict[str, Any]:
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
        "supervisors": [
            {
                "supervisor_id": link.supervisor_id,
                "name": link.supervisor_name,
                "external": link.supervisor_id is None,
                "institution": link.external_institution,
                "role": link.role.value,
                "share": link.share,
            }
            for link in position.supervisions
        ],
    }


def member_etag(position: Position) -> str:
    """Strong ETag of a member: its id and optimistic-lock version, nothing else."""
    return f'"member-{position.id}-v{position.version}"'


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
