"""The first group page: the logged-in faculty's current members and nobody else's."""

import re
from datetime import date
from html import unescape

from tests.conftest import login_client


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
    with query_counter() as english:
        page = faculty_client.get("/group", headers={"Accept-Language": "en"})
    assert "My group" in page.get_data(as_text=True)
    with query_counter() as french:
        page = faculty_client.get("/group", headers={"Accept-Language": "fr-CA"})
    assert "Mon groupe" in page.get_data(as_text=True)
    assert 0 < len(french) <= len(english)
