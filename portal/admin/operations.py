"""Administrator operations on accounts, programs, load caps and institutions; each is audited."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select, update

from portal.audit import record_event
from portal.auth.operations import AccountError, check_password_strength, create_user, set_password
from portal.auth.tokens import revoke_all_tokens
from portal.branding import ColourError, check_accent_colour
from portal.extensions import db
from portal.identifiers import clean_text, name_key
from portal.images import CleanImage
from portal.loads import load_policy
from portal.models import (
    BRANDING_ROW_ID,
    Branding,
    Institution,
    LoadPolicy,
    Position,
    Program,
    ProgramKind,
    User,
)

GENERATED_PASSWORD_BYTES = 12  # 16 URL-safe characters


class AdminError(ValueError):
    """An administrator's change cannot be made as asked; `field_name` names the form field at
    fault (None: the form as a whole)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field_name = field


def _decimal_text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


# ---------------------------------------------------------------------------------------------
# Programs.


@dataclass(frozen=True)
class ProgramData:
    """What an administrator sets on a program."""

    name: str
    kind: ProgramKind
    weight: Decimal
    counts_toward_load: bool
    is_active: bool = True
    name_fr: str | None = None


def _program_snapshot(program: Program) -> dict[str, Any]:
    return {
        "name": program.name,
        "name_fr": program.name_fr,
        "kind": program.kind.value,
        "weight": str(program.weight),
        "counts_toward_load": program.counts_toward_load,
        "is_active": program.is_active,
    }


def _check_program(data: ProgramData, program_id: int | None) -> str:
    name = clean_text(data.name)
    if not name:
        raise AdminError(_("A program name is required."), "name")
    if len(name) > 100:
        raise AdminError(_("The program name must be at most 100 characters."), "name")
    if len(clean_text(data.name_fr) or "") > 100:
        raise AdminError(_("The French name must be at most 100 characters."), "name_fr")
    if data.weight is None or data.weight < 0:
        raise AdminError(_("The weight cannot be negative."), "weight")
    if data.weight > Decimal("999.99"):
        raise AdminError(_("The weight must be at most 999.99."), "weight")
    clash = select(Program.id).where(func.lower(Program.name) == name.lower())
    if program_id is not None:
        clash = clash.where(Program.id != program_id)
    if db.session.scalar(clash) is not None:
        raise AdminError(_("A program named %(name)s already exists.", name=repr(name)), "name")
    return name


def create_program(actor: User, data: ProgramData) -> Program:
    """Add a program after the list's existing ones; raise AdminError on bad input."""
    name = _check_program(data, None)
    last = db.session.scalar(select(func.max(Program.sort_order))) or 0
    program = Program(
        name=name,
        name_fr=clean_text(data.name_fr) or None,
        kind=data.kind,
        weight=data.weight.quantize(Decimal("0.01")),
        counts_toward_load=data.counts_toward_load,
        is_active=data.is_active,
        sort_order=last + 10,
    )
    db.session.add(program)
    db.session.flush()
    record_event(actor, "create", program, before=None, after=_program_snapshot(program))
    return program


def update_program(actor: User, program: Program, data: ProgramData) -> Program:
    """Change a program's name, kind, weight and load rule; raise AdminError on bad input."""
    name = _check_program(data, program.id)
    before = _program_snapshot(program)
    program.name = name
    program.name_fr = clean_text(data.name_fr) or None
    program.kind = data.kind
    program.weight = data.weight.quantize(Decimal("0.01"))
    program.counts_toward_load = data.counts_toward_load
    program.is_active = data.is_active
    db.session.flush()
    record_event(actor, "update", program, before=before, after=_program_snapshot(program))
    return program


# ---------------------------------------------------------------------------------------------
# Caps.


def _check_caps(principal_cap: int | None, weighted_cap: Decimal | None) -> None:
    if principal_cap is not None and principal_cap < 0:
        raise AdminError(_("The principal cap cannot be negative."), "principal_cap")
    if principal_cap is not None and principal_cap > 1000:
        raise AdminError(_("The principal cap must be at most 1000."), "principal_cap")
    if weighted_cap is not None and weighted_cap < 0:
        raise AdminError(_("The weighted cap cannot be negative."), "weighted_cap")
    if weighted_cap is not None and weighted_cap > Decimal("99999.99"):
        raise AdminError(_("The weighted cap must be at most 99999.99."), "weighted_cap")


def update_default_caps(
    actor: User, principal_cap: int | None, weighted_cap: Decimal | None
) -> LoadPolicy:
    """Set the institution's default caps (None = no cap)."""
    _check_caps(principal_cap, weighted_cap)
    policy = load_policy()
    before = {
        "default_principal_cap": policy.default_principal_cap,
        "default_weighted_cap": _decimal_text(policy.default_weighted_cap),
    }
    policy.default_principal_cap = principal_cap
    policy.default_weighted_cap = (
        None if weighted_cap is None else weighted_cap.quantize(Decimal("0.01"))
    )
    db.session.flush()
    record_event(
        actor,
        "update",
        policy,
        before=before,
        after={
            "default_principal_cap": principal_cap,
            "default_weighted_cap": _decimal_text(policy.default_weighted_cap),
        },
    )
    return policy


def set_faculty_caps(
    actor: User, faculty: User, principal_cap: int | None, weighted_cap: Decimal | None
) -> User:
    """Set a faculty member's own caps; None means the default applies to them."""
    _check_caps(principal_cap, weighted_cap)
    before = {
        "principal_cap": faculty.principal_cap,
        "weighted_cap": _decimal_text(faculty.weighted_cap),
    }
    faculty.principal_cap = principal_cap
    faculty.weighted_cap = None if weighted_cap is None else weighted_cap.quantize(Decimal("0.01"))
    db.session.flush()
    record_event(
        actor,
        "update-caps",
        faculty,
        before=before,
        after={"principal_cap": principal_cap, "weighted_cap": _decimal_text(faculty.weighted_cap)},
    )
    return faculty


# ---------------------------------------------------------------------------------------------
# Accounts.


def generate_password() -> str:
    """A random password that passes the strength rules, shown to the administrator once."""
    while True:
        password = secrets.token_urlsafe(GENERATED_PASSWORD_BYTES)
        try:
            check_password_strength(password)
        except AccountError:
            continue
        return password


def create_account(
    actor: User, email: str, name: str, password: str | None, *, is_admin: bool
) -> tuple[User, str | None]:
    """Create a faculty or administrator account; return it and the generated password, if any.

    Raises AdminError (with the field at fault) on a bad email, duplicate email or weak password.
    """
    generated = None
    if not password:
        generated = password = generate_password()
    try:
        user = create_user(email, name, password, is_admin=is_admin, actor=actor)
    except AccountError as error:
        raise AdminError(str(error), error.field) from error
    return user, generated


def deactivate_account(actor: User, user: User) -> None:
    """Stop an account from logging in and end its open sessions; never one's own."""
    if user.id == actor.id:
        raise AdminError(_("You cannot deactivate your own account."))
    if not user.is_active:
        return
    user.is_active = False
    user.revoke_sessions()
    # A reactivated account gets neither its old tokens nor its old calendar feed address back.
    revoked = revoke_all_tokens(user)
    feed_revoked = user.calendar_feed_hash is not None
    user.calendar_feed_hash = None
    db.session.flush()
    record_event(
        actor,
        "deactivate",
        user,
        before={"is_active": True},
        after={
            "is_active": False,
            "tokens_revoked": revoked,
            "calendar_feed_revoked": feed_revoked,
        },
    )


def reactivate_account(actor: User, user: User) -> None:
    """Let a deactivated account log in again."""
    if user.is_active:
        return
    user.is_active = True
    db.session.flush()
    record_event(actor, "reactivate", user, before={"is_active": False}, after={"is_active": True})


def reset_password(actor: User, user: User, password: str | None) -> str | None:
    """Set a new password (generated when none is given), ending the user's sessions.

    Returns the generated password, if one was generated, to be shown once.
    """
    generated = None
    if not password:
        generated = password = generate_password()
    try:
        check_password_strength(password)
    except AccountError as error:
        raise AdminError(str(error), "password") from error
    set_password(user, password)
    db.session.flush()
    record_event(actor, "reset-password", user, before=None, after=None)
    return generated


# ---------------------------------------------------------------------------------------------
# Institutions.


def rename_institution(actor: User, institution: Institution, new_name: str) -> Institution:
    """Rename; the new name must not match another institution's (accents and case ignored)."""
    name = clean_text(new_name)
    if not name:
        raise AdminError(_("An institution name is required."), "name")
    if len(name) > 200:
        raise AdminError(_("The institution name must be at most 200 characters."), "name")
    clash = db.session.scalar(
        select(Institution).where(
            Institution.name_key == name_key(name), Institution.id != institution.id
        )
    )
    if clash is not None:
        raise AdminError(
            _("%(name)s already exists; merge the two instead of renaming.", name=repr(clash.name)),
            "name",
        )
    before = {"name": institution.name}
    institution.name = name
    db.session.flush()
    record_event(actor, "rename", institution, before=before, after={"name": institution.name})
    return institution


def check_merge(duplicate: Institution, keep: Institution) -> None:
    """Raise AdminError unless `duplicate` can be merged into `keep` (asked before confirming)."""
    if duplicate.id == keep.id:
        raise AdminError(
            _("An institution cannot be merged into itself: choose two different ones."), "keep_id"
        )


def merge_institutions(actor: User, duplicate: Institution, keep: Institution) -> int:
    """Move every position from `duplicate` to `keep`, delete `duplicate`; return how many moved."""
    check_merge(duplicate, keep)
    moved = db.session.execute(
        update(Position)
        .where(Position.institution_id == duplicate.id)
        # A new version makes any edit form opened before the merge fail its version check.
        .values(institution_id=keep.id, version=Position.version + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    record_event(
        actor,
        "merge",
        keep,
        before={"merged_id": duplicate.id, "merged_name": duplicate.name},
        after={"name": keep.name, "positions_moved": moved},
    )
    db.session.delete(duplicate)
    db.session.flush()
    db.session.expire_all()
    return moved


# ---------------------------------------------------------------------------------------------
# The institution's branding.

BRANDING_NAME_MAX_LENGTH = 200


@dataclass(frozen=True)
class BrandingData:
    """What the settings form asks for; a logo of None keeps the current one."""

    display_name: str | None
    accent_colour: str | None
    logo: CleanImage | None = None
    remove_logo: bool = False


def _branding_facts(branding: Branding) -> dict[str, Any]:
    return {
        "display_name": branding.display_name,
        "accent_colour": branding.accent_colour,
        "logo": branding.logo.digest if branding.logo is not None else None,
    }


def update_branding(actor: User, data: BrandingData) -> Branding:
    """Save the institution's name, accent colour and logo (checked first, all or nothing)."""
    if not actor.is_admin:
        raise AdminError(_("Only administrators can change the institution's branding."))
    name = clean_text(data.display_name or "") or None
    if name is not None and len(name) > BRANDING_NAME_MAX_LENGTH:
        raise AdminError(
            _(
                "The display name must be at most %(max)d characters.",
                max=BRANDING_NAME_MAX_LENGTH,
            ),
            "display_name",
        )
    colour = None
    if (data.accent_colour or "").strip():
        try:
            colour = check_accent_colour(data.accent_colour)
        except ColourError as error:
            raise AdminError(str(error), "accent_colour") from error
    branding = db.session.get(Branding, BRANDING_ROW_ID)
    if branding is None:
        branding = Branding(id=BRANDING_ROW_ID)
        db.session.add(branding)
    before = _branding_facts(branding)
    branding.display_name = name
    branding.accent_colour = colour
    previous_logo = branding.logo
    if data.logo is not None:
        branding.logo = data.logo.stored()
    elif data.remove_logo:
        branding.logo = None
    if previous_logo is not None and branding.logo is not previous_logo:
        db.session.delete(previous_logo)
    db.session.flush()
    record_event(actor, "branding.update", branding, before=before, after=_branding_facts(branding))
    return branding
