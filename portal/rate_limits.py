"""Flask-Limiter's check of each request, run only on endpoints where a limit can apply.

Flask-Limiter installs a before_request hook that works out, on every request, which limits
apply. The portal's limits are the API blueprint's and the single sign-on callback's (checked by
its decorator, inside the view), so on every page that hook found nothing to count, at about
4% of a small page's CPU. Here it runs only where Flask-Limiter itself resolves a limit for the
endpoint (asked once per endpoint), or everywhere when application-wide, default or meta limits
are configured.
"""

from __future__ import annotations

from flask import Flask, request

from portal.extensions import limiter


def check_only_where_limited(app: Flask) -> None:
    """Replace Flask-Limiter's before_request hook on `app` by one that skips unlimited
    endpoints (after limiter.init_app; nothing to do when rate limiting is off)."""
    hooks = app.before_request_funcs.get(None, [])
    check = limiter._check_request_limit
    if check not in hooks:
        return
    limited: dict[str | None, bool] = {}

    def check_where_limited():
        endpoint = request.endpoint
        applies = limited.get(endpoint)
        if applies is None:
            applies = limited[endpoint] = has_request_limits(app, endpoint, request.blueprint)
        return check() if applies else None

    hooks[hooks.index(check)] = check_where_limited


def has_request_limits(app: Flask, endpoint: str | None, blueprint: str | None) -> bool:
    """Whether Flask-Limiter's request check could count anything on `endpoint`."""
    if endpoint is None:
        return False  # no route: Flask-Limiter exempts it too
    if app.config.get("RATELIMIT_META") or app.config.get("RATELIMIT_APPLICATION"):
        return True
    defaults, decorated = limiter.limit_manager.resolve_limits(
        app, endpoint, blueprint, in_middleware=True
    )
    return bool(defaults or decorated)
