"""Is an uploaded "original PDF" fit for the archive? It must be a readable PDF with pages and
no active content: nothing a viewer would run or open when someone reads the issue years
later — JavaScript (an /OpenAction or /AA action, /JS, the /JavaScript name tree), /Launch
(start a program), embedded files (/EmbeddedFile, /EmbeddedFiles, file attachment
annotations), /RichMedia (Flash, video), XFA forms, and the actions that send or fetch data
(/SubmitForm, /ImportData).

Two looks, because either alone can be fooled: every object reachable from the trailer, as
pypdf parses it (names in compressed object streams, #-escaped names); and every name token in
the raw bytes (objects no cross-reference table points to, which a viewer's repair mode may
still find). Nothing is decompressed beyond what pypdf does to read objects.
"""

from __future__ import annotations

import io
import re
from typing import Any

from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

# Name -> what it is, for the refusal (the English words are part of a translated sentence).
ACTIVE_NAMES = {
    "/JS": "JavaScript",
    "/JavaScript": "JavaScript",
    "/Launch": "Launch",
    "/EmbeddedFile": "EmbeddedFile",
    "/EmbeddedFiles": "EmbeddedFile",
    "/RichMedia": "RichMedia",
    "/XFA": "XFA",
    "/SubmitForm": "SubmitForm",
    "/ImportData": "ImportData",
}
# Annotation subtypes that carry files or media.
ACTIVE_SUBTYPES = {"/FileAttachment": "EmbeddedFile", "/RichMedia": "RichMedia", "/Movie": "RichMedia",
                   "/Sound": "RichMedia", "/Screen": "RichMedia", "/3D": "RichMedia"}
MAX_OBJECTS = 200_000

_NAME_TOKEN = re.compile(rb"/[^\s/<>\[\]()%{}]+")
_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")


class PdfRefused(Exception):
    """The PDF cannot be archived; `kind` says why ("unreadable", "no pages", "active"),
    `detail` what was found."""

    def __init__(self, kind: str, detail: str = ""):
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind
        self.detail = detail


def _raw_names(data: bytes) -> set[str]:
    found = set()
    for token in _NAME_TOKEN.findall(data):
        if b"#" in token:
            token = _ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), token)
        name = token.decode("latin-1")
        if name in ACTIVE_NAMES:
            found.add(ACTIVE_NAMES[name])
    return found


def _walk(reader: PdfReader) -> set[str]:
    found: set[str] = set()
    seen: set[tuple[int, int]] = set()
    stack: list[Any] = [reader.trailer]
    visited = 0
    while stack:
        node = stack.pop()
        if isinstance(node, IndirectObject):
            key = (node.idnum, node.generation)
            if key in seen:
                continue
            seen.add(key)
            node = node.get_object()
        visited += 1
        if visited > MAX_OBJECTS:
            raise PdfRefused("complex")
        if isinstance(node, DictionaryObject):
            for name, value in node.items():
                if name in ACTIVE_NAMES:
                    found.add(ACTIVE_NAMES[name])
                if name == "/S" and isinstance(value, NameObject) and value in ACTIVE_NAMES:
                    found.add(ACTIVE_NAMES[value])
                if name in ("/Subtype", "/Type") and isinstance(value, NameObject):
                    if value in ACTIVE_SUBTYPES:
                        found.add(ACTIVE_SUBTYPES[value])
                    elif value in ACTIVE_NAMES:
                        found.add(ACTIVE_NAMES[value])
                stack.append(value)
        elif isinstance(node, ArrayObject):
            stack.extend(node)
    return found


def check_original_pdf(data: bytes) -> int:
    """The page count of a PDF fit for the archive, or PdfRefused."""
    if b"%PDF-" not in data[:1024]:
        raise PdfRefused("unreadable", "not a PDF file")
    raw = _raw_names(data)
    try:
        reader = PdfReader(io.BytesIO(data))
        pages = len(reader.pages)
        found = _walk(reader) | raw
    except PdfRefused:
        raise
    except Exception as error:  # pypdf raises many kinds on a damaged file (RecursionError too)
        if raw:  # the more useful reason
            raise PdfRefused("active", ", ".join(sorted(raw))) from error
        if isinstance(error, RecursionError):
            raise PdfRefused("complex") from error
        raise PdfRefused("unreadable", str(error)[:200]) from error
    if found:
        raise PdfRefused("active", ", ".join(sorted(found)))
    if pages < 1:
        raise PdfRefused("no pages")
    return pages
