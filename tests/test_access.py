"""Every route but the explicitly public ones requires a login: walk the whole URL map."""

import pytest
from werkzeug.routing.converters import NumberConverter

# Endpoints reachable without logging in; everything else must send anonymous users to /login.
PUBLIC_ENDPOINTS = {
    "static",
    "auth.login",
    "auth.sso_login",  # single sign-on starts before there is a session (404 when not set up)
    "auth.sso_callback",
    "health.healthz",
    "health.favicon",
    "auth.home",  # "/" sends a visitor to the login page, quietly
    "i18n.switch_language",
    "api-docs.openapi_json",  # the API's document and its reference page are public
    "api_reference",
    # The calendar feed is opened by calendar apps with its secret token, not a session.
    "tracking.calendar_feed",
    # The institution's logo and colours appear on the login page and on public profiles.
    "branding.logo",
    "branding.stylesheet",
}
PUBLIC_PREFIXES = ("people.",)  # public profiles decide themselves (404 when unpublished)
TOKEN_PREFIX = "api."  # the API takes a bearer token, never the login session: 401 without one


def _sample_url(rule) -> str:
    values = {}
    for argument in rule.arguments:
        converter = rule._converters[argument]
        values[argument] = 1 if isinstance(converter, NumberConverter) else "sample"
    return rule.build(values, append_unknown=False)[1]


def _protected_rules(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC_ENDPOINTS or rule.endpoint.startswith(
            (*PUBLIC_PREFIXES, TOKEN_PREFIX)
        ):
            continue
        yield rule


def test_every_non_public_route_requires_login(app, client):
    checked = 0
    for rule in _protected_rules(app):
        url = _sample_url(rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method)
            assert response.status_code == 302, f"{method} {url} answered {response.status_code}"
            assert response.headers["Location"].startswith("/login"), f"{method} {url}"
            checked += 1
    assert checked >= 2  # the walk really visited the app's routes


def test_every_api_route_requires_a_token(app, client):
    checked = 0
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith(TOKEN_PREFIX):
            continue
        url = _sample_url(rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method)
            assert response.status_code == 401, f"{method} {url} answered {response.status_code}"
            assert response.content_type == "application/problem+json"
            checked += 1
    assert checked >= 10


def test_public_endpoints_are_exactly_the_expected_ones(app):
    from portal.auth.access import is_public_endpoint

    with app.test_request_context():
        public = {
            rule.endpoint for rule in app.url_map.iter_rules() if is_public_endpoint(rule.endpoint)
        }
    unexpected = {
        e for e in public - PUBLIC_ENDPOINTS if not e.startswith((*PUBLIC_PREFIXES, TOKEN_PREFIX))
    }
    assert unexpected == set()
    assert {"auth.login", "health.healthz", "static"} <= public


@pytest.mark.parametrize("path", ["/login", "/healthz", "/static/css/portal.css"])
def test_public_pages_answer_anonymously(client, path):
    assert client.get(path).status_code == 200
