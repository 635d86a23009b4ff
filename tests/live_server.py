"""Run the portal under gunicorn for end-to-end tests, and always stop every process it started."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

WSGI_MODULE = '''"""Entry point written by the test: the portal with its configuration from the environment."""
from portal import create_app

app = create_app(instance_path={instance!r})
'''

# Settings of the developer's shell that must not leak into the server under test.
SCRUBBED_ENVIRONMENT = (
    "PORTAL_ENV",
    "SECRET_KEY",
    "DATABASE_URL",
    "RATELIMIT_STORAGE_URI",
    "FLASK_DEBUG",
    "PORTAL_DEBUG",
)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class LiveServer:
    """A running gunicorn master: where it listens and how to find its workers."""

    process: subprocess.Popen
    port: int
    access_log: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def worker_pids(self) -> list[int]:
        """The master's current child processes (its workers), read from /proc."""
        children: list[int] = []
        task_dir = Path(f"/proc/{self.process.pid}/task")
        for task in task_dir.iterdir():
            text = (task / "children").read_text().split()
            children.extend(int(pid) for pid in text)
        return children

    def served_by(self) -> list[tuple[int, int]]:
        """(worker pid, status) for each request in the access log, in order."""
        rows = []
        for line in self.access_log.read_text().splitlines():
            pid, status = line.split()[:2]
            pid = pid.strip("<>")
            rows.append((int(pid), int(status)))
        return rows


@contextmanager
def gunicorn(
    tmp_path: Path, environment: Mapping[str, str], *, workers: int, timeout: float = 90.0
) -> Iterator[LiveServer]:
    """Start gunicorn on a free port with the portal, wait until it answers, stop it at the end.

    The wait ends as soon as every worker is up; its deadline is generous because each worker
    imports the portal on its own (about a second of CPU), and in a full test run the two cores
    are shared with browsers and other servers.

    The server runs in its own process group; on exit the whole group gets SIGTERM and, if it
    has not stopped within a few seconds, SIGKILL, whatever happened in the test.
    """
    instance = tmp_path / "instance"
    instance.mkdir(exist_ok=True)
    (tmp_path / "portal_test_wsgi.py").write_text(WSGI_MODULE.format(instance=str(instance)))
    access_log = tmp_path / "access.log"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENVIRONMENT}
    env.update(environment)
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--chdir",
        str(tmp_path),
        "--access-logfile",
        str(access_log),
        "--access-logformat",
        "%(p)s %(s)s %(m)s %(U)s",
        "--error-logfile",
        str(tmp_path / "error.log"),
        "--graceful-timeout",
        "5",
        # gunicorn 27 opens a control socket at one path per user; servers started side by
        # side (xdist workers, two-server test) would fight over it.
        "--no-control-socket",
        "portal_test_wsgi:app",
    ]
    process = subprocess.Popen(
        command,
        env=env,
        cwd=tmp_path,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = LiveServer(process, port, access_log)
    try:
        _wait_until_ready(server, workers, timeout)
        yield server
    finally:
        _stop(process)


def _wait_until_ready(server: LiveServer, workers: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"gunicorn exited with {server.process.returncode}; "
                f"its log ends with:\n{_log_tail(server)}"
            )
        try:
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=2)
            connection.request("GET", "/healthz")
            ready = connection.getresponse().status == 200
            connection.close()
            if ready and len(server.worker_pids()) >= workers:
                return
        except OSError:
            pass
        time.sleep(0.1)
    try:
        up = str(len(server.worker_pids()))
    except OSError:  # the master exited meanwhile
        up = "none"
    raise RuntimeError(
        f"gunicorn did not answer with {workers} workers within {timeout} s "
        f"({up} up); its log ends with:\n{_log_tail(server)}"
    )


def _log_tail(server: LiveServer, lines: int = 20) -> str:
    error_log = server.access_log.parent / "error.log"
    if not error_log.exists():
        return "(no error log)"
    return "\n".join(error_log.read_text().splitlines()[-lines:])


def _stop(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        process.wait(timeout=8)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(process.pid, signal.SIGKILL)  # stragglers of the group, if any
    except ProcessLookupError:
        pass
    if process.poll() is None:
        process.wait(timeout=5)
