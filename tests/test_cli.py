"""The command line: create-user and demo."""

import pytest
from sqlalchemy import func, select

from portal.demo import CURRENT_GROUP
from portal.extensions import db
from portal.models import Position, Supervision, SupervisionRole, User
from tests.conftest import login_client


def _count(app, model):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_create_user_from_stdin_then_log_in(app, runner):
    result = runner.invoke(
        args=["create-user", "Ada@Example.org", "--name", "Prof. Ada Lovelace", "--password-stdin"],
        input="a long enough passphrase\n",
    )
    assert result.exit_code == 0, result.output
    assert "Created faculty member Prof. Ada Lovelace <ada@example.org>" in result.output
    client = app.test_client()
    response = client.post(
        "/login", data={"email": "ada@example.org", "password": "a long enough passphrase"}
    )
    assert response.status_code == 302


def test_create_admin_with_prompted_password(app, runner):
    result = runner.invoke(
        args=["create-user", "office@example.org", "--name", "Office", "--admin"],
        input="another good passphrase\nanother good passphrase\n",
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalar(select(User.is_admin).where(User.email == "office@example.org"))


def test_create_user_refuses_duplicates_and_weak_passwords(app, runner, faculty):
    duplicate = runner.invoke(
        args=["create-user", "FACULTY@example.org", "--name", "Twin", "--password-stdin"],
        input="a long enough passphrase\n",
    )
    assert duplicate.exit_code != 0
    assert "already exists" in duplicate.output
    weak = runner.invoke(
        args=["create-user", "new@example.org", "--name", "New", "--password-stdin"],
        input="short\n",
    )
    assert weak.exit_code != 0
    assert "at least 12 characters" in weak.output
    bad_email = runner.invoke(
        args=["create-user", "not-an-email", "--name", "New", "--password-stdin"],
        input="a long enough passphrase\n",
    )
    assert bad_email.exit_code != 0
    assert "not a valid email" in bad_email.output
    assert _count(app, User) == 1


@pytest.mark.parametrize(
    "name",
    [
        "Bad\x1bName\x07",  # escape and bell
        "Caf\udce9",  # a byte that is not UTF-8 in the shell's argument (surrogateescape)
        "Two\nLines",
    ],
)
def test_create_user_refuses_a_name_no_text_holds(app, runner, name):
    result = runner.invoke(
        args=["create-user", "new@example.org", "--name", name, "--password-stdin"],
        input="a long enough passphrase\n",
    )
    assert result.exit_code == 1
    assert "The display name cannot contain control characters." in result.output
    assert _count(app, User) == 0


def test_create_token_refuses_a_name_no_text_holds(app, runner, faculty):
    result = runner.invoke(
        args=["create-token", faculty.email, "--scope", "read", "--name", "SIS\udce9"]
    )
    assert result.exit_code == 1
    assert "The name cannot contain control characters." in result.output


def test_export_roster_says_when_it_cannot_write_or_the_email_is_empty(runner, tmp_path):
    unwritable = runner.invoke(
        args=["export-roster", "-o", str(tmp_path / "no-such-folder" / "roster.csv")]
    )
    assert unwritable.exit_code == 1
    assert "Cannot write" in unwritable.output and "No such file or directory" in unwritable.output
    empty = runner.invoke(args=["export-roster", "--faculty", ""])
    assert empty.exit_code == 1
    assert "There is no account with the email ''." in empty.output


def test_demo_loads_an_institute_shaped_group(app, runner):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "helene.tremblay@demo.example.org" in result.output
    assert "grad-office@demo.example.org" in result.output
    with app.app_context():
        faculty = db.session.scalar(
            select(User).where(User.email == "helene.tremblay@demo.example.org")
        )
        roles = db.session.scalars(
            select(Supervision.role)
            .join(Supervision.position)
            .where(Supervision.supervisor_id == faculty.id, Position.end_date.is_(None))
        ).all()
        assert len(roles) == len(CURRENT_GROUP) == 30
        assert roles.count(SupervisionRole.PRINCIPAL) == 9
        assert roles.count(SupervisionRole.CO_SUPERVISOR) == 12
        assert roles.count(SupervisionRole.NONE) == 9
        admin = db.session.scalar(select(User).where(User.is_admin))
        assert admin.email == "grad-office@demo.example.org"
        faculty.email  # noqa: B018 - loaded while the session is open
    client = login_client(app.test_client(), faculty)
    page = client.get("/group").get_data(as_text=True)
    assert "30 current members" in page
    assert "Tomás O&#39;Donnell" in page
    assert "Université de Montréal" in page


def test_demo_refuses_a_database_with_data(app, runner, faculty):
    result = runner.invoke(args=["demo"])
    assert result.exit_code != 0
    assert "only loads into an empty database" in result.output
    assert _count(app, Position) == 0


def test_demo_if_empty_skips_quietly(app, runner, faculty):
    result = runner.invoke(args=["demo", "--if-empty"])
    assert result.exit_code == 0
    assert _count(app, Position) == 0
