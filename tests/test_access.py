"""Every route but the explicitly public ones requires a login: walk the whole URL map."""

import pytest

# Endpoints reachable without logging in; everything else must send anonymous users to /login.
# The calendar feed is opened by calendar apps with its secret token instead of a session.
PUBLIC_ENDPOINTS = {
    "static",
    "auth.login",
    "health.healthz",
    "i18n.switch_language",
    "tracking.calendar_feed",
}
PUBLIC_PREFIXES = ("people.",)  # public profiles decide themselves (404 when unpublished)


def _sample_url(rule) -> str:
    values = {}
    for argument in rule.arguments:
        converter = rule._converters[argument]
        values[argument] = 1 if type(converter).__name__ in {"IntegerConverter"} else "sample"
    return rule.build(values, append_unknown=False)[1]


def _protected_rules(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC_ENDPOINTS or rule.endpoint.startswith(PUBLIC_PREFIXES):
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


def test_public_endpoints_are_exactly_the_expected_ones(app):
    from portal.auth.access import is_public_endpoint

    with app.test_request_context():
        public = {
            rule.endpoint for rule in app.url_map.iter_rules() if is_public_endpoint(rule.endpoint)
        }
    unexpected = {e for e in public - PUBLIC_ENDPOINTS if not e.startswith(PUBLIC_PREFIXES)}
    assert unexpected == set()
    assert {"auth.login", "health.healthz", "static"} <= public


@pytest.mark.parametrize("path", ["/login", "/healthz", "/static/css/portal.css"])
def test_public_pages_answer_anonymously(client, path):
    assert client.get(path).status_code == 200
