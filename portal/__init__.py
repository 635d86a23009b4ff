"""Research Group Portal: the application factory."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from flask.helpers import get_debug_flag

from portal import (  # noqa: F401  (models: every table registered for migrations)
    branding,
    cli,
    errors,
    i18n,
    models,
    rate_limits,
    security,
    site_header,
    urls,
)
from portal.admin.views import blueprint as admin_blueprint
from portal.api import setup as api_setup
from portal.auth import oidc
from portal.auth.access import require_login_unless_public
from portal.auth.queries import load_user_from_session
from portal.auth.views import blueprint as auth_blueprint
from portal.config import (
    DEV_SECRET_KEY,
    SWITCHES,
    DefaultConfig,
    check_production_settings,
    environment_overrides,
    parse_switch,
    production_defaults,
)
from portal.converters import DatabaseIdConverter
from portal.database import configure_engine, engine_options
from portal.extensions import csrf, db, limiter, login_manager, mail, migrate
from portal.group.views import blueprint as group_blueprint
from portal.health import blueprint as health_blueprint
from portal.people.views import blueprint as people_blueprint
from portal.roster.views import blueprint as roster_blueprint
from portal.tracking.admin_views import blueprint as tracking_admin_blueprint
from portal.tracking.views import blueprint as tracking_blueprint

PACKAGE_DIR = Path(__file__).resolve().parent
BLUEPRINTS = (
    health_blueprint,
    auth_blueprint,
    i18n.blueprint,
    branding.blueprint,
    group_blueprint,
    people_blueprint,
    admin_blueprint,
    roster_blueprint,
    tracking_blueprint,
    tracking_admin_blueprint,
)


def resource_dir(name: str) -> Path:
    """templates/ and migrations/ sit beside the package in a checkout and inside it in a wheel."""
    installed = PACKAGE_DIR / name
    return installed if installed.is_dir() else PACKAGE_DIR.parent / name


def create_app(config: Mapping[str, Any] | None = None, instance_path: str | None = None) -> Flask:
    """Build the app: defaults, then instance/config.py, then the environment, then `config`."""
    app = Flask(
        __name__,
        template_folder=str(resource_dir("templates")),
        instance_path=instance_path,
        instance_relative_config=True,
    )
    load_config(app, config)
    # Before any blueprint: every <int:...> in a rule is an id the database can hold.
    app.url_map.converters["int"] = DatabaseIdConverter
    register_extensions(app)
    register_blueprints(app)
    urls.register(app)
    site_header.register(app)
    api_setup.register(app)
    errors.register(app)
    security.register(app)  # before the login guard: an expired session is anonymous to it
    app.before_request(require_login_unless_public)
    cli.register(app)
    return app


def load_config(app: Flask, config: Mapping[str, Any] | None) -> None:
    app.config.from_object(DefaultConfig)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("PORTAL")
    app.config.update(environment_overrides(os.environ))
    if app.config["PORTAL_ENV"] == "production":
        app.config.update(production_defaults())
    if config:
        app.config.update(config)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        database_file = Path(app.instance_path) / "portal.sqlite3"
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{database_file}"
    for switch in SWITCHES:  # "off" from PORTAL_PASSWORD_LOGIN=off must not read as true
        if isinstance(app.config.get(switch), str):
            app.config[switch] = parse_switch(app.config[switch])
    # `flask --debug run` (FLASK_DEBUG) starts the debugger whatever the config says: count it.
    check_production_settings({**app.config, "DEBUG": app.config.get("DEBUG") or get_debug_flag()})
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = DEV_SECRET_KEY


def register_extensions(app: Flask) -> None:
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(
        app.config["SQLALCHEMY_DATABASE_URI"], app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    )
    db.init_app(app)
    with app.app_context():
        configure_engine(db.engine, app.config["SQLITE_BUSY_TIMEOUT_MS"])
    migrate.init_app(app, db, directory=str(resource_dir("migrations")), render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)
    rate_limits.check_only_where_limited(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to see this page."
    login_manager.login_message_category = "info"
    login_manager.user_loader(load_user_from_session)
    i18n.init_app(app)
    oidc.init_app(app)
    if not app.config.get("MAIL_BACKEND"):
        # Without a mail server, development prints mails; production must name one.
        production = app.config["PORTAL_ENV"] == "production"
        app.config["MAIL_BACKEND"] = (
            "smtp" if app.config.get("MAIL_SERVER") or production else "console"
        )
    mail.init_app(app)


def register_blueprints(app: Flask) -> None:
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
