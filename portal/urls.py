"""Links: where a redirect may go, and one url_for per long table (the row's id put into it)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, url_for

# Built into the URL in place of the id, then cut out.
_PLACEHOLDER = 9182736455  # above MAX_DATABASE_ID: no record has it


class IdUrl:
    """`url_for(endpoint, **{key: id}, **values)` for any id, from one url_for call.

    The URL is built once with a placeholder id and split around it; when the placeholder does
    not appear exactly once (a converter that rewrites it), each call falls back to url_for.
    """

    __slots__ = ("_endpoint", "_key", "_values", "_parts")

    def __init__(self, endpoint: str, key: str, **values):
        self._endpoint, self._key, self._values = endpoint, key, values
        parts = url_for(endpoint, **{key: _PLACEHOLDER}, **values).split(str(_PLACEHOLDER))
        self._parts = parts if len(parts) == 2 else None

    def __call__(self, identifier: int) -> str:
        if self._parts is None or identifier.__class__ is not int:
            return url_for(self._endpoint, **{self._key: identifier}, **self._values)
        return f"{self._parts[0]}{identifier}{self._parts[1]}"


def register(app: Flask) -> None:
    """Offer id_url() to templates."""
    app.jinja_env.globals["id_url"] = IdUrl


def is_safe_redirect_target(target: str | None) -> bool:
    """Only paths on this site: '/group?x=1' yes; 'https://evil', '//evil', '/\\evil' no."""
    if not target:
        return False
    if (
        any(ch in target for ch in "\\\r\n\t")
        or not target.startswith("/")
        or target.startswith("//")
    ):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc
