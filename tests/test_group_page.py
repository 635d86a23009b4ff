"""The first group page: the logged-in faculty's current members and nobody else's."""

import re
from datetime import date
from html import unescape

import pytest

from tests.conftest import login_client
from tests.group_helpers import forget_kept


def member_cells(page: str) -> dict[str, list[str]]:
    """Each member's table row as text cells, by name (the first cell, without its note)."""
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", page, flags=re.DOTALL):
        cells = [
            unescape(re.sub(r"<[^>]+>", "", cell)).strip()
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.DOTALL)
        ]
        if cells:
            first = re.search(r"<td[^>]*>(.*?)</td>", row, re.DOTALL)[1]
            name = re.sub(r"<div.*", "", first, flags=re.DOTALL)  # notes and actions follow
            rows[unescape(name).strip()] = cells
    return rows


def test_group_lists_current_members_with_program_institution_and_role(
    app, faculty, faculty_client, make_faculty, make_member
):
    colleague = make_faculty("colleague@example.org", "Prof. Marc-André O'Neill")
    make_member(
        faculty,
        "Amélie Bouchard",
        program="PhD",
        role="principal",
        others=[(colleague, "co-supervisor")],
    )
    make_member(
        faculty,
        "Björn Halvorsen",
        program="Master's Research",
        institution="ETH Zurich",
        role="co-supervisor",
        others=[("Prof. Ingrid Sørensen", "principal")],
    )
    make_member(
        faculty,
        "Dr. Oren Ben-David",
        program="Collaborating researcher",
        institution="McGill University",
        role="none",
    )
    make_member(faculty, "Left Already", end_date=date(2020, 1, 1), start_date=date(2015, 1, 1))
    make_member(colleague, "Someone Else's Student")

    page = faculty_client.get("/group").get_data(as_text=True)
    assert "3 current members" in page
    # Role labels are not looked for in the whole page (the role filter lists them all): the
    # member's own role cell is read below.
    for text in (
        "Amélie Bouchard",
        "Prof. Marc-André O&#39;Neill",
        "Björn Halvorsen",
        "ETH Zurich",
        "Prof. Ingrid Sørensen",
        "Dr. Oren Ben-David",
        "Collaborating researcher",
        "McGill University",
    ):
        assert text in page
    assert "Left Already" not in page
    assert "Someone Else&#39;s Student" not in page
    rows = member_cells(page)
    assert rows["Amélie Bouchard"][3] == "Principal supervisor"
    assert rows["Björn Halvorsen"][3] == "Co-supervisor"
    assert rows["Dr. Oren Ben-David"][3] == "Host (no supervision role)"


def test_co_supervised_member_appears_in_both_groups_with_each_role(
    app, faculty, make_faculty, make_member
):
    colleague = make_faculty("colleague@example.org", "Prof. Colleague")
    make_member(faculty, "Shared Student", others=[(colleague, "co-supervisor")])
    mine = login_client(app.test_client(), faculty).get("/group").get_data(as_text=True)
    theirs = login_client(app.test_client(), colleague).get("/group").get_data(as_text=True)
    assert member_cells(mine)["Shared Student"][3] == "Principal supervisor"
    assert member_cells(theirs)["Shared Student"][3] == "Co-supervisor"


def test_group_page_query_count_does_not_grow_with_the_group(
    app, faculty, faculty_client, make_member, query_counter
):
    for number in range(3):
        make_member(faculty, f"Student {number}")
    with query_counter() as small:
        faculty_client.get("/group")
    for number in range(3, 40):
        make_member(faculty, f"Student {number}", others=[("External Prof", "co-supervisor")])
    with query_counter() as large:
        faculty_client.get("/group")
    assert len(small) == len(large)
    assert len(large) <= 8


def test_group_page_in_french_issues_no_more_queries_than_in_english(
    faculty, faculty_client, make_member, query_counter
):
    for number in range(5):
        make_member(faculty, f"Élève {number}", others=[("External Prof", "co-supervisor")])
    faculty_client.get("/group")  # the first request of a client may store its CSRF token
    counted = {}
    for language, heading in (("en", "My group"), ("fr-CA", "Mon groupe")):
        forget_kept()  # each page read and rendered afresh, then again from what it kept
        for kind in ("fresh", "kept"):
            with query_counter() as seen:
                page = faculty_client.get("/group", headers={"Accept-Language": language})
            assert heading in page.get_data(as_text=True)
            counted[language, kind] = len(seen)
    assert 0 < counted["fr-CA", "fresh"] <= counted["en", "fresh"]
    assert 0 < counted["fr-CA", "kept"] <= counted["en", "kept"] < counted["en", "fresh"]


HOSTILE_NAMES = ["<script>alert(1)</script>", '"x" onmouseover=alert(1) y="']


def test_hostile_names_and_notes_come_out_escaped_in_both_languages(
    faculty, faculty_client, make_faculty, make_member
):
    """Row links and words are built once per page now: what a row puts in is still escaped."""
    colleague = make_faculty("colleague@example.org", HOSTILE_NAMES[1])
    make_member(faculty, HOSTILE_NAMES[0], note=HOSTILE_NAMES[1])
    make_member(faculty, HOSTILE_NAMES[1], others=[(colleague, "co-supervisor")])
    make_member(colleague, "Shared <b>Student</b>", others=[(faculty, "co-supervisor")])
    make_member(faculty, HOSTILE_NAMES[0], end_date=date(2025, 1, 31))
    for language in ("en", "fr-CA"):
        for path in ("/group", "/group/alumni"):
            page = faculty_client.get(path, headers={"Accept-Language": language})
            text = page.get_data(as_text=True)
            assert page.status_code == 200
            assert "<script>alert(1)" not in text, (path, language)
            assert '"x" onmouseover' not in text and "<b>Student" not in text, (path, language)
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text, (path, language)
        group = faculty_client.get("/group", headers={"Accept-Language": language})
        text = group.get_data(as_text=True)
        assert "&#34;x&#34; onmouseover=alert(1) y=&#34;" in text
        assert "Shared &lt;b&gt;Student&lt;/b&gt;" in text


def test_row_links_carry_each_rows_id_and_the_administrators_group(
    app, admin_client, faculty, faculty_client, make_member
):
    first = make_member(faculty, "First Student")
    second = make_member(faculty, "Second Student")
    mine = faculty_client.get("/group").get_data(as_text=True)
    for position in (first, second):
        assert f'href="/group/members/{position.id}/edit"' in mine
        assert f'href="/group/members/{position.id}/move-to-alumni"' in mine
    theirs = admin_client.get(f"/group?faculty={faculty.id}").get_data(as_text=True)
    assert f'href="/group/members/{second.id}/edit?faculty={faculty.id}"' in theirs
    assert "/move-to-alumni" not in theirs  # an administrator reads another's group


def test_kept_rows_show_a_co_supervisors_write_on_the_other_supervisors_next_page(
    app, faculty, faculty_client, make_faculty, make_member
):
    """Rendered rows are kept by everything they show: a write by one supervisor changes what
    the other's row reads, so the next page renders it afresh (no stale copy)."""
    from portal.extensions import db
    from portal.models import Person

    colleague = make_faculty("colleague@example.org", "Prof. Colleague Two")
    colleague_client = login_client(app.test_client(), colleague)
    shared = make_member(faculty, "Shared Student", others=[(colleague, "co-supervisor")])
    theirs = make_member(colleague, "Their Student", others=[(faculty, "co-supervisor")])
    for _ in range(2):  # the second page takes the kept rows
        page = faculty_client.get("/group").get_data(as_text=True)
        assert member_cells(page)["Shared Student"][5] == "Prof. Colleague Two (co-supervisor)"
        assert member_cells(page)["Their Student"][0].startswith("Their Student")
    # The co-supervisor ends their own involvement, through the page.
    left = colleague_client.post(f"/group/members/{shared.id}/leave", data={"message": ""})
    assert left.status_code == 302
    # The owner of the other record renames its person (as their edit form would).
    with app.app_context():
        db.session.get(Person, theirs.person_id).full_name = "Their Student Renamed"
        db.session.commit()
    page = faculty_client.get("/group").get_data(as_text=True)
    assert member_cells(page)["Shared Student"][5] == "—"
    assert "Their Student Renamed" in member_cells(page)
    assert "Their Student<" not in page.replace("Their Student Renamed", "")
    for language in ("en", "fr-CA"):  # each language renders (and keeps) its own rows
        faculty_client.get("/group", headers={"Accept-Language": language})
    french = faculty_client.get("/group", headers={"Accept-Language": "fr-CA"})
    assert "Modifier" in french.get_data(as_text=True)


def test_kept_rows_are_not_shared_between_an_owner_and_a_reader(
    app, admin_client, faculty, faculty_client, make_member
):
    """The same member rows, seen by their owner and by an administrator who only reads the
    group: each sees their own actions, whichever page was rendered first."""
    member = make_member(faculty, "Only Member")
    theirs = admin_client.get(f"/group?faculty={faculty.id}").get_data(as_text=True)
    mine = faculty_client.get("/group").get_data(as_text=True)
    again = admin_client.get(f"/group?faculty={faculty.id}").get_data(as_text=True)
    assert f"/group/members/{member.id}/move-to-alumni" in mine
    assert f"/group/members/{member.id}/move-to-alumni" not in theirs + again
    assert f"/group/members/{member.id}/edit?faculty={faculty.id}" in again


@pytest.mark.both_backends
@pytest.mark.parametrize("faculty_id", ["99999999999999999999", "2147483648"])
@pytest.mark.parametrize(
    "path", ["/group", "/group/alumni", "/group/milestones", "/group/milestones.ics"]
)
def test_an_administrator_naming_an_id_no_database_holds_gets_404(admin_client, path, faculty_id):
    assert admin_client.get(f"{path}?faculty={faculty_id}").status_code == 404
