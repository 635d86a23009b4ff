"""The built wheel is complete: installed alone, it serves the French login page in French.

The wheel is built offline with the project's own build backend (hatchling, from the lock),
installed with no dependencies into a fresh virtual environment that borrows the already
installed dependencies (a path in a .pth file; the checkout's editable `portal` is not among
them), and asked for /login by a French browser from outside the checkout.
"""

from __future__ import annotations

import json
import site
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow

SERVE_LOGIN = """
import json, sys, tempfile
import portal
from portal import create_app
from portal.extensions import db

instance = tempfile.mkdtemp()
app = create_app(
    {
        "TESTING": True,
        "SECRET_KEY": "wheel-test-secret-key-that-is-long-enough",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance}/portal.sqlite3",
    },
    instance_path=instance,
)
with app.app_context():
    db.create_all()
response = app.test_client().get("/login", headers={"Accept-Language": "fr-CA,fr;q=0.9"})
print(json.dumps({
    "package": portal.__file__,
    "status": response.status_code,
    "page": response.get_data(as_text=True),
}))
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel built from this checkout, as `pip wheel` builds it for an install."""
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation"]
        + ["--wheel-dir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("research_group_portal-*.whl")
    return built


def test_the_wheel_carries_the_compiled_catalogue_templates_and_migrations(wheel):
    import zipfile

    names = set(zipfile.ZipFile(wheel).namelist())
    assert "portal/translations/fr_CA/LC_MESSAGES/messages.mo" in names
    assert "portal/templates/auth/login.html" in names
    assert "portal/migrations/env.py" in names


def test_the_installed_wheel_serves_the_french_login_page(wheel, tmp_path):
    environment = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(environment)
    python = environment / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # The dependencies, as installed here; a plain path line does not run this environment's
    # own .pth files, so the checkout's editable `portal` stays out of the new environment.
    Path(purelib, "installed-dependencies.pth").write_text(
        "\n".join(site.getsitepackages()) + "\n", encoding="utf-8"
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet"]
        + ["--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
    )
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    served = subprocess.run(
        [python, "-c", SERVE_LOGIN],
        cwd=outside,
        check=True,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    result = json.loads(served.stdout.splitlines()[-1])
    assert Path(result["package"]).is_relative_to(environment), result["package"]
    assert result["status"] == 200
    page = result["page"]
    assert '<html lang="fr-CA"' in page
    assert "Se connecter" in page and "Mot de passe" in page
    assert "Log in" not in page and "Password" not in page
