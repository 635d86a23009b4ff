"""Command-line interface: `flask --app portal create-user|demo|...`."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from portal import demo
from portal.auth.operations import AccountError, create_user
from portal.auth.queries import find_user_by_email
from portal.auth.tokens import TokenError, create_token
from portal.extensions import db
from portal.roster import cli as roster_cli
from portal.tracking import cli as tracking_cli


def register(app: Flask) -> None:
    app.cli.add_command(create_user_command)
    app.cli.add_command(demo_command)
    app.cli.add_command(create_token_command)
    roster_cli.register(app)
    tracking_cli.register(app)


@click.command("create-user")
@click.argument("email")
@click.option("--name", required=True, help="Display name, e.g. 'Prof. Ada Lovelace'.")
@click.option("--admin", is_flag=True, help="Give the account administrator rights.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
def create_user_command(email: str, name: str, admin: bool, password_stdin: bool) -> None:
    """Create a login account (faculty member, or administrator with --admin)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = create_user(email, name, password, is_admin=admin)
    except AccountError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from error
    db.session.commit()
    kind = "administrator" if user.is_admin else "faculty member"
    click.echo(f"Created {kind} {user.display_name} <{user.email}>.")


@click.command("demo")
@click.option(
    "--if-empty",
    is_flag=True,
    help="Do nothing (but print the demo logins) when the database already has data.",
)
@with_appcontext
def demo_command(if_empty: bool) -> None:
    """Load the demo research group into an empty database and print the demo logins."""
    logins_file = Path(current_app.instance_path) / "demo-logins.txt"
    if not demo.database_is_empty():
        if if_empty:
            if logins_file.exists():
                click.echo(logins_file.read_text(encoding="utf-8"))
            return
        raise click.ClickException(
            "The database already has accounts or people; `demo` only loads into an empty database."
        )
    logins = demo.load_demo_data()
    db.session.commit()
    text = demo.format_logins(logins)
    logins_file.parent.mkdir(parents=True, exist_ok=True)
    logins_file.write_text(text, encoding="utf-8")
    logins_file.chmod(0o600)
    click.echo(text)


@click.command("create-token")
@click.argument("email")
@click.option(
    "--scope", type=click.Choice(["read", "write"]), required=True, help="read, or read and write."
)
@click.option(
    "--expires-days", type=int, default=None, help="Days until it expires (default: never)."
)
@click.option("--name", default=None, help="A label to tell tokens apart, e.g. 'SIS sync'.")
@with_appcontext
def create_token_command(
    email: str, scope: str, expires_days: int | None, name: str | None
) -> None:
    """Create a personal API token for the account EMAIL and print it (once: it is kept hashed)."""
    user = find_user_by_email(email)
    if user is None:
        raise click.ClickException(f"There is no account with the email {email!r}.")
    try:
        new = create_token(None, user, scope, name=name or "CLI", expires_days=expires_days)
    except TokenError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from error
    db.session.commit()
    expiry = new.token.expires_at.date().isoformat() if new.token.expires_at else "never"
    click.echo(
        f"Token for {user.email} (scope {scope}, expires {expiry}); it is shown only once:",
        err=True,
    )
    click.echo(new.secret)
