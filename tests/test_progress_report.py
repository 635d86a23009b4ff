"""The administrators' progress page against a fixture whose figures were worked out by hand."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from portal.extensions import db
from portal.milestones import expected_end, is_past_expected_duration, sync_plan
from portal.models import (
    DepartureReason,
    DueState,
    Milestone,
    MilestoneStatus,
    Person,
    Position,
    Program,
    Supervision,
    SupervisionRole,
    SupervisionState,
)
from portal.tracking.progress import (
    OPEN_MILESTONE_COLUMNS,
    ProgressFilter,
    months_between,
    open_milestones,
    progress_report,
)

AS_OF = date(2026, 6, 30)
GRADUATED = DepartureReason.GRADUATED
LEFT = DepartureReason.LEFT_WITHOUT_DEGREE


@pytest.mark.parametrize(
    ("start", "end", "months"),
    [
        (date(2019, 9, 1), date(2024, 8, 31), 59),
        (date(2019, 9, 1), date(2024, 9, 1), 60),
        (date(2024, 1, 31), date(2024, 2, 29), 1),
        (date(2024, 1, 31), date(2024, 2, 28), 0),
        (date(2026, 1, 31), date(2026, 6, 30), 5),
    ],
)
def test_months_between_counts_whole_months(start, end, months):
    assert months_between(start, end) == months


@pytest.fixture
def fixture(app, make_faculty, make_member):
    """Physics supervises everyone but one master's graduate, who is Chemistry's.

    PhD alumni of 2021-06-30 .. 2026-06-29: graduated after 59, 65 and 66 months, one left
    without a degree (median 65, completion 3/4 = 75.0 %); a transfer, an older graduate, an
    archived graduate and one ending on the day itself do not count.
    Master's: graduated after 23 (Physics) and 25 months (Chemistry): median 24.0, 100.0 %.
    Current: "Today" (still current on its last day, 5 months over), a PhD from 2021-01-15 (expected end 2026-01-15, 5 months over) with three
    overdue milestones; a PhD from 2021-06-30 (ends on the day: not over); a master's from
    2024-01-31 (expected end 2026-01-31, 5 months over).
    """
    physics = make_faculty("phys@example.org", "Prof. Physics", department="Physics")
    chemistry = make_faculty("chem@example.org", "Prof. Chemistry", department="Chemistry")

    def alumni(name, program, start, end, reason, faculty=physics, **fields):
        make_member(
            faculty,
            name,
            program=program,
            start_date=start,
            end_date=end,
            departure_reason=reason,
            **fields,
        )

    alumni("G1", "PhD", date(2019, 9, 1), date(2024, 8, 31), GRADUATED)
    alumni("G2", "PhD", date(2018, 1, 15), date(2023, 7, 14), GRADUATED)
    alumni("G3", "PhD", date(2020, 9, 1), date(2026, 3, 1), GRADUATED)
    alumni("L1", "PhD", date(2021, 1, 1), date(2022, 6, 30), LEFT)
    alumni("T1", "PhD", date(2021, 1, 1), date(2023, 6, 30), DepartureReason.TRANSFERRED)
    alumni("Old", "PhD", date(2015, 1, 1), date(2021, 6, 29), GRADUATED)
    alumni(
        "Archived",
        "PhD",
        date(2018, 1, 1),
        date(2024, 1, 1),
        GRADUATED,
        archived_at=datetime(2025, 1, 1, tzinfo=UTC),
    )
    alumni("Today", "PhD", date(2021, 1, 1), AS_OF, GRADUATED)
    alumni("M1", "Master's Research", date(2022, 9, 1), date(2024, 8, 31), GRADUATED)
    alumni("M2", "Master's Research", date(2023, 1, 10), date(2025, 3, 9), GRADUATED, chemistry)
    p1 = make_member(physics, "P1", start_date=date(2021, 1, 15))
    p2 = make_member(physics, "P2", start_date=date(2021, 6, 30))
    p3 = make_member(chemistry, "P3", program="Master's Research", start_date=date(2024, 1, 31))
    with app.app_context():
        for position_id in (p1.id, p2.id, p3.id):
            sync_plan(db.session.get(Position, position_id), AS_OF)
        research_plan = db.session.scalar(
            select(Milestone).where(
                Milestone.position_id == p1.id, Milestone.name_en == "Research plan"
            )
        )
        research_plan.status = MilestoneStatus.DONE
        research_plan.done_on = date(2022, 1, 10)
        db.session.commit()
        db.session.remove()
    return physics, chemistry


def _report(app, **wanted):
    with app.app_context():
        report = progress_report(ProgressFilter(as_of=AS_OF, **wanted))
        db.session.remove()
    return report


@pytest.mark.both_backends
def test_completion_by_program(app, fixture):
    report = _report(app)
    figures = {
        row.program: (
            row.graduated,
            row.left_without_degree,
            row.completion_rate,
            row.median_months,
        )
        for row in report.completion
    }
    assert figures == {
        "PhD": (3, 1, Decimal("75.0"), Decimal("65.0")),
        "Master's Research": (2, 0, Decimal("100.0"), Decimal("24.0")),
    }


@pytest.mark.both_backends
def test_students_past_expected_duration_and_overdue_milestones(app, fixture):
    report = _report(app)
    # "Today" is still current on its last day, and past its 60 months.
    assert [(row.student, row.expected_end, row.months_over) for row in report.past_duration] == [
        ("Today", date(2026, 1, 1), 5),
        ("P1", date(2026, 1, 15), 5),
        ("P3", date(2026, 1, 31), 5),
    ]
    overdue = sorted((row.student, row.name_en, row.due_date) for row in report.overdue)
    assert ("P1", "Qualifying exam", date(2023, 1, 15)) in overdue
    assert ("P1", "Thesis proposal", date(2023, 7, 15)) in overdue
    assert ("P1", "Thesis submission", date(2026, 1, 15)) in overdue
    assert ("P1", "Research plan", date(2022, 1, 15)) not in overdue  # done
    assert ("P3", "Thesis submission", date(2026, 1, 31)) in overdue
    assert [row for row in overdue if row[0] == "P2"] == [
        ("P2", "Qualifying exam", date(2023, 6, 30)),
        ("P2", "Research plan", date(2022, 6, 30)),
        ("P2", "Thesis proposal", date(2023, 12, 30)),
    ]


@pytest.mark.both_backends
def test_filters_by_department_and_program(app, fixture):
    physics_only = _report(app, department="Physics")
    figures = {row.program: (row.graduated, row.median_months) for row in physics_only.completion}
    assert figures == {"PhD": (3, Decimal("65.0")), "Master's Research": (1, Decimal("23.0"))}
    assert [row.student for row in physics_only.past_duration] == ["Today", "P1"]
    with app.app_context():
        physics_open = open_milestones(ProgressFilter(as_of=AS_OF, department="Physics"))
        db.session.remove()
    assert {row.student for row in physics_open} == {"P1", "P2"}
    assert physics_only.open_count == len(physics_open)
    with app.app_context():
        masters = db.session.scalar(select(Program.id).where(Program.name == "Master's Research"))
        db.session.remove()
    masters_only = _report(app, program_id=masters)
    assert [row.program for row in masters_only.completion] == ["Master's Research"]
    assert [row.student for row in masters_only.past_duration] == ["P3"]


@pytest.mark.both_backends
@pytest.mark.parametrize("state", [SupervisionState.PROPOSED, SupervisionState.DECLINED])
def test_a_link_not_agreed_counts_in_no_department_and_names_no_supervisor(
    app, fixture, admin_client, state
):
    """A Physics colleague proposed (or declined) on Chemistry's student: the student is not
    Physics', and the proposal's name is not among the student's supervisors."""
    physics, _chemistry = fixture
    with app.app_context():
        p3 = db.session.scalar(select(Position).join(Person).where(Person.full_name == "P3"))
        p3.supervisions.append(
            Supervision(
                supervisor_id=physics.id,
                role=SupervisionRole.CO_SUPERVISOR,
                share=0,
                state=state,
                proposed_by_id=physics.id,
            )
        )
        db.session.commit()
        db.session.remove()
    physics_only = _report(app, department="Physics")
    assert [row.student for row in physics_only.past_duration] == ["Today", "P1"]
    everyone = _report(app)
    [p3_row] = [row for row in everyone.past_duration if row.student == "P3"]
    assert "Prof. Physics" not in str(p3_row)
    csv_text = admin_client.get(f"/admin/progress.csv?as_of={AS_OF.isoformat()}").get_data(
        as_text=True
    )
    assert "Prof. Physics" not in next(line for line in csv_text.splitlines() if "P3" in line)


def test_progress_page_csv_and_xlsx(app, fixture, admin_client):
    page = admin_client.get("/admin/progress?as_of=2026-06-30")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "75.0 %" in text and "65.0" in text and "24.0" in text
    assert "<svg" in text and "progress-chart-title" in text
    # The chart's template draws one bar per program, 75 % of the bar for PhD, with its words.
    chart = text[text.index("<svg") : text.index("</svg>")]
    assert chart.count("<g>") == len(_report(app).completion)
    assert 'width="225.0"' in chart and "75.0 %; median 65.0 months" in chart
    open_count = _report(app).open_count
    csv_response = admin_client.get("/admin/progress.csv?as_of=2026-06-30")
    assert csv_response.status_code == 200
    assert csv_response.headers["Content-Disposition"] == (
        "attachment; filename=open-milestones-2026-06-30.csv"
    )
    rows = list(csv.reader(io.StringIO(csv_response.get_data(as_text=True).lstrip("\ufeff"))))
    assert tuple(rows[0]) == OPEN_MILESTONE_COLUMNS
    assert len(rows) - 1 == open_count  # one row per open milestone
    p1_submission = next(r for r in rows if r[0] == "P1" and r[2] == "Thesis submission")
    assert p1_submission[3:7] == ["2026-01-15", "overdue", "166", "Prof. Physics"]
    xlsx = admin_client.get("/admin/progress.xlsx?as_of=2026-06-30")
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    assert sheet.max_row - 1 == open_count


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("as_of=2026-13-01", "is not a date"),
        # Year 6: the expected durations' cut-off days fell before year 1 (a 500 before).
        ("as_of=0006-01-01", "Enter a date between 1950-01-01 and 2100-12-31."),
        ("as_of=2101-01-01", "Enter a date between 1950-01-01 and 2100-12-31."),
        ("program=abc", "Choose a program from the list."),
        ("program=99999", "Choose a program from the list."),
    ],
)
def test_bad_filters_are_refused(admin_client, query, message):
    page = admin_client.get(f"/admin/progress?{query}")
    assert page.status_code == 400
    assert message in page.get_data(as_text=True)
    export = admin_client.get(f"/admin/progress.csv?{query}")
    assert export.status_code == 400
    assert message in export.get_data(as_text=True)


def test_only_administrators_see_progress(faculty_client):
    for url in ("/admin/progress", "/admin/progress.csv", "/admin/progress.xlsx"):
        assert faculty_client.get(url).status_code == 403


def test_download_links_keep_the_filter_and_drop_stray_keys(fixture, admin_client):
    page = admin_client.get("/admin/progress?as_of=2026-06-30&department=Physics&endpoint=x&q=1")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    links = re.findall(r'href="(/admin/progress\.(?:csv|xlsx)[^"]*)"', text)
    assert links == [
        "/admin/progress.csv?as_of=2026-06-30&amp;department=Physics",
        "/admin/progress.xlsx?as_of=2026-06-30&amp;department=Physics",
    ]


def test_the_completion_chart_template_escapes_every_text(app):
    from flask import render_template

    from portal.tracking.progress import CompletionBar, CompletionChart

    chart = CompletionChart(
        title="<title>",
        width=740,
        height=30,
        bars=[CompletionBar(0, "R&D <script>", "<desc>", "0.0", "<note>")],
    )
    with app.test_request_context():
        svg = render_template("tracking/_completion_chart.svg", chart=chart)
    assert "<script>" not in svg and "<desc>" not in svg and "<note>" not in svg
    assert "R&amp;D &lt;script&gt;" in svg and "&lt;title&gt;" in svg


# ---------------------------------------------------------------------------------------------
# The page reads only what it shows: the database counts the open milestones, picks the overdue
# ones and the students past their duration. Each is checked against the Python rule.

EXPORT_ON_AS_OF = """\
student,program,milestone,due_date,status,days_overdue,supervisors,start_date,expected_end
P2,PhD,Research plan,2022-06-30,overdue,1461,Prof. Physics,2021-06-30,2026-06-30
P1,PhD,Qualifying exam,2023-01-15,overdue,1262,Prof. Physics,2021-01-15,2026-01-15
P2,PhD,Qualifying exam,2023-06-30,overdue,1096,Prof. Physics,2021-06-30,2026-06-30
P1,PhD,Thesis proposal,2023-07-15,overdue,1081,Prof. Physics,2021-01-15,2026-01-15
P2,PhD,Thesis proposal,2023-12-30,overdue,913,Prof. Physics,2021-06-30,2026-06-30
P3,Master's Research,Research plan,2024-07-31,overdue,699,Prof. Chemistry,2024-01-31,2026-01-31
P1,PhD,Thesis submission,2026-01-15,overdue,166,Prof. Physics,2021-01-15,2026-01-15
P3,Master's Research,Thesis submission,2026-01-31,overdue,150,Prof. Chemistry,2024-01-31,2026-01-31
P2,PhD,Progress report,2026-06-30,due-soon,,Prof. Physics,2021-06-30,2026-06-30
P2,PhD,Thesis submission,2026-06-30,due-soon,,Prof. Physics,2021-06-30,2026-06-30
P1,PhD,Progress report,2027-01-15,upcoming,,Prof. Physics,2021-01-15,2026-01-15
P3,Master's Research,Progress report,2027-01-31,upcoming,,Prof. Chemistry,2024-01-31,2026-01-31
P1,PhD,Defense,,upcoming,,Prof. Physics,2021-01-15,2026-01-15
P2,PhD,Defense,,upcoming,,Prof. Physics,2021-06-30,2026-06-30
"""


def _program_id(app, name: str) -> int:
    with app.app_context():
        program_id = db.session.scalar(select(Program.id).where(Program.name == name))
        db.session.remove()
    return program_id


def _filters(app) -> list[dict]:
    masters = _program_id(app, "Master's Research")
    return [
        {},
        {"department": "Physics"},
        {"department": "Chemistry"},
        {"program_id": masters},
        {"department": "Physics", "program_id": masters},
    ]


@pytest.mark.both_backends
@pytest.mark.parametrize(
    "as_of",
    # On a due date the milestone is not overdue yet, the day after it is; before the start of
    # a position it is not current.
    [AS_OF, date(2026, 1, 15), date(2026, 1, 16), date(2023, 1, 15), date(2021, 1, 14)],
)
def test_counts_and_overdue_rows_match_the_open_milestones(app, fixture, as_of):
    for wanted in _filters(app):
        with app.app_context():
            report = progress_report(ProgressFilter(as_of=as_of, **wanted))
            every_open = open_milestones(ProgressFilter(as_of=as_of, **wanted))
            db.session.remove()
        assert report.open_count == len(every_open), wanted
        assert report.overdue == [row for row in every_open if row.state == DueState.OVERDUE]


# Start days around month ends and 29 February, for 24- and 60-month programs.
TRICKY_STARTS = [
    date.fromisoformat(day)
    for day in [
        "2020-02-28",
        "2020-02-29",
        "2020-03-01",
        "2021-02-28",
        "2021-03-01",
        "2021-03-30",
        "2021-03-31",
        "2021-04-01",
        "2023-12-31",
        "2024-01-29",
        "2024-01-30",
        "2024-01-31",
        "2024-02-28",
        "2024-02-29",
        "2024-03-01",
    ]
]
# Days asked for: month ends, the days after them, 28 and 29 February.
TRICKY_DAYS = [
    date.fromisoformat(day)
    for day in [
        "2025-02-28",
        "2025-03-01",
        "2026-01-31",
        "2026-02-28",
        "2026-03-01",
        "2026-03-02",
        "2026-03-30",
        "2026-03-31",
        "2026-04-01",
        "2028-02-28",
        "2028-02-29",
        "2028-03-01",
    ]
]


@pytest.mark.both_backends
def test_past_expected_duration_matches_the_python_rule_on_tricky_dates(
    app, make_faculty, make_member
):
    faculty = make_faculty("dates@example.org", "Prof. Dates", department="Dates")
    for program in ("PhD", "Master's Research"):
        for start in TRICKY_STARTS:
            make_member(faculty, f"{program} {start}", program=program, start_date=start)
    with app.app_context():
        months = {
            name: db.session.scalar(
                select(Program.expected_duration_months).where(Program.name == name)
            )
            for name in ("PhD", "Master's Research")
        }
        for day in TRICKY_DAYS:
            report = progress_report(ProgressFilter(as_of=day))
            expected = [
                (f"{program} {start}", start, expected_end(start, months[program]))
                for start in TRICKY_STARTS
                for program in ("PhD", "Master's Research")
                if start <= day and is_past_expected_duration(start, months[program], day)
            ]
            found = [
                (row.student, row.start_date, row.expected_end) for row in report.past_duration
            ]
            assert found == sorted(expected, key=lambda row: (row[1], row[0])), day
            assert all(day > row.expected_end for row in report.past_duration)
        db.session.remove()


@pytest.mark.both_backends
def test_the_report_runs_a_fixed_number_of_statements(app, fixture, make_member, query_counter):
    def statements_for_report(as_of: date = AS_OF) -> int:
        with query_counter() as statements, app.app_context():
            progress_report(ProgressFilter(as_of=as_of))
            db.session.remove()
        # SQLite's session also sends its BEGIN through the cursor; count the reads.
        return sum(statement.lstrip().startswith("SELECT") for statement in statements)

    # Expected durations, open count, overdue milestones, past duration, supervisors, completion;
    # the same when nothing is overdue or past its duration.
    assert statements_for_report() == 6
    assert statements_for_report(date(2021, 1, 1)) == 6
    physics, _chemistry = fixture
    for number in range(10):
        member = make_member(physics, f"More {number}", start_date=date(2020, 1, number + 1))
        with app.app_context():
            sync_plan(db.session.get(Position, member.id), AS_OF)
            db.session.commit()
            db.session.remove()
    assert statements_for_report() == 6


def test_the_exports_list_every_open_milestone_as_before(app, fixture, admin_client):
    body = admin_client.get("/admin/progress.csv?as_of=2026-06-30").get_data(as_text=True)
    assert body.lstrip("\ufeff").replace("\r\n", "\n") == EXPORT_ON_AS_OF
    sheet = load_workbook(
        io.BytesIO(admin_client.get("/admin/progress.xlsx?as_of=2026-06-30").data)
    )
    cells = [
        ["" if value is None else str(value).removesuffix(" 00:00:00") for value in row]
        for row in sheet.active.iter_rows(values_only=True)
    ]
    assert cells == list(csv.reader(io.StringIO(EXPORT_ON_AS_OF)))
    physics = admin_client.get("/admin/progress.csv?as_of=2026-06-30&department=Physics")
    lines = physics.get_data(as_text=True).lstrip("\ufeff").replace("\r\n", "\n").splitlines()
    assert lines == [line for line in EXPORT_ON_AS_OF.splitlines() if "Prof. Chemistry" not in line]
