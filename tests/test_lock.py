"""requirements.lock and pyproject.toml agree: every dependency is pinned, within its bounds.

`make` installs from the lock only, so a dependency added to pyproject.toml without `make lock`
would be missing from every install, and a pin outside its range would install what the
project never allowed. Regenerate with `make lock` (see the README).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;\\]+)", re.MULTILINE)


def declared() -> list[Requirement]:
    """Every requirement pyproject.toml declares: the dependencies and the test extra."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [
        Requirement(text)
        for text in [*project["dependencies"], *project["optional-dependencies"]["test"]]
    ]


def locked() -> dict[str, list[Version]]:
    """The lock's pins by package name (a universal lock may pin one name per Python range)."""
    pins: dict[str, list[Version]] = {}
    for name, _extras, version in PIN.findall(LOCK.read_text(encoding="utf-8")):
        pins.setdefault(canonicalize_name(name), []).append(Version(version))
    return pins


def directly_required_by_the_project() -> set[str]:
    """Names the lock says come straight from pyproject.toml (`# via research-group-portal`)."""
    names = set()
    for block in re.split(r"\n(?=[A-Za-z0-9])", LOCK.read_text(encoding="utf-8")):
        match = PIN.match(block)
        if match and "research-group-portal (pyproject.toml)" in block:
            names.add(canonicalize_name(match[1]))
    return names


def test_every_declared_dependency_is_pinned_within_its_range():
    pins = locked()
    for requirement in declared():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is in pyproject.toml but not in the lock: run `make lock`"
        for version in pins[name]:
            assert requirement.specifier.contains(version, prereleases=True), (
                f"the lock pins {name}=={version}, outside {requirement}: run `make lock`"
            )


def test_the_lock_holds_no_direct_dependency_that_pyproject_dropped():
    wanted = {canonicalize_name(requirement.name) for requirement in declared()}
    stale = directly_required_by_the_project() - wanted
    assert not stale, f"the lock still lists {sorted(stale)} for the project: run `make lock`"


def test_the_lock_is_fully_hashed_so_pip_checks_every_download():
    text = LOCK.read_text(encoding="utf-8")
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        if PIN.match(block):
            assert "--hash=sha256:" in block, block.splitlines()[0]
