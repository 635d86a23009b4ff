"""`make bench`: the portal measured side by side with the limits of its own stack.

Each figure is printed with the portal's number, a baseline measured in the same run on the same
data, and their ratio, so that a change that makes the portal slower shows up as a worse ratio
whatever machine the bench runs on. Results go to bench/results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from flask_migrate import upgrade

from bench import measures
from bench.generate import BENCH_ADMIN_EMAIL, BENCH_FACULTY_EMAIL, BENCH_PASSWORD, Scale, generate
from bench.load import Session
from bench.server import gunicorn
from portal import create_app
from portal.extensions import db

ROOT = Path(__file__).resolve().parent
WORK = ROOT / "work"
RESULTS = ROOT / "results.json"


@dataclass
class Figure:
    name: str
    portal: float
    baseline: float
    unit: str
    target: str
    met: bool
    note: str = ""

    @property
    def ratio(self) -> float:
        return self.portal / self.baseline if self.baseline else float("nan")


@dataclass
class Report:
    machine: dict
    data: dict
    figures: list[Figure] = field(default_factory=list)
    queries: dict = field(default_factory=dict)


def prepare_database(database_url: str | None, scale: Scale) -> tuple[str, dict]:
    """A fresh, migrated database filled at `scale`; returns its URL and what was generated."""
    if database_url is None:
        if WORK.exists():
            shutil.rmtree(WORK)
        WORK.mkdir(parents=True)
        database_url = f"sqlite:///{WORK / 'bench.sqlite3'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url}, instance_path=str(WORK))
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as connection:
            connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        upgrade()
        generated = generate(scale, date.today())
        db.engine.dispose()
    return database_url, asdict(generated)


def machine() -> dict:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def run(database_url: str | None, scale: Scale) -> Report:
    database_url, generated = prepare_database(database_url, scale)
    report = Report(machine=machine(), data={"database": database_url.split("://")[0], **generated})
    with gunicorn(database_url, WORK) as (port, master):
        faculty = Session(port)
        faculty.login(BENCH_FACULTY_EMAIL, BENCH_PASSWORD)
        admin = Session(port)
        admin.login(BENCH_ADMIN_EMAIL, BENCH_PASSWORD)
        context = measures.Context(
            port=port,
            master_pid=master.pid,
            database_url=database_url,
            faculty=faculty,
            admin=admin,
            work=WORK,
        )
        for measure in measures.SERVER_MEASURES:
            figures = measure(context)
            for figure in figures if isinstance(figures, list) else [figures]:
                report.figures.append(Figure(**figure))
    report.figures.extend(Figure(**figure) for figure in measures.cpu_measures(database_url, WORK))
    report.queries = measures.queries_per_page(database_url, WORK)
    report.figures.extend(
        Figure(**figure) for figure in measures.in_process_measures(database_url, WORK)
    )
    return report


def print_table(report: Report) -> None:
    print(f"\nData: {report.data}")
    print(f"Machine: {report.machine}\n")
    header = f"{'figure':<44} {'portal':>12} {'baseline':>12} {'ratio':>7}  {'target':<18} met"
    print(header)
    print("-" * len(header))
    for figure in report.figures:
        print(
            f"{figure.name:<44} {figure.portal:>12.2f} {figure.baseline:>12.2f} "
            f"{figure.ratio:>7.2f}  {figure.target:<18} {'yes' if figure.met else 'NO'}"
            + (f"   ({figure.note})" if figure.note else "")
        )
    print("\nSQL queries per request (small data -> full data):")
    for page, (small, large) in report.queries.items():
        print(f"  {page:<40} {small:>4} -> {large:<4} {'constant' if small == large else 'GROWS'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--faculty", type=int, default=Scale.faculty)
    parser.add_argument("--people", type=int, default=Scale.people)
    parser.add_argument("--positions", type=int, default=Scale.positions)
    arguments = parser.parse_args()
    started = time.perf_counter()
    report = run(
        os.environ.get("DATABASE_URL"),
        Scale(faculty=arguments.faculty, people=arguments.people, positions=arguments.positions),
    )
    print_table(report)
    payload = asdict(report)
    payload["figures"] = [dict(asdict(f), ratio=round(f.ratio, 3)) for f in report.figures]
    payload["seconds"] = round(time.perf_counter() - started, 1)
    RESULTS.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    print(f"\nWritten {RESULTS.relative_to(ROOT.parent)} in {payload['seconds']} s")


if __name__ == "__main__":
    main()
