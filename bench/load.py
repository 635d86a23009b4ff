"""HTTP load and timing helpers: wrk when it is installed, else a threaded keep-alive client."""

from __future__ import annotations

import http.client
import re
import shutil
import statistics
import subprocess
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlencode

PYTHON_CLIENT = "python threads (keep-alive)"


def load_tool() -> str:
    """What the throughput figures are measured with (wrk: `apt-get install wrk`)."""
    return "wrk" if shutil.which("wrk") else PYTHON_CLIENT


@dataclass(frozen=True)
class Throughput:
    requests_per_second: float
    tool: str
    connections: int


class Session:
    """A logged-in HTTP session against a bench server (its cookies kept by hand)."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}

    @property
    def cookie(self) -> str:
        """The Cookie header this session sends."""
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items())

    def request(
        self, method: str, path: str, body: dict | None = None, headers: dict | None = None
    ) -> http.client.HTTPResponse:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = self.cookie
        data = None
        if body is not None:
            data = urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response

    def get_page(self, path: str) -> str:
        response = self.request("GET", path)
        page = response.read().decode()
        if response.status != 200:
            raise RuntimeError(f"{path} answered {response.status}")
        return page

    def login(self, email: str, password: str) -> None:
        """Log in to the portal through its form."""
        page = self.request("GET", "/login").read().decode()
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        response = self.request(
            "POST", "/login", {"csrf_token": token, "email": email, "password": password}
        )
        response.read()
        if response.status != 302:
            raise RuntimeError(f"bench login failed for {email}: HTTP {response.status}")

    def django_login(self, username: str, password: str) -> None:
        """Log in to the Django admin through its form."""
        page = self.request("GET", "/admin/login/").read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        response = self.request(
            "POST",
            "/admin/login/?next=/admin/",
            {"csrfmiddlewaretoken": token, "username": username, "password": password},
            headers={"Referer": f"http://127.0.0.1:{self.port}/admin/login/"},
        )
        response.read()
        if response.status != 302:
            raise RuntimeError(f"Django admin login failed: HTTP {response.status}")


# Keep-alive connections of a throughput run. gunicorn's two workers each accept what they can
# when wrk opens its connections at once, so with 8 one worker sometimes took all of them and
# served alone (`/healthz` at a third of its rate, 1,400 against 4,300 req/s, in some rounds):
# with 64 both always have some. The Python client runs a thread a connection, on the same
# cores as the server: 8.
WRK_CONNECTIONS = 64
PYTHON_CONNECTIONS = 8


def throughput(
    port: int, path: str, cookie: str = "", seconds: int = 4, connections: int | None = None
) -> Throughput:
    """Requests per second for GET `path` with keep-alive connections."""
    if shutil.which("wrk"):
        connections = connections or WRK_CONNECTIONS
        command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
        if cookie:
            command += ["-H", f"Cookie: {cookie}"]
        output = subprocess.run(
            command + [f"http://127.0.0.1:{port}{path}"], check=True, capture_output=True, text=True
        ).stdout
        non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
        if non_2xx:
            raise RuntimeError(f"{path}: {non_2xx.group(1)} failed responses under load")
        rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
        return Throughput(rate, "wrk", connections)
    connections = connections or PYTHON_CONNECTIONS
    return _python_throughput(port, path, cookie, seconds, connections)


def _python_throughput(
    port: int, path: str, cookie: str, seconds: int, connections: int
) -> Throughput:
    deadline = time.perf_counter() + seconds
    done = [0] * connections
    failures: list[str] = []

    def worker(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        headers = {"Cookie": cookie} if cookie else {}
        while time.perf_counter() < deadline:
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                failures.append(f"{path}: HTTP {response.status}")
                return
            done[index] += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise RuntimeError(failures[0])
    return Throughput(sum(done) / (time.perf_counter() - started), PYTHON_CLIENT, connections)


def interleaved_medians(actions: dict, rounds: int, warm_up: bool = True) -> dict:
    """Median of each action's result over `rounds` rounds, the actions taking turns in each
    round (a change in the machine's load then touches every action alike)."""
    if warm_up:
        for action in actions.values():
            action()
    samples: dict = {name: [] for name in actions}
    for _ in range(rounds):
        for name, action in actions.items():
            samples[name].append(action())
    return {name: statistics.median(values) for name, values in samples.items()}


def timed(action):
    """`action` returning its wall time in seconds instead of its result."""

    def run() -> float:
        started = time.perf_counter()
        action()
        return time.perf_counter() - started

    return run
