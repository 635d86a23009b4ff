"""Portraits: upload (checked by content, within budgets, stripped), serving, removal, and display."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import AuditEvent, StoredImage, User
from tests.conftest import login_client
from tests.image_files import NOT_AN_IMAGE, SVG, jpeg_with_gps, metadata_of, picture, png_bomb


def upload(client, data: bytes, filename: str = "portrait.jpg", content_type: str = "image/jpeg"):
    return client.post(
        "/profile/portrait",
        data={"portrait": (io.BytesIO(data), filename, content_type)},
        content_type="multipart/form-data",
    )


def stored_portrait(app, user) -> StoredImage | None:
    with app.app_context():
        row = db.session.get(User, user.id)
        image = row.portrait
        if image is None:
            return None
        db.session.refresh(image, ["data"])
        db.session.expunge(image)
        return image


def image_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(StoredImage.id)))


def publish(app, user, slug: str = "helene-faculty") -> None:
    with app.app_context():
        row = db.session.get(User, user.id)
        row.slug = slug
        row.profile_published = True
        db.session.commit()


@pytest.mark.both_backends
@pytest.mark.parametrize(
    ("fmt", "content_type", "mode"),
    [("JPEG", "image/jpeg", "RGB"), ("PNG", "image/png", "RGBA"), ("WEBP", "image/webp", "RGB")],
)
def test_upload_resizes_and_keeps_the_format(app, faculty, faculty_client, fmt, content_type, mode):
    response = upload(faculty_client, picture(fmt, (1600, 1200), mode), "me.bin", "text/plain")
    assert response.status_code == 302
    assert faculty_client.get("/profile").get_data(as_text=True).count("Your portrait was saved.")
    image = stored_portrait(app, faculty)
    assert image.content_type == content_type
    assert (image.width, image.height) == (800, 600)  # longest side 800, proportions kept
    with Image.open(io.BytesIO(image.data)) as decoded:
        assert decoded.format == fmt and decoded.size == (800, 600)
    with app.app_context():
        actions = db.session.scalars(select(AuditEvent.action)).all()
    assert "portrait.set" in actions


@pytest.mark.both_backends
def test_exif_gps_and_camera_details_are_stripped(app, faculty, faculty_client):
    original = jpeg_with_gps()
    assert metadata_of(original)["exif"], "the test picture must carry EXIF to begin with"
    assert b"PortalTestCamera" in original and b"secret comment" in original
    assert upload(faculty_client, original).status_code == 302
    stored = stored_portrait(app, faculty).data
    facts = metadata_of(stored)
    assert facts["exif"] == {}
    assert "exif" not in facts["info"] and "comment" not in facts["info"]
    assert b"Exif" not in stored and b"PortalTestCamera" not in stored
    assert b"secret comment" not in stored and b"GPS" not in stored


def test_replacing_a_portrait_deletes_the_old_picture(app, faculty, faculty_client):
    assert upload(faculty_client, picture()).status_code == 302
    first = stored_portrait(app, faculty)
    assert upload(faculty_client, picture("PNG", (300, 300))).status_code == 302
    second = stored_portrait(app, faculty)
    assert second.digest != first.digest
    assert image_count(app) == 1


@pytest.mark.parametrize(
    ("data", "filename", "content_type", "status", "message"),
    [
        (NOT_AN_IMAGE, "photo.jpg", "image/jpeg", 415, "is not a JPEG, PNG or WebP picture"),
        (SVG, "logo.svg", "image/svg+xml", 415, "SVG included"),
        (SVG, "disguised.png", "image/png", 415, "is not a JPEG, PNG or WebP picture"),
        (picture("GIF", (50, 50), "P"), "anim.gif", "image/gif", 415, "is not a JPEG, PNG"),
        (png_bomb(7_000, 7_000), "bomb.png", "image/png", 413, "more than 40,000,000 pixels"),
        (png_bomb(20_000, 20_000), "bomb.png", "image/png", 413, "more than 40,000,000 pixels"),
        (b"\xff" * (4 * 1024 * 1024 + 1), "huge.jpg", "image/jpeg", 413, "larger than 4.0 MB"),
        (picture()[: len(picture()) // 2], "cut.jpg", "image/jpeg", 400, "damaged or cut short"),
        (b"", "empty.jpg", "image/jpeg", 400, "Choose a JPEG, PNG or WebP picture"),
    ],
    ids=[
        "not-an-image",
        "svg",
        "svg-named-png",
        "gif",
        "bomb",
        "pillow-bomb",
        "huge",
        "cut",
        "empty",
    ],
)
def test_hostile_uploads_are_refused_with_a_message_and_nothing_stored(
    app, faculty, faculty_client, data, filename, content_type, status, message
):
    response = upload(faculty_client, data, filename, content_type)
    assert response.status_code == status
    page = response.get_data(as_text=True)
    assert message in page
    assert 'aria-invalid="true"' in page  # the message sits at the file field
    assert stored_portrait(app, faculty) is None
    assert image_count(app) == 0


def test_a_request_over_the_upload_limit_is_413_with_a_message(app, faculty, faculty_client):
    response = upload(faculty_client, b"\x00" * (6 * 1024 * 1024))
    assert response.status_code == 413
    assert "larger than the portal accepts" in response.get_data(as_text=True)
    assert image_count(app) == 0


def test_upload_without_a_file_asks_for_one(app, faculty, faculty_client):
    response = faculty_client.post("/profile/portrait", data={}, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "Choose a JPEG, PNG or WebP picture to upload." in response.get_data(as_text=True)


def test_refused_upload_keeps_the_profile_form_filled_in(app, faculty, faculty_client):
    with app.app_context():
        row = db.session.get(User, faculty.id)
        row.department = "Department of Physics"
        row.milestone_digest = True
        db.session.commit()
    page = upload(faculty_client, NOT_AN_IMAGE).get_data(as_text=True)
    assert 'value="Department of Physics"' in page
    digest_box = re.search(r'<input[^>]*id="milestone_digest"[^>]*>', page).group(0)
    assert "checked" in digest_box  # saving the profile next must not turn the digest off


@pytest.mark.both_backends
def test_published_portrait_is_served_with_type_cache_and_nosniff(
    app, client, faculty, faculty_client
):
    upload(faculty_client, picture("PNG", (400, 400)), "me.png", "image/png")
    publish(app, faculty)
    digest = stored_portrait(app, faculty).digest
    page = client.get("/people/helene-faculty").get_data(as_text=True)
    url = f"/people/helene-faculty/portrait?v={digest}"
    assert f'src="{url}" alt="Prof. Hélène Faculty"' in page
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "public, max-age=86400"
    assert response.headers["ETag"] == f'"{digest}"'
    assert response.headers["Content-Disposition"] == "inline"
    assert client.get(url, headers={"If-None-Match": f'"{digest}"'}).status_code == 304
    # The directory shows it too, with the name as its text.
    directory = client.get("/people").get_data(as_text=True)
    assert f'src="{url}" alt="Prof. Hélène Faculty"' in directory


def test_portrait_of_an_unpublished_profile_or_an_old_version_is_404(
    app, client, faculty, faculty_client
):
    upload(faculty_client, picture())
    digest = stored_portrait(app, faculty).digest
    with app.app_context():
        db.session.get(User, faculty.id).slug = "helene-faculty"
        db.session.commit()
    assert client.get(f"/people/helene-faculty/portrait?v={digest}").status_code == 404
    publish(app, faculty)
    assert client.get(f"/people/helene-faculty/portrait?v={digest}").status_code == 200
    assert client.get("/people/helene-faculty/portrait?v=0000").status_code == 404
    assert client.get("/people/nobody/portrait").status_code == 404


def test_own_portrait_preview_is_private(app, client, faculty, faculty_client):
    upload(faculty_client, picture())
    digest = stored_portrait(app, faculty).digest
    page = faculty_client.get("/profile").get_data(as_text=True)
    assert f'src="/profile/portrait?v={digest}" alt="Prof. Hélène Faculty"' in page
    response = faculty_client.get(f"/profile/portrait?v={digest}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/jpeg"
    assert response.headers["Cache-Control"] == "no-store"
    assert client.get(f"/profile/portrait?v={digest}").status_code == 302  # to the login


def test_owner_removes_the_portrait(app, faculty, faculty_client):
    upload(faculty_client, picture())
    response = faculty_client.post(f"/profile/{faculty.id}/portrait/remove")
    assert response.status_code == 302
    assert "Your portrait was removed." in faculty_client.get("/profile").get_data(as_text=True)
    assert stored_portrait(app, faculty) is None
    assert image_count(app) == 0
    with app.app_context():
        assert "portrait.remove" in db.session.scalars(select(AuditEvent.action)).all()


@pytest.mark.both_backends
def test_another_faculty_cannot_remove_someones_portrait(
    app, faculty, faculty_client, make_faculty
):
    upload(faculty_client, picture())
    before = stored_portrait(app, faculty).digest
    other = login_client(app.test_client(), make_faculty("other@example.org", "Prof. Other"))
    response = other.post(f"/profile/{faculty.id}/portrait/remove")
    assert response.status_code == 403
    assert "Only Prof. Hélène Faculty or an administrator can change this portrait." in (
        response.get_data(as_text=True)
    )
    assert stored_portrait(app, faculty).digest == before
    with app.app_context():
        assert "portrait.remove" not in db.session.scalars(select(AuditEvent.action)).all()
    assert other.post("/profile/999999/portrait/remove").status_code == 404


def test_an_administrator_can_take_a_portrait_down(app, faculty, faculty_client, admin_client):
    upload(faculty_client, picture())
    response = admin_client.post(f"/profile/{faculty.id}/portrait/remove")
    assert response.status_code == 302
    assert stored_portrait(app, faculty) is None


def test_anonymous_cannot_upload_or_remove(app, client, faculty):
    assert upload(client, picture()).status_code == 302
    assert client.post(f"/profile/{faculty.id}/portrait/remove").status_code == 302
    assert image_count(app) == 0
