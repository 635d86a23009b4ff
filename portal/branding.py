"""The institution's branding: its name, logo and accent colour on every page.

Administrators set them at /admin/branding (admin/operations.py writes them); this module reads
them, serves the logo and a small stylesheet with the colour, and holds the colour rule: an
accent must keep white text on it, and itself as text on the page, at WCAG AA contrast (4.5:1).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import Blueprint, Response, abort, current_app, g, render_template, request
from flask_babel import format_decimal
from flask_babel import gettext as _
from sqlalchemy import Select, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import undefer

from portal.auth.access import public
from portal.extensions import db
from portal.images import PUBLIC_MAX_AGE, image_response
from portal.models import BRANDING_ROW_ID, Branding, StoredImage

blueprint = Blueprint("branding", __name__)

DEFAULT_ACCENT = "#1f5fa8"
HEX_COLOUR = re.compile(r"^#[0-9a-f]{6}$")
WCAG_AA_TEXT = 4.5
WHITE = "#ffffff"
PAGE_BACKGROUND = "#f5f7f9"  # --canvas in portal.css: links in the accent colour sit on it


# ---------------------------------------------------------------------------------------------
# The colour rule.


def normalise_colour(text: str | None) -> str | None:
    """'#1F5FA8', '1f5fa8' or '#15a' as '#1f5fa8'; None when it is not a hex colour."""
    value = (text or "").strip().lower()
    if not value.startswith("#"):
        value = f"#{value}"
    if re.fullmatch(r"#[0-9a-f]{3}", value):
        value = "#" + "".join(digit * 2 for digit in value[1:])
    return value if HEX_COLOUR.match(value) else None


def _channels(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def relative_luminance(colour: str) -> float:
    """WCAG 2 relative luminance of an sRGB colour '#rrggbb'."""

    def linear(channel: int) -> float:
        value = channel / 255
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (linear(channel) for channel in _channels(colour))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast_ratio(first: str, second: str) -> float:
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def accent_contrast(colour: str) -> float:
    """The lower of: white text on the accent, the accent as text on the page background."""
    return min(contrast_ratio(colour, WHITE), contrast_ratio(colour, PAGE_BACKGROUND))


def darken(colour: str, factor: float) -> str:
    red, green, blue = (round(channel * factor) for channel in _channels(colour))
    return f"#{red:02x}{green:02x}{blue:02x}"


def passing_shade(colour: str) -> str:
    """The lightest darker shade of `colour` (same hue) that meets WCAG AA."""
    factor = 1.0
    shade = colour
    while accent_contrast(shade) < WCAG_AA_TEXT and factor > 0:
        factor = round(factor - 0.02, 2)
        shade = darken(colour, factor)
    return shade


class ColourError(ValueError):
    """An accent colour that is not a hex colour, or too light for WCAG AA."""


def check_accent_colour(text: str) -> str:
    """The colour as '#rrggbb' when it is one and meets WCAG AA; ColourError otherwise."""
    colour = normalise_colour(text)
    if colour is None:
        raise ColourError(
            _(
                "“%(value)s” is not a colour. Enter a hex colour: # and six digits 0-9 or "
                "letters a-f, such as #1f5fa8.",
                value=text.strip()[:20],
            )
        )
    ratio = accent_contrast(colour)
    if ratio < WCAG_AA_TEXT:
        raise ColourError(
            _(
                "%(colour)s is too light: white text on it (and the colour as text on the "
                "page) reaches a contrast of %(ratio)s:1, and WCAG AA needs at least 4.5:1. "
                "Nothing was saved. The darker shade %(shade)s passes and keeps the hue.",
                colour=colour,
                ratio=format_decimal(round(ratio, 1)),
                shade=passing_shade(colour),
            )
        )
    return colour


# ---------------------------------------------------------------------------------------------
# Reading the branding (once per request).


@dataclass(frozen=True)
class BrandingView:
    """What the pages show: the name (None = the portal's own), logo and colours."""

    display_name: str | None = None
    accent: str = DEFAULT_ACCENT
    logo_digest: str | None = None
    logo_width: int | None = None
    logo_height: int | None = None

    @property
    def accent_dark(self) -> str:
        return darken(self.accent, 0.8)

    @property
    def version(self) -> str:
        """Changes whenever the stylesheet would: part of its URL, so caches never go stale."""
        return self.accent.lstrip("#")


# Every page shows the branding, and an administrator may change it at any time while several
# gunicorn workers (and app servers) serve pages: a copy kept in a process would show the old
# branding in the other processes until it expired. So it is read on every page, from the
# database, but in a query that runs anyway: the logged-in user's (auth/queries.py adds these
# columns to it, on the branding's single row by its fixed id). An anonymous page (the login
# page, an error page) reads it in a query of its own. No copy, so nothing to invalidate.


_BRANDING_AND_LOGO = Branding.__table__.outerjoin(
    StoredImage.__table__, Branding.logo_id == StoredImage.id
)


def with_branding(statement: Select, left) -> Select:
    """`statement` (whose FROM is `left`) with the branding's columns at its end, None when no
    branding is saved."""
    return statement.outerjoin_from(
        left, _BRANDING_AND_LOGO, Branding.id == BRANDING_ROW_ID
    ).add_columns(
        Branding.display_name,
        Branding.accent_colour,
        StoredImage.digest,
        StoredImage.width,
        StoredImage.height,
    )


def keep_branding(columns) -> None:
    """Keep the branding read by a `with_branding` statement (its last five columns) for this
    request, so the page does not read it again."""
    display_name, accent, digest, width, height = columns[-5:]
    g.branding = BrandingView(
        display_name=display_name,
        accent=accent or DEFAULT_ACCENT,
        logo_digest=digest,
        logo_width=width,
        logo_height=height,
    )


def load_branding() -> BrandingView:
    """The saved branding, or the portal's defaults when none is saved."""
    row = db.session.execute(
        select(Branding, StoredImage.digest, StoredImage.width, StoredImage.height)
        .outerjoin(StoredImage, Branding.logo_id == StoredImage.id)
        .where(Branding.id == BRANDING_ROW_ID)
    ).first()
    if row is None:
        return BrandingView()
    branding, digest, width, height = row
    return BrandingView(
        display_name=branding.display_name,
        accent=branding.accent_colour or DEFAULT_ACCENT,
        logo_digest=digest,
        logo_width=width,
        logo_height=height,
    )


def current_branding() -> BrandingView:
    """The branding for this request: what the user's query read with it, else one query the
    first time a page asks."""
    if "branding" not in g:
        try:
            g.branding = load_branding()
        except SQLAlchemyError:
            # An error page must still render when the database is what failed.
            db.session.rollback()
            current_app.logger.exception("Branding could not be read; showing the defaults")
            g.branding = BrandingView()
    return g.branding


@blueprint.app_context_processor
def branding_context() -> dict:
    return {"branding": current_branding}


# ---------------------------------------------------------------------------------------------
# The logo and the stylesheet, public (the login page shows them too) and cacheable.


@blueprint.route("/branding/logo")
@public
def logo():
    image = db.session.scalar(
        select(StoredImage)
        .join(Branding, Branding.logo_id == StoredImage.id)
        .options(undefer(StoredImage.data))
    )
    if image is None or request.args.get("v", image.digest) != image.digest:
        abort(404)
    return image_response(image, public=True)


@blueprint.route("/branding.css")
@public
def stylesheet():
    css = render_template("_branding.css", branding=current_branding())
    response = Response(css, mimetype="text/css")
    response.cache_control.public = True
    response.cache_control.max_age = PUBLIC_MAX_AGE
    return response
