"""Uploaded pictures: checked by content, within a budget, resized and re-encoded.

A picture is accepted when Pillow recognises it as JPEG, PNG or WebP (its name and the type the
browser claims are ignored). Its size in bytes is checked before Pillow sees it, its pixel
count from the header before it is decoded. What is stored is a new image drawn from the
pixels alone, so no metadata (EXIF, GPS position, camera, comments, colour profile) survives.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from typing import IO

from flask import Response, current_app, request
from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from portal.file_budgets import format_number, size_text
from portal.models import StoredImage

# Pillow's format name -> (content type, how it is saved again).
FORMATS = {
    "JPEG": ("image/jpeg", {"format": "JPEG", "quality": 85, "optimize": True}),
    "PNG": ("image/png", {"format": "PNG", "optimize": True}),
    "WEBP": ("image/webp", {"format": "WEBP", "quality": 85}),
}
# A published picture may be kept a day by browsers and proxies; its URL changes with it.
PUBLIC_MAX_AGE = 24 * 3600


class ImageError(ValueError):
    """An upload is not a picture the portal accepts; `status` is the HTTP answer (400 or 413)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class CleanImage:
    """A picture ready to store: re-encoded bytes, their type and size, and their digest."""

    data: bytes
    content_type: str
    width: int
    height: int

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    def stored(self) -> StoredImage:
        return StoredImage(
            digest=self.digest,
            content_type=self.content_type,
            width=self.width,
            height=self.height,
            data=self.data,
        )


def not_an_image() -> ImageError:
    return ImageError(
        _(
            "This file is not a JPEG, PNG or WebP picture (other formats, SVG included, are "
            "not accepted). Save the picture as JPEG, PNG or WebP and upload it again."
        ),
        415,
    )


def read_limited(stream: IO[bytes], max_bytes: int) -> bytes:
    """At most `max_bytes` of the upload; one byte more is refused before anything decodes it."""
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ImageError(
            _(
                "The picture is larger than %(limit)s, the most the portal accepts. "
                "Save it smaller (e.g. 1,000 pixels wide) and upload it again.",
                limit=size_text(max_bytes),
            ),
            413,
        )
    if not data:
        raise ImageError(_("The file is empty. Choose a JPEG, PNG or WebP picture."))
    return data


def _open(data: bytes, max_pixels: int) -> Image.Image:
    """The picture's header, read without decoding; refuses other formats and too many pixels."""
    too_many_pixels = ImageError(
        _(
            "The picture has more than %(limit)s pixels, the most the portal accepts. "
            "Resize it (e.g. to 2,000 × 2,000 pixels) and upload it again.",
            limit=format_number(max_pixels),
        ),
        413,
    )
    try:
        with warnings.catch_warnings():
            # Pillow's own decompression-bomb guard warns, then refuses: both are a refusal here.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=list(FORMATS))
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as error:
        raise too_many_pixels from error
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as error:
        raise not_an_image() from error
    if image.width <= 0 or image.height <= 0 or image.width * image.height > max_pixels:
        raise too_many_pixels
    return image


def clean_image(stream: IO[bytes], max_side: int) -> CleanImage:
    """Check, resize (longest side at most `max_side`) and re-encode an uploaded picture."""
    config = current_app.config
    data = read_limited(stream, int(config["IMAGE_MAX_BYTES"]))
    image = _open(data, int(config["IMAGE_MAX_PIXELS"]))
    content_type, save_options = FORMATS[image.format]
    try:
        if image.format == "JPEG":
            image.draft("RGB", (max_side, max_side))  # decode a large photo at a smaller scale
        image = ImageOps.exif_transpose(image)  # keep the picture upright once EXIF is gone
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        raise ImageError(
            _("The picture could not be read: the file is damaged or cut short. Save it again.")
        ) from error
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    mode = "RGBA" if has_alpha and content_type != "image/jpeg" else "RGB"
    pixels = image.convert(mode)
    # A new image made from the pixels alone: nothing of the upload's metadata comes along.
    fresh = Image.new(mode, pixels.size)
    fresh.paste(pixels)
    output = io.BytesIO()
    fresh.save(output, **save_options)
    return CleanImage(
        data=output.getvalue(), content_type=content_type, width=fresh.width, height=fresh.height
    )


def image_response(image: StoredImage, *, public: bool) -> Response:
    """The stored picture with its type; cacheable by anyone when `public`, else by nobody."""
    response = Response(image.data, mimetype=image.content_type)
    response.set_etag(image.digest)
    if public:
        response.cache_control.public = True
        response.cache_control.max_age = PUBLIC_MAX_AGE
    else:
        response.cache_control.no_store = True
    response.headers["Content-Disposition"] = "inline"
    return response.make_conditional(request)
