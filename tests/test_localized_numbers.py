"""Numbers as people type them: read and shown in the page's language, ambiguity refused."""

from decimal import Decimal

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.forms import AmbiguousNumberError, NumberInputError, parse_localized_number
from portal.models import LoadPolicy, Person, Position
from tests.group_helpers import database_fingerprint
from tests.test_group_forms import new_member_data

FRENCH = {"Accept-Language": "fr-CA"}
ENGLISH = {"Accept-Language": "en"}


@pytest.mark.parametrize(
    ("text", "locale", "value"),
    [
        ("1,500", "en", Decimal("1500")),
        ("1.5", "en", Decimal("1.5")),
        ("1,500.25", "en", Decimal("1500.25")),
        ("12,345,678", "en", Decimal("12345678")),
        ("33,33", "fr_CA", Decimal("33.33")),
        ("1 500", "fr_CA", Decimal("1500")),
        ("1\u00a0500", "fr_CA", Decimal("1500")),
        ("1\u202f500", "fr_CA", Decimal("1500")),
        ("1 500,5", "fr_CA", Decimal("1500.5")),
        ("0.5", "fr_CA", Decimal("0.5")),  # a dot before two digits cannot group thousands
        ("-3", "en", Decimal("-3")),
    ],
)
def test_numbers_are_read_as_the_language_writes_them(text, locale, value):
    assert parse_localized_number(text, locale) == value


@pytest.mark.parametrize(
    ("text", "locale"),
    [
        ("1,50", "en"),  # odd grouping: 150 or 1.50?
        ("33,33", "en"),
        ("1,500,00", "en"),
        ("1.500,5", "en"),  # mixed separators
        ("1.500", "fr_CA"),  # a thousand and five hundred, or one and a half?
        ("1,500.5", "fr_CA"),
        ("1 500.5", "fr_CA"),
        ("12,345,678", "fr_CA"),
        ("1 50", "fr_CA"),
    ],
)
def test_ambiguous_numbers_are_refused_not_guessed(text, locale):
    with pytest.raises(AmbiguousNumberError):
        parse_localized_number(text, locale)


@pytest.mark.parametrize("text", ["", "abc", "NaN", "Infinity", "1e3", "0x10", "-", "1" * 41])
def test_what_is_no_number_is_refused(text):
    for locale in ("en", "fr_CA"):
        with pytest.raises(NumberInputError):
            parse_localized_number(text, locale)


def _caps(app):
    with app.app_context():
        policy = db.session.get(LoadPolicy, 1)
        values = (policy.default_principal_cap, policy.default_weighted_cap)
        db.session.remove()
        return values


def test_english_grouped_weighted_cap_is_fifteen_hundred(app, admin_client):
    response = admin_client.post(
        "/admin/caps", data={"principal_cap": "8", "weighted_cap": "1,500"}, headers=ENGLISH
    )
    assert response.status_code == 302
    assert _caps(app) == (8, Decimal("1500.00"))


def test_french_caps_are_read_and_shown_in_french(app, admin_client):
    response = admin_client.post(
        "/admin/caps", data={"principal_cap": "8", "weighted_cap": "1 500,5"}, headers=FRENCH
    )
    assert response.status_code == 302
    assert _caps(app) == (8, Decimal("1500.50"))
    page = admin_client.get("/admin/caps", headers=FRENCH).get_data(as_text=True)
    assert 'value="1\u00a0500,50"' in page or 'value="1\u00a0500,5"' in page
    english = admin_client.get("/admin/caps", headers=ENGLISH).get_data(as_text=True)
    assert 'value="1,500.5"' in english or 'value="1,500.50"' in english


@pytest.mark.parametrize(
    ("text", "headers"), [("1.500", FRENCH), ("1,50", ENGLISH), ("1.500,5", ENGLISH)]
)
def test_ambiguous_cap_is_a_400_with_a_translated_message(app, admin_client, text, headers):
    before = _caps(app)
    response = admin_client.post(
        "/admin/caps", data={"principal_cap": "8", "weighted_cap": text}, headers=headers
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    if headers is FRENCH:
        assert "pourrait se lire comme deux nombres" in page and "1\u00a0500,5" in page
    else:
        assert "could be read as two different numbers" in page and "1,500.5" in page
    assert _caps(app) == before


def test_french_share_is_saved_and_shown_in_french(app, faculty, faculty_client):
    data = new_member_data(
        app,
        share="66,67",
        **{"supervisors-0-external_name": "Prof. Externe", "supervisors-0-share": "33,33"},
    )
    response = faculty_client.post("/group/members/new", data=data, headers=FRENCH)
    assert response.status_code == 302
    with app.app_context():
        position = db.session.scalar(
            select(Position).join(Position.person).where(Person.full_name == data["full_name"])
        )
        position_id = position.id
        shares = [link.share for link in position.supervisions]
        db.session.remove()
    assert shares == [Decimal("66.67"), Decimal("33.33")]
    page = faculty_client.get(f"/group/members/{position_id}/edit", headers=FRENCH)
    text = page.get_data(as_text=True)
    assert 'value="66,67"' in text and 'value="33,33"' in text


def test_ambiguous_share_writes_nothing(app, faculty, faculty_client):
    before = database_fingerprint(app)
    data = new_member_data(
        app,
        share="1.500",
        **{"supervisors-0-external_name": "Prof. Externe", "supervisors-0-share": ""},
    )
    response = faculty_client.post("/group/members/new", data=data, headers=FRENCH)
    assert response.status_code == 400
    assert "pourrait se lire comme deux nombres" in response.get_data(as_text=True)
    assert database_fingerprint(app) == before


def test_french_program_weight_and_months(app, admin_client):
    response = admin_client.post(
        "/admin/programs",
        data={"name": "Doctorat", "kind": "phd", "weight": "0,75", "counts_toward_load": "y"},
        headers=FRENCH,
    )
    assert response.status_code == 302
    refused = admin_client.post(
        "/admin/programs",
        data={"name": "Autre", "kind": "phd", "weight": "0,75"},
        headers=ENGLISH,
    )
    assert refused.status_code == 400
    assert "could be read as two different numbers" in refused.get_data(as_text=True)
