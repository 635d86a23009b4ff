"""What a new faculty member and a new administrator meet first: landing pages, login messages,
the icon, export order, the import preview and its confirmation, the demo's caps."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from portal.demo import load_demo_data
from portal.extensions import db
from portal.loads import load_rows
from tests.conftest import TEST_PASSWORD
from tests.test_roster_import import confirm, roster_csv, row, upload


def _login(client, email: str, password: str = TEST_PASSWORD):
    return client.post("/login", data={"email": email, "password": password})


# ---------------------------------------------------------------------------------------------
# Where one lands.


def test_the_root_sends_a_visitor_to_login_without_an_alarm(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    page = client.get("/login").get_data(as_text=True)
    assert "Please log in" not in page
    assert "flash" not in page


def test_other_pages_still_say_why_login_is_needed(client):
    client.get("/group")
    page = client.get("/login").get_data(as_text=True)
    assert '<p class="flash flash--info">Please log in to see this page.</p>' in page


def test_an_administrator_without_a_group_lands_on_the_loads_page(client, admin):
    response = _login(client, admin.email)
    assert response.headers["Location"] == "/admin/loads"
    assert client.get("/").headers["Location"] == "/admin/loads"
    assert client.get("/login").headers["Location"] == "/admin/loads"


def test_an_administrator_with_a_group_and_faculty_land_on_the_group(
    app, make_admin, make_member, faculty
):
    supervising_admin = make_admin("dean@example.org", "Dean Who Supervises")
    make_member(supervising_admin, "A Student")
    for user in (supervising_admin, faculty):
        client = app.test_client()
        assert _login(client, user.email).headers["Location"] == "/group"


def test_an_administrators_empty_group_page_does_not_contradict_itself(admin_client, faculty):
    page = admin_client.get("/group").get_data(as_text=True)
    assert "View the group of" in page
    assert "Your group has no current members yet." not in page
    assert "You have no group of your own." in page
    assert 'href="/admin/loads"' in page


def test_a_faculty_members_empty_group_says_so(faculty_client):
    page = faculty_client.get("/group").get_data(as_text=True)
    assert "Your group has no current members yet." in page
    assert "View the group of" not in page


# ---------------------------------------------------------------------------------------------
# Small things a first day trips over.


def test_favicon_is_served_from_the_vendored_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.mimetype == "image/vnd.microsoft.icon"
    assert response.data[:4] == b"\x00\x00\x01\x00"  # an ICO file's header
    assert '<link rel="icon" href="/favicon.ico"' in client.get("/login").get_data(as_text=True)


def test_native_date_pickers_carry_no_format_hint(admin_client):
    for path in ("/admin/loads", "/admin/progress"):
        page = admin_client.get(path).get_data(as_text=True)
        assert 'type="date"' in page, path
        assert "YYYY-MM-DD" not in page, path


@pytest.mark.both_backends
def test_exports_sort_names_as_the_pages_do(app, faculty, faculty_client, make_member):
    for name in ("Zoé Zimmer", "Élodie Marchand", "Aaron Abel", "eve Lowercase"):
        make_member(faculty, name)
    expected = ["Aaron Abel", "Élodie Marchand", "eve Lowercase", "Zoé Zimmer"]
    page = faculty_client.get("/group").get_data(as_text=True)
    assert sorted(expected, key=page.index) == expected
    exported = faculty_client.get("/group/export.csv").get_data(as_text=True)
    names = [line["name"] for line in csv.DictReader(io.StringIO(exported.lstrip("\ufeff")))]
    assert names == expected
    coi = faculty_client.get("/group/coi.csv").get_data(as_text=True)
    assert [line["name"] for line in csv.DictReader(io.StringIO(coi.lstrip("\ufeff")))] == (
        expected
    )


# ---------------------------------------------------------------------------------------------
# The import preview and what follows the confirmation.


def test_preview_rows_keep_their_columns_and_problems_take_a_full_row(faculty_client):
    data = roster_csv(
        row("Good Row", role="co-supervisor"),
        row("Bad Role", role="supervisor-ish"),
        row("Host Row", role="none", program="Collaborating researcher"),
    )
    page = upload(faculty_client, data).get_data(as_text=True)
    table = page[page.index('class="data import-table"') : page.index("</table>")]
    headers = table[: table.index("</thead>")].count("<th ")
    body = table[table.index("<tbody>") :]
    rows = body.split("<tr ")[1:]
    data_rows = [part for part in rows if "import-row__problems" not in part.split(">")[0]]
    assert len(data_rows) == 3
    assert all(part.count("<td") == headers for part in data_rows)
    problem_rows = [part for part in rows if "import-row__problems" in part.split(">")[0]]
    assert len(problem_rows) == 1
    assert f'colspan="{headers}"' in problem_rows[0]
    assert "supervisor-ish" in problem_rows[0]
    # Roles in words, never codes.
    assert "Co-supervisor" in body and "Host (no supervision role)" in body
    assert ">co-supervisor<" not in body and ">none<" not in body


def test_preview_in_french_shows_roles_in_french(faculty_client):
    faculty_client.post("/language", data={"language": "fr_CA", "next": "/group/import"})
    page = upload(faculty_client, roster_csv(row("Rôle Traduit", role="co-supervisor")))
    text = page.get_data(as_text=True)
    assert "Codirection" in text and ">co-supervisor<" not in text


def test_confirming_an_administrators_import_for_one_faculty_opens_their_group(
    admin_client, faculty
):
    preview = upload(admin_client, roster_csv(row("Admin Imported", faculty=faculty.email)))
    response = confirm(admin_client, preview)
    assert response.headers["Location"] == f"/group?faculty={faculty.id}"
    page = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Added 1 person to the group." in page
    assert page.count('class="imported"') == 1


# ---------------------------------------------------------------------------------------------
# The demo: one faculty member near a cap, one over, explained.


def test_the_demo_has_one_faculty_member_near_a_cap_and_one_over(app):
    with app.app_context():
        load_demo_data()
        db.session.commit()
        rows = {row.name: row for row in load_rows(date.today())}
    faculty = rows["Prof. Hélène Tremblay-Okafor"]
    second = rows["Prof. Marc-André O'Neill"]
    assert faculty.near_cap and not faculty.over_cap
    assert second.over_principal_cap and second.principal_headroom == -1
    assert not second.over_weighted_cap
