"""The group list pages: sections, counts, search, filters, sorting, alumni, admin views."""

from datetime import date, timedelta

import pytest

from tests.group_helpers import add_many_members

pytestmark = pytest.mark.both_backends  # SQL sorting and filtering differ per database


def _page(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def test_current_members_are_grouped_by_kind_with_counts(faculty, faculty_client, make_member):
    make_member(faculty, "Amélie PhD", program="PhD")
    make_member(
        faculty,
        "Saoirse D'Arcy",
        program="Master's Research",
        role="co-supervisor",
        others=[("Prof. External", "principal")],
    )
    make_member(faculty, "Rafael Postdoc", program="Postdoctorate")
    make_member(faculty, "Felix Intern", program="Research Intern", role="none")
    make_member(
        faculty,
        "Léa Collaborator",
        program="Collaborating researcher",
        role="none",
        note="faculty; assistant prof",
    )
    make_member(faculty, "Kenji Visitor", program="Independent visiting researcher", role="none")
    page = _page(faculty_client, "/group")
    assert "6 current members" in page
    for heading in (
        "PhD students",
        "Master&#39;s students",
        "Postdocs",
        "Interns",
        "Collaborators and visitors",
    ):
        assert f"<h2>{heading}" in page
    assert "Collaborators and visitors: <strong>2</strong>" in page
    assert "Principal supervisor: <strong>2</strong>" in page
    assert "Co-supervisor: <strong>1</strong>" in page
    assert "Host (no supervision role): <strong>3</strong>" in page
    assert "faculty; assistant prof" in page
    assert "Prof. External (principal)" in page
    # Sections come in the design's order.
    assert page.index("PhD students") < page.index("Postdocs") < page.index("Collaborators and")


def test_search_is_case_and_accent_insensitive(faculty, faculty_client, make_member):
    make_member(faculty, "Amélie Bouchard")
    make_member(faculty, "Björn Halvorsen")
    page = _page(faculty_client, "/group?q=AMELIE")
    assert "Amélie Bouchard" in page and "Björn Halvorsen" not in page
    assert "1 of 2 shown" in page


def test_filters_by_program_institution_and_role(faculty, faculty_client, make_member):
    make_member(faculty, "In PhD at UdeM", program="PhD")
    make_member(
        faculty,
        "In Masters at ETH",
        program="Master's Research",
        institution="ETH Zurich",
        role="co-supervisor",
    )
    page = _page(faculty_client, "/group?program=Master%27s+Research")
    assert "In Masters at ETH" in page and "In PhD at UdeM" not in page
    page = _page(faculty_client, "/group?institution=ETH+Zurich")
    assert "In Masters at ETH" in page and "In PhD at UdeM" not in page
    page = _page(faculty_client, "/group?role=principal")
    assert "In PhD at UdeM" in page and "In Masters at ETH" not in page
    page = _page(faculty_client, "/group?role=bogus&sort=bogus")  # unknown values are ignored
    assert "In PhD at UdeM" in page and "In Masters at ETH" in page


def test_sort_by_column_both_ways(faculty, faculty_client, make_member):
    make_member(faculty, "Early Starter", start_date=date(2019, 1, 1))
    make_member(faculty, "Late Starter", start_date=date(2024, 1, 1))
    page = _page(faculty_client, "/group?sort=start")
    assert page.index("Early Starter") < page.index("Late Starter")
    page = _page(faculty_client, "/group?sort=start&dir=desc")
    assert page.index("Late Starter") < page.index("Early Starter")
    page = _page(faculty_client, "/group?sort=name&dir=desc")
    assert page.index("Late Starter") < page.index("Early Starter")


def test_current_page_shows_expected_end_and_future_end_is_current(
    faculty, faculty_client, make_member
):
    soon = date.today() + timedelta(days=30)
    make_member(faculty, "Leaving Soon", end_date=soon)
    page = _page(faculty_client, "/group")
    assert "Leaving Soon" in page and soon.isoformat() in page


def test_alumni_page_shows_end_date_reason_and_outcome(faculty, faculty_client, make_member):
    make_member(
        faculty,
        "Dr. Maude Archambault",
        start_date=date(2018, 9, 1),
        end_date=date(2023, 6, 30),
        departure_reason="graduated",
        outcome="Postdoc at ETH Zurich",
    )
    make_member(faculty, "Still Here")
    page = _page(faculty_client, "/group/alumni")
    assert "1 alumnus" in page
    for text in ("Dr. Maude Archambault", "2023-06-30", "Graduated", "Postdoc at ETH Zurich"):
        assert text in page
    assert "Still Here" not in page
    assert "Dr. Maude Archambault" not in _page(faculty_client, "/group")


def test_admin_finds_a_group_by_part_of_a_name_or_email(admin_client, faculty, make_faculty):
    make_faculty("ada@example.org", "Prof. Ada Lovelace")
    make_faculty("adam@example.org", "Prof. Adam Smith")
    make_faculty("gone@example.org", "Prof. Ada Gone", is_active=False)
    page = _page(admin_client, "/group?find=ADA")
    assert "Prof. Ada Lovelace</a> (ada@example.org)" in page
    assert "Prof. Adam Smith</a> (adam@example.org)" in page
    assert "Prof. Ada Gone" not in page  # deactivated accounts have no group to look at
    assert 'value="ADA"' in page
    single = admin_client.get("/group?find=adam%40example")
    assert single.status_code == 302
    assert single.headers["Location"].startswith("/group?faculty=")
    assert "Prof. Adam Smith" in _page(admin_client, single.headers["Location"])


@pytest.mark.parametrize("text", ["%", "_", "<b>x</b>", "zzz-nobody"])
def test_faculty_search_without_a_match_says_so_and_treats_the_text_literally(
    admin_client, faculty, text
):
    response = admin_client.get("/group", query_string={"find": text})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "No faculty account matches" in page
    assert "<b>x</b>" not in page
    assert "Prof. Hélène Faculty</a>" not in page


def test_faculty_search_in_french(admin_client, faculty):
    page = admin_client.get(
        "/group?find=nobody-here", headers={"Accept-Language": "fr-CA"}
    ).get_data(as_text=True)
    assert "Aucun compte de professeur ne correspond à « nobody-here »." in page
    assert '<label for="faculty-find">Voir le groupe de</label>' in page


def test_faculty_cannot_search_other_groups(faculty_client, faculty, make_faculty):
    make_faculty("other@example.org", "Prof. Other")
    response = faculty_client.get("/group?find=other")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Prof. Other" not in page
    assert "faculty-find" not in page


def test_faculty_sees_only_their_own_group(app, faculty, faculty_client, make_faculty, make_member):
    other = make_faculty("other@example.org", "Prof. Other")
    make_member(other, "Not Yours")
    make_member(other, "Not Yours Either", end_date=date(2020, 1, 1), start_date=date(2019, 1, 1))
    assert "Not Yours" not in _page(faculty_client, "/group")
    assert "Not Yours Either" not in _page(faculty_client, "/group/alumni")
    # A faculty member cannot look at another's group by passing ?faculty=.
    assert faculty_client.get(f"/group?faculty={other.id}").status_code == 404
    assert faculty_client.get(f"/group/alumni?faculty={other.id}").status_code == 404
    assert faculty_client.get(f"/group?faculty={faculty.id}").status_code == 200


def test_admin_views_any_group_read_only_with_edit_links(app, admin_client, faculty, make_member):
    position = make_member(faculty, "Someone In The Group")
    alumnus = make_member(
        faculty, "Gone Already", start_date=date(2019, 1, 1), end_date=date(2021, 1, 1)
    )
    chooser = _page(admin_client, "/group")
    assert '<label for="faculty-find">View the group of</label>' in chooser
    assert "<option" not in chooser.split("faculty-find")[1].split("</form>")[0]
    found = admin_client.get("/group?find=h%C3%A9l%C3%A8ne")
    assert found.status_code == 302
    assert found.headers["Location"] == f"/group?faculty={faculty.id}"
    page = _page(admin_client, f"/group?faculty={faculty.id}")
    assert "Group of Prof. Hélène Faculty" in page
    assert "Someone In The Group" in page
    assert f'href="/group/members/{position.id}/edit?faculty={faculty.id}"' in page
    assert "Move to alumni" not in page  # read-only list: changes go through the edit form
    page = _page(admin_client, f"/group/alumni?faculty={faculty.id}")
    assert "Gone Already" in page
    assert f'href="/group/members/{alumnus.id}/edit?faculty={faculty.id}"' in page
    assert "/restore" not in page
    assert admin_client.get(f"/group?faculty={faculty.id + 999}").status_code == 404
    edit = admin_client.get(f"/group/members/{position.id}/edit?faculty={faculty.id}")
    assert edit.status_code == 200
    assert "Someone In The Group" in edit.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/group", "/group/alumni"])
def test_list_pages_load_in_a_fixed_small_number_of_queries(
    app, faculty, faculty_client, make_faculty, query_counter, path
):
    colleague = make_faculty("colleague@example.org", "Prof. Colleague")
    ended = date(2021, 1, 1) if path.endswith("alumni") else None
    add_many_members(app, faculty, 5, end_date=ended, colleague=colleague)
    with query_counter() as small:
        response = faculty_client.get(path)
    assert response.status_code == 200
    assert "Bulk Member 0004" in response.get_data(as_text=True)
    add_many_members(app, faculty, 295, start=5, end_date=ended, colleague=colleague)
    with query_counter() as large:
        response = faculty_client.get(path)
    page = response.get_data(as_text=True)
    assert "Bulk Member 0299" in page
    assert len(small) == len(large), (small, large)
    # Session user, requests count, members, other supervisors, what's due, next milestones.
    assert len(large) <= 8


def test_group_page_links_to_exports_import_and_conflict_list(app, faculty, faculty_client):
    page = faculty_client.get("/group").get_data(as_text=True)
    for link in (
        "/group/export.csv?status=current",
        "/group/export.xlsx?status=current",
        "/group/export.json?status=current",
        "/group/import",
        "/group/coi.csv",
    ):
        assert f'href="{link}"' in page
    alumni = faculty_client.get("/group/alumni").get_data(as_text=True)
    assert 'href="/group/export.csv?status=alumni"' in alumni


def test_admin_viewing_a_group_exports_that_faculty(app, faculty, admin_client):
    page = admin_client.get(f"/group?faculty={faculty.id}").get_data(as_text=True)
    assert 'href="/admin/roster.csv?faculty=faculty@example.org&amp;status=current"' in page
    assert "/group/import" not in page
