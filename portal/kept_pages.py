"""Whole pages, layout and all, kept per process for one session: for a page whose content is
already kept (portal/kept_content.py), so that showing it again renders nothing at all.

The layout (templates/base.html) shows the site's header, whose every input is in
`site_header.HeaderInputs` (the viewer's name and rights, the proposals waiting, the language
and catalogue, the branding, the page's address), the session's CSRF token (in the header's
forms: signed once per session, portal/security.py), and the messages flashed to the session.
A kept page's key holds the first two beside the view's own key (what its content and title
show), so a change to any of them is a new key and nothing has to be invalidated; and a page is
neither kept nor given while a message waits to be shown, since showing it takes it from the
session. A page is kept per session: its CSRF token is the session's (and nothing is kept when
a time limit on CSRF tokens makes them change each second).
"""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app, session
from flask_wtf.csrf import generate_csrf

from portal.kept_content import KeptStore
from portal.security import csrf_token_signed_once
from portal.site_header import header_inputs

# Flask's key for the messages flashed to a session (flask.helpers.flash).
FLASHES = "_flashes"


def kept_page(store: KeptStore, key: tuple, render: Callable[[], str]) -> str | bytes:
    """The page `render()` gives, kept in `store` under `key` (everything the view's part of
    the page shows, its viewer first) with the layout's inputs. It is kept encoded, as the
    response's body (UTF-8): a page of 0.4 MB took 0.5 ms to encode again each time. Nothing is
    kept while templates reload (development)."""
    if current_app.jinja_env.auto_reload or session.get(FLASHES) or not csrf_token_signed_once():
        return render()
    page_key = (key, header_inputs(), generate_csrf())
    body = store.get(page_key)
    if body is None:
        body = render().encode()
        store.keep(page_key, body)
    return body
