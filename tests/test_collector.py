"""The cycle collector pause around an import: nests, and gives back the state it found."""

from __future__ import annotations

import gc

from portal.collector import collector_paused


def test_the_pause_nests_and_the_collector_comes_back():
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the inner block's end is not the outer one's
    assert gc.isenabled()


def test_the_collector_comes_back_after_an_error():
    try:
        with collector_paused():
            raise RuntimeError("the import failed")
    except RuntimeError:
        pass
    assert gc.isenabled()


def test_a_collector_turned_off_by_someone_else_stays_off():
    gc.disable()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def _collector_when_called(monkeypatch, module, name: str) -> list[bool]:
    """Whether the collector ran each time `module` called its function `name` (a step of the
    import, after the one before it ended)."""
    seen: list[bool] = []
    step = getattr(module, name)

    def spy(*arguments, **options):
        seen.append(gc.isenabled())
        return step(*arguments, **options)

    monkeypatch.setattr(module, name, spy)
    return seen


def test_an_imports_pages_pause_the_collector_from_the_upload_to_the_last_write(
    monkeypatch, faculty_client
):
    """One pause around the whole import: resumed between its steps, the collector would walk
    (and keep for a later full collection) everything the steps left alive."""
    from portal.roster import views
    from tests.test_roster_import import confirm, roster_csv, row, upload

    planned = _collector_when_called(monkeypatch, views, "plan_import")
    applied = _collector_when_called(monkeypatch, views, "apply_import")
    preview = upload(faculty_client, roster_csv(row("Paused Person")))
    assert preview.status_code == 200
    assert planned == [False]  # the upload page: read, then planned
    assert gc.isenabled()
    response = confirm(faculty_client, preview)
    assert response.status_code == 302
    assert planned == [False, False] and applied == [False]  # the confirm page
    assert gc.isenabled()


def test_the_import_command_pauses_the_collector_from_reading_to_the_last_write(
    monkeypatch, runner, faculty, tmp_path
):
    from portal.roster import cli
    from tests.test_roster_import import roster_csv, row

    planned = _collector_when_called(monkeypatch, cli, "plan_import")
    applied = _collector_when_called(monkeypatch, cli, "apply_import")
    path = tmp_path / "roster.csv"
    path.write_bytes(roster_csv(row("Paused Person")))
    result = runner.invoke(args=["import-roster", str(path), "--faculty", faculty.email])
    assert result.exit_code == 0, result.output
    assert planned == [False] and applied == [False]
    assert gc.isenabled()
