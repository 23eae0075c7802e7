"""Reading an uploaded image safely and re-encoding it (Pillow), so a hostile file never
reaches the renderer: only the pixels are kept, as a fresh PNG or JPEG.

Charts pasted from Excel arrive as EMF/WMF, which Pillow cannot read on Linux; LibreOffice
renders them (see `convert_metafile`), or the image is refused by name.
"""

from __future__ import annotations

import base64
import io
import os
import shutil
import struct
import subprocess
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from workflows.i18n import N_

MAX_IMAGE_BYTES = 10 * 1024 * 1024  # one uploaded or embedded image
MAX_PIXELS = 40_000_000  # what the header may claim before any decoding (decompression bombs)
MAX_EDGE = 2400  # px; the 156 mm text block at ~390 dpi: more is never printed
CONVERT_TIMEOUT = 60  # seconds for LibreOffice to convert one EMF/WMF


class ImageRefused(ValueError):
    """An image that cannot go into a brief; `params["name"]` names it."""

    def __init__(self, message: str, **params: object):
        super().__init__(message)
        self.params = params


@dataclass(frozen=True)
class CleanImage:
    data: bytes
    suffix: str  # ".png" or ".jpg"
    mime_type: str
    width: int
    height: int


def is_metafile(data: bytes) -> bool:
    """EMF (" EMF" at byte 40) or WMF (placeable header, or the plain one)."""
    if len(data) >= 44 and data[:4] == b"\x01\x00\x00\x00" and data[40:44] == b" EMF":
        return True
    return data[:4] == b"\xd7\xcd\xc6\x9a" or data[:6] in (b"\x01\x00\x09\x00\x00\x03", b"\x02\x00\x09\x00\x00\x03")


def _metafile_aspect(data: bytes) -> float:
    """Height / width of the drawing, from its header (EMF rclFrame, WMF placeable bbox)."""
    try:
        if data[40:44] == b" EMF":
            left, top, right, bottom = struct.unpack_from("<4i", data, 24)
        elif data[:4] == b"\xd7\xcd\xc6\x9a":
            left, top, right, bottom = struct.unpack_from("<4h", data, 6)
        else:
            return 0.625
        width, height = abs(right - left), abs(bottom - top)
        return min(max(height / width, 0.1), 10.0) if width else 0.625
    except struct.error:
        return 0.625


# Writer (libreoffice-writer-nogui) cannot open an EMF by itself, but renders one placed in a
# document, and its HTML export writes each picture out as a bitmap: a one-picture flat ODF
# document in, the picture out.
_FODT = """<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"
 xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0"
 xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0"
 office:version="1.2" office:mimetype="application/vnd.oasis.opendocument.text">
<office:body><office:text><text:p><draw:frame draw:name="chart" svg:width="{width}cm" svg:height="{height}cm"
 text:anchor-type="as-char"><draw:image><office:binary-data>{data}</office:binary-data></draw:image>
</draw:frame></text:p></office:text></office:body></office:document>"""
METAFILE_WIDTH_CM = 40  # rendered at about 1500 px across


def convert_metafile(data: bytes, name: str) -> bytes:
    """An EMF/WMF as a bitmap, by LibreOffice in a throwaway profile; refused if that fails."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        raise ImageRefused(N_("The image %(name)s is an EMF/WMF drawing (a chart pasted from Excel, say), which "
                              "cannot be converted here. Save it as PNG and insert that instead."), name=name)
    with tempfile.TemporaryDirectory(prefix="canyue-emf-") as work:
        folder = Path(work)
        source = folder / "chart.fodt"
        height = METAFILE_WIDTH_CM * _metafile_aspect(data)
        source.write_text(_FODT.format(width=METAFILE_WIDTH_CM, height=f"{height:.2f}",
                                       data=base64.b64encode(data).decode("ascii")), encoding="utf-8")
        command = [soffice, f"-env:UserInstallation=file://{folder}/profile", "--headless", "--norestore",
                   "--convert-to", "html", "--outdir", str(folder / "out"), str(source)]
        try:
            subprocess.run(command, capture_output=True, timeout=CONVERT_TIMEOUT, check=False,
                           env={**os.environ, "HOME": str(folder)})
        except (OSError, subprocess.TimeoutExpired):
            pass
        pictures = [p for p in (folder / "out").glob("*") if p.suffix.lower() in (".gif", ".png", ".jpg")]
        if len(pictures) != 1 or pictures[0].stat().st_size == 0:
            raise ImageRefused(N_("The image %(name)s is an EMF/WMF drawing that could not be converted. "
                                  "Save it as PNG and insert that instead."), name=name)
        return pictures[0].read_bytes()


def clean_image(data: bytes, name: str) -> CleanImage:
    """`data` re-encoded: PNG (line art, charts, transparency) or JPEG (photographs), at most
    MAX_EDGE pixels wide or high, with no metadata. Refused (ImageRefused) when too large,
    not an image, or a decompression bomb."""
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageRefused(N_("The image %(name)s is larger than %(limit)d MB."),
                           name=name, limit=MAX_IMAGE_BYTES // (1024 * 1024))
    if is_metafile(data):
        data = convert_metafile(data, name)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                # The header's claim, checked before a single pixel is decoded.
                if probe.width * probe.height > MAX_PIXELS:
                    raise ImageRefused(N_("The image %(name)s has too many pixels (%(width)d × %(height)d)."),
                                       name=name, width=probe.width, height=probe.height)
                source_format = probe.format
                probe.load()
                image = ImageOps.exif_transpose(probe)
    except ImageRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageRefused(N_("The image %(name)s has too many pixels to be read safely."), name=name) from error
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as error:
        raise ImageRefused(N_("The file %(name)s is not an image that can be read (PNG, JPEG, GIF, BMP, TIFF "
                              "or an EMF/WMF chart)."), name=name) from error
    image.thumbnail((MAX_EDGE, MAX_EDGE))
    out = io.BytesIO()
    if source_format == "JPEG" and image.mode in ("RGB", "L", "CMYK"):
        image.convert("RGB" if image.mode == "CMYK" else image.mode).save(out, "JPEG", quality=90, optimize=True)
        suffix, mime = ".jpg", "image/jpeg"
    else:
        if image.mode not in ("RGB", "RGBA", "L", "LA", "P"):
            image = image.convert("RGBA")
        image.save(out, "PNG", optimize=True)
        suffix, mime = ".png", "image/png"
    return CleanImage(out.getvalue(), suffix, mime, image.width, image.height)
