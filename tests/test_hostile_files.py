"""Hostile uploads: each costs little, answers 400 or 413 with a message naming the limit, and
writes nothing. Memory is measured in a subprocess, with a generous bound."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
import time

import pytest

from portal.file_budgets import ReadBudget
from portal.roster.reading import RosterFileError, _check_header, read_roster_file
from tests import hostile_files as hostile
from tests.routes import database_snapshot

CASES = [
    # (generator, filename, status, words the message must hold)
    (hostile.far_away_cell_xlsx, "far.xlsx", 413, "more than 50 columns"),
    (hostile.shared_string_bomb_xlsx, "bomb.xlsx", 413, "unpacks to"),
    (lambda: hostile.shared_string_bomb_xlsx(30), "ratio.xlsx", 413, "times larger"),
    (hostile.long_shared_string_xlsx, "long.xlsx", 413, "more than 2,000 characters"),
    (hostile.long_inline_cell_xlsx, "inline.xlsx", 413, "more than 2,000 characters"),
    (hostile.billion_laughs_xlsx, "laughs.xlsx", 400, "DTD"),
    (hostile.external_entity_xlsx, "entity.xlsx", 400, "DTD"),
    (hostile.too_many_columns_xlsx, "wide.xlsx", 413, "more than 50 columns"),
    (hostile.many_members_zip, "parts.xlsx", 413, "1,000 parts"),
    (hostile.wide_csv_header, "wide.csv", 413, "Line 1 has more than 50 columns"),
    (hostile.many_short_rows_csv, "long.csv", 413, "more than 100,000 rows"),
    (hostile.long_cell_csv, "cell.csv", 413, "Line 2 has a cell of more than 2,000"),
    (hostile.huge_field_csv, "field.csv", 413, "more than 2,000 characters"),
    (hostile.wide_json_object, "wide.json", 413, "more than 50 keys"),
    (hostile.deep_json, "deep.json", 400, "nested more than 4 levels"),
    (hostile.huge_number_json, "number.json", 400, "100,000 digits"),
    (hostile.nan_json, "nan.json", 400, "NaN"),
]
IDS = [filename for _generator, filename, _status, _words in CASES]


@pytest.mark.parametrize(("generator", "filename", "status", "words"), CASES, ids=IDS)
def test_hostile_file_is_refused_with_the_limit_named(generator, filename, status, words):
    data = generator()
    assert len(data) < 1024 * 1024, "each hostile file is under 1 MB on the wire"
    with pytest.raises(RosterFileError) as refused:
        read_roster_file(data, filename, max_bytes=5 * 1024 * 1024)
    assert refused.value.status == status
    assert words in refused.value.message


@pytest.mark.parametrize(
    ("generator", "filename", "status", "words"),
    [CASES[0], CASES[5], CASES[9], CASES[14]],
    ids=[IDS[0], IDS[5], IDS[9], IDS[14]],
)
def test_hostile_upload_answers_4xx_and_writes_nothing(
    app, faculty_client, generator, filename, status, words
):
    before = database_snapshot(app)
    response = faculty_client.post(
        "/group/import",
        data={"file": (io.BytesIO(generator()), filename)},
        content_type="multipart/form-data",
    )
    assert response.status_code == status
    assert words in response.get_data(as_text=True)
    assert database_snapshot(app) == before


@pytest.mark.parametrize("row_reference", ["²", "x"])
def test_a_row_numbered_with_no_ascii_number_is_an_unreadable_workbook(row_reference):
    data = hostile.declared_huge_but_small_xlsx(row_reference)
    with pytest.raises(RosterFileError, match="not a readable Excel workbook"):
        read_roster_file(data, "odd.xlsx", max_bytes=None)


def test_a_sheet_declaring_a_huge_dimension_but_holding_one_row_imports():
    rows = read_roster_file(hostile.declared_huge_but_small_xlsx(), "ok.xlsx", max_bytes=None)
    assert [row.cells["name"] for row in rows] == ["Ada Student"]
    assert rows[0].cells["start_date"] == "2024-09-01"


def test_exactly_the_row_limit_is_accepted():
    budget = ReadBudget(max_rows=1000)
    rows = read_roster_file(hostile.long_csv(1000), "ok.csv", max_bytes=None, budget=budget)
    assert len(rows) == 1000
    with pytest.raises(RosterFileError, match="more than 1,000 rows"):
        read_roster_file(hostile.long_csv(1001), "ok.csv", max_bytes=None, budget=budget)


def test_openpyxl_parses_xml_through_defusedxml():
    from openpyxl.xml import DEFUSEDXML, functions

    assert DEFUSEDXML is True
    assert functions.iterparse.__module__.startswith("defusedxml")


def test_the_header_check_is_linear_in_the_number_of_columns():
    """60,000 distinct unknown columns: a quadratic check takes tens of seconds, this one
    well under one (the bound is generous on purpose: a shared, loaded machine)."""
    header = [f"column{number}" for number in range(60_000)] + ["name"] * 2
    started = time.process_time()
    with pytest.raises(RosterFileError, match="repeated column"):
        _check_header(header)
    assert time.process_time() - started < 5


def test_a_wide_json_header_is_refused_before_any_quadratic_work():
    data = json.dumps([{f"key{number}": "" for number in range(40)} for _ in range(2)]).encode()
    with pytest.raises(RosterFileError, match="unknown column"):
        read_roster_file(data, "x.json", max_bytes=None)


MEMORY_SCRIPT = textwrap.dedent(
    """
    import resource, sys
    sys.path.insert(0, {root!r})
    from tests import hostile_files as hostile
    from portal.roster.reading import RosterFileError, read_roster_file
    data = {expression}
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        read_roster_file(data, {filename!r}, max_bytes=5 * 1024 * 1024)
        print("accepted")
    except RosterFileError as error:
        print(error.status)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print((after - before) // 1024)
    """
)


@pytest.mark.parametrize(
    ("expression", "filename"),
    [
        ("hostile.far_away_cell_xlsx()", "far.xlsx"),
        ("hostile.shared_string_bomb_xlsx()", "bomb.xlsx"),
        ("hostile.billion_laughs_xlsx()", "laughs.xlsx"),
        ("hostile.wide_csv_header()", "wide.csv"),
        ("hostile.deep_json()", "deep.json"),
    ],
)
def test_reading_a_hostile_file_keeps_memory_bounded(expression, filename):
    """The worker grew by 8 GB on the far-away cell and 560 MB on the shared string; the
    reader may now grow by a few megabytes (bound: 64 MB, generous), and answers in seconds."""
    import pathlib

    root = str(pathlib.Path(__file__).resolve().parent.parent)
    script = MEMORY_SCRIPT.format(root=root, expression=expression, filename=filename)
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    status, growth_mb = result.stdout.split()
    assert status in {"400", "413"}
    assert int(growth_mb) < 64, f"reading {filename} grew the process by {growth_mb} MB"
