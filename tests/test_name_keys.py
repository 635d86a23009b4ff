"""name_key's quick path for ASCII names gives the key of the full Unicode path."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from portal.extensions import db
from portal.identifiers import NAME_KEY_LENGTH, name_key
from portal.models import Person
from tests.test_group_forms import new_member_data


def unicode_key(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name)
    without_accents = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(without_accents.casefold().split())[:NAME_KEY_LENGTH]


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=40))
def test_ascii_names_get_the_unicode_key(name):
    assert name_key(name) == unicode_key(name)


def test_accented_names_still_lose_their_accents():
    assert name_key("Université  de Montréal") == "universite de montreal"
    assert name_key("ZOË O'Brien") == "zoe o'brien"


def test_a_key_longer_than_its_name_is_cut_at_the_stored_length():
    assert len(name_key("ﬃ" * 100)) == NAME_KEY_LENGTH  # each ligature is three letters
    assert name_key("Straße " * 40).startswith("strasse strasse")
    assert len(name_key("x" * 500)) == NAME_KEY_LENGTH


@pytest.mark.both_backends
def test_names_whose_keys_grow_are_saved_on_every_database(app, faculty_client):
    """200 characters that become 300 in the key (PostgreSQL refused the longer key)."""
    data = new_member_data(app, full_name="ﬃ" * 100 + "ß" * 100, institution="ﬃ" * 200, email="")
    response = faculty_client.post("/group/members/new", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        person = db.session.scalar(select(Person))
        assert person.full_name.startswith("ﬃ") and len(person.name_key) == NAME_KEY_LENGTH
        db.session.remove()
