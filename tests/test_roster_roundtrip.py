"""Round trips: export, import into an empty database, export again gives the same roster."""

import io
import json
from datetime import date, timedelta
from decimal import Decimal

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from portal import demo
from portal.extensions import db
from portal.group.operations import confirm_proposal
from portal.identifiers import clean_text, name_key
from portal.models import (
    DepartureReason,
    Institution,
    Person,
    Position,
    Program,
    Supervision,
    SupervisionRole,
    SupervisionState,
    User,
)
from portal.models.supervision import default_shares
from portal.roster.applying import apply_import
from portal.roster.planning import plan_import
from portal.roster.reading import read_roster_file
from portal.roster.reports import (
    ROSTER_COLUMNS,
    RosterExport,
    RosterStatus,
    roster_file,
    roster_rows,
)
from portal.spreadsheets import csv_bytes_chunks, json_chunks, xlsx_bytes
from tests.conftest import login_client, reset_database

pytestmark = pytest.mark.both_backends  # imports write through the database

FACULTY_EMAIL = "helene.tremblay@demo.example.org"
SECOND_EMAIL = "marc-andre.oneill@demo.example.org"
ADMIN_EMAIL = "grad-office@demo.example.org"
WRITERS = {
    "csv": lambda rows: b"".join(csv_bytes_chunks(ROSTER_COLUMNS, rows)),
    "json": lambda rows: b"".join(json_chunks(ROSTER_COLUMNS, rows)),
    "xlsx": lambda rows: xlsx_bytes(ROSTER_COLUMNS, rows),
}


def sheet_values(data: bytes) -> list[tuple]:
    return list(openpyxl.load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))


def comparable(data: bytes, extension: str):
    """The file's content: bytes for CSV and JSON; cell values for XLSX (its zip has timestamps)."""
    return sheet_values(data) if extension == "xlsx" else data


def load_demo(app) -> None:
    with app.app_context():
        demo.load_demo_data()
        db.session.commit()


def empty_database_with_accounts(app, make_faculty, make_admin) -> dict[str, User]:
    """The database emptied (programs seeded as after migrations), with the demo accounts only."""
    with app.app_context():
        db.session.remove()
        reset_database()
    return {
        "faculty": make_faculty(FACULTY_EMAIL, "Prof. Hélène Tremblay-Okafor"),
        "second": make_faculty(SECOND_EMAIL, "Prof. Marc-André O'Neill"),
        "admin": make_admin(ADMIN_EMAIL, "Graduate Office"),
    }


def user(app, email: str) -> User:
    with app.app_context():
        account = db.session.scalar(select(User).where(User.email == email))
        db.session.expunge(account)
        return account


def confirm_every_proposal(app, email: str) -> None:
    """The account named in a faculty member's file confirms each proposal it was sent."""
    with app.app_context():
        colleague = db.session.scalar(select(User).where(User.email == email))
        proposals = db.session.scalars(
            select(Supervision).where(Supervision.state == SupervisionState.PROPOSED)
        ).all()
        assert proposals and {link.supervisor_id for link in proposals} == {colleague.id}
        for link in proposals:
            confirm_proposal(colleague, link, None, link.position.version)
        db.session.commit()


def import_through_the_web(client, data: bytes, extension: str):
    preview = client.post(
        "/group/import",
        content_type="multipart/form-data",
        data={"file": (io.BytesIO(data), f"roster.{extension}")},
    )
    assert preview.status_code == 200, preview.get_data(as_text=True)
    page = preview.get_data(as_text=True)
    token = page.split('name="preview" type="hidden" value="', 1)[1].split('"', 1)[0]
    # A whole group in one file may pass a cap: the round trip ticks the form's "Save anyway".
    response = client.post("/group/import/confirm", data={"preview": token, "accept_over_cap": "y"})
    assert response.status_code == 302
    return page


@pytest.mark.parametrize("extension", ["csv", "xlsx", "json"])
def test_institute_group_of_30_goes_out_and_back_unchanged(
    app, make_faculty, make_admin, extension
):
    load_demo(app)
    client = login_client(app.test_client(), user(app, FACULTY_EMAIL))
    first = client.get(f"/group/export.{extension}")
    assert first.status_code == 200
    if extension == "csv":
        rows = first.get_data().decode("utf-8-sig").splitlines()[1:]
        assert len(rows) == 30
        roles = [line.split(",")[5] for line in rows]
        assert (roles.count("principal"), roles.count("co-supervisor"), roles.count("none")) == (
            9,
            12,
            9,
        )
    original = first.get_data()
    everyone = client.get(f"/group/export.{extension}?status=all").get_data()

    accounts = empty_database_with_accounts(app, make_faculty, make_admin)
    client = login_client(app.test_client(), accounts["faculty"])
    page = import_through_the_web(client, everyone, extension)
    assert "34 rows:" in page and "34 new" in page
    # The colleague the file names as co-supervisor was asked, and agrees.
    confirm_every_proposal(app, SECOND_EMAIL)

    assert comparable(client.get(f"/group/export.{extension}").get_data(), extension) == comparable(
        original, extension
    )
    assert comparable(
        client.get(f"/group/export.{extension}?status=all").get_data(), extension
    ) == comparable(everyone, extension)
    # And once more: the same file again changes nothing.
    page = import_through_the_web(client, everyone, extension)
    assert "0 new, 0 updated, 34 unchanged" in page


def test_reimporting_an_export_into_the_live_database_changes_nothing(app):
    load_demo(app)
    faculty = user(app, FACULTY_EMAIL)
    client = login_client(app.test_client(), faculty)
    data = client.get("/group/export.csv?status=all").get_data()
    with app.app_context():
        before = db.session.scalars(select(Supervision.share).order_by(Supervision.id)).all()
    page = import_through_the_web(client, data, "csv")
    assert "0 new, 0 updated, 34 unchanged" in page
    with app.app_context():
        assert (
            db.session.scalars(select(Supervision.share).order_by(Supervision.id)).all() == before
        )


@pytest.mark.parametrize("extension", ["csv", "xlsx", "json"])
def test_a_deactivated_co_supervisor_stays_on_the_links_the_file_brings_back(
    app, faculty, make_faculty, make_member, extension
):
    """The export lists a co-supervisor whose account was deactivated since: the same file
    imports again unchanged, while a new link to that account is still refused."""
    colleague = make_faculty("colleague@example.org", "Prof. Colleague")
    make_member(faculty, "Alpha Beta", others=[(colleague, "co-supervisor")])
    with app.app_context():
        db.session.get(User, colleague.id).is_active = False
        db.session.commit()
    client = login_client(app.test_client(), faculty)
    data = client.get(f"/group/export.{extension}?status=all").get_data()
    page = import_through_the_web(client, data, extension)
    assert "0 new, 0 updated, 1 unchanged" in page
    with app.app_context():
        links = db.session.scalars(select(Supervision.supervisor_id).order_by(Supervision.id))
        assert list(links) == [faculty.id, colleague.id]
    if extension == "csv":
        text = data.decode("utf-8-sig").replace("Alpha Beta", "Gamma Delta")
        refused = client.post(
            "/group/import",
            content_type="multipart/form-data",
            data={"file": (io.BytesIO(text.encode()), "roster.csv")},
        )
        assert refused.status_code == 400
        assert "There is no faculty account with the email colleague@example.org." in (
            refused.get_data(as_text=True)
        )


def test_institution_wide_export_round_trip_as_admin(app, make_faculty, make_admin):
    load_demo(app)
    admin_client = login_client(app.test_client(), user(app, ADMIN_EMAIL))
    original = admin_client.get("/admin/roster.csv?status=all").get_data()
    assert SECOND_EMAIL.encode() in original
    accounts = empty_database_with_accounts(app, make_faculty, make_admin)
    admin_client = login_client(app.test_client(), accounts["admin"])
    import_through_the_web(admin_client, original, "csv")
    assert admin_client.get("/admin/roster.csv?status=all").get_data() == original
    with app.app_context():
        # Co-supervised positions are one position with two account links, not two positions.
        positions = db.session.scalars(select(Position)).all()
        assert len(positions) == 34


# ---------------------------------------------------------------------------------------------
# Property: any roster of awkward names survives export -> import into an empty database.

AWKWARD = list("aeiouAZmnéÉèçñøÅßŁœ'’\"`,;.=+-@()[]{}& \n\r\t#")
awkward_text = st.text(alphabet=st.sampled_from(AWKWARD), min_size=1, max_size=30).filter(
    lambda text: clean_text(text) == text and text != ""
)
PROGRAM_NAMES = [
    "PhD",
    "Master's Research",
    "Postdoctorate",
    "Research Intern",
    "Collaborating researcher",
]

entries = st.lists(
    st.tuples(
        awkward_text,  # name
        st.sampled_from(PROGRAM_NAMES),  # program
        awkward_text,  # institution
        st.sampled_from(list(SupervisionRole)),  # role
        st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 12, 31)),  # start
        st.none() | st.integers(min_value=0, max_value=4000),  # days until the end
        st.none() | awkward_text,  # outcome
        st.sampled_from([None, "plain", "-dash", "o'brien"]),  # email local part
    ),
    min_size=1,
    max_size=6,
    unique_by=lambda entry: (entry[0], entry[1], entry[4]),
)


def build_roster(faculty_email: str, roster: list[tuple]) -> User:
    """Write the generated roster straight into the database (no import code involved)."""
    faculty = User(email=faculty_email, display_name="Prof. Round Trip", password_hash="x")
    db.session.add(faculty)
    programs = {program.name: program for program in db.session.scalars(select(Program))}
    institutions: dict[str, Institution] = {}
    for number, (name, program, institution, role, start, days, outcome, local) in enumerate(
        roster
    ):
        key = name_key(institution)
        institutions.setdefault(key, Institution(name=institution))
        person = Person(full_name=name, email=f"{local}.{number}@example.org" if local else None)
        position = Position(
            person=person,
            program=programs[program],
            institution=institutions[key],
            start_date=start,
            end_date=None if days is None else start + timedelta(days=days),
            outcome=outcome,
        )
        position.supervisions.append(Supervision(supervisor=faculty, role=role, share=100))
        db.session.add(position)
    db.session.commit()
    return faculty


def export(faculty: User, extension: str) -> bytes:
    rows = roster_rows(RosterExport(faculty, RosterStatus.ALL, date.today()))
    return WRITERS[extension](rows)


@pytest.mark.parametrize("extension", ["csv", "json"])
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(roster=entries)
def test_export_import_export_is_the_same_file(app, extension, roster):
    with app.app_context():
        reset_database()
        faculty = build_roster("round.trip@example.org", roster)
        first = export(faculty, extension)
        db.session.remove()
        reset_database()
        faculty = User(
            email="round.trip@example.org", display_name="Prof. Round Trip", password_hash="x"
        )
        db.session.add(faculty)
        db.session.commit()
        rows = read_roster_file(first, f"roster.{extension}", max_bytes=None)
        plan = plan_import(rows, faculty, only_faculty=faculty)
        assert plan.ok, plan.problems
        apply_import(plan, faculty)
        db.session.commit()
        second = export(faculty, extension)
        db.session.remove()
    assert second == first
    if extension == "json":
        assert [record["name"] for record in json.loads(first)] == [
            record["name"] for record in json.loads(second)
        ]


def test_formula_like_names_survive_xlsx_and_csv(app, make_faculty, make_admin):
    awkward = [
        "=1+1",
        "+33 1 23",
        "-minus",
        "@handle",
        "'=already quoted",
        "''+twice",
        "'plain quote",
        "O'Brien (unbalanced",
        'Comma, "Quote"',
    ]
    with app.app_context():
        faculty = build_roster(
            FACULTY_EMAIL,
            [
                (
                    name,
                    "PhD",
                    "=Institution, (Zurich",
                    SupervisionRole.CO_SUPERVISOR,
                    date(2024, 1, 1) + timedelta(days=number),
                    None,
                    "-Outcome",
                    None,
                )
                for number, name in enumerate(awkward)
            ],
        )
        files = {extension: export(faculty, extension) for extension in ("csv", "xlsx")}
        db.session.remove()
    assert b"'=1+1" in files["csv"] and b"'''+twice" in files["csv"]
    for extension, data in files.items():
        with app.app_context():
            db.session.remove()
            reset_database()
        accounts_client = login_client(app.test_client(), make_faculty(FACULTY_EMAIL))
        import_through_the_web(accounts_client, data, extension)
        with app.app_context():
            names = set(db.session.scalars(select(Person.full_name)))
            assert names == set(awkward)
            assert set(db.session.scalars(select(Institution.name))) == {"=Institution, (Zurich"}
            assert set(db.session.scalars(select(Position.outcome))) == {"-Outcome"}
        again = accounts_client.get(f"/group/export.{extension}?status=all").get_data()
        assert comparable(again, extension) == comparable(data, extension)


# ---------------------------------------------------------------------------------------------
# Property: whole records (co-supervisors, shares, notes, ORCID iDs, unknown institutions,
# alumni with outcomes and departure reasons) survive export -> import into an empty portal
# -> export, for a faculty member's roster and the institution-wide roster, in every format.

COLLEAGUES = ("colleague.one@example.org", "colleague.two@example.org")
OWNER_EMAIL = "whole.record@example.org"
ADMIN_IMPORTER = "office@example.org"


def orcid_with_checksum(digits: str) -> str:
    """A valid ORCID iD from 15 digits (ISO 7064 11,2 check character)."""
    total = 0
    for digit in digits:
        total = (total + int(digit)) * 2
    check = (12 - total % 11) % 11
    text = digits + ("X" if check == 10 else str(check))
    return "-".join(text[i : i + 4] for i in range(0, 16, 4))


@st.composite
def whole_records(draw):
    """One position per entry: the exporting faculty's link, colleagues' and external links."""
    count = draw(st.integers(min_value=1, max_value=4))
    entries = []
    used_stints = set()
    for number in range(count):
        name = draw(awkward_text)
        program = draw(st.sampled_from(PROGRAM_NAMES))
        start = draw(st.dates(min_value=date(2015, 1, 1), max_value=date(2030, 12, 31)))
        if (name, program, start) in used_stints:
            continue
        used_stints.add((name, program, start))
        days = draw(st.none() | st.integers(min_value=0, max_value=3000))
        ended = days is not None
        colleagues = draw(st.lists(st.sampled_from(COLLEAGUES), unique=True, max_size=2))
        externals = draw(
            st.lists(
                st.tuples(awkward_text, st.none() | awkward_text),
                max_size=2,
                unique_by=lambda item: name_key(item[0]),
            )
        )
        supervisors = [OWNER_EMAIL, *colleagues, *externals]
        roles = draw(
            st.lists(
                st.sampled_from(list(SupervisionRole)),
                min_size=len(supervisors),
                max_size=len(supervisors),
            ).filter(lambda roles: roles.count(SupervisionRole.PRINCIPAL) <= 1)
        )
        if draw(st.booleans()):
            shares = default_shares(roles)
        else:
            shares, left = [], 100
            for _ in supervisors[:-1]:
                share = draw(st.integers(min_value=0, max_value=left))
                shares.append(Decimal(share))
                left -= share
            shares.append(Decimal(left))
        entries.append(
            {
                "name": name,
                "email": f"person.{number}@example.org" if draw(st.booleans()) else None,
                "orcid": (
                    orcid_with_checksum(
                        f"0000000{number}" + draw(st.text("0123456789", min_size=7, max_size=7))
                    )
                    if draw(st.booleans())
                    else None
                ),
                "program": program,
                "institution": draw(st.none() | awkward_text),
                "start": start,
                "end": start + timedelta(days=days) if ended else None,
                "outcome": draw(st.none() | awkward_text) if ended else None,
                "reason": draw(st.sampled_from(list(DepartureReason))) if ended else None,
                "note": draw(st.none() | awkward_text),
                "links": list(zip(supervisors, roles, shares, strict=True)),
            }
        )
    return entries


def make_accounts() -> dict[str, User]:
    accounts = {
        email: User(email=email, display_name=f"Prof. {email}", password_hash="x")
        for email in (OWNER_EMAIL, *COLLEAGUES)
    }
    accounts[ADMIN_IMPORTER] = User(
        email=ADMIN_IMPORTER, display_name="Office", password_hash="x", is_admin=True
    )
    db.session.add_all(accounts.values())
    db.session.flush()
    return accounts


def build_whole_records(entries: list[dict]) -> None:
    """Write the generated records straight into the database (no import code involved)."""
    accounts = make_accounts()
    programs = {program.name: program for program in db.session.scalars(select(Program))}
    institutions: dict[str, Institution] = {}
    for entry in entries:
        institution = None
        if entry["institution"] is not None:
            key = name_key(entry["institution"])
            institution = institutions.setdefault(key, Institution(name=entry["institution"]))
        position = Position(
            person=Person(full_name=entry["name"], email=entry["email"], orcid=entry["orcid"]),
            program=programs[entry["program"]],
            institution=institution,
            start_date=entry["start"],
            end_date=entry["end"],
            outcome=entry["outcome"],
            departure_reason=entry["reason"],
            note=entry["note"],
        )
        db.session.add(position)
        for who, role, share in entry["links"]:
            if isinstance(who, str):
                link = Supervision(supervisor=accounts[who], role=role, share=share)
            else:
                link = Supervision(
                    external_name=who[0], external_institution=who[1], role=role, share=share
                )
            position.supervisions.append(link)
    db.session.commit()


def export_file(faculty: User | None, extension: str) -> bytes:
    return b"".join(roster_file(RosterExport(faculty, RosterStatus.ALL, date.today()), extension))


def owner() -> User:
    return db.session.scalar(select(User).where(User.email == OWNER_EMAIL))


@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(entries=whole_records())
def test_whole_records_go_out_and_back_unchanged(app, entries):
    with app.app_context():
        reset_database()
        build_whole_records(entries)
        files = {
            (scope, extension): export_file(owner() if scope == "faculty" else None, extension)
            for scope in ("faculty", "institution")
            for extension in ("csv", "xlsx", "json")
        }
        db.session.remove()
    for (scope, extension), first in files.items():
        with app.app_context():
            reset_database()
            accounts = make_accounts()
            db.session.commit()
            rows = read_roster_file(first, f"roster.{extension}", max_bytes=None)
            if scope == "faculty":
                # The command line's import for a faculty member (an operator: links recorded).
                plan = plan_import(rows, owner(), only_faculty=owner())
                importer = None
            else:
                # An administrator's import confirms the links to other accounts.
                importer = accounts[ADMIN_IMPORTER]
                plan = plan_import(rows, importer, only_faculty=None)
            assert plan.ok, plan.problems
            apply_import(plan, importer)
            db.session.commit()
            second = export_file(owner() if scope == "faculty" else None, extension)
            assert comparable(second, extension) == comparable(first, extension), (
                scope,
                extension,
            )
            db.session.remove()
