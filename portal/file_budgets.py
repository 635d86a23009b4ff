"""Budgets for reading uploaded files, enforced before (and while) the work is done.

An upload may be small and still expensive: a zip whose parts unpack to gigabytes, a sheet
that declares a million rows, an XML entity that expands a billion times, a JSON document
nested 100,000 deep, a CSV header of 60,000 columns. Each reader here checks the budget
before it spends memory or time on the part it checks, and refuses with `BudgetError`: an
HTTP status (400 or 413) and a message that names the limit and says what to do.

The limits come from the settings in `portal/config.py` (`IMPORT_MAX_*`).
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any
from xml.parsers import expat

from flask import has_app_context
from flask_babel import format_decimal
from flask_babel import gettext as _

XML_CHUNK = 64 * 1024
# A member this small may compress very well (an empty sheet, a style list) without harm.
RATIO_EXEMPT_BYTES = 1024 * 1024


class BudgetError(ValueError):
    """A file goes over a reading budget; `status` is the HTTP status to answer (400 or 413)."""

    def __init__(self, message: str, status: int = 413) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class ReadBudget:
    """How much of a file a reader may take in (see the IMPORT_MAX_* settings)."""

    max_rows: int = 100_000
    max_columns: int = 50
    max_cell_length: int = 2_000
    max_archive_members: int = 200
    max_uncompressed_bytes: int = 200 * 1024 * 1024
    max_compression_ratio: int = 100
    max_json_depth: int = 4

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ReadBudget:
        """The budget the app's settings describe (defaults for any that are not set)."""
        defaults = cls()
        return cls(
            max_rows=int(config.get("IMPORT_MAX_ROWS", defaults.max_rows)),
            max_columns=int(config.get("IMPORT_MAX_COLUMNS", defaults.max_columns)),
            max_cell_length=int(config.get("IMPORT_MAX_CELL_LENGTH", defaults.max_cell_length)),
            max_archive_members=int(
                config.get("IMPORT_MAX_ARCHIVE_MEMBERS", defaults.max_archive_members)
            ),
            max_uncompressed_bytes=int(
                config.get("IMPORT_MAX_UNCOMPRESSED_BYTES", defaults.max_uncompressed_bytes)
            ),
            max_compression_ratio=int(
                config.get("IMPORT_MAX_COMPRESSION_RATIO", defaults.max_compression_ratio)
            ),
            max_json_depth=int(config.get("IMPORT_MAX_JSON_DEPTH", defaults.max_json_depth)),
        )


def format_number(value: int) -> str:
    """100,000 in English, 100 000 in French (plain digits outside the app)."""
    return format_decimal(value) if has_app_context() else f"{value:,}"


def size_text(length: int) -> str:
    """A byte count as people read it: 2.5 MB, 300 KB."""
    if length >= 1024 * 1024:
        return f"{length / (1024 * 1024):.1f} MB"
    return f"{max(1, round(length / 1024))} KB"


# ---------------------------------------------------------------------------------------------
# Refusals shared by the readers (one wording per limit).


def too_many_rows(budget: ReadBudget) -> BudgetError:
    return BudgetError(
        _(
            "The file has more than %(limit)s rows under its header, the most one import "
            "accepts. Split the roster into several files and import them one after another.",
            limit=format_number(budget.max_rows),
        )
    )


def too_many_columns(budget: ReadBudget, line: int, count: int | None = None) -> BudgetError:
    return BudgetError(
        _(
            "Line %(line)s has more than %(limit)s columns, the most a roster file may have. "
            "Keep only the roster columns and save the file again.",
            line=line,
            limit=format_number(budget.max_columns),
        )
    )


def cell_too_long(budget: ReadBudget, line: int | None) -> BudgetError:
    if line is None:
        return BudgetError(
            _(
                "A cell of the file holds more than %(limit)s characters, the most a cell may "
                "hold. Shorten that text and upload the file again.",
                limit=format_number(budget.max_cell_length),
            )
        )
    return BudgetError(
        _(
            "Line %(line)s has a cell of more than %(limit)s characters, the most a cell may "
            "hold. Shorten that text and upload the file again.",
            line=line,
            limit=format_number(budget.max_cell_length),
        )
    )


# ---------------------------------------------------------------------------------------------
# Zip archives (XLSX workbooks are zip archives of XML parts).


def inspect_archive(archive: zipfile.ZipFile, compressed_size: int, budget: ReadBudget) -> None:
    """Check the archive's directory before anything is unpacked.

    The sizes come from the archive's directory; zipfile stops reading a part at its declared
    size, so a part cannot unpack to more than the directory says.
    """
    members = archive.infolist()
    if len(members) > budget.max_archive_members:
        raise BudgetError(
            _(
                "The workbook has %(count)s parts; the import reads workbooks of at most "
                "%(limit)s. Copy the roster sheet into a new workbook, or save it as CSV UTF-8.",
                count=format_number(len(members)),
                limit=format_number(budget.max_archive_members),
            )
        )
    if any(member.flag_bits & 0x1 for member in members):
        raise BudgetError(
            _("The workbook is encrypted: remove its password, save it and upload it again."),
            status=400,
        )
    total = sum(member.file_size for member in members)
    if total > budget.max_uncompressed_bytes:
        raise BudgetError(
            _(
                "The workbook unpacks to %(size)s; the import reads workbooks that unpack to at "
                "most %(limit)s. Split the roster into smaller files, or save it as CSV UTF-8.",
                size=size_text(total),
                limit=size_text(budget.max_uncompressed_bytes),
            )
        )
    for member in members:
        packed = max(member.compress_size, 1)
        if (
            member.file_size > RATIO_EXEMPT_BYTES
            and member.file_size / packed > budget.max_compression_ratio
        ):
            raise BudgetError(
                _(
                    "A part of the workbook (%(part)s) unpacks %(ratio)s times larger than it "
                    "is stored, more than the %(limit)s times a real workbook does. Save the "
                    "roster again from your spreadsheet program, or as CSV UTF-8.",
                    part=member.filename[:80],
                    ratio=format_number(member.file_size // packed),
                    limit=format_number(budget.max_compression_ratio),
                )
            )


# ---------------------------------------------------------------------------------------------
# XML: no DTD, no entities, and counted as it streams.


class _RefusedError(Exception):
    """Raised inside expat handlers to stop the parse at once."""

    def __init__(self, error: BudgetError) -> None:
        super().__init__(error.message)
        self.error = error


def _refuse_dtd(*_arguments) -> None:
    raise _RefusedError(
        BudgetError(
            _(
                "The workbook contains XML declarations (a DTD or entities) that the portal does "
                "not read. Save the roster again from your spreadsheet program, or as CSV UTF-8."
            ),
            status=400,
        )
    )


def _new_parser() -> expat.XMLParserType:
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse_dtd
    parser.EntityDeclHandler = _refuse_dtd
    parser.ExternalEntityRefHandler = _refuse_dtd
    parser.buffer_text = False
    return parser


def _stream(parser: expat.XMLParserType, source: IO[bytes]) -> None:
    try:
        while chunk := source.read(XML_CHUNK):
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except _RefusedError as refused:
        raise refused.error from None
    except expat.ExpatError:
        raise BudgetError(
            _("The file is not a readable Excel workbook (.xlsx)."), status=400
        ) from None


def check_xml_prolog(source: IO[bytes]) -> None:
    """Refuse an XML part that declares a DTD; stop reading at its first element."""

    class _PrologDoneError(Exception):
        pass

    def first_element(*_arguments) -> None:
        raise _PrologDoneError

    parser = _new_parser()
    parser.StartElementHandler = first_element
    try:
        _stream(parser, source)
    except _PrologDoneError:
        return


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1].rsplit(":", 1)[-1]


def scan_shared_strings(source: IO[bytes], budget: ReadBudget) -> None:
    """The shared-string table: how many strings and how long each is, counted as it streams."""
    most_strings = (budget.max_rows + 1) * budget.max_columns
    state = {"count": 0, "length": 0, "inside": 0}

    def start(name: str, _attributes) -> None:
        local = _local(name)
        if local == "si":
            state["count"] += 1
            state["length"] = 0
            if state["count"] > most_strings:
                raise _RefusedError(too_many_rows(budget))
        elif local == "t":
            state["inside"] += 1

    def end(name: str) -> None:
        if _local(name) == "t":
            state["inside"] -= 1

    def text(data: str) -> None:
        if state["inside"]:
            state["length"] += len(data)
            if state["length"] > budget.max_cell_length:
                raise _RefusedError(cell_too_long(budget, None))

    parser = _new_parser()
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    _stream(parser, source)


def column_number(reference: str) -> int:
    """1 for A, 27 for AA ... from a cell reference such as 'XFD1048000' (0 when there is none)."""
    number = 0
    for character in reference:
        if "A" <= character <= "Z":
            number = number * 26 + (ord(character) - 64)
        elif "a" <= character <= "z":
            number = number * 26 + (ord(character) - 96)
        else:
            break
        if number > 1_000_000:
            break
    return number


def scan_sheet(source: IO[bytes], budget: ReadBudget) -> None:
    """A worksheet's cells, counted as they stream: rows, columns and cell length.

    Only cells with a value count: spreadsheet programs leave formatted empty cells far out,
    and a sheet's declared dimension (which may say A1:XFD1048000) is not believed at all.
    """
    state = {"row": 0, "column": 0, "length": 0, "value": False, "inside": 0}

    def start(name: str, attributes) -> None:
        local = _local(name)
        if local == "row":
            reference = attributes.get("r")
            known = reference and reference.isascii() and reference.isdigit()
            state["row"] = int(reference) if known else state["row"] + 1
            state["column"] = 0
        elif local == "c":
            reference = attributes.get("r")
            number = column_number(reference) if reference else 0
            state["column"] = number or state["column"] + 1
            state["length"] = 0
            state["value"] = False
        elif local in ("v", "t"):
            state["inside"] += 1

    def end(name: str) -> None:
        local = _local(name)
        if local in ("v", "t"):
            state["inside"] -= 1
        elif local == "c" and state["value"]:
            if state["column"] > budget.max_columns:
                raise _RefusedError(too_many_columns(budget, state["row"]))
            if state["row"] > budget.max_rows + 1:
                raise _RefusedError(too_many_rows(budget))

    def text(data: str) -> None:
        if state["inside"]:
            state["length"] += len(data)
            if data.strip():
                state["value"] = True
            if state["length"] > budget.max_cell_length:
                raise _RefusedError(cell_too_long(budget, state["row"]))

    parser = _new_parser()
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    _stream(parser, source)


def check_workbook_parts(archive: zipfile.ZipFile) -> None:
    """Every XML part: no DTD (billion laughs, external entities), checked before openpyxl."""
    for member in archive.infolist():
        if member.filename.lower().endswith((".xml", ".rels", ".vml")):
            with archive.open(member) as source:
                check_xml_prolog(source)


def shared_string_parts(archive: zipfile.ZipFile) -> Iterator[zipfile.ZipInfo]:
    for member in archive.infolist():
        if member.filename.lower().endswith("sharedstrings.xml"):
            yield member


# ---------------------------------------------------------------------------------------------
# JSON: size is the upload limit; depth, keys and numbers are checked here.


def load_json(text: str, budget: ReadBudget) -> Any:
    """Parse JSON text with limits on nesting, keys per object and the length of numbers."""

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        if len(items) > budget.max_columns:
            raise BudgetError(
                _(
                    "A JSON object has more than %(limit)s keys, the most a roster record may "
                    "have. Keep only the roster keys and save the file again.",
                    limit=format_number(budget.max_columns),
                )
            )
        return dict(items)

    def number(text: str) -> Any:
        if len(text) > 40:
            raise BudgetError(
                _(
                    "The JSON holds a number of %(digits)s digits; the roster has no such "
                    "number. Write long identifiers as text (in quotes).",
                    digits=format_number(len(text)),
                ),
                status=400,
            )
        return float(text) if any(mark in text for mark in ".eE") else int(text)

    def constant(name: str) -> Any:
        raise BudgetError(
            _("The JSON holds %(value)s, which is not a valid JSON value.", value=name),
            status=400,
        )

    try:
        value = json.loads(
            text,
            object_pairs_hook=pairs,
            parse_int=number,
            parse_float=number,
            parse_constant=constant,
        )
    except RecursionError:
        raise _too_deep(budget) from None
    if _depth_over(value, budget.max_json_depth):
        raise _too_deep(budget)
    return value


def _too_deep(budget: ReadBudget) -> BudgetError:
    return BudgetError(
        _(
            "The JSON is nested more than %(limit)s levels deep; a roster is a list of records "
            "with plain values. Export the roster again from the portal.",
            limit=budget.max_json_depth,
        ),
        status=400,
    )


def _depth_over(value: Any, limit: int) -> bool:
    """Whether `value` nests lists and objects more than `limit` levels (no recursion)."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False
