"""The shape of every administration form that changes something: the operation, one commit,
post/redirect/get; a refusal rolls back and shows its message next to the field at fault."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash, redirect, request
from flask_babel import gettext as _

from portal.extensions import db
from portal.submissions import AlreadySubmittedError


def attach_error(form, error: Exception) -> None:
    """The message next to its field (`error.field_name`), else above the form, else flashed."""
    name = getattr(error, "field_name", None)
    field = getattr(form, name, None) if form is not None and name else None
    if field is not None:
        field.errors = [*field.errors, str(error)]
    elif form is not None:
        form.form_errors.append(str(error))
    else:
        flash(str(error), "error")


def save(
    form,
    change: Callable[[], Any],
    on_success: Callable[[Any], Any],
    *,
    refused: type[Exception] | tuple[type[Exception], ...],
):
    """Run an operation and commit once, answering with on_success(result) (a redirect).

    When the operation raises `refused`: roll back, put the message on the form (or flash it)
    and return None, so that the view shows the form again with a 400.
    """
    try:
        result = change()
    except refused as error:
        db.session.rollback()
        attach_error(form, error)
        return None
    except AlreadySubmittedError:
        # The same form, posted twice at once: the other request saved it; show the page.
        db.session.rollback()
        flash(_("This form was already saved; here is the record it created."), "info")
        return redirect(request.path, 303)
    db.session.commit()
    return on_success(result)
