"""The site's header (brand, navigation, account, language switch), rendered once per viewer
and page and kept.

Every page shows it, and rendering it cost more than a small page's own content. It is kept
under every input it shows (`HeaderInputs`), and the template sees those inputs and nothing
else: a change to any of them (a name, administrator rights, a proposal answered, the branding,
the language) is a new key, so nothing has to be invalidated, in this process or any other. The
form's CSRF token, which changes with each request, is put in after the kept text is taken.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from flask import Flask, current_app, request
from flask_babel import get_locale
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from portal.auth.queries import pending_requests_read_with_user
from portal.branding import BrandingView, current_branding
from portal.catalogue import cached_translations
from portal.group.queries import request_count

# Where the token goes in the kept text. Escaping turns any "<" a name or a path holds into
# "&lt;", so this text can only come from the template's own placeholder.
_CSRF_PLACEHOLDER = Markup("<csrf-token>")
# Distinct viewers × pages (the language switch returns to the page's own URL) kept per process.
KEPT_HEADERS = 2048


@dataclass(frozen=True)
class HeaderInputs:
    """Everything the header shows, and nothing else."""

    templates: int  # the app's template environment (its identity: one per app)
    catalogue: int  # the language's catalogue (its identity: one per language and process)
    language: str
    script_root: str  # the links' prefix
    signed_in: bool
    user_name: str | None
    is_admin: bool
    waiting: int  # proposals waiting for the user's answer
    endpoint: str | None
    blueprint: str | None
    back_to: str  # where the language switch returns
    brand: BrandingView


def header_inputs() -> HeaderInputs:
    signed_in = current_user.is_authenticated
    user = current_user._get_current_object() if signed_in else None
    return HeaderInputs(
        templates=id(current_app.jinja_env),
        catalogue=id(cached_translations()),
        language=str(get_locale()),
        script_root=request.script_root,
        signed_in=signed_in,
        user_name=user.display_name if user else None,
        is_admin=bool(user and user.is_admin),
        waiting=_waiting(user) if user else 0,
        endpoint=request.endpoint,
        blueprint=request.blueprint,
        back_to=request.full_path if request.query_string else request.path,
        brand=current_branding(),
    )


def _waiting(user) -> int:
    known = pending_requests_read_with_user(user)
    return known if known is not None else request_count(user)


def _render(inputs: HeaderInputs) -> str:
    template = current_app.jinja_env.get_template("_site_header.html")
    return template.render(header=inputs, csrf_token=lambda: _CSRF_PLACEHOLDER)


_rendered = lru_cache(maxsize=KEPT_HEADERS)(_render)


def site_header() -> Markup:
    """The header of this request's page (a template global). Nothing is kept while templates
    reload (development): an edited header shows at once."""
    inputs = header_inputs()
    html = _render(inputs) if current_app.jinja_env.auto_reload else _rendered(inputs)
    return Markup(html.replace(_CSRF_PLACEHOLDER, generate_csrf()))


def register(app: Flask) -> None:
    app.jinja_env.globals["site_header"] = site_header
