"""Command line: `flask --app portal export-roster` and `import-roster`."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click
from flask import Flask
from flask.cli import with_appcontext

from portal.collector import collector_paused
from portal.extensions import db
from portal.roster.applying import apply_import
from portal.roster.planning import plan_import
from portal.roster.reading import RosterFileError, read_roster_file
from portal.roster.reports import (
    ReportError,
    RosterExport,
    RosterStatus,
    find_faculty,
    roster_file,
)


def register(app: Flask) -> None:
    """Add the roster commands to `flask`."""
    app.cli.add_command(export_roster_command)
    app.cli.add_command(import_roster_command)


@click.command("export-roster")
@click.option(
    "--faculty",
    "faculty_email",
    metavar="EMAIL",
    help="Only this faculty member's group (default: the whole institution).",
)
@click.option(
    "--status",
    type=click.Choice([status.value for status in RosterStatus]),
    default=RosterStatus.CURRENT.value,
    show_default=True,
)
@click.option(
    "--format",
    "file_format",
    type=click.Choice(["csv", "xlsx", "json"]),
    default="csv",
    show_default=True,
)
@click.option(
    "--with",
    "extra",
    type=click.Choice(["milestones"]),
    help="Add each position's next milestone and its status after the other columns.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file (default: standard output).",
)
@with_appcontext
def export_roster_command(
    faculty_email: str | None,
    status: str,
    file_format: str,
    extra: str | None,
    output: Path | None,
) -> None:
    """Export a roster (one row per supervision link) as CSV, XLSX or JSON."""
    try:
        faculty = find_faculty(faculty_email) if faculty_email is not None else None
    except ReportError as error:
        raise click.ClickException(str(error)) from error
    export = RosterExport(
        faculty, RosterStatus(status), date.today(), with_milestones=extra == "milestones"
    )
    chunks = roster_file(export, file_format)
    if output is None:
        stream = sys.stdout.buffer
        for chunk in chunks:
            stream.write(chunk)
        stream.flush()
        return
    try:
        with output.open("wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
    except OSError as error:
        raise click.ClickException(f"Cannot write {output}: {error.strerror}.") from None
    click.echo(f"Wrote {output}.", err=True)


@click.command("import-roster")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--faculty",
    "faculty_email",
    required=True,
    metavar="EMAIL",
    help="The faculty member whose group the rows go into.",
)
@click.option("--dry-run", is_flag=True, help="Check and show what would change; write nothing.")
@click.option(
    "--accept-over-cap",
    is_flag=True,
    help='Import even when it takes someone over a cap (the form\'s "Save anyway").',
)
@with_appcontext
@collector_paused()
def import_roster_command(
    file: Path, faculty_email: str, dry_run: bool, accept_over_cap: bool
) -> None:
    """Import a CSV, XLSX or JSON roster into a faculty member's group: all rows or none."""
    try:
        faculty = find_faculty(faculty_email)
        rows = read_roster_file(file.read_bytes(), file.name, max_bytes=None)
    except (ReportError, RosterFileError) as error:
        raise click.ClickException(str(error)) from error
    with click.progressbar(length=len(rows), label="Checking rows", file=sys.stderr) as bar:
        plan = plan_import(rows, faculty, only_faculty=faculty, progress=bar.update)
    if not plan.ok:
        db.session.rollback()
        for problem in plan.problems:
            where = f"line {problem.line}" + (f", {problem.column}" if problem.column else "")
            click.echo(f"{where}: {problem.message}", err=True)
        found = len(plan.problems)
        raise click.ClickException(
            f"{found} {'problem' if found == 1 else 'problems'} found; nothing was imported."
        )
    for warning in plan.cap_warnings:
        click.echo(f"over a cap: {warning}", err=True)
    if dry_run:
        db.session.rollback()
        click.echo(
            f"Dry run, nothing was written: the import would add {_people(plan.count('new'))}, "
            f"update {_people(plan.count('updated'))} and leave "
            f"{_people(plan.count('unchanged'))} as they are."
        )
        return
    if plan.cap_warnings and not accept_over_cap:
        db.session.rollback()
        raise click.ClickException(
            "The import takes someone over a cap; run again with --accept-over-cap to import."
        )
    with click.progressbar(length=len(plan.links), label="Importing", file=sys.stderr) as bar:
        # The command line has no logged-in user: audit events record no actor.
        summary = apply_import(plan, None, progress=bar.update)
    db.session.commit()
    click.echo(f"Imported into {faculty.email}'s group: {summary.describe()}")


def _people(count: int) -> str:
    return f"{count} {'person' if count == 1 else 'people'}"
