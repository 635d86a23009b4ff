"""`make bench` without running it: its modules import, its report reads right, and the Django
admin peer's settings and admin hold what the bench compares (checked without Django, which
only `make bench` installs)."""

from __future__ import annotations

import ast
import importlib
import math
import subprocess
import sys
from pathlib import Path

import pytest

from bench.django_peer import settings as peer_settings
from bench.load import interleaved_medians
from bench.report import Figure, Report, markdown_table, text_report
from bench.run import results_path
from portal.models import Base

PEER = Path(peer_settings.__file__).resolve().parent


@pytest.mark.parametrize(
    "module",
    [
        "bench.cpu",
        "bench.generate",
        "bench.large_import",
        "bench.load",
        "bench.measures",
        "bench.report",
        "bench.run",
        "bench.server",
        "bench.django_peer.settings",
    ],
)
def test_the_bench_modules_import_without_django(module):
    importlib.import_module(module)


def test_nothing_but_the_peer_itself_needs_django():
    """`make test` has no Django: the bench's own modules must not import it."""
    code = (
        "import sys, bench.run, bench.measures, bench.django_peer.settings\n"
        "assert 'django' not in sys.modules, 'django imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=PEER.parent.parent)


def figure(portal: float, baseline: float, met: bool | None) -> Figure:
    return Figure("a figure", portal, baseline, "ms", "<= 1.5×", met, "a note")


def test_the_table_shows_portal_baseline_ratio_target_and_met():
    table = markdown_table(
        [
            figure(1234.5, 1000, True),
            Figure("/group req/s", 50, 25, "req/s", ">= 8×", False),
            Figure("page KB", 33.2, 34.1, "KB", "(reported)", None),
        ]
    ).splitlines()
    assert table[0] == "| figure | portal | baseline | ratio | target | met |"
    assert table[2] == "| a figure | 1,234 | 1,000 | 1.23 | <= 1.5× | yes |"
    assert table[3] == "| /group req/s | 50.00 | 25.00 | 2.00 | >= 8× | no |"
    assert table[4] == "| page KB | 33.20 | 34.10 | 0.97 | (reported) | — |"


def test_a_missing_baseline_gives_no_ratio_rather_than_a_crash():
    assert math.isnan(figure(3, 0, False).ratio)
    assert "| — | 0.00 | nan |" in markdown_table([figure(math.nan, 0, False)])


def test_the_report_says_which_load_tool_and_load_average_and_which_pages_grow():
    report = Report(
        machine={"load_average": {"start": 3.5, "end": 4.25}},
        data={"database": "sqlite"},
        tools={"load": "wrk"},
        figures=[figure(2, 1, False)],
        queries={"/group": (4, 4), "/admin/loads": (6, 9)},
    )
    text = text_report(report)
    assert "Load tool: wrk; load average (1 min) at start 3.5, at end 4.25" in text
    assert "| /admin/loads | 6 | 9 |" in text
    assert "GROWS with the data: /admin/loads" in text
    assert report.payload()["figures"][0]["ratio"] == 2.0


def test_results_go_to_one_file_per_database():
    assert results_path("sqlite").name == "results.json"
    assert results_path("postgresql").name == "results-postgresql.json"


def test_interleaved_medians_take_turns_and_keep_the_middle_value():
    calls: list[str] = []
    values = {"a": iter([5, 1, 3]), "b": iter([10, 30, 20])}

    def action(name):
        def run():
            calls.append(name)
            return next(values[name])

        return run

    medians = interleaved_medians({"a": action("a"), "b": action("b")}, 3, warm_up=False)
    assert calls == ["a", "b"] * 3
    assert medians == {"a": 3, "b": 20}


def test_the_peer_reads_the_database_the_bench_names():
    sqlite = peer_settings.database_settings("sqlite:////tmp/bench/bench.sqlite3")
    assert sqlite["ENGINE"] == "django.db.backends.sqlite3"
    assert sqlite["NAME"] == "/tmp/bench/bench.sqlite3"
    postgresql = peer_settings.database_settings(
        "postgresql+psycopg://postgres:s%40cret@127.0.0.1:5432/bench_h2"
    )
    assert postgresql == {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "bench_h2",
        "USER": "postgres",
        "PASSWORD": "s@cret",
        "HOST": "127.0.0.1",
        "PORT": "5432",
        "CONN_MAX_AGE": None,
    }


@pytest.mark.parametrize("url", ["sqlite:///:memory:", "sqlite://", "mysql://root@localhost/db"])
def test_the_peer_refuses_a_database_it_cannot_share(url):
    with pytest.raises(ValueError, match="peer"):
        peer_settings.database_settings(url)


def test_the_peer_is_a_production_like_admin_site():
    assert peer_settings.DEBUG is False
    for app in ("django.contrib.admin", "django.contrib.auth", "bench.django_peer"):
        assert app in peer_settings.INSTALLED_APPS
    assert "django.contrib.sessions.middleware.SessionMiddleware" in peer_settings.MIDDLEWARE
    assert peer_settings.DATABASES["default"]["ENGINE"].startswith("django.db.backends.")


def _class(path: Path, name: str) -> ast.ClassDef:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return next(
        node for node in ast.walk(tree) if isinstance(node, ast.ClassDef) and node.name == name
    )


def _assigned(cls: ast.ClassDef) -> dict[str, object]:
    values = {}
    for node in cls.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            try:
                values[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                values[node.targets[0].id] = node.value
    return values


def test_the_peer_admin_lists_the_six_fields_of_group_with_two_filters_and_a_search():
    admin = _class(PEER / "admin.py", "GroupMemberAdmin")
    decorator = admin.decorator_list[0]
    assert ast.unparse(decorator) == "admin.register(GroupMember)"
    options = _assigned(admin)
    assert options["list_display"] == (
        "person_name",
        "program",
        "institution",
        "role",
        "other_supervisors",
        "start_date",
    )
    assert len(options["list_filter"]) == 2
    assert options["search_fields"]
    assert options["list_select_related"]
    methods = {node.name for node in admin.body if isinstance(node, ast.FunctionDef)}
    assert {"get_queryset", "person_name", "other_supervisors"} <= methods


def test_the_peer_models_map_columns_the_portal_has():
    """The peer's unmanaged models read the portal's tables: every field is a real column."""
    tree = ast.parse((PEER / "models.py").read_text(encoding="utf-8"))
    models = [node for node in tree.body if isinstance(node, ast.ClassDef)]
    assert len(models) >= 5
    for model in models:
        meta = next(node for node in model.body if isinstance(node, ast.ClassDef))
        options = _assigned(meta)
        assert options["managed"] is False, model.name
        table = Base.metadata.tables[options["db_table"]]
        for node in model.body:
            if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)):
                continue
            field = node.targets[0].id
            kind = ast.unparse(node.value.func)
            column = f"{field}_id" if kind == "models.ForeignKey" else field
            assert column in table.c, f"{model.name}.{field}: no {table.name}.{column}"


def test_the_bench_data_gives_every_faculty_member_a_department(tmp_path):
    """The rows are inserted many at a time, which takes the columns from the first row: the
    administrator's row, which has no department, once dropped every department."""
    from sqlalchemy import create_engine, text

    from bench.generate import Scale, fill_database

    url = f"sqlite:///{tmp_path / 'bench.sqlite3'}"
    fill_database(url, Scale(faculty=400, people=600, positions=900, years=3), tmp_path)
    engine = create_engine(url)
    with engine.connect() as connection:
        without = connection.scalar(
            text("SELECT count(*) FROM users WHERE NOT is_admin AND department IS NULL")
        )
        departments = connection.scalar(text("SELECT count(DISTINCT department) FROM users"))
    engine.dispose()
    assert without == 0 and departments > 1
