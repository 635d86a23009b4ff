"""RFC 9457 problem details: every API error is a JSON object with type, title, status, detail."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, json, request

PROBLEM_MEDIA_TYPE = "application/problem+json"
API_PATH_PREFIX = "/api/"


def is_api_request() -> bool:
    """Whether the request is for the API (and its errors are problem details, not pages)."""
    return request.path.startswith(API_PATH_PREFIX)


def problem_response(
    status: int,
    title: str,
    detail: str | None = None,
    *,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> Response:
    """A problem-details response; `extensions` are extra members (e.g. `errors` per field)."""
    body: dict[str, Any] = {"type": "about:blank", "title": str(title), "status": status}
    if detail:
        body["detail"] = str(detail)
    body["instance"] = request.path
    body.update({key: value for key, value in extensions.items() if value is not None})
    response = current_app.response_class(
        json.dumps(body), status=status, mimetype=PROBLEM_MEDIA_TYPE
    )
    response.headers.update(headers or {})
    return response
