"""Export writers: formula-safe CSV, XLSX and JSON."""

import io
import json
from datetime import date
from decimal import Decimal

import openpyxl
import pytest

from portal.spreadsheets import csv_bytes_chunks, json_chunks, make_inert, xlsx_bytes

DANGEROUS = [
    '=HYPERLINK("http://x")',
    "+1",
    "-2+3",
    "@SUM(A1)",
    "\tx",
    "\rx",
    "\uff1d1+1",  # full-width =
    "\uff0bcmd",  # full-width +
    "\uff0d2",  # full-width -
    "\uff20SUM(A1)",  # full-width @
    "\ufe66x",  # small =
    "\u200b=cmd|' /C calc'!A0",  # zero-width space before =
    "\ufeff\u200d+1",  # BOM and zero-width joiner before +
]


@pytest.mark.parametrize("value", DANGEROUS)
def test_formula_like_text_gets_a_leading_quote(value):
    assert make_inert(value) == "'" + value


@pytest.mark.parametrize("value", DANGEROUS)
def test_every_formula_prefix_round_trips_through_csv_and_the_importer(value):
    from portal.spreadsheets import _csv_cell, restore_inert

    assert _csv_cell(value) == "'" + value
    assert restore_inert(make_inert(value)) == value
    assert restore_inert(make_inert("'" + value)) == "'" + value


def test_plain_text_and_numbers_are_untouched():
    assert make_inert("Université de Montréal") == "Université de Montréal"
    assert make_inert(-3) == -3


def test_csv_is_utf8_with_bom_and_inert_cells():
    data = b"".join(
        csv_bytes_chunks(
            ["name", "n", "day"], [[v, Decimal("-1.50"), date(2024, 9, 1)] for v in DANGEROUS]
        )
    )
    text = data.decode("utf-8-sig")
    lines = text.splitlines()
    assert lines[0] == "name,n,day"
    assert lines[1] == '"\'=HYPERLINK(""http://x"")",-1.50,2024-09-01'
    for value in ("'+1", "'-2+3", "'@SUM(A1)"):
        assert value in text
    assert "-1.50" in text  # numbers are numbers, not text


def test_xlsx_cells_are_strings_never_formulas():
    data = xlsx_bytes(["name", "count"], [[v, 3] for v in DANGEROUS])
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    rows = list(sheet.iter_rows(min_row=2))
    # XML normalises a carriage return to a line feed; the leading quote is what matters.
    assert [row[0].value for row in rows] == ["'" + v.replace("\r", "\n") for v in DANGEROUS]
    assert all(row[0].data_type == "s" for row in rows)
    assert all(row[1].value == 3 for row in rows)


def test_json_is_a_list_of_objects_keeping_accents():
    data = b"".join(json_chunks(["name", "share"], [["Zoë O'Brien", Decimal("50.00")]]))
    assert json.loads(data) == [{"name": "Zoë O'Brien", "share": 50.0}]
    assert "Zoë".encode() in data


def test_attachment_headers_quote_what_needs_it_and_spell_out_names_beyond_ascii():
    from werkzeug.http import parse_options_header

    from portal.spreadsheets import attachment_headers

    plain = attachment_headers("loads-2026-09-01.csv")
    assert plain["Content-Disposition"] == "attachment; filename=loads-2026-09-01.csv"
    assert plain["X-Content-Type-Options"] == "nosniff"
    spaced = attachment_headers('a "quoted" name.csv')["Content-Disposition"]
    assert parse_options_header(spaced) == ("attachment", {"filename": 'a "quoted" name.csv'})
    accented = attachment_headers("équipe-hélène.csv")["Content-Disposition"]
    assert parse_options_header(accented) == ("attachment", {"filename": "équipe-hélène.csv"})
    assert "filename=equipe-helene.csv" in accented  # the ASCII fallback for older clients
