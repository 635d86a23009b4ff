"""The public page and the institution's branding in Chromium: a portrait uploaded on the
profile page, a name, logo and colour set at /admin/branding, then every page involved at
1280 px and 375 px, in English and French, axe-clean, with screenshots to look at (PORTAL_TEST_SCREENSHOTS=1)."""

from __future__ import annotations

import io

import pytest
from axe_playwright_python.sync_playwright import Axe
from PIL import Image, ImageDraw
from playwright.sync_api import expect

from tests.browser.helpers import DESKTOP, HTML_LANG, PHONE, log_in_as
from tests.image_files import jpeg_with_gps

pytestmark = pytest.mark.slow

ACCENT = "#0b6e4f"
INSTITUTION = "Institut de recherche en IA"
SLUG = "helene-tremblay-okafor"
BLOCKING = {"serious", "critical"}


def logo_png() -> bytes:
    image = Image.new("RGBA", (480, 160), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, 160, 160), radius=28, fill=(11, 110, 79, 255))
    draw.ellipse((40, 40, 120, 120), fill=(255, 255, 255, 255))
    draw.rectangle((190, 55, 470, 105), fill=(28, 36, 48, 255))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def upload(page, selector: str, name: str, mime: str, data: bytes) -> None:
    page.locator(selector).set_input_files(files=[{"name": name, "mimeType": mime, "buffer": data}])


def blocking_violations(page) -> list[str]:
    violations = Axe().run(page).response["violations"]
    return [
        f"{v['id']}: {[node['target'] for node in v['nodes'][:3]]}"
        for v in violations
        if v["impact"] in BLOCKING
    ]


def fits_the_window(page) -> bool:
    return page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )


@pytest.mark.parametrize("language", ["en", "fr"])  # one test per language: two workers share it
def test_portrait_branding_and_public_page(open_page, demo_site, screenshot, language):
    site = demo_site
    # A faculty member uploads a portrait (a photo that says where it was taken).
    faculty = open_page("en")
    log_in_as(faculty, site, site.faculty_email)
    faculty.goto(f"{site.url}/profile")
    upload(faculty, 'input[name="portrait"]', "holiday.jpg", "image/jpeg", jpeg_with_gps())
    faculty.get_by_role("button", name="Upload portrait").click()
    faculty.get_by_text("Your portrait was saved.").wait_for()
    # An auto-waiting check: read at once, right after the message, it found none under load.
    expect(faculty.get_by_role("img", name="Prof. Hélène Tremblay-Okafor")).to_have_count(1)

    # An SVG is refused at the field, with the reason.
    upload(faculty, 'input[name="portrait"]', "drawing.svg", "image/svg+xml", b"<svg/>")
    faculty.get_by_role("button", name="Upload portrait").click()
    faculty.get_by_text("SVG included").wait_for()
    assert faculty.locator("#portrait").get_attribute("aria-invalid") == "true"
    assert not blocking_violations(faculty)
    screenshot(faculty, "profile-refused-svg")

    # An administrator sets the branding; a colour too light is refused first.
    admin = open_page("en")
    log_in_as(admin, site, site.admin_email)
    admin.goto(f"{site.url}/admin/branding")
    admin.get_by_label("Institution name").fill(INSTITUTION)
    admin.get_by_label("Accent colour").fill("#ffcc00")
    admin.get_by_role("button", name="Save branding").click()
    admin.get_by_text("#ffcc00 is too light").wait_for()
    assert not blocking_violations(admin)
    screenshot(admin, "branding-refused")
    admin.get_by_label("Accent colour").fill(ACCENT)
    upload(admin, 'input[name="logo"]', "logo.png", "image/png", logo_png())
    admin.get_by_role("button", name="Save branding").click()
    admin.get_by_text("Branding saved.").wait_for()

    for size_name, size in (("desktop", DESKTOP), ("phone", PHONE)):
        visitor = open_page(language, size)
        # The directory, then a profile, then back to the directory by the breadcrumb.
        visitor.goto(f"{site.url}/people")
        assert visitor.locator("html").get_attribute("lang") == HTML_LANG[language]
        brand = visitor.locator("header .brand")
        assert brand.locator(".brand__name").inner_text() == INSTITUTION
        assert brand.locator("img.brand__logo").evaluate("img => img.naturalWidth") > 0
        accent = visitor.evaluate(
            "getComputedStyle(document.documentElement).getPropertyValue('--accent').trim()"
        )
        assert accent == ACCENT
        assert not blocking_violations(visitor), (language, size_name, "/people")
        assert fits_the_window(visitor), (language, size_name, "/people")
        screenshot(visitor, f"directory-{language}-{size_name}")

        visitor.locator(f'a[href="/people/{SLUG}"]').click()
        visitor.wait_for_url(f"**/people/{SLUG}")
        portrait = visitor.get_by_role("img", name="Prof. Hélène Tremblay-Okafor")
        assert portrait.evaluate("img => img.complete && img.naturalWidth") > 0
        topics = visitor.locator("ul.topic-list > li")
        assert topics.count() >= 3
        names = visitor.locator(".profile__person-name, .group-member")
        assert names.count() > 0
        for index in range(min(names.count(), 5)):
            decoration = names.nth(index).evaluate("el => getComputedStyle(el).textDecorationLine")
            assert decoration == "none", decoration
        profile_width = visitor.locator("article.profile").bounding_box()["width"]
        if size_name == "desktop":
            # The page's main column is 78rem (1248 px) less padding: the profile fills it.
            assert profile_width > 1100, profile_width
            biography = visitor.locator(".profile__biography").bounding_box()
            topics_box = visitor.locator(".profile__topics-section").bounding_box()
            assert topics_box["x"] > biography["x"] + biography["width"] - 1  # side by side
        assert not blocking_violations(visitor), (language, size_name, "profile")
        assert fits_the_window(visitor), (language, size_name, "profile")
        screenshot(visitor, f"profile-{language}-{size_name}")
        visitor.get_by_role(
            "navigation", name="Breadcrumb" if language == "en" else "Fil d’Ariane"
        ).get_by_role("link").click()
        visitor.wait_for_url("**/people")

        # The logged-in pages of this work: the profile editor and the settings page.
        for email, path, name in (
            (site.faculty_email, "/profile", "profile-editor"),
            (site.admin_email, "/admin/branding", "branding-settings"),
        ):
            page = open_page(language, size)
            log_in_as(page, site, email)
            page.goto(f"{site.url}{path}")
            assert page.locator("header .brand__name").inner_text() == INSTITUTION
            assert not blocking_violations(page), (language, size_name, path)
            assert fits_the_window(page), (language, size_name, path)
            screenshot(page, f"{name}-{language}-{size_name}")
            page.context.close()
        visitor.context.close()
