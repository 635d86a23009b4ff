"""Settings of the Django admin peer (importable without Django: plain values and one helper).

The peer reads the portal's own bench database (`DATABASE_URL`, as the portal's bench server
does); its models map the portal's tables unmanaged, and `migrate` adds only Django's own tables
(auth_*, django_*) beside them.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

# The bench faculty whose group the changelist lists (bench.generate.BENCH_FACULTY_ID).
PEER_FACULTY_ID = int(os.environ.get("PEER_FACULTY_ID", "2"))
PEER_ADMIN_USERNAME = "bench-admin"


def database_settings(url: str) -> dict:
    """Django's DATABASES["default"] for a SQLAlchemy URL (sqlite:///… or postgresql+psycopg://…)."""
    parts = urlsplit(url)
    backend = parts.scheme.split("+", 1)[0]
    if backend == "sqlite":
        path = url.split(":///", 1)[1] if ":///" in url else ""
        if not path or path == ":memory:":
            raise ValueError("the Django peer needs a SQLite file, not an in-memory database")
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": path, "CONN_MAX_AGE": None}
    if backend in {"postgresql", "postgres"}:
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")),
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            # Connections stay open between requests, as the portal's SQLAlchemy pool keeps them.
            "CONN_MAX_AGE": None,
        }
    raise ValueError(f"the Django peer supports SQLite and PostgreSQL, not {backend!r}")


SECRET_KEY = os.environ.get("SECRET_KEY") or os.urandom(32).hex()
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "bench.django_peer.urls"
WSGI_APPLICATION = "bench.django_peer.wsgi.application"
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "bench.django_peer",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
# `make bench` names the database; by default, the SQLite file `make bench` generates.
BENCH_SQLITE = Path(__file__).resolve().parent.parent / "work" / "bench.sqlite3"
DATABASES = {
    "default": database_settings(os.environ.get("DATABASE_URL", f"sqlite:///{BENCH_SQLITE}"))
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LANGUAGE_CODE = "en"
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"
STATIC_URL = "/static/"
