"""The institution's branding: settings at /admin/branding, shown on every page; the colour rule."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from portal import create_app
from portal.branding import (
    DEFAULT_ACCENT,
    WCAG_AA_TEXT,
    ColourError,
    accent_contrast,
    check_accent_colour,
    contrast_ratio,
    normalise_colour,
    passing_shade,
)
from portal.extensions import db
from portal.models import AuditEvent, Branding, StoredImage
from tests.conftest import app_config, login_client
from tests.image_files import NOT_AN_IMAGE, SVG, jpeg_with_gps, metadata_of, picture, png_bomb


def post_branding(client, name="Institut de recherche en IA", colour="#0b6e4f", logo=None, **extra):
    data = {"display_name": name, "accent_colour": colour, **extra}
    if logo is not None:
        data["logo"] = (io.BytesIO(logo[0]), logo[1], logo[2])
    return client.post("/admin/branding", data=data, content_type="multipart/form-data")


def saved_branding(app) -> dict | None:
    with app.app_context():
        row = db.session.get(Branding, 1)
        if row is None:
            return None
        return {
            "display_name": row.display_name,
            "accent_colour": row.accent_colour,
            "logo": row.logo.digest if row.logo else None,
        }


def image_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(StoredImage.id)))


# ---------------------------------------------------------------------------------------------
# The colour rule.


def test_contrast_ratio_matches_wcag():
    assert contrast_ratio("#ffffff", "#000000") == pytest.approx(21.0)
    assert contrast_ratio("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    assert accent_contrast(DEFAULT_ACCENT) >= WCAG_AA_TEXT


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("#1F5FA8", "#1f5fa8"),
        ("1f5fa8", "#1f5fa8"),
        (" #15a ", "#1155aa"),
        ("red", None),
        ("#12345g", None),
        ("#1234567", None),
        ("rgb(0,0,0)", None),
        ("", None),
    ],
)
def test_colours_are_normalised_or_refused(text, expected):
    assert normalise_colour(text) == expected


@pytest.mark.parametrize("colour", ["#ffcc00", "#ffffff", "#1f9fff", "#e0e0e0"])
def test_a_light_colour_is_refused_with_a_darker_shade_that_passes(colour):
    with pytest.raises(ColourError) as refused:
        check_accent_colour(colour)
    shade = passing_shade(colour)
    assert accent_contrast(shade) >= WCAG_AA_TEXT
    assert shade in str(refused.value) and "4.5:1" in str(refused.value)
    assert check_accent_colour(shade) == shade


# ---------------------------------------------------------------------------------------------
# The settings page.


def test_defaults_before_anything_is_saved(client):
    page = client.get("/login").get_data(as_text=True)
    assert '<span class="brand__name">Research Group Portal</span>' in page
    assert "brand__logo" not in page
    css = client.get("/branding.css")
    assert css.status_code == 200 and css.mimetype == "text/css"
    assert f"--accent: {DEFAULT_ACCENT};" in css.get_data(as_text=True)


@pytest.mark.both_backends
def test_admin_sets_name_colour_and_logo_shown_on_every_page(
    app, client, admin_client, faculty_client
):
    response = post_branding(
        admin_client, colour="#0B6E4F", logo=(picture("PNG", (900, 300)), "logo.png", "image/png")
    )
    assert response.status_code == 302
    assert "Branding saved." in admin_client.get("/admin/branding").get_data(as_text=True)
    saved = saved_branding(app)
    assert saved["display_name"] == "Institut de recherche en IA"
    assert saved["accent_colour"] == "#0b6e4f"
    logo_url = f"/branding/logo?v={saved['logo']}"
    for who, path in [(client, "/login"), (client, "/people"), (faculty_client, "/group")]:
        page = who.get(path).get_data(as_text=True)
        assert '<span class="brand__name">Institut de recherche en IA</span>' in page, path
        assert f'src="{logo_url}" alt=""' in page, path
        assert 'href="/branding.css?v=0b6e4f"' in page, path
    css = client.get("/branding.css?v=0b6e4f")
    assert "--accent: #0b6e4f;" in css.get_data(as_text=True)
    assert css.headers["Cache-Control"] == "public, max-age=86400"
    logo = client.get(logo_url)
    assert logo.status_code == 200
    assert logo.headers["Content-Type"] == "image/png"
    assert logo.headers["X-Content-Type-Options"] == "nosniff"
    assert logo.headers["Cache-Control"] == "public, max-age=86400"
    assert metadata_of(logo.data)["format"] == "PNG"
    with app.app_context():
        stored = db.session.scalar(select(StoredImage))
        assert (stored.width, stored.height) == (400, 133)
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "branding.update"))
    assert client.get("/branding/logo?v=old").status_code == 404


def test_saving_again_keeps_the_logo_and_remove_takes_it_away(app, admin_client):
    post_branding(admin_client, logo=(picture(), "logo.jpg", "image/jpeg"))
    logo = saved_branding(app)["logo"]
    assert post_branding(admin_client, name="Other name").status_code == 302
    assert saved_branding(app)["logo"] == logo
    assert post_branding(admin_client, remove_logo="y").status_code == 302
    assert saved_branding(app)["logo"] is None
    assert image_count(app) == 0


def test_logo_is_stripped_of_metadata(app, admin_client):
    assert (
        post_branding(admin_client, logo=(jpeg_with_gps(), "logo.jpg", "image/jpeg")).status_code
        == 302
    )
    with app.app_context():
        data = db.session.scalar(select(StoredImage.data))
    assert metadata_of(data)["exif"] == {} and b"PortalTestCamera" not in data


def test_empty_fields_bring_the_defaults_back(app, client, admin_client):
    post_branding(admin_client)
    assert post_branding(admin_client, name="  ", colour="").status_code == 302
    assert saved_branding(app) == {"display_name": None, "accent_colour": None, "logo": None}
    assert f"--accent: {DEFAULT_ACCENT};" in client.get("/branding.css").get_data(as_text=True)


@pytest.mark.both_backends
@pytest.mark.parametrize(
    ("fields", "status", "message"),
    [
        ({"colour": "red"}, 400, "“red” is not a colour. Enter a hex colour"),
        ({"colour": "#12345g"}, 400, "is not a colour"),
        ({"colour": "#ffcc00"}, 400, "#ffcc00 is too light"),
        ({"colour": "#fff"}, 400, "WCAG AA needs at least 4.5:1"),
        ({"name": "N" * 201}, 400, "at most 200 characters"),
        ({"logo": (SVG, "logo.svg", "image/svg+xml")}, 415, "SVG included"),
        ({"logo": (NOT_AN_IMAGE, "logo.png", "image/png")}, 415, "is not a JPEG, PNG or WebP"),
        ({"logo": (png_bomb(20_000, 20_000), "logo.png", "image/png")}, 413, "pixels"),
        (
            {"logo": (b"\x00" * (4 * 1024 * 1024 + 10), "logo.jpg", "image/jpeg")},
            413,
            "larger than",
        ),
    ],
    ids=["word", "bad-hex", "too-light", "white", "long-name", "svg", "not-image", "bomb", "huge"],
)
def test_bad_settings_are_refused_and_nothing_is_written(
    app, admin_client, fields, status, message
):
    post_branding(admin_client)  # something saved before
    before = saved_branding(app)
    response = post_branding(admin_client, **fields)
    assert response.status_code == status
    page = response.get_data(as_text=True)
    assert message in page
    assert 'aria-invalid="true"' in page
    assert saved_branding(app) == before
    assert image_count(app) == 0


@pytest.mark.both_backends
def test_a_faculty_member_cannot_change_the_branding(app, faculty_client, client):
    response = post_branding(faculty_client, logo=(picture(), "logo.jpg", "image/jpeg"))
    assert response.status_code == 403
    assert "You do not have permission" in response.get_data(as_text=True)
    assert faculty_client.get("/admin/branding").status_code == 403
    assert saved_branding(app) is None and image_count(app) == 0
    assert post_branding(client).status_code == 302  # anonymous: to the login page
    assert saved_branding(app) is None


def test_settings_page_is_listed_in_the_administration_menu(admin_client):
    page = admin_client.get("/admin/branding").get_data(as_text=True)
    assert 'href="/admin/branding" aria-current="page">Branding</a>' in page
    assert 'name="accent_colour"' in page and 'type="file"' in page


# ---------------------------------------------------------------------------------------------
# Read on every page, never a stale copy: several processes serve the pages.


@pytest.mark.both_backends
def test_a_change_made_in_another_process_shows_on_the_next_request(
    app, database_url, tmp_path, admin, faculty, faculty_client
):
    """Gunicorn's workers are separate processes: a second app on the same database stands for
    the worker that served the administrator's change."""
    before = faculty_client.get("/group").get_data(as_text=True)
    assert "Institut de recherche en IA" not in before
    assert f'href="/branding.css?v={DEFAULT_ACCENT.lstrip("#")}"' in before
    other_worker = create_app(app_config(database_url), instance_path=str(tmp_path / "other"))
    response = post_branding(login_client(other_worker.test_client(), admin), colour="#0b6e4f")
    assert response.status_code == 302
    for path in ("/group", "/group/alumni", "/people/profile"):
        page = faculty_client.get(path).get_data(as_text=True)
        assert '<span class="brand__name">Institut de recherche en IA</span>' in page, path
        assert 'href="/branding.css?v=0b6e4f"' in page, path
    with other_worker.app_context():
        db.engine.dispose()


def test_a_logged_in_page_reads_the_branding_with_the_user(faculty_client, query_counter):
    """No query of its own: the branding rides along in the session user's query."""
    faculty_client.get("/group")
    with query_counter() as statements:
        page = faculty_client.get("/group")
    assert page.status_code == 200
    branding_reads = [sql for sql in statements if "branding" in sql.lower()]
    assert len(branding_reads) == 1
    assert "FROM users LEFT OUTER JOIN (branding" in branding_reads[0]
