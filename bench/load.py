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


@dataclass(frozen=True)
class Throughput:
    requests_per_second: float
    tool: str


class Session:
    """A logged-in HTTP session against the bench server (cookie kept by hand)."""

    def __init__(self, port: int):
        self.port = port
        self.cookie = ""

    def request(self, method: str, path: str, body: dict | None = None) -> http.client.HTTPResponse:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
        headers = {"Cookie": self.cookie} if self.cookie else {}
        data = None
        if body is not None:
            data = urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie" and value.startswith("session="):
                self.cookie = value.split(";", 1)[0]
        return response

    def login(self, email: str, password: str) -> None:
        page = self.request("GET", "/login").read().decode()
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        response = self.request(
            "POST", "/login", {"csrf_token": token, "email": email, "password": password}
        )
        response.read()
        if response.status != 302:
            raise RuntimeError(f"bench login failed for {email}: HTTP {response.status}")


def throughput(
    port: int, path: str, cookie: str = "", seconds: int = 8, connections: int = 8
) -> Throughput:
    """Requests per second for GET `path` with keep-alive connections."""
    if shutil.which("wrk"):
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
        return Throughput(rate, "wrk")
    return _python_throughput(port, path, cookie, seconds, connections)


def _python_throughput(
    port: int, path: str, cookie: str, seconds: int, connections: int
) -> Throughput:
    deadline = time.perf_counter() + seconds
    done = [0] * connections

    def worker(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        headers = {"Cookie": cookie} if cookie else {}
        while time.perf_counter() < deadline:
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"{path}: HTTP {response.status}")
            done[index] += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Throughput(sum(done) / (time.perf_counter() - started), "python threads (keep-alive)")


def median_seconds(action, repeat: int = 7) -> float:
    """Median wall time of `action()` over `repeat` runs, after one warm-up run."""
    action()
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)
