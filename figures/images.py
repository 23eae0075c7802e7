"""Reading an uploaded image safely and re-encoding it (Pillow), so a hostile file never
reaches the renderer: only the pixels are kept, as a fresh PNG or JPEG.

Charts pasted from Excel arrive as EMF/WMF, which Pillow cannot read on Linux; LibreOffice
converts them (`soffice --headless --convert-to png`), or the image is refused by name.
"""

from __future__ import annotations

import io
import os
import shutil
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


def convert_metafile(data: bytes, name: str) -> bytes:
    """An EMF/WMF as PNG, by LibreOffice in a throwaway profile; refused if that fails."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        raise ImageRefused(N_("The image %(name)s is an EMF/WMF drawing (a chart pasted from Excel, say), which "
                              "cannot be converted here. Save it as PNG and insert that instead."), name=name)
    with tempfile.TemporaryDirectory(prefix="canyue-emf-") as work:
        folder = Path(work)
        source = folder / ("image.emf" if data[40:44] == b" EMF" else "image.wmf")
        source.write_bytes(data)
        command = [soffice, f"-env:UserInstallation=file://{folder}/profile", "--headless", "--norestore",
                   "--convert-to", "png", "--outdir", str(folder / "out"), str(source)]
        try:
            subprocess.run(command, capture_output=True, timeout=CONVERT_TIMEOUT, check=False,
                           env={**os.environ, "HOME": str(folder)})
        except (OSError, subprocess.TimeoutExpired):
            pass
        result = folder / "out" / "image.png"
        if not result.is_file() or result.stat().st_size == 0:
            raise ImageRefused(N_("The image %(name)s is an EMF/WMF drawing that could not be converted. "
                                  "Save it as PNG and insert that instead."), name=name)
        return result.read_bytes()


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
