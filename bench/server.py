"""Start and stop a WSGI application under gunicorn for benchmarks, and read workers' memory.

The portal and the Django admin peer are served with the same settings (`GUNICORN_SETTINGS`).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORKERS = 2
THREADS = 4
GUNICORN_SETTINGS = [
    "--no-control-socket",  # one control socket path per user: the peers would share it
    "--workers",
    str(WORKERS),
    "--worker-class",
    "gthread",
    "--threads",
    str(THREADS),
    "--log-level",
    "warning",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serve(application: str, environment: dict[str, str]):
    """Serve `application` (a gunicorn app spec) on a free loopback port; yields (port, master)."""
    port = free_port()
    gunicorn_bin = Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen(
        [str(gunicorn_bin), *GUNICORN_SETTINGS, "--bind", f"127.0.0.1:{port}", application],
        env=dict(os.environ, SECRET_KEY=os.urandom(32).hex(), **environment),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_until_up(port, process)
        yield port, process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def gunicorn(database_url: str, instance_path: Path):
    """The portal on `database_url`; yields (port, master process)."""
    application = f"portal:create_app(instance_path={str(instance_path)!r})"
    return serve(application, {"DATABASE_URL": database_url, "PORTAL_RATELIMIT_ENABLED": "false"})


def django_peer(database_url: str, faculty_id: int):
    """The Django admin peer on the same database; yields (port, master process)."""
    settings = {"DJANGO_SETTINGS_MODULE": "bench.django_peer.settings"}
    environment = {"DATABASE_URL": database_url, "PEER_FACULTY_ID": str(faculty_id), **settings}
    return serve("bench.django_peer.wsgi:application", environment)


def _wait_until_up(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {process.stderr.read().decode()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("gunicorn did not start in time")


def worker_pids(master_pid: int) -> list[int]:
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children")
    return [int(pid) for pid in children.read_text().split()] if children.exists() else []


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0
