"""Flask-Limiter's request check runs where a limit applies, and nowhere else."""

from __future__ import annotations

from flask import request

from portal.extensions import limiter
from portal.rate_limits import has_request_limits
from tests.conftest import build_app


def test_only_the_apis_endpoints_have_limits_for_the_request_check(database_url, tmp_path):
    app = build_app(database_url, str(tmp_path), RATELIMIT_ENABLED=True)
    with app.test_request_context():
        limited = {
            rule.endpoint
            for rule in app.url_map.iter_rules()
            if has_request_limits(app, rule.endpoint, rule.endpoint.rpartition(".")[0] or None)
        }
    assert limited and all(endpoint.startswith("api") for endpoint in limited), limited
    assert "group.index" not in limited and "auth.login" not in limited


def test_a_page_runs_no_limit_check_and_the_api_still_does(database_url, tmp_path, monkeypatch):
    app = build_app(database_url, str(tmp_path), RATELIMIT_ENABLED=True)
    checked = []
    evaluate = limiter._Limiter__evaluate_limits

    def counting(endpoint, limits):
        checked.append(request.path)
        return evaluate(endpoint, limits)

    monkeypatch.setattr(limiter, "_Limiter__evaluate_limits", counting)
    client = app.test_client()
    assert client.get("/login").status_code == 200
    assert client.get("/healthz").status_code == 200
    assert checked == []
    client.get("/api/v1/me")  # no token: refused, but counted first
    assert checked == ["/api/v1/me"]


def test_the_single_sign_on_callback_is_still_limited_by_its_decorator(database_url, tmp_path):
    app = build_app(database_url, str(tmp_path), RATELIMIT_ENABLED=True)
    client = app.test_client()
    # Without single sign-on configured the callback answers 404: a refusal, which counts.
    statuses = [client.get("/login/sso/callback").status_code for _ in range(11)]
    assert statuses == [404] * 10 + [429]
