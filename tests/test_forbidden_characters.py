"""Characters no text of the portal holds (portal.identifiers.FORBIDDEN_CHARACTERS): refused on
every way in (form, query string, import, API) with a clear 400 or 422 and nothing written; text
saved before the rule still exports; a JSON body nested past the parser's reach is a 400."""

from __future__ import annotations

import io
import json

import pytest
from openpyxl import load_workbook

from tests.api_helpers import bearer
from tests.group_helpers import database_fingerprint
from tests.test_api import _new_member_body
from tests.test_group_forms import new_member_data
from tests.test_roster_import import roster_csv, row, upload

pytestmark = pytest.mark.both_backends

CONTROL_MESSAGE = "The request contains a control character"


@pytest.fixture
def faculty_token(app, faculty):
    from tests.api_helpers import new_token

    return new_token(app, faculty, "write")


@pytest.mark.parametrize(
    "typed",
    [
        {"full_name": "Line\x0bBreak"},  # a vertical tab, as pasted from a word processor
        {"note": "Bell\x07"},
        {"institution": "Escape\x1b University"},
        {"supervisors-0-external_name": "Prof.\x01X"},
    ],
)
def test_the_member_form_refuses_a_control_character(app, faculty_client, typed):
    before = database_fingerprint(app)
    response = faculty_client.post("/group/members/new", data=new_member_data(app, **typed))
    assert response.status_code == 400
    assert CONTROL_MESSAGE in response.get_data(as_text=True)
    assert database_fingerprint(app) == before


def test_tab_and_line_breaks_are_kept(app, faculty_client):
    data = new_member_data(app, note="First line\r\nSecond\tline")
    assert faculty_client.post("/group/members/new", data=data).status_code == 302


def test_every_value_of_a_repeated_key_is_checked(faculty_client):
    response = faculty_client.get("/admin/loads?show=roles&show=x\x0by")
    assert response.status_code == 400
    assert CONTROL_MESSAGE in response.get_data(as_text=True)


def test_a_nul_keeps_its_own_message(faculty_client):
    response = faculty_client.get("/group?status=a\x00b")
    assert response.status_code == 400
    assert "contains a NUL character" in response.get_data(as_text=True)


def test_the_profile_refuses_a_control_character_in_the_department(app, faculty_client):
    before = database_fingerprint(app)
    response = faculty_client.post(
        "/profile", data={"display_name": "Prof. Faculty", "department": "Dept\x0bX"}
    )
    assert response.status_code == 400
    assert CONTROL_MESSAGE in response.get_data(as_text=True)
    assert database_fingerprint(app) == before


@pytest.mark.parametrize(
    ("filename", "data"),
    [
        ("roster.csv", roster_csv(row("Fine Person"), row("Line\x0bBreak"))),
        (
            "roster.json",
            json.dumps(
                [
                    {
                        "faculty_email": "faculty@example.org",
                        "name": "Lone \ud800 Surrogate",
                        "program": "PhD",
                        "institution": "Université de Montréal",
                        "role": "principal",
                        "start_date": "2024-09-01",
                    }
                ]
            ).encode(),
        ),
    ],
)
def test_an_import_cell_with_a_control_character_is_refused(app, faculty_client, filename, data):
    before = database_fingerprint(app)
    response = upload(faculty_client, data, filename)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "column name holds a control character" in page
    assert database_fingerprint(app) == before


def _post_member(client, token: str, body: str):
    return client.post(
        "/api/v1/group/members",
        data=body,
        content_type="application/json",
        headers=bearer(token),
    )


@pytest.mark.parametrize("name", ["Line\x0bBreak", "Lone \ud800 Surrogate"])
def test_the_api_refuses_a_control_character_or_a_lone_surrogate(
    app, client, faculty, faculty_token, name
):
    before = database_fingerprint(app)
    body = json.dumps(_new_member_body(app, full_name=name))  # \ud800 travels as an escape
    response = _post_member(client, faculty_token, body)
    assert response.status_code == 422
    assert response.get_json()["errors"]["json"]["full_name"] == [
        "Control characters are not allowed."
    ]
    assert database_fingerprint(app) == before


@pytest.mark.parametrize("body", ['{"a":' * 5000 + "1" + "}" * 5000, "[" * 100_000])
def test_a_json_body_nested_past_the_parsers_reach_is_a_400(
    app, client, faculty, faculty_token, body
):
    before = database_fingerprint(app)
    response = _post_member(client, faculty_token, body)
    assert response.status_code == 400
    assert response.content_type == "application/problem+json"
    assert "nested too deeply" in json.dumps(response.get_json())
    assert database_fingerprint(app) == before


def test_text_saved_before_the_rule_still_exports_to_xlsx(
    app, faculty, faculty_client, make_member
):
    make_member(faculty, "Line\x0bBreak", note="Bell\x07")
    response = faculty_client.get("/group/export.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data), read_only=True).active
    values = [cell for line in sheet.iter_rows(values_only=True) for cell in line]
    assert "Line Break" in values and "Bell " in values
