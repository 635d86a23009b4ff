"""Schemathesis explores the API from its OpenAPI document with a faculty and an admin token.

Every generated request (valid and invalid) must get a non-5xx answer whose status, media type,
headers and body all match the document.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select

from portal.extensions import db
from portal.milestones import sync_plan
from portal.models import Position, Supervision, SupervisionState
from tests.api_helpers import bearer, new_token

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


@pytest.fixture
def seeded(app, faculty, admin, make_faculty, make_member):
    """A group with current members (with their plans' milestones), an alumna, a co-supervised
    member and a proposal waiting for the faculty member's answer; both tokens."""
    colleague = make_faculty("colleague@example.org", "Prof. Colleague")
    for number in range(3):
        make_member(faculty, f"Student {number}", others=[(colleague, "co-supervisor")])
    make_member(faculty, "Former Student", end_date=None)
    proposed = make_member(colleague, "Proposed Student", others=[(faculty, "co-supervisor")])
    with app.app_context():
        for position in db.session.scalars(select(Position)):
            sync_plan(position)
        link = db.session.scalar(
            select(Supervision).where(
                Supervision.position_id == proposed.id, Supervision.supervisor_id == faculty.id
            )
        )
        link.state, link.proposed_by_id = SupervisionState.PROPOSED, colleague.id
        db.session.commit()
        db.session.remove()
    return {
        "faculty": new_token(app, faculty, "write"),
        "admin": new_token(app, admin, "write"),
    }


@pytest.mark.slow
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
@pytest.mark.parametrize("role", ["faculty", "admin"])  # four tests: the workers share them
def test_api_matches_its_document(app, seeded, role, mode):
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 22
    for operation in operations:
        _explore(operation, mode, bearer(seeded[role]))


def _explore(operation, mode, headers):
    @given(case=operation.as_strategy(mode))
    @settings(
        max_examples=6,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def explore(case):
        case.call_and_validate(headers=headers, checks=CHECKS)

    explore()
