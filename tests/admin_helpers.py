"""Helpers shared by the administration tests: reading tables out of HTML and CSV."""

from __future__ import annotations

import csv
import io
from html.parser import HTMLParser


class _TableParser(HTMLParser):
    def __init__(self, table_class: str) -> None:
        super().__init__()
        self.table_class = table_class
        self.depth = 0
        self.rows: list[list[str]] = []
        self.cell: list[str] | None = None
        self.in_svg = False

    def handle_starttag(self, tag, attrs):
        classes = (dict(attrs).get("class") or "").split()
        if tag == "table" and self.table_class in classes:
            self.depth = 1
        elif self.depth and tag == "tr":
            self.rows.append([])
        elif self.depth and tag in {"td", "th"}:
            self.cell = []

    def handle_endtag(self, tag):
        if tag == "table" and self.depth:
            self.depth = 0
        elif self.depth and tag in {"td", "th"} and self.cell is not None:
            self.rows[-1].append(" ".join("".join(self.cell).split()))
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def html_table(page: str, table_class: str = "loads") -> list[list[str]]:
    """The rows (header row first) of the table with this class, each cell's text squeezed."""
    parser = _TableParser(table_class)
    parser.feed(page)
    return parser.rows


def loads_by_name(page: str) -> dict[str, dict[str, str]]:
    """The loads table as {faculty name: {column heading: cell text}}; headings lose sort arrows."""
    rows = html_table(page)
    headers = [cell.rstrip(" ▲▼") for cell in rows[0]]
    return {row[0]: dict(zip(headers, row, strict=True)) for row in rows[1:]}


def csv_by_name(data: bytes) -> dict[str, dict[str, str]]:
    reader = csv.DictReader(io.StringIO(data.decode("utf-8-sig")))
    return {row["Faculty"]: row for row in reader}
