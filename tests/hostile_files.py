"""Generators of hostile upload files (small on the wire, expensive to read naively)."""

from __future__ import annotations

import io
import json
import zipfile
from functools import cache

import openpyxl

from portal.roster.reports import ROSTER_COLUMNS

HEADER = ",".join(ROSTER_COLUMNS)
ROW = "faculty@example.org,Ada Student,,PhD,Université de Montréal,principal,2024-09-01,,,"
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
SHARED_STRINGS_TYPE = (
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
)
SHARED_STRINGS_REL = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
)


def _base_parts() -> dict[str, bytes]:
    workbook = openpyxl.Workbook()
    workbook.active.append(["x"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    with zipfile.ZipFile(buffer) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _header_cells() -> str:
    return "".join(
        f'<c r="{_column(index + 1)}1" t="inlineStr"><is><t>{name}</t></is></c>'
        for index, name in enumerate(ROSTER_COLUMNS)
    )


def _column(number: int) -> str:
    letters = ""
    while number:
        number, remainder = divmod(number - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def sheet_xml(rows_xml: str, dimension: str = "A1:O2", prolog: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>{prolog}<worksheet xmlns="{MAIN}">'
        f'<dimension ref="{dimension}"/><sheetData><row r="1">{_header_cells()}</row>'
        f"{rows_xml}</sheetData></worksheet>"
    ).encode()


def workbook(sheet: bytes, shared_strings: bytes | None = None, *, stream_shared: int = 0) -> bytes:
    """An XLSX with this sheet XML (and a shared-string part, given or streamed in `stream_shared`
    megabytes of one repeated letter: the test never holds the unpacked text)."""
    parts = _base_parts()
    parts["xl/worksheets/sheet1.xml"] = sheet
    if shared_strings is not None or stream_shared:
        parts["[Content_Types].xml"] = (
            parts["[Content_Types].xml"]
            .decode()
            .replace(
                "</Types>",
                f'<Override PartName="/xl/sharedStrings.xml" ContentType="{SHARED_STRINGS_TYPE}"/>'
                "</Types>",
            )
            .encode()
        )
        parts["xl/_rels/workbook.xml.rels"] = (
            parts["xl/_rels/workbook.xml.rels"]
            .decode()
            .replace(
                "</Relationships>",
                f'<Relationship Id="rIdS" Type="{SHARED_STRINGS_REL}" '
                'Target="sharedStrings.xml"/></Relationships>',
            )
            .encode()
        )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
        if shared_strings is not None:
            archive.writestr("xl/sharedStrings.xml", shared_strings)
        elif stream_shared:
            with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as part:
                part.write(f'<sst xmlns="{MAIN}" count="1" uniqueCount="1"><si><t>'.encode())
                chunk = b"A" * (1024 * 1024)
                for _ in range(stream_shared):
                    part.write(chunk)
                part.write(b"</t></si></sst>")
    return buffer.getvalue()


def far_away_cell_xlsx() -> bytes:
    """2 KB: declares A1:XFD1048000 and has one cell out there."""
    return workbook(
        sheet_xml(
            '<row r="1048000"><c r="XFD1048000" t="inlineStr"><is><t>x</t></is></c></row>',
            dimension="A1:XFD1048000",
        )
    )


def declared_huge_but_small_xlsx(row_reference: str = "2") -> bytes:
    """A normal two-row roster whose sheet merely declares a huge dimension: it imports (its
    data row numbered `row_reference`, which need not be a number a reader expects)."""
    cells = "".join(
        f'<c r="{_column(index + 1)}2" t="inlineStr"><is><t>{value}</t></is></c>'
        for index, value in enumerate(ROW.split(","))
        if value
    )
    return workbook(sheet_xml(f'<row r="{row_reference}">{cells}</row>', dimension="A1:XFD1048000"))


@cache
def shared_string_bomb_xlsx(megabytes: int = 300) -> bytes:
    """About 300 KB: one shared string that unpacks to `megabytes` MB."""
    row = '<row r="2"><c r="A2" t="s"><v>0</v></c></row>'
    return workbook(sheet_xml(row), stream_shared=megabytes)


def long_shared_string_xlsx(length: int = 5000) -> bytes:
    strings = f'<sst xmlns="{MAIN}" count="1" uniqueCount="1"><si><t>{"é" * length}</t></si></sst>'
    return workbook(sheet_xml('<row r="2"><c r="B2" t="s"><v>0</v></c></row>'), strings.encode())


def long_inline_cell_xlsx(length: int = 5000) -> bytes:
    return workbook(
        sheet_xml(f'<row r="2"><c r="B2" t="inlineStr"><is><t>{"x" * length}</t></is></c></row>')
    )


BILLION_LAUGHS = (
    '<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{level} "{("&lol" + str(level - 1) + ";") * 10 if level > 1 else "&lol;" * 10}">'
        for level in range(1, 10)
    )
    + "]>"
)


def billion_laughs_xlsx() -> bytes:
    strings = (
        f'<?xml version="1.0"?>{BILLION_LAUGHS}<sst xmlns="{MAIN}"><si><t>&lol9;</t></si></sst>'
    )
    return workbook(sheet_xml('<row r="2"><c r="B2" t="s"><v>0</v></c></row>'), strings.encode())


def external_entity_xlsx() -> bytes:
    prolog = '<!DOCTYPE worksheet [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'
    return workbook(
        sheet_xml(
            '<row r="2"><c r="B2" t="inlineStr"><is><t>&secret;</t></is></c></row>', prolog=prolog
        )
    )


def too_many_columns_xlsx(columns: int = 51) -> bytes:
    cells = "".join(
        f'<c r="{_column(number)}2" t="inlineStr"><is><t>v</t></is></c>'
        for number in range(1, columns + 1)
    )
    return workbook(sheet_xml(f'<row r="2">{cells}</row>'))


def many_members_zip(members: int = 1000) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for number in range(members):
            archive.writestr(f"xl/media/part{number}.bin", b"")
    return buffer.getvalue()


def wide_csv_header(columns: int = 60_000) -> bytes:
    return (",".join(f"column{number}" for number in range(columns)) + "\r\n").encode()


def long_csv(rows: int) -> bytes:
    return ("\r\n".join([HEADER] + [ROW] * rows) + "\r\n").encode()


def long_cell_csv(length: int = 3000) -> bytes:
    return (HEADER + "\r\n" + ROW.replace("Ada Student", "A" * length) + "\r\n").encode()


def huge_field_csv(length: int = 400_000) -> bytes:
    return (HEADER + '\r\n"' + "x" * length + '"\r\n').encode()


def wide_json_object(keys: int = 50_000) -> bytes:
    return json.dumps([{f"key{number}": "" for number in range(keys)}]).encode()


def deep_json(depth: int = 100_000) -> bytes:
    return ("[" * depth + "]" * depth).encode()


def huge_number_json(digits: int = 100_000) -> bytes:
    return ('[{"name": ' + "9" * digits + "}]").encode()


def nan_json() -> bytes:
    return b'[{"name": NaN}]'


def many_short_rows_csv(rows: int = 100_001) -> bytes:
    """Over the row limit in under 1 MB: each row holds one letter."""
    return (HEADER + "\r\n" + "a\r\n" * rows).encode()
