"""Audit requirements.lock with pip-audit when a vulnerability database answers; else say so.

`make test` runs this. pip-audit asks PyPI's JSON API (or OSV) about each pinned release; a
machine that reaches only a package mirror gets a printed notice instead of a failure, and a
machine that reaches a database fails the run on any known vulnerability.
"""

from __future__ import annotations

import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

LOCK = Path(__file__).resolve().parent.parent / "requirements.lock"
# pip-audit's two services, and a URL of each that answers 200 when the service is reachable.
SERVICES = {
    "pypi": "https://pypi.org/pypi/pip/24.0/json",
    "osv": "https://api.osv.dev/v1/vulns/PYSEC-2021-437",
}
TIMEOUT_SECONDS = 5


def reachable(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:
            return response.status == 200
    except (urllib.error.URLError, TimeoutError, OSError):
        return False


def main() -> int:
    service = next((name for name, url in SERVICES.items() if reachable(url)), None)
    if service is None:
        print(
            "pip-audit skipped: no vulnerability database is reachable from here "
            f"({', '.join(SERVICES.values())}); run `make audit` where one is."
        )
        return 0
    command = [
        sys.executable,
        "-m",
        "pip_audit",
        "--requirement",
        str(LOCK),
        "--disable-pip",  # the lock is fully pinned and hashed: nothing to resolve
        "--vulnerability-service",
        service,
        "--progress-spinner",
        "off",
        "--strict",  # a package it could not look up is a failure, not a silent pass
    ]
    print(f"pip-audit: {LOCK.name} against {service}")
    return subprocess.call(command)


if __name__ == "__main__":
    sys.exit(main())
