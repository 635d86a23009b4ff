"""Roster import: preview, confirm, all-or-nothing, matching, bad files, permissions, CLI."""

import io
import re
import secrets
from datetime import date

import openpyxl
import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import AuditEvent, Institution, Person, Position, Supervision, SupervisionRole
from portal.roster.reports import ROSTER_COLUMNS
from tests.conftest import login_client

pytestmark = pytest.mark.both_backends  # imports write through the database

HEADER = ",".join(ROSTER_COLUMNS)


def roster_csv(*rows: str, header: str = HEADER, bom: bool = False) -> bytes:
    text = "\r\n".join([header, *rows]) + "\r\n"
    return ("\ufeff" if bom else "").encode() + text.encode("utf-8")


def row(
    name="Ada Student",
    *,
    faculty="faculty@example.org",
    email="",
    program="PhD",
    institution="Université de Montréal",
    role="principal",
    start="2024-09-01",
    end="",
    outcome="",
) -> str:
    return ",".join([faculty, name, email, program, institution, role, start, end, "", outcome])


def upload(client, data: bytes, filename="roster.csv"):
    return client.post(
        "/group/import",
        data={"file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def preview_token(response) -> str:
    match = re.search(
        r'name="preview" type="hidden" value="([^"]+)"', response.get_data(as_text=True)
    )
    assert match, "the preview has no confirm form"
    return match.group(1)


def confirm(client, preview_response):
    return client.post("/group/import/confirm", data={"preview": preview_token(preview_response)})


def counts(app) -> dict:
    with app.app_context():
        return {
            model.__name__: db.session.scalar(select(func.count()).select_from(model))
            for model in (Person, Position, Supervision, Institution, AuditEvent)
        }


def test_import_page_shows_form_and_export_links(faculty_client):
    response = faculty_client.get("/group/import")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Roster file" in page and 'type="file"' in page
    assert "/group/export.csv?status=current" in page
    assert "/group/export.xlsx?status=alumni" in page
    assert "/group/coi.csv" in page
    assert "/admin/roster.csv" not in page


def test_preview_writes_nothing_then_confirm_writes_everything(app, faculty_client):
    before = counts(app)
    data = roster_csv(
        row("Ada Student", email="ada@example.org"),
        row(
            "Bo Collaborator",
            program="collaborating researcher",
            role="none",
            institution="ETH Zurich",
            start="2023-01-15",
            end="2025-06-30",
            outcome="Back to industry",
        ),
    )
    preview = upload(faculty_client, data)
    assert preview.status_code == 200
    page = preview.get_data(as_text=True)
    assert "2 rows:" in page and "2 new, 0 updated" in page
    assert counts(app) == before
    response = confirm(faculty_client, preview)
    assert response.status_code == 302
    assert response.headers["Location"] == "/group"  # the group, where the new rows are
    after = counts(app)
    assert after["Person"] == 2 and after["Position"] == 2 and after["Supervision"] == 2
    assert after["Institution"] == before["Institution"] + 2
    assert after["AuditEvent"] > 0
    with app.app_context():
        position = db.session.scalar(
            select(Position).join(Person).where(Person.full_name == "Bo Collaborator")
        )
        assert position.program.name == "Collaborating researcher"
        assert position.end_date == date(2025, 6, 30) and position.outcome == "Back to industry"
        assert position.supervisions[0].role is SupervisionRole.NONE
        assert position.supervisions[0].share == 100
        actions = set(db.session.scalars(select(AuditEvent.action)))
        assert actions == {"import-create"}
    group = faculty_client.get("/group").get_data(as_text=True)
    assert "Added 2 people to the group. 2 new institutions were added to the list." in group
    assert "row(s)" not in group
    # Only the current member is listed on /group (the other has left): pointed out in words.
    assert group.count('class="imported"') == 1
    assert "Just imported" in group
    # Pointed out once: the next visit shows the group as usual.
    assert "Just imported" not in faculty_client.get("/group").get_data(as_text=True)


def test_reimporting_the_same_file_creates_nothing(app, faculty_client):
    data = roster_csv(row("Ada Student", email="ada@example.org"), row("No Email Person"))
    confirm(faculty_client, upload(faculty_client, data))
    before = counts(app)
    preview = upload(faculty_client, data)
    assert "0 new, 0 updated, 2 unchanged" in preview.get_data(as_text=True)
    confirm(faculty_client, preview)
    assert counts(app) == before


def test_preview_labels_updated_rows_and_confirm_applies_them(
    app, faculty, make_member, faculty_client
):
    make_member(faculty, "Ada Student", email="ada@example.org")
    make_member(faculty, "Cy Matched By Name", role="co-supervisor", start_date=date(2022, 1, 10))
    data = roster_csv(
        row("Ada Student-Renamed", email="ADA@example.org", end="2025-12-31", outcome="Graduated"),
        row("Cy Matched By Name", role="principal", start="2022-01-10"),
        row("Dee New"),
    )
    preview = upload(faculty_client, data)
    page = preview.get_data(as_text=True)
    assert "1 new, 2 updated" in page
    assert "Name: Ada Student → Ada Student-Renamed" in page
    assert "Role: Co-supervisor → Principal supervisor" in page
    before = counts(app)
    confirm(faculty_client, preview)
    after = counts(app)
    assert after["Person"] == before["Person"] + 1
    with app.app_context():
        ada = db.session.scalar(select(Person).where(Person.email == "ada@example.org"))
        assert ada.full_name == "Ada Student-Renamed"
        assert ada.positions[0].end_date == date(2025, 12, 31)
        cy = db.session.scalar(
            select(Supervision)
            .join(Supervision.position)
            .join(Position.person)
            .where(Person.full_name == "Cy Matched By Name")
        )
        assert cy.role is SupervisionRole.PRINCIPAL
        update_events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "import-update")
        ).all()
        assert {event.entity_type for event in update_events} == {
            "persons",
            "positions",
            "supervisions",
        }
        assert any(
            event.before and event.before.get("role") == "co-supervisor" for event in update_events
        )


def test_semicolons_bom_and_institution_matched_by_key(app, faculty_client, make_member, faculty):
    make_member(faculty, "Existing", institution="Université de Montréal")
    header = HEADER.replace(",", ";")
    data = roster_csv(
        ";".join(
            [
                "faculty@example.org",
                'Émile; the "Second"',
                "",
                "PhD",
                "UNIVERSITE  DE MONTREAL",
                "co-supervisor",
                "2024-01-01",
                "",
                "",
                "",
            ]
        ).replace('Émile; the "Second"', '"Émile; the ""Second"""'),
        header=header,
        bom=True,
    )
    before = counts(app)
    preview = upload(faculty_client, data)
    assert preview.status_code == 200, preview.get_data(as_text=True)
    confirm(faculty_client, preview)
    after = counts(app)
    assert after["Institution"] == before["Institution"]
    with app.app_context():
        person = db.session.scalar(select(Person).where(Person.full_name == 'Émile; the "Second"'))
        assert person.positions[0].institution.name == "Université de Montréal"


def test_xlsx_upload_with_real_dates(app, faculty_client):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(list(ROSTER_COLUMNS))
    sheet.append(
        [
            "faculty@example.org",
            "Xl Person",
            None,
            "PhD",
            "McGill University",
            "principal",
            date(2024, 9, 1),
            None,
            "current",
            None,
        ]
    )
    output = io.BytesIO()
    workbook.save(output)
    preview = upload(faculty_client, output.getvalue(), "roster.xlsx")
    assert preview.status_code == 200, preview.get_data(as_text=True)
    confirm(faculty_client, preview)
    with app.app_context():
        position = db.session.scalar(
            select(Position).join(Person).where(Person.full_name == "Xl Person")
        )
        assert position.start_date == date(2024, 9, 1)


def test_one_bad_row_among_100_writes_nothing_and_names_it(app, faculty_client):
    rows = [
        row(f"Student {number:03d}", start=f"2024-01-{1 + number % 28:02d}")
        for number in range(100)
    ]
    rows[56] = row("Student Bad", email="not-an-email")
    before = counts(app)
    response = upload(faculty_client, roster_csv(*rows))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "1 problem: nothing will be imported" in page
    assert re.search(r"Line 58, column email: &#39;not-an-email&#39; is not a valid email", page)
    assert 'name="preview"' not in page  # no confirm button
    assert counts(app) == before


@pytest.mark.parametrize(
    ("cells", "column", "message"),
    [
        ({"name": ""}, "name", "The name is empty."),
        ({"name": "x" * 201}, "name", "The name is 201 characters long; the limit is 200."),
        ({"email": "a@b"}, "email", "is not a valid email address"),
        ({"program": "Bachelor"}, "program", "Unknown program &#39;Bachelor&#39;"),
        ({"institution": "x" * 201}, "institution", "The institution name is longer than 200"),
        ({"role": "supervisor"}, "role", "is not one of: principal, co-supervisor, none"),
        ({"start": "01/09/2024"}, "start_date", "is not a date in the form YYYY-MM-DD"),
        ({"start": ""}, "start_date", "The start date is empty."),
        ({"end": "2024-13-01"}, "end_date", "is not a date in the form YYYY-MM-DD"),
        ({"start": "0024-09-01"}, "start_date", "Enter a date between 1950-01-01 and 2100-12-31."),
        ({"end": "9999-12-31"}, "end_date", "Enter a date between 1950-01-01 and 2100-12-31."),
        (
            {"end": "2024-08-31"},
            "end_date",
            "The end date 2024-08-31 is before the start date 2024-09-01.",
        ),
        (
            {"faculty": "other@example.org"},
            "faculty_email",
            "This import is for faculty@example.org&#39;s group only: faculty_email must be",
        ),
    ],
)
def test_row_problems_name_line_and_column(
    app, faculty_client, make_faculty, cells, column, message
):
    make_faculty("other@example.org")
    before = counts(app)
    response = upload(
        faculty_client, roster_csv(row("Fine Person"), row(**{"name": "Bad Person", **cells}))
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert f"Line 3, column {column}: " in page
    assert message in page
    assert counts(app) == before


def test_two_principals_for_one_position_are_refused(
    app, faculty, make_faculty, make_member, admin_client
):
    other = make_faculty("other@example.org")
    make_member(
        other, "Shared Student", start_date=date(2024, 9, 1), others=[(faculty, "co-supervisor")]
    )
    before = counts(app)
    response = upload(admin_client, roster_csv(row("Shared Student", role="principal")))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Line 2, column role: " in page
    assert "at most one principal supervisor" in page
    within_file = upload(
        admin_client,
        roster_csv(
            row("New Shared", role="principal"),
            row("New Shared", role="principal", faculty=other.email),
        ),
    )
    assert "Line 3, column role: " in within_file.get_data(as_text=True)
    assert counts(app) == before


def test_admin_imports_for_any_faculty(app, admin_client, make_faculty):
    other = make_faculty("other@example.org")
    data = roster_csv(
        row("For Other", faculty="Other@example.org"), row("Nobody's", faculty="ghost@example.org")
    )
    response = upload(admin_client, data)
    assert response.status_code == 400
    assert "There is no account with the email ghost@example.org" in response.get_data(as_text=True)
    preview = upload(admin_client, roster_csv(row("For Other", faculty=other.email)))
    assert preview.status_code == 200
    confirm(admin_client, preview)
    with app.app_context():
        link = db.session.scalar(
            select(Supervision)
            .join(Supervision.position)
            .join(Position.person)
            .where(Person.full_name == "For Other")
        )
        assert link.supervisor_id == other.id


def test_blank_faculty_email_means_my_group(app, faculty, faculty_client):
    confirm(faculty_client, upload(faculty_client, roster_csv(row("Mine", faculty=""))))
    with app.app_context():
        assert db.session.scalar(select(Supervision.supervisor_id)) == faculty.id


@pytest.mark.parametrize(
    ("data", "filename", "status", "message"),
    [
        ("Nom,Émile".encode("latin-1"), "roster.csv", 400, "not UTF-8 text"),
        (roster_csv(row("Zoë")).decode().encode("utf-16"), "roster.csv", 400, "not a text file"),
        (b"%PDF-1.4 binary", "roster.pdf", 400, "Files of type .pdf cannot be imported"),
        (b"PK\x03\x04 not really a workbook", "roster.xlsx", 400, "not a readable Excel workbook"),
        (b"\xd0\xcf\x11\xe0", "roster.xls", 400, "Old Excel files (.xls)"),
        (b"", "roster.csv", 400, "The file is empty."),
        (HEADER.encode(), "roster.csv", 400, "no roster rows"),
        (
            b"name,program,colour\r\nA,PhD,red\r\n",
            "roster.csv",
            400,
            "missing column(s) institution, role, start_date; unknown column(s) &#39;colour&#39;",
        ),
        (
            b'name,program,institution,role,start_date\r\n"unterminated,PhD\r\n',
            "roster.csv",
            400,
            "the CSV cannot be read",
        ),
    ],
)
def test_unreadable_files_get_a_clear_message(app, faculty_client, data, filename, status, message):
    before = counts(app)
    response = upload(faculty_client, data, filename)
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    assert counts(app) == before


def test_latin1_file_message_names_the_line(faculty_client):
    data = (
        roster_csv(row("Plain", institution="ETH Zurich"), row("Émile", institution="ETH Zurich"))
        .decode()
        .encode("latin-1")
    )
    response = upload(faculty_client, data)
    assert "unreadable byte at line 3" in response.get_data(as_text=True)


def test_no_file_is_a_400_next_to_the_field(app, faculty_client):
    before = counts(app)
    response = faculty_client.post("/group/import", data={}, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "Choose a CSV or XLSX file to import." in response.get_data(as_text=True)
    assert counts(app) == before


def test_file_over_the_import_limit_is_413(app, faculty_client):
    app.config["ROSTER_IMPORT_MAX_BYTES"] = 300
    before = counts(app)
    response = upload(faculty_client, roster_csv(*[row(f"Person {n}") for n in range(10)]))
    assert response.status_code == 413
    assert "the import accepts files up to" in response.get_data(as_text=True)
    assert counts(app) == before


def test_request_over_the_upload_limit_is_413(app, faculty_client):
    app.config["IMPORT_MAX_BYTES"] = 2000
    before = counts(app)
    response = upload(faculty_client, roster_csv(*[row(f"Person {n}") for n in range(100)]))
    assert response.status_code == 413
    assert "The upload is larger than the 1 KB the import accepts" in response.get_data(
        as_text=True
    )
    assert counts(app) == before


def test_tampered_or_foreign_confirmation_writes_nothing(app, faculty_client, make_faculty):
    preview = upload(faculty_client, roster_csv(row("Tamper")))
    token = preview_token(preview)
    before = counts(app)
    response = faculty_client.post("/group/import/confirm", data={"preview": token[:-3] + "xyz"})
    assert response.status_code == 400
    assert "does not match a preview" in response.get_data(as_text=True)
    stranger = login_client(app.test_client(), make_faculty("stranger@example.org"))
    response = stranger.post("/group/import/confirm", data={"preview": token})
    assert response.status_code == 400
    missing = faculty_client.post("/group/import/confirm", data={})
    assert missing.status_code == 400
    assert counts(app) == before


def test_confirm_rechecks_against_the_database(
    app, faculty, make_faculty, make_member, admin_client
):
    other = make_faculty("other@example.org")
    preview = upload(admin_client, roster_csv(row("Raced", role="principal")))
    assert preview.status_code == 200
    # Someone made the faculty co-supervisor of the same stint, and took the principal seat.
    make_member(other, "Raced", start_date=date(2024, 9, 1), others=[(faculty, "co-supervisor")])
    before = counts(app)
    response = confirm(admin_client, preview)
    assert response.status_code == 400
    assert "changed since the preview" in response.get_data(as_text=True)
    assert counts(app) == before


def test_confirm_with_csrf_and_a_large_preview_kept_on_the_server(csrf_app, make_faculty):
    owner = make_faculty("owner@example.org")
    client = login_client(csrf_app.test_client(), owner)
    form_page = client.get("/group/import").get_data(as_text=True)
    csrf_token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form_page).group(1)
    # Random names, so that the signed field stays large after compression.
    rows = [
        row(
            f"Person {secrets.token_urlsafe(90)}",
            faculty="owner@example.org",
            outcome=secrets.token_urlsafe(210),
        )
        for _ in range(1500)
    ]
    preview = client.post(
        "/group/import",
        content_type="multipart/form-data",
        data={"csrf_token": csrf_token, "file": (io.BytesIO(roster_csv(*rows)), "big.csv")},
    )
    assert preview.status_code == 200
    # The rows (over 500 kB of random text) stay on the server: the page carries a short
    # token and shows the first rows only.
    page = preview.get_data(as_text=True)
    assert len(preview_token(preview)) < 100
    assert "The first 200 of 1,500 rows" in page
    assert len(page.encode()) < 300_000
    # 1,500 new principal supervisions pass the default cap: the form's "Save anyway" applies.
    assert "over their cap of 8" in page
    response = client.post(
        "/group/import/confirm",
        data={
            "csrf_token": csrf_token,
            "preview": preview_token(preview),
            "accept_over_cap": "y",
        },
    )
    assert response.status_code == 302
    assert counts(csrf_app)["Person"] == 1500


def test_import_roster_command_dry_run_then_import(app, runner, faculty, tmp_path):
    path = tmp_path / "roster.csv"
    path.write_bytes(roster_csv(row("Cli One"), row("Cli Two", role="co-supervisor")))
    before = counts(app)
    dry = runner.invoke(
        args=["import-roster", str(path), "--faculty", "faculty@example.org", "--dry-run"]
    )
    assert dry.exit_code == 0, dry.output
    assert (
        "Dry run, nothing was written: the import would add 2 people, update 0 people and "
        "leave 0 people as they are." in dry.output
    )
    assert counts(app) == before
    real = runner.invoke(args=["import-roster", str(path), "--faculty", "faculty@example.org"])
    assert real.exit_code == 0, real.output
    assert "Added 2 people to the group. 1 new institution was added to the list." in real.output
    assert counts(app)["Position"] == 2
    again = runner.invoke(args=["import-roster", str(path), "--faculty", "faculty@example.org"])
    assert "2 people were already up to date." in again.output
    assert "row(s)" not in dry.output + real.output + again.output
    assert counts(app)["Position"] == 2


def test_import_roster_command_reports_problems_and_writes_nothing(app, runner, faculty, tmp_path):
    path = tmp_path / "roster.csv"
    rows = [row(f"Student {n}") for n in range(100)]
    rows[40] = row("Student 40", program="Astrology")
    path.write_bytes(roster_csv(*rows))
    before = counts(app)
    result = runner.invoke(args=["import-roster", str(path), "--faculty", "faculty@example.org"])
    assert result.exit_code != 0
    assert "line 42, program: Unknown program 'Astrology'" in result.output
    assert "1 problem found; nothing was imported." in result.output
    assert counts(app) == before
    other = runner.invoke(args=["import-roster", str(path), "--faculty", "ghost@example.org"])
    assert other.exit_code != 0 and "no account with the email" in other.output


def test_faculty_can_neither_join_nor_change_another_groups_record(
    app, faculty, make_faculty, make_member, faculty_client
):
    other = make_faculty("other@example.org")
    make_member(
        other,
        "Shared Student",
        email="shared@example.org",
        institution="McGill University",
        end_date=date(2027, 4, 30),
    )
    before = counts(app)
    for name, end in (("Shared Student Renamed", "2026-01-31"), ("Shared Student", "")):
        response = upload(
            faculty_client,
            roster_csv(
                row(
                    name,
                    email="shared@example.org",
                    role="co-supervisor",
                    institution="Concordia University",
                    end=end,
                )
            ),
        )
        page = response.get_data(as_text=True)
        assert response.status_code == 400
        assert "Line 2, column email: This person is recorded by another group" in page
        # Nothing stored is shown back: not the name, institution or end date on record.
        for stored in ("McGill", "2027-04-30"):
            assert stored not in page
    assert counts(app) == before


def test_co_supervisor_reimports_a_shared_record_but_cannot_change_it(
    app, faculty, make_faculty, make_member, faculty_client
):
    other = make_faculty("other@example.org")
    make_member(
        other,
        "Shared Student",
        email="shared@example.org",
        institution="McGill University",
        others=[(faculty, "co-supervisor")],
    )
    unchanged = upload(
        faculty_client,
        roster_csv(
            row(
                "Shared Student",
                email="shared@example.org",
                role="co-supervisor",
                institution="mcgill university",
            )
        ),
    )
    assert unchanged.status_code == 200
    assert "0 new, 0 updated, 1 unchanged" in unchanged.get_data(as_text=True)
    changed = upload(
        faculty_client,
        roster_csv(
            row(
                "Shared Student Renamed",
                email="shared@example.org",
                role="co-supervisor",
                institution="McGill University",
                end="2026-01-31",
            )
        ),
    )
    page = changed.get_data(as_text=True)
    assert changed.status_code == 400
    assert "Line 2, column end_date: This position is recorded by another group" in page
    assert "Line 2, column name: This person&#39;s name is kept by the group" in page


def test_preview_runs_a_fixed_number_of_queries(
    faculty, make_member, faculty_client, query_counter
):
    def preview_queries(names: list[str]) -> int:
        for name in names:
            make_member(faculty, name, email=f"{name.lower().replace(' ', '.')}@example.org")
        data = roster_csv(
            *[
                row(
                    name,
                    email=f"{name.lower().replace(' ', '.')}@example.org",
                    role="co-supervisor",
                    end="2030-01-01",
                )
                for name in names
            ]
        )
        with query_counter() as statements:
            assert upload(faculty_client, data).status_code == 200
        return len(statements)

    assert preview_queries([f"Few {n}" for n in range(3)]) == preview_queries(
        [f"Many {n}" for n in range(40)]
    )


def test_a_row_repeated_without_its_email_is_a_duplicate(app, faculty_client):
    before = counts(app)
    response = upload(
        faculty_client, roster_csv(row("Twice", email="twice@example.org"), row("Twice"))
    )
    assert response.status_code == 400
    assert (
        "Line 3: The same person, program, start date and faculty_email "
        "appear on line 2.</li>" in response.get_data(as_text=True)
    )
    assert counts(app) == before


def test_a_file_with_no_records_at_all_is_refused_clearly(app_context):
    from portal.roster.reading import RosterFileError, _rows_from_records

    with pytest.raises(RosterFileError, match="The file is empty."):
        _rows_from_records([], restore=True)
