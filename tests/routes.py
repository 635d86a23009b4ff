"""Helpers for tests that walk every route in app.url_map, so that routes added later are covered."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy import select
from werkzeug.routing import Rule
from werkzeug.routing.converters import NumberConverter

from portal.extensions import db

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Argument values used when a test has no better one: an id nobody has, a slug nobody uses.
SAMPLE_ARGUMENTS = {"filename": "css/portal.css"}


def sample_value(rule: Rule, argument: str) -> Any:
    if argument in SAMPLE_ARGUMENTS:
        return SAMPLE_ARGUMENTS[argument]
    return 999_999 if isinstance(rule._converters[argument], NumberConverter) else "sample"


def build_url(rule: Rule, values: Mapping[str, Any] | None = None) -> str:
    """The rule's path with `values` for its arguments, and sample values for the rest."""
    arguments = {name: sample_value(rule, name) for name in rule.arguments}
    arguments.update(values or {})
    return rule.build(arguments, append_unknown=False)[1]


def rules(app) -> Iterator[Rule]:
    """Every rule of the app, in a stable order."""
    yield from sorted(app.url_map.iter_rules(), key=lambda rule: (rule.rule, rule.endpoint))


def methods(rule: Rule) -> list[str]:
    """The methods a rule really serves (HEAD and OPTIONS come with GET)."""
    return sorted(rule.methods - {"HEAD", "OPTIONS"})


def database_snapshot(app) -> dict[str, list[tuple]]:
    """Every row of every table, in primary-key order: equal snapshots mean nothing was written."""
    snapshot = {}
    with app.app_context():
        for table in db.metadata.sorted_tables:
            order = list(table.primary_key.columns) or list(table.columns)
            rows = db.session.execute(select(table).order_by(*order)).all()
            snapshot[table.name] = [tuple(row) for row in rows]
        db.session.remove()
    return snapshot
