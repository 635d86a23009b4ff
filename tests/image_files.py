"""Pictures for upload tests: good ones in each format, and hostile ones (small on the wire)."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import ExifTags, Image


def picture(fmt: str = "JPEG", size: tuple[int, int] = (1200, 900), mode: str = "RGB") -> bytes:
    """A real picture (a gradient, so that resizing has something to do)."""
    image = Image.linear_gradient("L").resize(size).convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def jpeg_with_gps() -> bytes:
    """A JPEG whose EXIF says where it was taken (Montréal) and with which camera."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PortalTestCamera"
    exif[ExifTags.Base.Model] = "Model GPS-1"
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (45.0, 30.0, 17.0),
        ExifTags.GPS.GPSLongitudeRef: "W",
        ExifTags.GPS.GPSLongitude: (73.0, 34.0, 3.0),
    }
    image = Image.linear_gradient("L").resize((1000, 1000)).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif, comment=b"secret comment")
    return buffer.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int, height: int) -> bytes:
    """A PNG that declares width × height pixels (a few hundred bytes on the wire)."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    # A few rows of zeros; a decoder would go on to allocate the whole declared size.
    rows = zlib.compress(b"\x00" * (1 + (width + 7) // 8) * 4)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", rows)
        + _chunk(b"IEND", b"")
    )


SVG = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">'
    b'<script>alert(document.cookie)</script><circle cx="50" cy="50" r="40"/></svg>'
)
NOT_AN_IMAGE = b"%PDF-1.4\nThis is not a picture at all.\n"


def metadata_of(data: bytes) -> dict:
    """What a stored picture still says about itself besides its pixels."""
    image = Image.open(io.BytesIO(data))
    return {"exif": dict(image.getexif()), "info": dict(image.info), "format": image.format}
