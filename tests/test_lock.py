"""The locks and pyproject.toml agree: every dependency is pinned, within its bounds.

`make` installs from requirements.lock only (and `make bench` adds requirements-bench.lock), so a
dependency added to pyproject.toml without `make lock` would be missing from every install, and a
pin outside its range would install what the project never allowed. Regenerate both with
`make lock` (see the README).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
BENCH_LOCK = ROOT / "requirements-bench.lock"
# Each lock and the extras of pyproject.toml it holds besides the dependencies.
LOCKS = {LOCK: ("test",), BENCH_LOCK: ("test", "bench")}
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;\\]+)", re.MULTILINE)

each_lock = pytest.mark.parametrize("lock", list(LOCKS), ids=lambda lock: lock.name)


def declared(extras: tuple[str, ...]) -> list[Requirement]:
    """Every requirement pyproject.toml declares: the dependencies and the given extras."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    texts = list(project["dependencies"])
    for extra in extras:
        texts += project["optional-dependencies"][extra]
    return [Requirement(text) for text in texts]


def locked(lock: Path) -> dict[str, list[Version]]:
    """The lock's pins by package name (a universal lock may pin one name per Python range)."""
    pins: dict[str, list[Version]] = {}
    for name, _extras, version in PIN.findall(lock.read_text(encoding="utf-8")):
        pins.setdefault(canonicalize_name(name), []).append(Version(version))
    return pins


def directly_required_by_the_project(lock: Path) -> set[str]:
    """Names the lock says come straight from pyproject.toml (`# via research-group-portal`)."""
    names = set()
    for block in re.split(r"\n(?=[A-Za-z0-9])", lock.read_text(encoding="utf-8")):
        match = PIN.match(block)
        if match and "research-group-portal (pyproject.toml)" in block:
            names.add(canonicalize_name(match[1]))
    return names


@each_lock
def test_every_declared_dependency_is_pinned_within_its_range(lock):
    pins = locked(lock)
    for requirement in declared(LOCKS[lock]):
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is in pyproject.toml but not in {lock.name}: run `make lock`"
        for version in pins[name]:
            assert requirement.specifier.contains(version, prereleases=True), (
                f"{lock.name} pins {name}=={version}, outside {requirement}: run `make lock`"
            )


@each_lock
def test_the_lock_holds_no_direct_dependency_that_pyproject_dropped(lock):
    wanted = {canonicalize_name(requirement.name) for requirement in declared(LOCKS[lock])}
    stale = directly_required_by_the_project(lock) - wanted
    assert not stale, f"{lock.name} still lists {sorted(stale)} for the project: run `make lock`"


@each_lock
def test_the_lock_is_fully_hashed_so_pip_checks_every_download(lock):
    text = lock.read_text(encoding="utf-8")
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        if PIN.match(block):
            assert "--hash=sha256:" in block, block.splitlines()[0]


def test_the_bench_lock_pins_what_both_hold_as_the_main_lock_does():
    """`make bench` installs its lock over the main one: a different pin would change the very
    packages the tests ran with."""
    main, bench = locked(LOCK), locked(BENCH_LOCK)
    different = {name: (main[name], bench[name]) for name in main if bench.get(name) != main[name]}
    assert not different, f"the locks disagree on {different}: run `make lock`"


def test_the_bench_extra_stays_out_of_the_main_lock():
    """`make install` and `make test` never install the bench's Django."""
    bench_only = {canonicalize_name(r.name) for r in declared(("bench",))} - {
        canonicalize_name(r.name) for r in declared(("test",))
    }
    assert bench_only, "the bench extra declares nothing of its own"
    assert not bench_only & set(locked(LOCK)), f"{sorted(bench_only)} in {LOCK.name}"
