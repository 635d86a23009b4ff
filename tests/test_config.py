"""Configuration layering and the production start-up checks."""

import pytest

from portal import create_app
from portal.config import DEV_SECRET_KEY, ConfigurationError

GOOD_SECRET = "k" * 20 + "-a-random-looking-secret-value-0123456789"


@pytest.fixture
def clean_environment(monkeypatch):
    for name in ("SECRET_KEY", "DATABASE_URL", "PORTAL_ENV", "PORTAL_DEBUG", "FLASK_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def production(monkeypatch, **environ):
    monkeypatch.setenv("PORTAL_ENV", "production")
    for name, value in environ.items():
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize(
    "secret, expected",
    [
        (None, "needs a SECRET_KEY"),
        (DEV_SECRET_KEY, "refuses the default SECRET_KEY"),
        ("changeme", "refuses the default SECRET_KEY"),
        ("short-but-random-4f9a", "at least 32 characters"),
    ],
)
def test_production_refuses_weak_secret(clean_environment, tmp_path, secret, expected):
    production(clean_environment)
    config = {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.sqlite3"}
    if secret is None:
        config["SECRET_KEY"] = ""
    else:
        clean_environment.setenv("SECRET_KEY", secret)
    with pytest.raises(ConfigurationError, match=expected) as error:
        create_app(config, instance_path=str(tmp_path))
    assert "SECRET_KEY" in str(error.value)


def test_production_refuses_debug(clean_environment, tmp_path):
    production(clean_environment, SECRET_KEY=GOOD_SECRET, PORTAL_DEBUG="true")
    with pytest.raises(ConfigurationError, match="DEBUG"):
        create_app(
            {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.sqlite3"},
            instance_path=str(tmp_path),
        )


def test_production_starts_with_a_strong_secret_and_secure_cookies(clean_environment, tmp_path):
    production(
        clean_environment, SECRET_KEY=GOOD_SECRET, DATABASE_URL=f"sqlite:///{tmp_path}/prod.sqlite3"
    )
    app = create_app(instance_path=str(tmp_path))
    assert app.config["SECRET_KEY"] == GOOD_SECRET
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["REMEMBER_COOKIE_SECURE"] is True
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("prod.sqlite3")


def test_development_default_uses_instance_sqlite(clean_environment, tmp_path):
    app = create_app(instance_path=str(tmp_path / "instance"))
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/instance/portal.sqlite3"
    assert app.config["WTF_CSRF_ENABLED"] is True


def test_environment_overrides_and_explicit_config_wins(clean_environment, tmp_path):
    clean_environment.setenv("DATABASE_URL", "postgres://someone@db.example/portal")
    clean_environment.setenv("PORTAL_MAX_CONTENT_LENGTH", "1234")
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/explicit.sqlite3"},
        instance_path=str(tmp_path),
    )
    assert app.config["MAX_CONTENT_LENGTH"] == 1234
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("explicit.sqlite3")


def test_plain_postgres_url_uses_psycopg_driver(clean_environment):
    from portal.config import environment_overrides

    overrides = environment_overrides({"DATABASE_URL": "postgresql://u@h:5432/db"})
    assert overrides["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h:5432/db"


def test_production_refuses_flask_debug_flag(clean_environment, tmp_path):
    """`PORTAL_ENV=production flask --app portal --debug run` sets FLASK_DEBUG: refused."""
    production(clean_environment, SECRET_KEY=GOOD_SECRET, FLASK_DEBUG="1")
    with pytest.raises(ConfigurationError, match="drop --debug"):
        create_app(instance_path=str(tmp_path))


def test_production_cli_with_debug_does_not_start(clean_environment, tmp_path):
    import subprocess
    import sys

    production(clean_environment, SECRET_KEY=GOOD_SECRET, DATABASE_URL=f"sqlite:///{tmp_path}/x.db")
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "portal", "--debug", "routes"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "refuses to run with DEBUG on" in result.stderr


def test_sso_settings_from_the_environment(tmp_path, monkeypatch):
    import pytest

    from portal import create_app
    from portal.config import ConfigurationError

    monkeypatch.setenv("PASSWORD_LOGIN", "off")
    monkeypatch.setenv("PORTAL_OIDC_CREATE_ACCOUNTS", "off")
    monkeypatch.setenv("OIDC_NAME", "Université de Montréal account")
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"}, instance_path=str(tmp_path))
    assert app.config["PASSWORD_LOGIN"] is False
    assert app.config["OIDC_CREATE_ACCOUNTS"] is False
    assert app.config["OIDC_NAME"] == "Université de Montréal account"
    monkeypatch.setenv("PASSWORD_LOGIN", "maybe")
    with pytest.raises(ConfigurationError):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"}, instance_path=str(tmp_path))
