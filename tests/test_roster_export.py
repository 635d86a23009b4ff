"""Roster exports: group and institution, CSV/XLSX/JSON, streaming, filters, CLI; the COI list."""

import csv
import io
import json
from datetime import date, datetime, timedelta
from decimal import Decimal

import openpyxl
import pytest
from sqlalchemy import update

from portal.extensions import db
from portal.models import Position
from portal.roster.reports import COI_COLUMNS, ROSTER_COLUMNS
from tests.conftest import login_client

TODAY = date.today()
HEADER = ",".join(ROSTER_COLUMNS)


def csv_rows(response) -> list[dict]:
    text = response.get_data().decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline="")))


@pytest.fixture
def group(make_faculty, make_member, faculty):
    """The faculty's group: a current student, an alumna, an archived position, and another's."""
    other = make_faculty("other@example.org", "Prof. Other")
    current = make_member(
        faculty,
        'Zoë O\'Brien, "Zee"',
        email="zoe@example.org",
        others=[(other, "co-supervisor"), ("Prof. External", "co-supervisor")],
    )
    alumna = make_member(
        faculty,
        '=HYPERLINK("x")',
        program="Master's Research",
        institution="McGill University",
        role="co-supervisor",
        start_date=date(2019, 9, 1),
        end_date=date(2021, 8, 31),
        outcome="Postdoc at ETH Zurich",
    )
    archived = make_member(faculty, "Archived Person")
    make_member(other, "Someone Else's Student")
    return {"other": other, "current": current, "alumna": alumna, "archived": archived}


def archive(app, position):
    with app.app_context():
        db.session.execute(
            update(Position).where(Position.id == position.id).values(archived_at=datetime.now())
        )
        db.session.commit()


def test_group_csv_streams_current_members_of_my_group(app, faculty_client, group):
    archive(app, group["archived"])
    response = faculty_client.get("/group/export.csv")
    assert response.status_code == 200
    assert response.is_streamed
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == (
        f"attachment; filename=roster-faculty-current-{TODAY.isoformat()}.csv"
    )
    data = response.get_data()
    assert data.startswith("\ufeff".encode())
    assert data.decode("utf-8-sig").splitlines()[0] == HEADER
    rows = csv_rows(response)
    assert rows == [
        {
            "faculty_email": "faculty@example.org",
            "name": 'Zoë O\'Brien, "Zee"',
            "email": "zoe@example.org",
            "program": "PhD",
            "institution": "Université de Montréal",
            "role": "principal",
            "start_date": "2024-09-01",
            "end_date": "",
            "status": "current",
            "outcome": "",
            # The whole record: this faculty's share and everyone else, readable in a cell.
            "share": "50",
            "other_supervisors": (
                'other@example.org (co-supervisor, 25%); "Prof. External" (co-supervisor, 25%)'
            ),
            "orcid": "",
            "note": "",
            "departure_reason": "",
        }
    ]


def test_group_export_status_filters_and_formula_prefix(faculty_client, group):
    alumni = csv_rows(faculty_client.get("/group/export.csv?status=alumni"))
    assert [row["name"] for row in alumni] == ['\'=HYPERLINK("x")']
    assert alumni[0]["status"] == "alumni" and alumni[0]["end_date"] == "2021-08-31"
    everyone = csv_rows(faculty_client.get("/group/export.csv?status=all"))
    assert len(everyone) == 3
    assert {row["faculty_email"] for row in everyone} == {"faculty@example.org"}


def test_end_date_today_is_still_current(make_member, faculty, faculty_client):
    make_member(faculty, "Last Day", start_date=date(2020, 1, 1), end_date=TODAY)
    make_member(
        faculty, "Left Yesterday", start_date=date(2020, 1, 1), end_date=TODAY - timedelta(days=1)
    )
    rows = csv_rows(faculty_client.get("/group/export.csv?status=all"))
    assert {row["name"]: row["status"] for row in rows} == {
        "Last Day": "current",
        "Left Yesterday": "alumni",
    }


@pytest.mark.parametrize("extension", ["csv", "xlsx", "json"])
def test_unknown_status_is_a_clear_400(faculty_client, extension):
    response = faculty_client.get(f"/group/export.{extension}?status=former")
    assert response.status_code == 400
    assert "use status=current, status=incoming, status=alumni or status=all" in response.get_data(
        as_text=True
    )


def test_group_json_is_a_streamed_attachment(faculty_client, group):
    response = faculty_client.get("/group/export.json?status=all")
    assert response.status_code == 200
    assert response.is_streamed
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"] == (
        f"attachment; filename=roster-faculty-all-{TODAY.isoformat()}.json"
    )
    records = json.loads(response.get_data())
    assert [list(record) for record in records] == [list(ROSTER_COLUMNS)] * 3
    names = {record["name"] for record in records}
    assert 'Zoë O\'Brien, "Zee"' in names


def test_group_xlsx_has_one_sheet_of_strings(faculty_client, group):
    response = faculty_client.get("/group/export.xlsx?status=all")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response.headers["Content-Disposition"].endswith(f"-all-{TODAY.isoformat()}.xlsx")
    workbook = openpyxl.load_workbook(io.BytesIO(response.data))
    assert len(workbook.worksheets) == 1
    sheet = workbook.active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ROSTER_COLUMNS
    assert len(rows) == 4
    formula_cells = [
        cell
        for row in sheet.iter_rows(min_row=2)
        for cell in row
        if isinstance(cell.value, str) and "HYPERLINK" in cell.value
    ]
    assert [(cell.value, cell.data_type) for cell in formula_cells] == [('\'=HYPERLINK("x")', "s")]


def test_export_runs_a_fixed_number_of_queries(make_member, faculty, faculty_client, query_counter):
    make_member(faculty, "First")
    with query_counter() as few:
        faculty_client.get("/group/export.csv").get_data()
    for number in range(20):
        make_member(faculty, f"Member {number}")
    with query_counter() as many:
        assert len(csv_rows(faculty_client.get("/group/export.csv"))) == 21
    assert len(many) == len(few)


def test_admin_roster_is_admins_only(app, faculty_client):
    for extension in ("csv", "xlsx", "json"):
        assert faculty_client.get(f"/admin/roster.{extension}").status_code == 403
    anonymous = app.test_client().get("/admin/roster.csv")
    assert anonymous.status_code == 302


def test_admin_roster_has_one_row_per_account_link(admin_client, group):
    response = admin_client.get("/admin/roster.csv?status=all")
    assert response.status_code == 200
    assert response.is_streamed
    assert response.headers["Content-Disposition"] == (
        f"attachment; filename=roster-all-all-{TODAY.isoformat()}.csv"
    )
    rows = csv_rows(response)
    pairs = sorted((row["faculty_email"], row["name"], row["role"]) for row in rows)
    # The external co-supervisor has no account: no row. The archived position is there
    # (not archived in this test), the other faculty's own student too.
    assert pairs == sorted(
        [
            ("faculty@example.org", 'Zoë O\'Brien, "Zee"', "principal"),
            ("other@example.org", 'Zoë O\'Brien, "Zee"', "co-supervisor"),
            ("faculty@example.org", '\'=HYPERLINK("x")', "co-supervisor"),
            ("faculty@example.org", "Archived Person", "principal"),
            ("other@example.org", "Someone Else's Student", "principal"),
        ]
    )


def test_admin_roster_for_one_faculty_and_never_archived(app, admin_client, group):
    archive(app, group["archived"])
    response = admin_client.get("/admin/roster.json?faculty=Other@Example.org")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == (
        f"attachment; filename=roster-other-current-{TODAY.isoformat()}.json"
    )
    names = [record["name"] for record in json.loads(response.get_data())]
    assert sorted(names) == ["Someone Else's Student", 'Zoë O\'Brien, "Zee"']
    everyone = csv_rows(admin_client.get("/admin/roster.csv?status=all"))
    assert "Archived Person" not in {row["name"] for row in everyone}
    workbook = openpyxl.load_workbook(io.BytesIO(admin_client.get("/admin/roster.xlsx").data))
    assert len(list(workbook.active.iter_rows())) == 1 + 3


def test_admin_roster_unknown_faculty_or_status(admin_client):
    response = admin_client.get("/admin/roster.csv?faculty=nobody@example.org")
    assert response.status_code == 404
    assert "no account with the email" in response.get_data(as_text=True)
    assert admin_client.get("/admin/roster.xlsx?status=nope").status_code == 400


def test_conflict_of_interest_list(make_member, faculty, faculty_client, app):
    make_member(faculty, "Current Student", start_date=date(2015, 9, 1))
    make_member(
        faculty,
        "Left Three Years Ago",
        role="co-supervisor",
        start_date=TODAY - timedelta(days=6 * 365),
        end_date=TODAY - timedelta(days=3 * 365),
    )
    make_member(
        faculty,
        "Left Eight Years Ago",
        role="none",
        program="Research Intern",
        start_date=TODAY - timedelta(days=9 * 365),
        end_date=TODAY - timedelta(days=8 * 365),
    )
    make_member(faculty, "Starts Next Year", start_date=TODAY + timedelta(days=365))
    response = faculty_client.get("/group/coi.csv")
    assert response.status_code == 200
    assert response.is_streamed
    assert response.headers["Content-Disposition"] == (
        f"attachment; filename=coi-faculty-5y-{TODAY.isoformat()}.csv"
    )
    text = response.get_data().decode("utf-8-sig")
    assert text.splitlines()[0] == ",".join(COI_COLUMNS)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [row["name"] for row in rows] == ["Current Student", "Left Three Years Ago"]
    assert rows[1]["role"] == "co-supervisor"
    longer = csv.DictReader(
        io.StringIO(faculty_client.get("/group/coi.csv?years=10").get_data().decode("utf-8-sig"))
    )
    assert [row["name"] for row in longer] == [
        "Current Student",
        "Left Eight Years Ago",
        "Left Three Years Ago",
    ]


@pytest.mark.parametrize("years", ["0", "51", "abc", "-3", "2.5", "²", "٣"])
def test_conflict_of_interest_years_out_of_range(faculty_client, years):
    response = faculty_client.get(f"/group/coi.csv?years={years}")
    assert response.status_code == 400
    assert "years must be a whole number from 1 to 50" in response.get_data(as_text=True)


def test_export_roster_command_to_stdout_and_file(runner, group, tmp_path):
    result = runner.invoke(
        args=["export-roster", "--faculty", "faculty@example.org", "--status", "all"]
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout_bytes.decode("utf-8-sig").splitlines()
    assert lines[0] == HEADER
    assert len(lines) == 4
    target = tmp_path / "roster.xlsx"
    result = runner.invoke(args=["export-roster", "--format", "xlsx", "-o", str(target)])
    assert result.exit_code == 0, result.output
    sheet = openpyxl.load_workbook(target).active
    assert len(list(sheet.iter_rows())) == 1 + 4  # every current link, all faculty
    as_json = runner.invoke(args=["export-roster", "--format", "json", "--status", "alumni"])
    assert [record["name"] for record in json.loads(as_json.stdout_bytes)] == ['=HYPERLINK("x")']


def test_export_roster_command_refuses_unknown_faculty(runner):
    result = runner.invoke(args=["export-roster", "--faculty", "nobody@example.org"])
    assert result.exit_code != 0
    assert "no account with the email" in result.output


def test_other_faculty_cannot_see_my_rows(app, make_faculty, group):
    stranger = make_faculty("stranger@example.org")
    client = login_client(app.test_client(), stranger)
    response = client.get("/group/export.csv?status=all")
    assert response.status_code == 200
    assert csv_rows(response) == []


def test_large_exports_arrive_in_chunks(app, admin_client, make_faculty):
    """1,200 rows leave in several chunks: the first bytes go out before the last row is read."""
    from sqlalchemy import insert, select

    from portal.models import Institution, Person, Program, Supervision

    owner = make_faculty("bulk@example.org")
    with app.app_context():
        program_id = db.session.scalar(select(Program.id).where(Program.name == "PhD"))
        institution = Institution(name="Bulk University")
        db.session.add(institution)
        db.session.flush()
        count = 1200
        db.session.execute(insert(Person), [{"full_name": f"Grad {n:04d}"} for n in range(count)])
        person_ids = db.session.scalars(select(Person.id).order_by(Person.id)).all()
        db.session.execute(
            insert(Position),
            [
                {
                    "person_id": person_id,
                    "program_id": program_id,
                    "institution_id": institution.id,
                    "start_date": date(2024, 1, 1),
                }
                for person_id in person_ids
            ],
        )
        position_ids = db.session.scalars(select(Position.id).order_by(Position.id)).all()
        db.session.execute(
            insert(Supervision),
            [
                {
                    "position_id": position_id,
                    "supervisor_id": owner.id,
                    "role": "principal",
                    "share": 100,
                }
                for position_id in position_ids
            ],
        )
        db.session.commit()
    for extension in ("csv", "json"):
        response = admin_client.get(f"/admin/roster.{extension}")
        assert response.is_streamed
        chunks = list(response.response)
        assert len(chunks) >= 3
        assert b"Grad 1199" not in chunks[0]
        body = b"".join(chunks)
        assert body.count(b"Grad ") == count


@pytest.mark.both_backends
def test_csv_from_text_batches_is_byte_identical_to_the_row_by_row_writer(
    app, make_member, faculty, group, monkeypatch
):
    """The CSV path (dates and status as text from SQL, batches to writerows, the formula check
    per batch) writes the same bytes as the generic writer of the same rows."""
    from portal.roster import reports
    from portal.roster.reports import (
        RosterExport,
        RosterStatus,
        csv_chunks_of,
        roster_rows,
    )
    from portal.spreadsheets import csv_bytes_chunks

    # Batches of 3 rows: several plain batches, with the suspicious ones in later batches.
    monkeypatch.setattr(reports, "FETCH_BATCH", 3)
    for number in range(7):
        make_member(faculty, f"Plain Person {number:04d}", start_date=date(2020, 1, 2))
    for tricky in ["+1 555", "-minus", "@at", "\u200b=cmd", "\uff1dwide", "'=already"]:
        make_member(faculty, f"Zz {tricky}", outcome=tricky, end_date=date(2030, 12, 31))
    # The whole record's columns: shares, other supervisors (an external one with an
    # institution), a note and an unknown institution, some starting like formulas.
    make_member(
        faculty,
        "Yy Co-supervised",
        role="co-supervisor",
        others=[("=Dr. External", "principal")],
        note="@note",
        institution=None,
    )
    with app.app_context():
        for status in RosterStatus:
            export = RosterExport(None, status, date(2026, 6, 1))
            expected = b"".join(csv_bytes_chunks(export.columns, roster_rows(export)))
            written = b"".join(csv_chunks_of(export))
            assert written == expected
        assert b"'=HYPERLINK" in written
        assert b"'\xef\xbc\x9dwide" in written  # the full-width sign got its quote
        assert b",2020-01-02," in written
        assert b'""=Dr. External"" (principal, 50%)' in written and b"'@note" in written
        assert b",50," in written  # the co-supervisor's share, as the generic writer writes it


@pytest.mark.both_backends
def test_a_csv_export_stopped_early_leaves_the_connection_usable(
    app, make_member, faculty, monkeypatch
):
    """The CSV rows come from the DB-API cursor (psycopg's stream on PostgreSQL): a download
    that stops after its first batch closes it, and the connection answers the next query."""
    from sqlalchemy import func, select

    from portal.extensions import db
    from portal.models import Supervision
    from portal.roster import reports
    from portal.roster.reports import RosterExport, RosterStatus, csv_chunks_of

    monkeypatch.setattr(reports, "FETCH_BATCH", 2)
    for number in range(7):
        make_member(faculty, f"Person {number}")
    with app.app_context():
        chunks = csv_chunks_of(RosterExport(None, RosterStatus.ALL, date(2026, 6, 1)))
        assert next(chunks) == "\ufeff".encode()
        assert next(chunks).count(b"\r\n") == 3  # the header and the first batch
        chunks.close()
        assert db.session.scalar(select(func.count()).select_from(Supervision)) == 7


@pytest.mark.both_backends
def test_csv_cells_written_in_sql_are_those_of_the_python_writers(
    app, make_member, make_faculty, faculty, monkeypatch
):
    """The CSV query writes the share, the other supervisors and the name order in SQL: the
    same bytes as `as_text`, `format_supervisors` and `name_key` give, for accents, quotes,
    shares with decimals, several accounts and external supervisors; where two external
    supervisors share a role (ordered by name_key, which SQL cannot compute), Python writes
    the cell."""
    from sqlalchemy import select

    from portal.models import Supervision
    from portal.roster import reports
    from portal.roster.reports import RosterExport, RosterStatus, csv_chunks_of, roster_rows
    from portal.spreadsheets import csv_bytes_chunks

    monkeypatch.setattr(reports, "FETCH_BATCH", 4)
    formatted_in_python = []
    python_formatter = reports._with_others_formatted

    def recording(batch, others):
        formatted_in_python.append(len(batch))
        return python_formatter(batch, others)

    monkeypatch.setattr(reports, "_with_others_formatted", recording)
    zoe = make_faculty("zoe@example.org", "Prof. Zoé")
    anna = make_faculty("anna.b@example.org", "Prof. Anna")
    anna_dash = make_faculty("anna-b@example.org", "Prof. Anna Dash")
    for name in ["Zoé Zed", "Élodie Eve", "Eve Ash", "élodie eve", "Émile  Ball", "Ängel Ax"]:
        make_member(faculty, name, role="co-supervisor", others=[(zoe, "principal")])
    shared = make_member(
        faculty,
        "Ola Others",
        role="co-supervisor",
        others=[
            (anna, "co-supervisor"),
            (anna_dash, "co-supervisor"),
            ('Dr. "Quoted" at; Home', "principal"),
            ("Émile External", "none"),
        ],
    )
    tied = make_member(
        faculty,
        "Tia Tied",
        role="principal",
        others=[("Zed External", "co-supervisor"), ("Élan External", "co-supervisor")],
    )
    with app.app_context():
        links = db.session.scalars(
            select(Supervision).where(Supervision.position_id.in_([shared.id, tied.id]))
        ).all()
        shares = iter(["12.50", "33.33", "0", "12.5", "54.17", "10", "45.83", "44.17"])
        for link in sorted(links, key=lambda link: link.id):
            link.share = Decimal(next(shares))
            if link.external_name == 'Dr. "Quoted" at; Home':
                link.external_institution = 'Université "U", at; large'
            elif link.external_name == "Émile External":
                link.external_institution = ""
        db.session.commit()
        export = RosterExport(None, RosterStatus.ALL, date(2026, 6, 1))
        expected = b"".join(csv_bytes_chunks(export.columns, roster_rows(export)))
        written = b"".join(csv_chunks_of(export))
    assert written == expected
    assert formatted_in_python  # the tied external supervisors went through Python
    rows = list(csv.reader(io.StringIO(written.decode("utf-8-sig"))))[1:]
    by_link = {(row[0], row[1]): row for row in rows}
    own = by_link["faculty@example.org", "Ola Others"]
    assert own[10] == "12.50"
    assert own[11] == (
        '"Dr. ""Quoted"" at; Home" at "Université ""U"", at; large" (principal, 12.5%); '
        "anna-b@example.org (co-supervisor, 0%); anna.b@example.org (co-supervisor, 33.33%); "
        '"Émile External" (none, 54.17%)'
    )
    assert by_link["faculty@example.org", "Tia Tied"][11] == (
        '"Élan External" (co-supervisor, 44.17%); "Zed External" (co-supervisor, 45.83%)'
    )
    names = [row[1] for row in rows if row[0] == "faculty@example.org"]
    assert names[:6] == [
        "Ängel Ax",
        "Élodie Eve",
        "élodie eve",
        "Émile  Ball",
        "Eve Ash",
        "Ola Others",
    ]
