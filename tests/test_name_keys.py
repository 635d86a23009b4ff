"""name_key's quick path for ASCII names gives the key of the full Unicode path."""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from portal.identifiers import name_key


def unicode_key(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name)
    without_accents = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(without_accents.casefold().split())


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=40))
def test_ascii_names_get_the_unicode_key(name):
    assert name_key(name) == unicode_key(name)


def test_accented_names_still_lose_their_accents():
    assert name_key("Université  de Montréal") == "universite de montreal"
    assert name_key("ZOË O'Brien") == "zoe o'brien"
