"""Error pages: plain pages without tracebacks, and a rollback of whatever the request began."""

from __future__ import annotations

from flask import Flask, make_response, render_template
from flask.globals import request_ctx
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException, InternalServerError

from portal.api.problems import is_api_request, problem_response
from portal.extensions import db
from portal.labels import lazy_gettext as _l

MESSAGES = {
    400: (
        _l("Bad request"),
        _l("The request could not be understood. Please go back and try again."),
    ),
    401: (_l("Not logged in"), _l("Please log in to continue.")),
    403: (_l("Not allowed"), _l("You do not have permission to see this page.")),
    404: (_l("Not found"), _l("There is nothing at this address, or it is not yours to see.")),
    405: (_l("Method not allowed"), _l("This address does not accept that kind of request.")),
    409: (
        _l("Conflict"),
        _l("The record changed while you were working on it. Reload and try again."),
    ),
    412: (
        _l("Precondition failed"),
        _l("The record changed since you read it. Read it again and repeat your change."),
    ),
    413: (_l("Too large"), _l("The upload is larger than the portal accepts.")),
    415: (_l("Unsupported media type"), _l("Send the request body as JSON.")),
    422: (_l("Invalid data"), _l("Some values are missing or not valid; see the errors.")),
    428: (
        _l("Precondition required"),
        _l("Send the If-Match header with the ETag you read, so that no change is lost."),
    ),
    429: (_l("Too many requests"), _l("Too many attempts. Please wait a minute and try again.")),
    500: (
        _l("Something went wrong"),
        _l("The portal hit an error; nothing was saved. Please try again."),
    ),
    503: (
        _l("Busy"),
        _l("The portal is busy right now; nothing was saved. Please try again in a moment."),
    ),
}

STALE_RECORD = _l(
    "This record was changed by someone else since you opened it. Nothing was "
    "saved: reload the page to see the current values and make your change again."
)


def render_error(status: int, detail: str | None = None, headers: dict | None = None, errors=None):
    """A plain error page with the status's title and a message a person can act on.

    API requests get the same title and message as RFC 9457 problem details instead.
    """
    title, message = MESSAGES.get(status, (_l("Error"), _l("The request could not be completed.")))
    if is_api_request():
        return problem_response(status, title, detail or message, headers=headers, errors=errors)
    if request_ctx and request_ctx.url_adapter is None:
        # The request's Host was refused (TRUSTED_HOSTS): no link can be built for it.
        return make_response(
            f"{title}\n\n{detail or message}\n",
            status,
            {"Content-Type": "text/plain; charset=utf-8", **(headers or {})},
        )
    response = make_response(
        render_template("errors/error.html", status=status, title=title, message=detail or message),
        status,
    )
    response.headers.update(headers or {})
    return response


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        db.session.rollback()
        return render_error(
            400,
            _(
                "The form's security token (CSRF) is missing, expired or "
                "wrong. Reload the page and submit the form again."
            ),
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        db.session.rollback()
        passed_on = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
        data = getattr(error, "data", None) or {}
        passed_on.update(data.get("headers") or {})
        # flask-smorest (webargs) puts the per-field messages of an invalid request in `data`.
        detail = data.get("detail")
        return render_error(
            error.code or 500, detail=detail, headers=passed_on, errors=data.get("messages")
        )

    @app.errorhandler(StaleDataError)
    def stale_record(error: StaleDataError):
        # Two saves of one record raced and the version check caught the second one at the
        # database (after the form's own check passed): a conflict for the person, not a crash.
        db.session.rollback()
        app.logger.info("Concurrent change refused: %s", error)
        return render_error(409, STALE_RECORD)

    @app.errorhandler(OperationalError)
    def database_busy(error: OperationalError):
        # A lock timeout or a lost connection: retryable, and nothing of the request was kept.
        # Any other OperationalError ("no such table", a bad statement) is a bug: re-raised, it
        # reaches the 500 handler, and tests and the debugger see the real crash.
        if not is_retryable(error):
            raise error
        db.session.rollback()
        app.logger.warning("Database unavailable: %s", error)
        return render_error(503, headers={"Retry-After": "2"})

    @app.errorhandler(InternalServerError)
    def internal_error(error: InternalServerError):
        # Flask wraps an unhandled exception in InternalServerError (original_exception) and
        # only when it does not propagate it (TESTING, debug): those see the real traceback.
        try:
            db.session.rollback()
        except Exception:
            app.logger.warning("Rollback failed after an error", exc_info=True)
        original = getattr(error, "original_exception", None)
        if original is not None:
            app.logger.error("Unhandled error", exc_info=original)
        return render_error(InternalServerError.code)


# Messages of lock timeouts and lost connections (SQLite, psycopg); nothing else is retryable.
RETRYABLE_MESSAGES = (
    "database is locked",
    "database table is locked",
    "could not obtain lock",
    "lock timeout",
    "canceling statement due to lock timeout",
    "deadlock detected",
    "could not serialize access",
    "server closed the connection",
    "connection is closed",
    "connection refused",
    "connection timed out",
    "terminating connection",
    "the connection is lost",
    "consuming input failed",
    "ssl syscall error",
)
RETRYABLE_SQLSTATES = frozenset(
    {"40001", "40P01", "55P03", "57P01", "57P02", "57P03", "08000", "08003", "08006"}
)


def is_retryable(error: OperationalError) -> bool:
    """A lock timeout, a deadlock, or a connection lost: worth a retry a moment later."""
    if error.connection_invalidated:
        return True
    original = error.orig
    sqlstate = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    if sqlstate in RETRYABLE_SQLSTATES:
        return True
    message = str(original or error).lower()
    return any(fragment in message for fragment in RETRYABLE_MESSAGES)
