"""In-process CPU time per request of logged-in pages, in English and French.

The test client logs in through the login form, then requests take turns between the pages and
the languages (interleaved, so a change of machine load touches all alike, in an order that moves
by one each round); each figure is the
median of the CPU time (time.process_time) of its requests, which a busy shared machine disturbs
far less than wall-clock time.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from portal import create_app
from portal.extensions import db

# The accounts have no saved language, so the browser's Accept-Language chooses it.
LANGUAGES = {"en": "en", "fr_CA": "fr-CA,fr;q=0.9"}
WARM_UP = 5  # the first requests warm caches and compile templates


def logged_in_client(app, email: str, password: str):
    """A test client after a real login through the form (CSRF off for the bench app only)."""
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": password})
    if response.status_code != 302:
        raise RuntimeError(f"bench login of {email} answered {response.status_code}")
    return client


def cpu_per_request(
    database_url: str,
    instance: Path,
    email: str,
    password: str,
    paths: list[str],
    rounds: int = 200,
) -> tuple[dict[tuple[str, str], float], dict[str, int]]:
    """Median CPU milliseconds of GET of each path per language, all interleaved; and the size
    in bytes of each path's page (English)."""
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": database_url, "WTF_CSRF_ENABLED": False},
        instance_path=str(instance),
    )
    clients = {language: logged_in_client(app, email, password) for language in LANGUAGES}
    samples: dict[tuple[str, str], list[float]] = {
        (path, language): [] for path in paths for language in LANGUAGES
    }
    sizes: dict[str, int] = {}
    turns = list(samples)
    for round_number in range(rounds + WARM_UP):
        # Each round starts one turn later: no request always follows the same one (the garbage
        # a large page leaves is collected during whichever request comes next).
        shift = round_number % len(turns)
        for path, language in turns[shift:] + turns[:shift]:
            started = time.process_time()
            response = clients[language].get(path, headers={"Accept-Language": LANGUAGES[language]})
            spent = time.process_time() - started
            if response.status_code != 200:
                raise RuntimeError(f"{path} answered {response.status_code}")
            if round_number >= WARM_UP:
                samples[path, language].append(spent)
            elif language == "en":
                sizes[path] = len(response.get_data())
    with app.app_context():
        db.engine.dispose()
    medians = {key: statistics.median(values) * 1000 for key, values in samples.items()}
    return medians, sizes
