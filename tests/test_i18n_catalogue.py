"""The French catalogue is complete: every string the code and templates mark is translated."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_keywords, parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
FRENCH_PO = ROOT / "portal" / "translations" / "fr_CA" / "LC_MESSAGES" / "messages.po"
# The keywords `make translations` passes to pybabel (`-k NAME`), read from the Makefile itself.
MAKEFILE_KEYWORDS = re.findall(r"-k (\S+)", (ROOT / "Makefile").read_text(encoding="utf-8"))
KEYWORDS = {**DEFAULT_KEYWORDS, **parse_keywords(MAKEFILE_KEYWORDS)}
PLACEHOLDER = re.compile(r"%\([a-z_0-9]+\)[sd]|%%")


def extracted_messages() -> dict[str | tuple[str, ...], str]:
    """Every msgid marked in portal/ and templates/, with where it was found (babel.cfg mapping)."""
    with open(ROOT / "babel.cfg", encoding="utf-8") as config:
        method_map, options_map = parse_mapping_cfg(config)
    found: dict[str | tuple[str, ...], str] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS, strip_comment_tags=True
    ):
        key = message if isinstance(message, str) else tuple(message[:2])  # (singular, plural)
        found.setdefault(key, f"{filename}:{lineno}")
    return found


@pytest.fixture(scope="module")
def catalogue():
    with open(FRENCH_PO, "rb") as po:
        return read_po(po, locale="fr_CA")


@pytest.fixture(scope="module")
def marked():
    return extracted_messages()


def test_extraction_finds_the_templates_and_the_code(marked):
    sources = {where.split(":")[0] for where in marked.values()}
    assert any(source.startswith("templates/") for source in sources)
    assert any(source.startswith("portal/") for source in sources)
    assert "Supervision loads" in marked and "Principal supervisor" in marked


def test_every_marked_string_has_a_french_translation(catalogue, marked):
    problems = []
    for key, where in sorted(marked.items(), key=lambda item: str(item[0])):
        msgid = key[0] if isinstance(key, tuple) else key
        message = catalogue.get(msgid)
        if message is None:
            problems.append(f"missing: {msgid!r} ({where})")
        elif message.fuzzy:
            problems.append(f"fuzzy: {msgid!r} ({where})")
        elif isinstance(key, tuple) != message.pluralizable:
            problems.append(f"plural form differs: {msgid!r} ({where})")
        else:
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            if not all(strings):
                problems.append(f"empty translation: {msgid!r} ({where})")
    assert not problems, "\n".join(problems)


def test_the_catalogue_has_no_fuzzy_empty_or_obsolete_entries(catalogue, marked):
    assert not catalogue.fuzzy
    assert not catalogue.obsolete
    for message in catalogue:
        if not message.id:
            continue
        assert not message.fuzzy, message.id
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings), message.id
    leftover = {
        message.id if isinstance(message.id, str) else message.id[0]
        for message in catalogue
        if message.id
    } - {key[0] if isinstance(key, tuple) else key for key in marked}
    assert not leftover, f"translations of strings no longer in the code: {sorted(leftover)}"


def test_translations_keep_the_placeholders(catalogue):
    for message in catalogue:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = sorted(set(PLACEHOLDER.findall(ids[-1])))
        for string in strings:
            assert sorted(set(PLACEHOLDER.findall(string))) == wanted, (message.id, string)


def test_the_compiled_catalogue_is_built():
    # `make install` / `make test` compile it from the .po (git ignores *.mo).
    assert FRENCH_PO.with_suffix(".mo").exists(), "run `make test`: it compiles the catalogue"
