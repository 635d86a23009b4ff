"""The supervision loads page and its exports: known answers on both backends, filters, sorting."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import AuditEvent, Institution, Position, Program, User
from tests.admin_helpers import csv_by_name, loads_by_name

pytestmark = pytest.mark.both_backends  # the aggregate query differs per database

TODAY = date.today()
# Every column group on: the page then has exactly the export's columns.
DETAILS = "show=roles&show=programs"
TWO_YEARS_AGO = date(TODAY.year - 2, 9, 1)
ENDED_LAST_YEAR = date(TODAY.year - 1, 6, 30)
BEFORE_THEY_ENDED = date(TODAY.year - 1, 1, 15)


@pytest.fixture
def known(app, make_faculty, make_admin, make_member):
    """Three faculty with co-supervisions, an alumna who ended last year, archived and future rows.

    Today: Ada has PhD P1 (principal 50 %), PhD P2 (sole 100 %), Master's P3 (co 25 %),
    intern P8 (one of three co-supervisors, 33.33 %) and hosts collaborator P4 (no load):
    weighted 50 + 100 + 25 x 0.5 + 33.33 x 0.25 = 170.8325 -> 170.83.
    Bob: P1 co 50 %, P3 principal 50 % (x 0.5), P8 co 33.33 % (x 0.25) = 83.33. Zoe: nothing.
    """
    ada = make_faculty("ada@example.org", "Prof. Ada Lovelace", department="Computer Science")
    bob = make_faculty("bob@example.org", "Prof. Bob O'Brien", department="Mathematics")
    zoe = make_faculty("zoe@example.org", "Prof. Zoë Zero", department="Computer Science")
    make_admin("office@example.org", "Graduate Office")
    make_faculty("gone@example.org", "Prof. Deactivated", is_active=False)
    start = TWO_YEARS_AGO
    make_member(ada, "P1 PhD shared", start_date=start, others=[(bob, "co-supervisor")])
    make_member(ada, "P2 PhD sole", start_date=start, institution="McGill University")
    make_member(
        bob,
        "P3 Masters",
        program="Master's Research",
        start_date=start,
        others=[(ada, "co-supervisor"), ("Prof. External", "co-supervisor")],
    )
    make_member(
        ada,
        "P4 Collaborator",
        program="Collaborating researcher",
        role="none",
        institution="ETH Zurich",
        start_date=start,
    )
    make_member(ada, "P5 Alumna", start_date=date(TODAY.year - 5, 9, 1), end_date=ENDED_LAST_YEAR)
    make_member(
        ada, "P6 Archived", start_date=start, archived_at=datetime(TODAY.year - 1, 1, 1, tzinfo=UTC)
    )
    make_member(ada, "P7 Future", start_date=date(TODAY.year + 1, 1, 1))
    make_member(
        ada,
        "P8 Intern",
        program="Research Intern",
        role="co-supervisor",
        start_date=start,
        others=[(bob, "co-supervisor"), ("Prof. Outside", "co-supervisor")],
    )
    return {"ada": ada, "bob": bob, "zoe": zoe}


ADA_TODAY = {
    "Principal": "2",
    "Co-supervisor": "2",
    "Host (no role)": "1",
    "PhD students": "2",
    "Master's students": "1",
    "Postdocs": "0",
    "Interns": "1",
    "Collaborators": "1",
    "Visitors": "0",
    "Collaborating alumni": "0",
    "Total": "5",
    "Weighted load (%)": "170.83",
    "Principal cap": "8",
    "Weighted cap (%)": "300",
    "Principal headroom": "6",
    "Weighted headroom (%)": "129.17",
    "Status": "Within cap",
}
BOB_TODAY = {
    "Principal": "1",
    "Co-supervisor": "2",
    "Host (no role)": "0",
    "PhD students": "1",
    "Master's students": "1",
    "Interns": "1",
    "Collaborators": "0",
    "Total": "3",
    "Weighted load (%)": "83.33",
    "Principal headroom": "7",
    "Weighted headroom (%)": "216.67",
    "Department": "Mathematics",
}
ZOE_TODAY = {
    "Principal": "0",
    "Co-supervisor": "0",
    "Host (no role)": "0",
    "Total": "0",
    "Weighted load (%)": "0",
    "Principal headroom": "8",
    "Weighted headroom (%)": "300",
}
TOTALS_TODAY = {
    "Principal": "3",
    "Co-supervisor": "4",
    "Host (no role)": "1",
    "PhD students": "3",
    "Master's students": "2",
    "Interns": "2",
    "Collaborators": "1",
    "Total": "8",
    "Weighted load (%)": "254.16",
    "Status": "0 over cap",
}


def _assert_subset(actual: dict[str, str], expected: dict[str, str]) -> None:
    assert {key: actual[key] for key in expected} == expected


def test_page_shows_the_known_counts_and_weighted_loads_today(known, admin_client):
    response = admin_client.get(f"/admin/loads?{DETAILS}")
    assert response.status_code == 200
    table = loads_by_name(response.get_data(as_text=True))
    assert set(table) == {"Prof. Ada Lovelace", "Prof. Bob O'Brien", "Prof. Zoë Zero", "Total"}
    _assert_subset(table["Prof. Ada Lovelace"], ADA_TODAY)
    _assert_subset(table["Prof. Bob O'Brien"], BOB_TODAY)
    _assert_subset(table["Prof. Zoë Zero"], ZOE_TODAY)
    _assert_subset(table["Total"], TOTALS_TODAY)


def test_csv_shows_the_same_rows_and_columns_as_the_page(known, admin_client):
    page = loads_by_name(admin_client.get(f"/admin/loads?{DETAILS}").get_data(as_text=True))
    response = admin_client.get("/admin/loads.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    exported = csv_by_name(response.data)
    assert exported == page
    _assert_subset(exported["Prof. Ada Lovelace"], ADA_TODAY)
    _assert_subset(exported["Total"], TOTALS_TODAY)


def test_xlsx_has_the_same_rows_as_the_csv(known, admin_client):
    exported = csv_by_name(admin_client.get("/admin/loads.csv").data)
    response = admin_client.get("/admin/loads.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    headers = list(rows[0])
    assert headers == list(next(iter(exported.values())).keys())
    by_name = {row[0]: row for row in rows[1:]}
    assert set(by_name) == set(exported)
    ada = dict(zip(headers, by_name["Prof. Ada Lovelace"], strict=True))
    assert ada["Principal"] == 2 and ada["Weighted load (%)"] == pytest.approx(170.83)


def test_as_of_before_the_alumna_ended_counts_her(known, admin_client):
    url = f"/admin/loads?as_of={BEFORE_THEY_ENDED.isoformat()}&{DETAILS}"
    table = loads_by_name(admin_client.get(url).get_data(as_text=True))
    _assert_subset(
        table["Prof. Ada Lovelace"],
        {
            "Principal": "3",
            "PhD students": "3",
            "Total": "6",
            "Weighted load (%)": "270.83",
            "Weighted headroom (%)": "29.17",
        },
    )
    _assert_subset(table["Prof. Bob O'Brien"], {"Weighted load (%)": "83.33", "Total": "3"})
    exported = csv_by_name(
        admin_client.get(f"/admin/loads.csv?as_of={BEFORE_THEY_ENDED.isoformat()}").data
    )
    assert exported == table


def test_as_of_on_her_last_day_still_counts_her_and_the_day_after_does_not(known, admin_client):
    last_day = loads_by_name(
        admin_client.get(f"/admin/loads?as_of={ENDED_LAST_YEAR.isoformat()}").get_data(as_text=True)
    )
    assert last_day["Prof. Ada Lovelace"]["Principal"] == "3"
    after = ENDED_LAST_YEAR + timedelta(days=1)
    next_day = loads_by_name(
        admin_client.get(f"/admin/loads?as_of={after.isoformat()}").get_data(as_text=True)
    )
    assert next_day["Prof. Ada Lovelace"]["Principal"] == "2"


def test_as_of_before_anyone_started_gives_zero_rows_for_everyone(known, admin_client):
    table = loads_by_name(
        admin_client.get("/admin/loads?as_of=2000-01-01&show=roles").get_data(as_text=True)
    )
    assert table["Total"]["Total"] == "0"
    assert len(table) == 4


@pytest.mark.parametrize(
    "url",
    [
        "/admin/loads?as_of=2026-02-30",
        "/admin/loads?as_of=yesterday",
        "/admin/loads.csv?as_of=31/12/2025",
        "/admin/loads.xlsx?as_of=2025-13-01",
    ],
)
def test_invalid_as_of_is_a_clear_400(known, admin_client, url):
    response = admin_client.get(url)
    assert response.status_code == 400
    assert "Enter the date as YYYY-MM-DD" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "url", ["/admin/loads?as_of=0006-01-01", "/admin/loads.csv?as_of=2101-01-01"]
)
def test_a_day_outside_the_accepted_years_is_a_clear_400(known, admin_client, url):
    response = admin_client.get(url)
    assert response.status_code == 400
    assert "Enter a date between 1950-01-01 and 2100-12-31." in response.get_data(as_text=True)
    assert admin_client.get("/admin/loads?as_of=1950-01-01").status_code == 200


@pytest.mark.parametrize("institution", ["abc", "99999"])  # 99999: none, or merged away
def test_invalid_institution_filter_is_a_clear_400(known, admin_client, institution):
    response = admin_client.get(f"/admin/loads?institution={institution}")
    assert response.status_code == 400
    assert "Choose an institution from the list." in response.get_data(as_text=True)


def test_unknown_sort_key_is_ignored_and_names_sort_ascending(known, admin_client):
    response = admin_client.get("/admin/loads?sort=password_hash;drop&dir=sideways")
    assert response.status_code == 200
    names = list(loads_by_name(response.get_data(as_text=True)))
    assert names == ["Prof. Ada Lovelace", "Prof. Bob O'Brien", "Prof. Zoë Zero", "Total"]


@pytest.mark.parametrize(
    ("sort", "direction", "expected"),
    [
        ("weighted", "desc", ["Prof. Ada Lovelace", "Prof. Bob O'Brien", "Prof. Zoë Zero"]),
        ("weighted", "asc", ["Prof. Zoë Zero", "Prof. Bob O'Brien", "Prof. Ada Lovelace"]),
        ("name", "desc", ["Prof. Zoë Zero", "Prof. Bob O'Brien", "Prof. Ada Lovelace"]),
        ("department", "asc", ["Prof. Ada Lovelace", "Prof. Zoë Zero", "Prof. Bob O'Brien"]),
        ("co_supervisor", "desc", ["Prof. Ada Lovelace", "Prof. Bob O'Brien", "Prof. Zoë Zero"]),
        (
            "principal_headroom",
            "asc",
            ["Prof. Ada Lovelace", "Prof. Bob O'Brien", "Prof. Zoë Zero"],
        ),
        ("phd", "desc", ["Prof. Ada Lovelace", "Prof. Bob O'Brien", "Prof. Zoë Zero"]),
    ],
)
def test_sorting_by_a_column(known, admin_client, sort, direction, expected):
    page = admin_client.get(f"/admin/loads?sort={sort}&dir={direction}").get_data(as_text=True)
    assert list(loads_by_name(page))[:-1] == expected
    csv_names = list(
        csv_by_name(admin_client.get(f"/admin/loads.csv?sort={sort}&dir={direction}").data)
    )
    assert csv_names[:-1] == expected


def test_column_headings_link_to_sorting_and_reverse_the_current_one(known, admin_client):
    page = admin_client.get("/admin/loads?sort=weighted&dir=asc").get_data(as_text=True)
    assert "sort=weighted&amp;dir=desc" in page
    assert 'aria-sort="ascending"' in page
    assert "sort=principal&amp;dir=asc" in page


def test_filter_by_department(known, admin_client):
    table = loads_by_name(
        admin_client.get("/admin/loads?department=Computer+Science").get_data(as_text=True)
    )
    assert set(table) == {"Prof. Ada Lovelace", "Prof. Zoë Zero", "Total"}
    assert table["Total"]["Weighted load (%)"] == "170.83"


def test_filter_by_supervisee_institution_counts_only_people_there(known, admin_client, app):
    with app.app_context():
        from portal.models import Institution

        mcgill = db.session.scalar(
            select(Institution.id).where(Institution.name == "McGill University")
        )
    page = admin_client.get(f"/admin/loads?institution={mcgill}&show=roles").get_data(as_text=True)
    table = loads_by_name(page)
    assert set(table) == {"Prof. Ada Lovelace", "Total"}
    _assert_subset(
        table["Prof. Ada Lovelace"], {"Principal": "1", "Total": "1", "Weighted load (%)": "100"}
    )
    assert "Only supervisees at McGill University." in page


def test_over_cap_rows_are_flagged_in_text_and_style(known, admin_client, app):
    with app.app_context():
        db.session.get(User, known["ada"].id).weighted_cap = 150
        db.session.commit()
    page = admin_client.get("/admin/loads").get_data(as_text=True)
    table = loads_by_name(page)
    _assert_subset(
        table["Prof. Ada Lovelace"],
        {
            "Weighted cap (%)": "150",
            "Weighted headroom (%)": "-20.83",
            "Status": "⚠ Over cap (weighted)",
        },
    )
    assert table["Prof. Bob O'Brien"]["Status"] == "Within cap"
    assert table["Total"]["Status"] == "1 over cap"
    assert page.count('class="over-cap"') == 1
    assert "⚠ Weighted: 170.83 % of 150 %" in page  # the chart says it in words too
    assert "1 over cap." in page
    # The answer leads the page: who is over, by how much, in words.
    answer = page[page.index('id="answer-heading"') : page.index('id="table-heading"')]
    assert "Prof. Ada Lovelace" in answer and "Bob" not in answer
    assert "cap 150 %: 20.83 points over the cap." in answer
    exported = csv_by_name(admin_client.get("/admin/loads.csv").data)
    assert exported["Prof. Ada Lovelace"]["Status"] == "Over cap (weighted)"


def test_principal_cap_exceeded_is_flagged(known, admin_client, app):
    with app.app_context():
        db.session.get(User, known["ada"].id).principal_cap = 1
        db.session.commit()
    table = loads_by_name(admin_client.get("/admin/loads").get_data(as_text=True))
    _assert_subset(
        table["Prof. Ada Lovelace"],
        {"Principal cap": "1", "Principal headroom": "-1", "Status": "⚠ Over cap (principal)"},
    )


def test_faculty_name_links_to_their_group(known, admin_client):
    page = admin_client.get("/admin/loads").get_data(as_text=True)
    assert f'href="/group?faculty={known["ada"].id}"' in page


def test_chart_draws_each_load_against_its_cap(known, admin_client):
    page = admin_client.get("/admin/loads").get_data(as_text=True)
    chart = page[page.index('class="cap-chart"') : page.index("</figure>")]
    assert chart.count('class="cap-chart__row') == 3
    # What is compared to the cap: principal supervisions and weighted load, never head counts.
    assert "Principal: 2 of 8" in chart and "Weighted: 170.83 % of 300 %" in chart
    assert "Principal: 1 of 8" in chart and "Weighted: 83.33 % of 300 %" in chart
    assert chart.count('class="cap-chart__bar"') == 6
    assert "<script" not in page


def test_default_columns_lead_with_the_caps_and_details_come_on_demand(known, admin_client):
    answer = [
        "Faculty",
        "Department",
        "Principal",
        "Principal cap",
        "Principal headroom",
        "Weighted load (%)",
        "Weighted cap (%)",
        "Weighted headroom (%)",
        "Status",
    ]
    page = admin_client.get("/admin/loads").get_data(as_text=True)
    assert list(next(iter(loads_by_name(page).values())).keys()) == answer
    assert 'href="/admin/loads?show=roles"' in page
    with_roles = admin_client.get("/admin/loads?show=roles&show=nonsense").get_data(as_text=True)
    headers = list(next(iter(loads_by_name(with_roles).values())).keys())
    assert headers == [*answer, "Co-supervisor", "Host (no role)", "Total"]
    assert 'href="/admin/loads"' in with_roles  # hiding the group again
    # Sorting and the filter form keep the columns asked for.
    assert "show=roles&amp;sort=principal" in with_roles
    assert '<input type="hidden" name="show" value="roles">' in with_roles


def test_nobody_near_a_cap_is_said_in_words(known, admin_client):
    page = admin_client.get("/admin/loads").get_data(as_text=True)
    assert "Nobody is over or near a cap." in page


def test_chart_escapes_names(app, make_faculty, make_member, admin_client):
    villain = make_faculty("x@example.org", "<script>alert(1)</script> & Co")
    make_member(villain, "Student")
    page = admin_client.get("/admin/loads").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in page


def test_changing_a_program_weight_changes_the_loads(known, admin_client, app):
    with app.app_context():
        phd = db.session.scalar(select(Program).where(Program.name == "PhD"))
    response = admin_client.post(
        f"/admin/programs/{phd.id}/edit",
        data={
            "name": "PhD",
            "kind": "phd",
            "weight": "0.5",
            "counts_toward_load": "y",
            "is_active": "y",
        },
    )
    assert response.status_code == 302
    table = loads_by_name(admin_client.get("/admin/loads").get_data(as_text=True))
    # 50 x 0.5 + 100 x 0.5 + 12.5 + 8.3325 = 95.8325
    assert table["Prof. Ada Lovelace"]["Weighted load (%)"] == "95.83"
    assert table["Prof. Bob O'Brien"]["Weighted load (%)"] == "58.33"


def test_a_program_that_stops_counting_drops_out_of_the_weighted_load(known, admin_client, app):
    with app.app_context():
        intern = db.session.scalar(select(Program).where(Program.name == "Research Intern"))
    admin_client.post(
        f"/admin/programs/{intern.id}/edit",
        data={"name": "Research Intern", "kind": "intern", "weight": "0.25", "is_active": "y"},
    )
    table = loads_by_name(admin_client.get("/admin/loads?show=programs").get_data(as_text=True))
    assert table["Prof. Ada Lovelace"]["Weighted load (%)"] == "162.50"
    assert table["Prof. Ada Lovelace"]["Interns"] == "1"  # still counted as a person


def test_changing_caps_changes_headroom_and_flags(known, admin_client):
    response = admin_client.post("/admin/caps", data={"principal_cap": "2", "weighted_cap": "100"})
    assert response.status_code == 302
    table = loads_by_name(admin_client.get("/admin/loads").get_data(as_text=True))
    _assert_subset(
        table["Prof. Ada Lovelace"],
        {
            "Principal cap": "2",
            "Weighted cap (%)": "100",
            "Principal headroom": "0",
            "Weighted headroom (%)": "-70.83",
            "Status": "⚠ Over cap (weighted)",
        },
    )
    response = admin_client.post(
        f"/admin/caps/{known['ada'].id}", data={"principal_cap": "", "weighted_cap": "200"}
    )
    assert response.status_code == 302
    table = loads_by_name(admin_client.get("/admin/loads").get_data(as_text=True))
    _assert_subset(
        table["Prof. Ada Lovelace"],
        {"Principal cap": "2", "Weighted cap (%)": "200", "Status": "Near cap"},
    )
    _assert_subset(table["Prof. Bob O'Brien"], {"Weighted cap (%)": "100"})


def test_no_default_caps_means_no_cap(known, admin_client):
    admin_client.post("/admin/caps", data={"principal_cap": "", "weighted_cap": ""})
    table = loads_by_name(admin_client.get("/admin/loads").get_data(as_text=True))
    _assert_subset(
        table["Prof. Zoë Zero"], {"Principal cap": "", "Principal headroom": "", "Status": "No cap"}
    )


def test_records_are_the_drivers_own_tuples_with_exactly_the_values_sqlalchemy_reads(
    known, app, admin_client, make_member
):
    """read_load_records keeps the driver's tuples: that holds only while SQLAlchemy converts
    none of the statement's columns (a Decimal read as a float would differ here)."""
    from portal.loads import UNKNOWN_INSTITUTION, loads_query, read_load_records

    make_member(known["zoe"], "P9 Somewhere unknown", institution=None, start_date=TWO_YEARS_AGO)

    admin_client.post(
        f"/admin/caps/{known['ada'].id}", data={"principal_cap": "3", "weighted_cap": "33.33"}
    )
    admin_client.post(
        f"/admin/caps/{known['bob'].id}", data={"principal_cap": "", "weighted_cap": "0.07"}
    )
    with app.app_context():
        mcgill = db.session.scalar(select(Institution.id).where(Institution.name.like("McGill%")))
        for filters in (
            {},
            {"department": "Computer Science"},
            {"institution_id": mcgill},
            {"institution_id": UNKNOWN_INSTITUTION},
            {"faculty_id": known["ada"].id},
        ):
            records = read_load_records(TODAY, **filters)
            assert records
            assert all(type(record) is tuple for record in records)
            expected = [tuple(row) for row in db.session.execute(loads_query(TODAY, **filters))]
            assert records == expected, filters
            for record, row in zip(records, expected, strict=True):
                assert [type(value) for value in record] == [type(value) for value in row]
        caps = {
            record[1]: record[4] for record in read_load_records(TODAY)
        }  # the weighted cap, in hundredths
        assert caps["Prof. Ada Lovelace"] == 3333
        assert caps["Prof. Bob O'Brien"] == 7
        assert caps["Prof. Zoë Zero"] is None
    table = loads_by_name(admin_client.get("/admin/loads").get_data(as_text=True))
    _assert_subset(
        table["Prof. Ada Lovelace"],
        {"Weighted cap (%)": "33.33", "Status": "⚠ Over cap (weighted)"},
    )
    _assert_subset(table["Prof. Bob O'Brien"], {"Weighted cap (%)": "0.07"})
    _assert_subset(table["Prof. Zoë Zero"], {"Weighted cap (%)": "300", "Principal": "1"})


def _add_faculty_in_bulk(app, how_many: int, start: int) -> None:
    """Insert faculty, each with one PhD student, without going through the slow factories."""
    with app.app_context():
        from portal.models import Institution, Person, Supervision

        institution = db.session.scalar(select(Institution)) or Institution(name="Bulk U")
        phd = db.session.scalar(select(Program).where(Program.name == "PhD"))
        for number in range(start, start + how_many):
            user = User(
                email=f"bulk{number}@example.org",
                display_name=f"Bulk {number:04d}",
                password_hash="x",
                department=f"Dept {number % 7}",
            )
            position = Position(
                person=Person(full_name=f"Student {number}"),
                program=phd,
                institution=institution,
                start_date=date(2020, 1, 1),
            )
            position.supervisions.append(Supervision(supervisor=user, role="principal", share=100))
            db.session.add(position)
        db.session.commit()


def test_query_count_is_the_same_for_3_and_300_faculty(app, admin_client, query_counter):
    _add_faculty_in_bulk(app, 3, 0)
    with query_counter() as small:
        response = admin_client.get("/admin/loads")
    assert len(loads_by_name(response.get_data(as_text=True))) == 4
    _add_faculty_in_bulk(app, 297, 3)
    with query_counter() as large:
        response = admin_client.get("/admin/loads?sort=weighted&dir=desc")
    assert len(loads_by_name(response.get_data(as_text=True))) == 200 + 1  # a page and totals
    assert len(small) == len(large)
    assert len(large) <= 9  # one of them reads the institution's branding, once per page
    with query_counter() as export:
        admin_client.get("/admin/loads.csv")
    assert len(export) <= 6


def test_loads_table_pages_by_200_while_totals_and_exports_cover_everyone(app, admin_client):
    _add_faculty_in_bulk(app, 250, 0)
    first = admin_client.get("/admin/loads").get_data(as_text=True)
    assert "Faculty members 1–200 of 250" in first
    assert 'href="/admin/loads?page=2" rel="next"' in first
    assert first.count('class="cap-chart__row') == 200
    assert loads_by_name(first)["Total"]["Principal"] == "250"
    second = admin_client.get("/admin/loads?page=2").get_data(as_text=True)
    assert "Faculty members 201–250 of 250" in second
    assert second.count('class="cap-chart__row') == 50
    assert "Bulk 0249" in second and "Bulk 0249" not in first
    assert 'rel="prev"' in second and 'rel="next"' not in second
    # A page past the end shows the last page; the export always has every row.
    assert "Faculty members 201–250 of 250" in admin_client.get("/admin/loads?page=99").get_data(
        as_text=True
    )
    csv_lines = admin_client.get("/admin/loads.csv?page=2").get_data(as_text=True).splitlines()
    assert len(csv_lines) == 1 + 250 + 1  # header, every faculty member, totals
    # A page that is not a number (a hand-edited link) is the first page, not an error.
    for wrong in ("abc", "-1", "2.5", ""):
        page = admin_client.get(f"/admin/loads?page={wrong}")
        assert page.status_code == 200, wrong
        assert "Faculty members 1–200 of 250" in page.get_data(as_text=True), wrong


def test_chart_for_200_faculty_gives_each_a_bar(app, admin_client):
    _add_faculty_in_bulk(app, 200, 0)
    page = admin_client.get("/admin/loads").get_data(as_text=True)
    assert page.count('class="cap-chart__row') == 200


@pytest.mark.parametrize(
    "path",
    [
        "/admin/loads",
        "/admin/loads.csv",
        "/admin/loads.xlsx",
        "/admin/programs",
        "/admin/caps",
        "/admin/accounts",
        "/admin/institutions",
    ],
)
def test_faculty_get_403_and_anonymous_go_to_login(app, faculty_client, client, path):
    assert faculty_client.get(path).status_code == 403
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_administration_nav_item_only_for_admins(app, admin_client, faculty_client):
    assert ">Administration</a>" in admin_client.get("/admin/loads").get_data(as_text=True)
    assert "Administration" not in faculty_client.get("/group").get_data(as_text=True)


def test_loads_page_writes_nothing(known, admin_client, app):
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(AuditEvent))
    admin_client.get("/admin/loads")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == before


def _loads_counted_in_python(day: date, institution_id=None, department=None, faculty_id=None):
    """Each active faculty member's load on `day`, counted link by link from the ORM objects (the
    rule the aggregate query must agree with): {faculty id: (principal, co-supervisor, host,
    counts by kind, weighted units)}; with an institution filter, only faculty with a link there."""
    from portal.loads import KINDS, UNKNOWN_INSTITUTION

    loads = {}
    for user in db.session.scalars(select(User).where(User.is_admin.is_(False))):
        if not user.is_active or (department and user.department != department):
            continue
        if faculty_id is not None and user.id != faculty_id:
            continue
        links = [
            link
            for link in user.supervisions
            if link.state == "confirmed"
            and link.position.archived_at is None
            and link.position.is_current_on(day)
            and (
                institution_id is None
                or link.position.institution_id
                == (None if institution_id == UNKNOWN_INSTITUTION else institution_id)
            )
        ]
        if institution_id is not None and not links:
            continue
        roles = [link.role for link in links]
        loads[user.id] = (
            roles.count("principal"),
            roles.count("co-supervisor"),
            roles.count("none"),
            tuple(sum(link.position.program.kind == kind for link in links) for kind in KINDS),
            sum(
                int(link.share * 100) * int(link.position.program.weight * 100)
                for link in links
                if link.position.program.counts_toward_load
            ),
        )
    return loads


def test_the_aggregate_query_counts_as_the_rule_does_link_by_link(known, app, make_member):
    """Summed per supervisor inside the query, the loads still match the rule applied to each
    link, for every filter and day (a proposal, an unknown institution and an inactive faculty
    member's links included)."""
    from portal.loads import UNKNOWN_INSTITUTION, loads_query
    from portal.models import Institution, Supervision

    ada, bob, zoe = known["ada"], known["bob"], known["zoe"]
    make_member(zoe, "P9 Unknown place", institution=None, start_date=TWO_YEARS_AGO)
    make_member(bob, "P10 Visitor", program="Independent visiting researcher", role="none")
    proposal = make_member(zoe, "P11 Proposed", start_date=TWO_YEARS_AGO, others=[(ada, "none")])
    with app.app_context():
        db.session.execute(
            Supervision.__table__.update()
            .where(Supervision.position_id == proposal.id, Supervision.supervisor_id == ada.id)
            .values(state="proposed")
        )
        db.session.commit()
        mcgill = db.session.scalar(
            select(Institution.id).where(Institution.name == "McGill University")
        )
        filters = [
            {},
            {"institution_id": mcgill},
            {"institution_id": UNKNOWN_INSTITUTION},
            {"department": "Computer Science"},
            {"department": "Computer Science", "institution_id": UNKNOWN_INSTITUTION},
            *({"faculty_id": faculty.id} for faculty in (ada, bob, zoe)),
        ]
        days = [TODAY, TWO_YEARS_AGO, BEFORE_THEY_ENDED, ENDED_LAST_YEAR, date(2000, 1, 1)]
        compared = 0
        for day in days:
            for arguments in filters:
                records = db.session.execute(loads_query(day, **arguments)).all()
                from_query = {
                    record[0]: (*record[5:8], tuple(record[8:-2]), record[-2]) for record in records
                }
                assert from_query == _loads_counted_in_python(day, **arguments), (day, arguments)
                compared += sum(record[-1] > 0 for record in records)
        assert compared >= 40  # the days and filters above do find faculty with loads
