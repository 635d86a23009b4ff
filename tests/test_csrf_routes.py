"""With CSRF on, every state-changing route refuses a request without a token and writes nothing.

The test walks app.url_map, so every POST/PUT/PATCH/DELETE route added later is covered too.
"""

from __future__ import annotations

from werkzeug.routing.converters import NumberConverter

from tests.conftest import login_client
from tests.routes import WRITE_METHODS, build_url, database_snapshot, rules


def test_every_write_route_refuses_a_request_without_token(
    csrf_app, make_admin, make_faculty, make_member
):
    admin = make_admin()
    # Something for the routes to change if they wrongly accepted the request.
    faculty = make_faculty()
    member = make_member(faculty)
    before = database_snapshot(csrf_app)
    checked = []
    for rule in rules(csrf_app):
        for method in sorted(rule.methods & WRITE_METHODS):
            client = login_client(csrf_app.test_client(), admin)
            url = build_url(rule, _existing_ids(rule, member))
            response = client.open(url, method=method, data={"full_name": "Forged"})
            if rule.endpoint.startswith("api."):
                # The API takes no cookie, so a forged cross-site request has no credentials:
                # it is refused as unauthenticated, and there is no CSRF token to ask for.
                assert response.status_code == 401, f"{method} {url}: {response.status_code}"
            else:
                assert response.status_code == 400, f"{method} {url}: {response.status_code}"
                assert "CSRF" in response.get_data(as_text=True), f"{method} {url}"
            assert database_snapshot(csrf_app) == before, f"{method} {url} wrote something"
            checked.append(f"{method} {url}")
    assert "POST /logout" in checked and "POST /login" in checked


def _existing_ids(rule, member):
    # Point id arguments at a real row, so a route that forgot CSRF would have something to
    # change rather than answer 404.
    return {
        name: member.id
        for name in rule.arguments
        if isinstance(rule._converters[name], NumberConverter)
    }
