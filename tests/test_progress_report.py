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
from portal.milestones import sync_plan
from portal.models import DepartureReason, Milestone, MilestoneStatus, Position
from portal.tracking.progress import (
    OPEN_MILESTONE_COLUMNS,
    ProgressFilter,
    months_between,
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
    assert {row.student for row in physics_only.open_milestones} == {"P1", "P2"}
    with app.app_context():
        from portal.models import Program

        masters = db.session.scalar(select(Program.id).where(Program.name == "Master's Research"))
        db.session.remove()
    masters_only = _report(app, program_id=masters)
    assert [row.program for row in masters_only.completion] == ["Master's Research"]
    assert [row.student for row in masters_only.past_duration] == ["P3"]


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
    report = _report(app)
    csv_response = admin_client.get("/admin/progress.csv?as_of=2026-06-30")
    assert csv_response.status_code == 200
    assert csv_response.headers["Content-Disposition"] == (
        "attachment; filename=open-milestones-2026-06-30.csv"
    )
    rows = list(csv.reader(io.StringIO(csv_response.get_data(as_text=True).lstrip("\ufeff"))))
    assert tuple(rows[0]) == OPEN_MILESTONE_COLUMNS
    assert len(rows) - 1 == len(report.open_milestones)  # one row per open milestone
    p1_submission = next(r for r in rows if r[0] == "P1" and r[2] == "Thesis submission")
    assert p1_submission[3:7] == ["2026-01-15", "overdue", "166", "Prof. Physics"]
    xlsx = admin_client.get("/admin/progress.xlsx?as_of=2026-06-30")
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    assert sheet.max_row - 1 == len(report.open_milestones)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("as_of=2026-13-01", "is not a date"),
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
