"""What the administration pages read: programs, faculty, accounts, institutions, filter choices."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from sqlalchemy import Select, and_, func, select

from portal.extensions import db
from portal.models import Institution, Position, Program, User


def list_programs() -> list[Program]:
    """Every program, in the order the group form lists them."""
    return list(db.session.scalars(select(Program).order_by(Program.sort_order, Program.name)))


def faculty_or_404(user_id: int) -> User:
    """The faculty member (not an administrator) with this id; 404 for anyone else."""
    return db.first_or_404(select(User).where(User.id == user_id, User.is_admin.is_(False)))


ACCOUNTS_PAGE_SIZE = 100


@dataclass(frozen=True)
class AccountsPage:
    """One page of the accounts an administrator looks through, and where it is in the list."""

    accounts: list[User]
    find: str
    total: int  # the accounts that match `find` (every account when it is empty)
    page: int
    page_count: int

    @property
    def first_shown(self) -> int:
        return (self.page - 1) * ACCOUNTS_PAGE_SIZE


def accounts_page(find: str = "", page: int = 1, *, faculty_only: bool = False) -> AccountsPage:
    """The accounts whose name or email contains `find` (`faculty_only`: not administrators;
    active or not), administrators first, then by name, a page of ACCOUNTS_PAGE_SIZE at a
    time; a page past the end shows the last one."""
    matching = User.matching(find)
    if faculty_only:
        matching = and_(matching, User.is_admin.is_(False))
    total = db.session.scalar(select(func.count(User.id)).where(matching))
    page_count = max(1, -(-total // ACCOUNTS_PAGE_SIZE))
    page = min(max(page, 1), page_count)
    accounts = db.session.scalars(
        select(User)
        .where(matching)
        .order_by(User.is_admin.desc(), User.display_name, User.id)
        .offset((page - 1) * ACCOUNTS_PAGE_SIZE)
        .limit(ACCOUNTS_PAGE_SIZE)
    )
    return AccountsPage(list(accounts), find, total, page, page_count)


@dataclass(frozen=True)
class InstitutionRow:
    """An institution and how many positions are held there."""

    id: int
    name: str
    positions: int


def list_institutions() -> list[InstitutionRow]:
    """Every institution with its number of positions, in one query."""
    query = (
        select(Institution.id, Institution.name, func.count(Position.id))
        .outerjoin(Position, Position.institution_id == Institution.id)
        .group_by(Institution.id, Institution.name)
        .order_by(Institution.name, Institution.id)
    )
    return [InstitutionRow(id, name, count) for id, name, count in db.session.execute(query)]


def department_choices() -> list[str]:
    """The departments of active faculty, for the loads filter."""
    return list(db.session.scalars(_department_choices_statement()))


def institution_choices() -> list[tuple[int, str]]:
    """Every institution, for the loads filter."""
    return [tuple(row) for row in db.session.execute(_institution_choices_statement())]


# The loads page's filter reads these on every request: built once, like the loads statement.
@cache
def _department_choices_statement() -> Select:
    return (
        select(User.department)
        .where(
            User.is_admin.is_(False),
            User.is_active.is_(True),
            User.department.is_not(None),
            User.department != "",
        )
        .distinct()
        .order_by(User.department)
    )


@cache
def _institution_choices_statement() -> Select:
    return select(Institution.id, Institution.name).order_by(Institution.name)
