"""The roster's `other_supervisors` cell: every other supervisor of a position, as text and back.

In CSV and XLSX the cell lists the supervisors separated by `;`, each as

    ada@example.org (co-supervisor, 25%)
    "Prof. Jane Roe" at "McGill University" (co-supervisor, 25%)
    "Dr. Visiting" (none, 0%)

A faculty account is named by its email; an external supervisor by their name in double
quotes, then `at` and their institution in double quotes when it is known. A double quote
inside a quoted text is written twice (`"Roe, J. ""JR"" [x]"`), as in CSV, so names with
commas, semicolons, quotes and brackets read back exactly. In the parentheses: the role
(`principal`, `co-supervisor` or `none`) and, after a comma, the share in percent (optional on
import). JSON carries the same as a list of objects with the keys `email` (null for an
external supervisor), `name`, `institution`, `role` and `share`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import (
    ColumnElement,
    String,
    Subquery,
    and_,
    case,
    cast,
    distinct,
    func,
    literal,
    null,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import aliased

from portal.identifiers import normalise_email
from portal.models import Supervision, SupervisionRole, SupervisionState, User
from portal.spreadsheets import as_text

ROLE_BY_TEXT = {role.value: role for role in SupervisionRole}
_SHARE = re.compile(r"^\s*(\d{1,3}(?:\.\d{1,2})?)\s*%\s*$")
JSON_KEYS = frozenset({"email", "name", "institution", "role", "share"})


class SupervisorsTextError(ValueError):
    """The cell cannot be read; the message says where and what is expected."""


@dataclass(frozen=True)
class OtherSupervisor:
    """Another supervisor of a position: an account (email) or an external person (name)."""

    role: SupervisionRole
    share: Decimal | None
    email: str | None = None
    name: str | None = None  # the external supervisor's name (an account's display name in JSON)
    institution: str | None = None  # an external supervisor's institution, when known

    @property
    def is_account(self) -> bool:
        return self.email is not None


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _share_text(share: Decimal) -> str:
    return as_text(Decimal(share).quantize(Decimal("0.01")).normalize())


def format_supervisors(others: Iterable[OtherSupervisor]) -> str:
    """The cell's text (see the module docstring); empty when there is nobody else."""
    parts = []
    for other in others:
        who = other.email if other.is_account else _quoted(other.name or "")
        if not other.is_account and other.institution:
            who += " at " + _quoted(other.institution)
        inside = other.role.value
        if other.share is not None:
            inside += f", {_share_text(other.share)}%"
        parts.append(f"{who} ({inside})")
    return "; ".join(parts)


def _share_text_sql(share: ColumnElement, dialect: str) -> ColumnElement:
    """`_share_text` in SQL: the share with no trailing zeros ("25", "12.5", "33.33")."""
    if dialect == "postgresql":
        return cast(func.trim_scale(share), String)
    # "%.2f" as SQLAlchemy reads the column, then the zeros and a bare point dropped.
    return func.rtrim(func.rtrim(func.printf("%.2f", share), "0"), ".")


def _quoted_sql(text: ColumnElement) -> ColumnElement:
    return literal('"') + func.replace(text, '"', '""') + '"'


def other_supervisors_cells(dialect: str, supervisor_id: int | None = None) -> Subquery:
    """`format_supervisors` in SQL: for each confirmed link (`link_id`; of `supervisor_id` only
    when given), the position's other confirmed supervisors in the file's order (`cell`), ""
    when there is nobody else.

    The cell is NULL when two external supervisors of the position share a role: their order
    is `name_key`'s (accents folded), which SQL cannot compute, so the caller formats those.
    """
    own, link, account = aliased(Supervision), aliased(Supervision), aliased(User)
    is_account = account.email.is_not(None)
    who = case(
        (is_account, account.email),
        else_=_quoted_sql(func.coalesce(link.external_name, ""))
        + case(
            (
                func.coalesce(link.external_institution, "") != "",
                literal(" at ") + _quoted_sql(link.external_institution),
            ),
            else_="",
        ),
    )
    role = type_coerce(link.role, String)
    share = case(
        (link.share.is_(None), ""),
        else_=literal(", ") + _share_text_sql(link.share, dialect) + "%",
    )
    entry = who + " (" + role + share + ")"
    rank = case({kind.value: index for index, kind in enumerate(SupervisionRole)}, value=role)
    # Accounts by email, then external supervisors (at most one per role here) by name.
    email, name, institution = account.email, link.external_name, link.external_institution
    if dialect == "postgresql":  # code point order, as Python compares text
        email, name, institution = (text.collate("C") for text in (email, name, institution))
    order = (rank, account.email.is_(None), email, name, institution, link.id)
    others_of_own = and_(
        link.position_id == own.position_id,
        link.state == SupervisionState.CONFIRMED,
        or_(link.supervisor_id.is_(None), link.supervisor_id != own.supervisor_id),
    )
    links = select(own.id.label("link_id")).where(own.state == SupervisionState.CONFIRMED)
    if supervisor_id is not None:
        links = links.where(own.supervisor_id == supervisor_id)
    if dialect == "postgresql":
        # One grouped join for every link: a subquery per row costs PostgreSQL several times more.
        text = func.string_agg(entry, aggregate_order_by(literal("; "), *order))
        cell = _cell(text, link.external_name, role)
        return (
            links.add_columns(cell.label("cell"))
            .outerjoin(link, others_of_own)
            .outerjoin(account, account.id == link.supervisor_id)
            .group_by(own.id)
            .subquery()
        )
    # SQLite before 3.44 has no ORDER BY inside group_concat; it concatenates the rows of an
    # ordered subquery in their order (an aggregate's subquery with ORDER BY is not flattened).
    listed = (
        select(entry.label("entry"), link.external_name.label("external"), role.label("role"))
        .select_from(link)
        .outerjoin(account, account.id == link.supervisor_id)
        .where(others_of_own)
        .order_by(*order)
        .correlate_except(link, account)
        .subquery()
    )
    text = func.group_concat(listed.c.entry, "; ")
    cell = select(_cell(text, listed.c.external, listed.c.role)).select_from(listed)
    return links.add_columns(cell.scalar_subquery().label("cell")).subquery()


def _cell(text: ColumnElement, external: ColumnElement, role: ColumnElement) -> ColumnElement:
    """The aggregated text, "" for nobody, NULL when two external supervisors share a role."""
    externals_share_a_role = func.count(external) > func.count(
        distinct(case((external.is_not(None), role)))
    )
    return case((externals_share_a_role, null()), else_=func.coalesce(text, ""))


def supervisors_json(others: Iterable[OtherSupervisor]) -> list[dict[str, Any]]:
    """The JSON form: one object per supervisor."""
    return [
        {
            "email": other.email,
            "name": other.name,
            "institution": other.institution,
            "role": other.role.value,
            "share": None if other.share is None else float(other.share),
        }
        for other in others
    ]


def parse_supervisors(text: str) -> list[OtherSupervisor]:
    """The supervisors of a cell written by `format_supervisors` (or typed the same way)."""
    reader = _Reader(text)
    found = []
    reader.skip_space()
    while not reader.at_end():
        found.append(reader.entry())
        reader.skip_space()
        if reader.at_end():
            break
        reader.expect(";")
        reader.skip_space()
    return found


def supervisors_from_json(value: Any) -> list[OtherSupervisor]:
    """The supervisors of a JSON roster's `other_supervisors` (a list of objects, or null)."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return parse_supervisors(value)
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise SupervisorsTextError(
            _("other_supervisors must be a list of objects with email or name, role and share.")
        )
    found = []
    for item in value:
        unknown = set(item) - JSON_KEYS
        if unknown:
            raise SupervisorsTextError(
                _(
                    "other_supervisors has unknown key(s) %(unknown)s; the keys are %(keys)s.",
                    unknown=", ".join(sorted(unknown)),
                    keys=", ".join(sorted(JSON_KEYS)),
                )
            )
        role = ROLE_BY_TEXT.get(str(item.get("role") or ""))
        if role is None:
            raise SupervisorsTextError(
                _(
                    "other_supervisors: the role must be one of %(roles)s.",
                    roles=", ".join(ROLE_BY_TEXT),
                )
            )
        share = item.get("share")
        if share is not None:
            if isinstance(share, bool) or not isinstance(share, int | float | str):
                raise SupervisorsTextError(
                    _("other_supervisors: a share is a number from 0 to 100.")
                )
            share = _share(str(share) + "%")
        email = item.get("email")
        name = item.get("name")
        institution = item.get("institution")
        for text in (email, name, institution):
            if text is not None and not isinstance(text, str):
                raise SupervisorsTextError(
                    _("other_supervisors: email, name and institution are text.")
                )
        if email:
            found.append(OtherSupervisor(role, share, email=normalise_email(email), name=name))
        elif name and name.strip():
            found.append(OtherSupervisor(role, share, name=name, institution=institution or None))
        else:
            raise SupervisorsTextError(
                _("other_supervisors: give each supervisor an email or a name.")
            )
    return found


def _share(text: str) -> Decimal:
    match = _SHARE.match(text)
    try:
        share = Decimal(match.group(1)) if match else None
    except InvalidOperation:
        share = None
    if share is None or share > 100:
        raise SupervisorsTextError(
            _(
                "%(text)s is not a share: write a percentage from 0 to 100, like 25%%.",
                text=repr(text.strip()),
            )
        )
    return share.quantize(Decimal("0.01"))


class _Reader:
    """A small hand-written reader: the grammar is tiny and its messages should be plain."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0

    def at_end(self) -> bool:
        return self.at >= len(self.text)

    def skip_space(self) -> None:
        while not self.at_end() and self.text[self.at].isspace():
            self.at += 1

    def fail(self, expected: str) -> SupervisorsTextError:
        shown = self.text[self.at : self.at + 20] or "the end"
        return SupervisorsTextError(
            _(
                "other_supervisors: expected %(expected)s at character %(position)s (near "
                '%(near)s). Write each as email (role, share%%) or "Name" at "Institution" '
                "(role, share%%), separated by ;.",
                expected=expected,
                position=self.at + 1,
                near=repr(shown),
            )
        )

    def expect(self, char: str) -> None:
        if self.at_end() or self.text[self.at] != char:
            raise self.fail(repr(char))
        self.at += 1

    def quoted(self) -> str:
        self.expect('"')
        parts = []
        while True:
            end = self.text.find('"', self.at)
            if end < 0:
                raise self.fail(_("a closing double quote"))
            parts.append(self.text[self.at : end])
            self.at = end + 1
            if self.text.startswith('"', self.at):
                parts.append('"')
                self.at += 1
                continue
            return "".join(parts)

    def entry(self) -> OtherSupervisor:
        email = name = institution = None
        if self.text.startswith('"', self.at):
            name = self.quoted()
            if not name.strip():
                raise self.fail(_("a name"))
            self.skip_space()
            if self.text.startswith("at", self.at) and self.text[self.at + 2 : self.at + 3] in (
                " ",
                '"',
            ):
                self.at += 2
                self.skip_space()
                institution = self.quoted() or None
                self.skip_space()
        else:
            start = self.at
            while (
                not self.at_end()
                and not self.text[self.at].isspace()
                and self.text[self.at] not in "(;"
            ):
                self.at += 1
            email = normalise_email(self.text[start : self.at])
            if not email:
                raise self.fail(_('an email or a "quoted name"'))
            self.skip_space()
        self.expect("(")
        close = self.text.find(")", self.at)
        if close < 0:
            raise self.fail(_("a closing parenthesis"))
        inside = [part.strip() for part in self.text[self.at : close].split(",")]
        self.at = close + 1
        role = ROLE_BY_TEXT.get(inside[0].casefold())
        if role is None or len(inside) > 2:
            raise SupervisorsTextError(
                _(
                    "other_supervisors: (%(inside)s) should be (role, share%%) with a role among "
                    "%(roles)s.",
                    inside=", ".join(inside),
                    roles=", ".join(ROLE_BY_TEXT),
                )
            )
        share = _share(inside[1]) if len(inside) == 2 else None
        return OtherSupervisor(role, share, email=email, name=name, institution=institution)
