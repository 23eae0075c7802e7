"""Numbered copies from the archival master, without rendering again.

The master (rendering/pdf.py) leaves the 份号 place blank: the first line of the text block
on page 1 (FORMAT.md: 28 mm from the left edge, 37 mm from the top, one 3号 line of 28.9 pt,
in the 黑体 face, like the 密级 and 紧急程度 lines below it). A copy is the master's bytes
with an *incremental update* appended (ISO 32000-1, 7.5.6): a few new objects and a
cross-reference section pointing back to the master's. The master's bytes stay as they
were, byte for byte, at the start of every copy; making a copy costs well under a
millisecond, and 30 copies cost far less than one render.

What the update adds
  * the 份号, six digits at 16 pt, its baseline where WeasyPrint sets the first line of the
    text block (half-leading plus the face's ascent below the 37 mm edge, the same arithmetic
    as the layout engine's), so it lands where a rendered 份号 would;
  * in the left margin of every page, a small grey line of text read bottom to top: the 份号,
    the recipient as printed and their organisation, so that a leaked page can be traced;
  * one Type 3 font holding exactly the glyphs those two need, drawn from the outlines of the
    黑体 role's face (the organisation's licensed 黑体 in instance/fonts/ when there is one,
    else Noto Sans CJK SC), with a ToUnicode map: the text is embedded (no font is left
    outside the file, as in the master) and extractable (copy, search, and the tests).
    Outlines are read once per process and kept per character.
  * new page objects (the old ones with the stamp appended to their content, the original
    content wrapped in q … Q so its graphics state cannot leak into the stamp) and new
    resource dictionaries naming the font. The stamp is marked content of the Artifact kind:
    the master is a tagged PDF, and its structure tree does not hold the stamp;
  * the master's XMP packet again (rendering/xmp.py), in the same object, with the copy's own
    xmpMM:InstanceID (derived from the master's and the 份号) and canyue:copyNumber: the
    DocumentID, dates, keywords and audit head stay the master's.

Where no outline face can be found at all, the digits are set in the standard Helvetica and
the mark keeps only ASCII (the 份号 and the recipient's directory number).
"""

from __future__ import annotations

import functools
import hashlib
import io
import logging
import re
import subprocess
import threading
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, read_object

from rendering.xmp import CANYUE_NS, CANYUE_PREFIX, CUSTOM_PROPERTIES, copy_instance_id

log = logging.getLogger(__name__)

MM = 72 / 25.4
# FORMAT.md: the text block of page 1 and the 份号's line.
TEXT_LEFT = 28 * MM
TEXT_TOP = 37 * MM
LINE_PITCH = 28.9  # pt
NUMBER_SIZE = 16.0  # 3号
# The recipient mark: 7 pt grey, its baseline 12 mm from the left edge.
MARK_SIZE = 7.0
MARK_X = 12 * MM
MARK_GREY = 0.45
MARK_MAX_CHARS = 60
FONT_NAME = "CanyueStamp"


# ---------------------------------------------------------------------------------------------
# Glyph outlines
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Glyph:
    advance: float  # in font units
    bbox: tuple[int, int, int, int]
    path: bytes  # PDF path operators in font units, filled


class _PathPen:
    """A fontTools pen writing PDF path operators."""

    def __init__(self) -> None:
        self.ops: list[str] = []
        self.points: list[tuple[float, float]] = []

    def _xy(self, *pts: tuple[float, float]) -> str:
        self.points.extend(pts)
        return " ".join(f"{round(x, 1):g} {round(y, 1):g}" for x, y in pts)


def _make_pen(glyph_set: Any) -> Any:
    from fontTools.pens.basePen import BasePen

    class Pen(BasePen, _PathPen):
        def __init__(self) -> None:
            BasePen.__init__(self, glyph_set)
            _PathPen.__init__(self)

        def _moveTo(self, pt: tuple[float, float]) -> None:
            self.ops.append(f"{self._xy(pt)} m")

        def _lineTo(self, pt: tuple[float, float]) -> None:
            self.ops.append(f"{self._xy(pt)} l")

        def _curveToOne(self, p1: Any, p2: Any, p3: Any) -> None:
            self.ops.append(f"{self._xy(p1, p2, p3)} c")

        def _closePath(self) -> None:
            self.ops.append("h")

    return Pen()


class OutlineFont:
    """One face's outlines, read lazily and kept per character."""

    def __init__(self, path: Path, index: int = 0) -> None:
        from fontTools.ttLib import TTFont

        self.path, self.index = path, index
        self.font = TTFont(str(path), fontNumber=index, lazy=True)
        self.units = self.font["head"].unitsPerEm
        self.ascent = self.font["hhea"].ascent
        self.descent = -abs(self.font["hhea"].descent)
        self.cmap = self.font.getBestCmap()
        self.glyph_set = self.font.getGlyphSet()
        self.widths = self.font["hmtx"].metrics
        self._glyphs: dict[str, Glyph | None] = {}
        self._lock = threading.Lock()

    def glyph(self, char: str) -> Glyph | None:
        with self._lock:
            if char not in self._glyphs:
                self._glyphs[char] = self._draw(char)
            return self._glyphs[char]

    def _draw(self, char: str) -> Glyph | None:
        name = self.cmap.get(ord(char))
        if name is None:
            return None
        pen = _make_pen(self.glyph_set)
        self.glyph_set[name].draw(pen)
        advance = self.widths[name][0]
        if pen.points:
            xs = [p[0] for p in pen.points]
            ys = [p[1] for p in pen.points]
            bbox = (int(min(xs)) - 1, int(min(ys)) - 1, int(max(xs)) + 1, int(max(ys)) + 1)
        else:
            bbox = (0, 0, 0, 0)
        path = (" ".join(pen.ops) + (" f" if pen.ops else "")).encode("ascii")
        return Glyph(advance=advance, bbox=bbox, path=path)


def _fc_match(family: str) -> tuple[Path, int] | None:
    try:
        out = subprocess.run(
            ["fc-match", "--format=%{file}\n%{index}\n%{family}\n", family],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.splitlines()
    except (OSError, subprocess.SubprocessError):
        return None
    if len(out) < 3 or family not in [f.strip() for f in out[2].split(",")]:
        return None  # fontconfig fell back to another family
    return Path(out[0]), int(out[1] or 0)


_fonts: dict[tuple[str, int], OutlineFont] = {}
_fonts_lock = threading.Lock()


def outline_font_for(font_setup: Any | None) -> OutlineFont | None:
    """The face the 黑体 role resolves to: a licensed face in the fonts directory first, then
    the system's (fontconfig), in the role's stack order; None if none is found."""
    families: Sequence[str] = ()
    faces: Sequence[Any] = ()
    if font_setup is not None:
        families = font_setup.stacks.get("hei", ())
        faces = font_setup.faces
    if not families:
        from rendering.fonts import default_stacks

        families = default_stacks()["hei"]
    return _outline_font(tuple(families), tuple((str(f.path), f.index, tuple(f.families)) for f in faces))


@functools.lru_cache(maxsize=8)
def _outline_font(families: tuple[str, ...], faces: tuple[tuple[str, int, tuple[str, ...]], ...]) -> OutlineFont | None:
    for family in families:
        found = next(((Path(p), i) for p, i, names in faces if family in names), None) or _fc_match(family)
        if found is None:
            continue
        key = (str(found[0]), found[1])
        with _fonts_lock:
            if key not in _fonts:
                try:
                    _fonts[key] = OutlineFont(*found)
                except Exception as error:  # a broken file: try the next family
                    log.warning("stamping: cannot read %s: %s", found[0], error)
                    continue
            return _fonts[key]
    return None


# ---------------------------------------------------------------------------------------------
# The master's structure, read once per publication
# ---------------------------------------------------------------------------------------------


def _serialise(obj: Any) -> bytes:
    buffer = io.BytesIO()
    obj.write_to_stream(buffer)
    return buffer.getvalue()


@dataclass
class _Page:
    ref: tuple[int, int]
    entries: dict[str, bytes]  # the page dictionary, each value serialised
    contents: list[bytes]  # references to its content streams, serialised
    resources_ref: tuple[int, int] | None  # shared resource dictionary, if indirect
    resources_inline: dict[str, bytes] | None


@dataclass
class MasterLayout:
    """What an incremental update of the master needs to know about it."""

    data: bytes
    size: int  # the next free object number
    startxref: int
    root: bytes
    info: bytes | None
    file_id: bytes | None  # the first element of /ID, serialised
    xref_stream: bool
    height: float
    pages: list[_Page]
    resources: dict[tuple[int, int], dict[str, bytes]]  # indirect resource dicts, serialised entries
    fonts: dict[tuple[int, int], dict[str, bytes]]  # their font dictionaries' entries
    metadata_ref: int | None = None  # the XMP packet's object (rendering/xmp.py), if any
    metadata: bytes | None = None

    @classmethod
    def read(cls, data: bytes) -> MasterLayout:
        reader = PdfReader(io.BytesIO(data))
        objects = _Objects(reader)
        trailer = reader.trailer
        match = re.search(rb"startxref\s+(\d+)\s+%%EOF\s*$", data[-1024:])
        if match is None:
            raise ValueError("the master PDF has no startxref at its end")
        startxref = int(match.group(1))
        xref_stream = not data[startxref:startxref + 4].startswith(b"xref")
        ids = trailer.get("/ID")
        pages: list[_Page] = []
        resources: dict[tuple[int, int], dict[str, bytes]] = {}
        fonts: dict[tuple[int, int], dict[str, bytes]] = {}
        root = objects.get(trailer.raw_get("/Root"))
        first_box = None
        for ref, page, inherited in objects.pages(_raw(root, "/Pages")):
            raw_contents = _raw(page, "/Contents")
            if isinstance(raw_contents, IndirectObject) and isinstance(objects.get(raw_contents), ArrayObject):
                raw_contents = objects.get(raw_contents)
            if raw_contents is None:
                contents: list[bytes] = []
            elif isinstance(raw_contents, ArrayObject):
                contents = [_serialise(c) for c in raw_contents]
            else:
                contents = [_serialise(raw_contents)]
            entries = {k: _serialise(v) for k, v in page.items() if k not in ("/Contents", "/Resources")}
            for key, value in inherited.items():  # /MediaBox, /Resources … given by a parent
                if key != "/Resources" and key not in page:
                    entries[key] = _serialise(value)
            raw_resources = _raw(page, "/Resources", inherited.get("/Resources", DictionaryObject()))
            resources_ref = None
            inline = None
            if isinstance(raw_resources, IndirectObject):
                resources_ref = (raw_resources.idnum, raw_resources.generation)
                if resources_ref not in resources:
                    resolved = objects.get(raw_resources)
                    resources[resources_ref] = {k: _serialise(v) for k, v in resolved.items() if k != "/Font"}
                    fonts[resources_ref] = _font_entries(objects, resolved)
            else:
                inline = {k: _serialise(v) for k, v in raw_resources.items() if k != "/Font"}
                fonts[(0, len(pages))] = _font_entries(objects, raw_resources)
            if first_box is None:
                box = _raw(page, "/MediaBox", inherited.get("/MediaBox"))
                first_box = [float(objects.get(v) if isinstance(v, IndirectObject) else v) for v in objects.get(box)]
            pages.append(_Page(ref, entries, contents, resources_ref, inline))
        if not pages or first_box is None:
            raise ValueError("the master PDF has no pages")
        metadata_ref, metadata = None, None
        raw_metadata = _raw(root, "/Metadata")
        if isinstance(raw_metadata, IndirectObject):
            metadata_ref, metadata = raw_metadata.idnum, objects.get(raw_metadata).get_data()
        return cls(
            metadata_ref=metadata_ref, metadata=metadata,
            data=data, size=int(trailer["/Size"]), startxref=startxref,
            root=_serialise(trailer.raw_get("/Root")),
            info=_serialise(trailer.raw_get("/Info")) if "/Info" in trailer else None,
            file_id=_serialise(ids[0]) if ids else None,
            xref_stream=xref_stream, height=first_box[3] - first_box[1], pages=pages,
            resources=resources, fonts=fonts,
        )


class _Objects:
    """Reads just the objects the update needs. pypdf parses a whole object stream to return
    one of its objects (every font's widths array with it); here an object stream is
    decompressed once and only the objects asked for are parsed."""

    def __init__(self, reader: PdfReader) -> None:
        self.reader = reader
        self.streams: dict[int, tuple[bytes, dict[int, int]]] = {}

    def get(self, value: Any) -> Any:
        if not isinstance(value, IndirectObject):
            return value
        located = self.reader.xref_objStm.get(value.idnum)
        if located is None:
            return self.reader.get_object(value)
        data, offsets = self._stream(located[0])
        if value.idnum not in offsets:
            return self.reader.get_object(value)
        buffer = io.BytesIO(data)
        buffer.seek(offsets[value.idnum])
        return read_object(buffer, self.reader)

    def _stream(self, number: int) -> tuple[bytes, dict[int, int]]:
        if number not in self.streams:
            stream = self.reader.get_object(number)  # an object stream is never inside another
            data = stream.get_data()
            first = int(stream["/First"])
            numbers = [int(v) for v in data[:first].split()]
            self.streams[number] = (data, {numbers[i]: first + numbers[i + 1] for i in range(0, len(numbers) - 1, 2)})
        return self.streams[number]

    def pages(self, node_ref: Any, inherited: dict[str, Any] | None = None) -> Iterable[tuple[tuple[int, int], DictionaryObject, dict[str, Any]]]:
        node = self.get(node_ref)
        passed = dict(inherited or {})
        for key in ("/Resources", "/MediaBox"):
            if key in node:
                passed[key] = _raw(node, key)
        if _raw(node, "/Type") == "/Pages" or "/Kids" in node:
            for kid in self.get(_raw(node, "/Kids")):
                yield from self.pages(kid, passed)
        else:
            yield (node_ref.idnum, node_ref.generation), node, dict(inherited or {})


def _raw(dictionary: Any, key: str, default: Any = None) -> Any:
    """A dictionary's value as stored (a reference stays a reference: pypdf would resolve it)."""
    return dictionary.raw_get(key) if key in dictionary else default


def _font_entries(objects: _Objects, resources: DictionaryObject) -> dict[str, bytes]:
    font = _raw(resources, "/Font")
    if font is None:
        return {}
    return {k: _serialise(v) for k, v in objects.get(font).items()}


# ---------------------------------------------------------------------------------------------
# Writing a copy
# ---------------------------------------------------------------------------------------------


def _dict(entries: Iterable[tuple[str, bytes | str]]) -> bytes:
    parts = [b"<<"]
    for key, value in entries:
        parts.append(key.encode("ascii") + b" " + (value.encode("latin-1") if isinstance(value, str) else value))
    parts.append(b">>")
    return b"\n".join(parts)


def _stream(entries: list[tuple[str, str]], payload: bytes, compress: bool = True) -> bytes:
    if compress:
        payload = zlib.compress(payload, 6)
        entries = [*entries, ("/Filter", "/FlateDecode")]
    return _dict([*entries, ("/Length", str(len(payload)))]) + b"\nstream\n" + payload + b"\nendstream"


def _hex_utf16(char: str) -> str:
    return char.encode("utf-16-be").hex().upper()


@dataclass
class _FontChars:
    """The characters of one copy's stamp as codes of its Type 3 font."""

    chars: list[str]

    def code(self, text: str) -> bytes:
        return b"<" + "".join(f"{self.chars.index(c) + 1:02X}" for c in text).encode("ascii") + b">"


class Stamper:
    """Makes numbered copies of one master. Build once per publication; `stamp` per copy."""

    def __init__(self, master: bytes, outline_font: OutlineFont | None) -> None:
        self.layout = MasterLayout.read(master)
        self.font = outline_font
        self._tail = b"" if master.endswith(b"\n") else b"\n"
        self._xmp = _copy_xmp_template(self.layout.metadata)

    # -- the text of the stamp --------------------------------------------------------------

    def _usable(self, text: str) -> str:
        if self.font is None:
            return "".join(c for c in text if 32 <= ord(c) < 127)
        return "".join(c for c in text if c == " " or self.font.glyph(c) is not None)

    def _width(self, text: str, size: float) -> float:
        if self.font is None:
            return 0.5 * size * len(text)  # Helvetica digits are 0.556 em; close enough to centre
        return sum(self.font.glyph(c).advance for c in text) * size / self.font.units  # type: ignore[union-attr]

    def number_baseline(self) -> float:
        """Where the 份号's baseline lies, in PDF units from the bottom of page 1."""
        if self.font is None:
            ascent, descent, units = 718, -207, 1000  # Helvetica
        else:
            ascent, descent, units = self.font.ascent, self.font.descent, self.font.units
        content = (ascent - descent) / units * NUMBER_SIZE
        from_top = TEXT_TOP + (LINE_PITCH - content) / 2 + ascent / units * NUMBER_SIZE
        return self.layout.height - from_top

    # -- one copy ----------------------------------------------------------------------------

    def stamp(self, serial: str, mark: str) -> bytes:
        """The master with `serial` (份号) in its place and `mark` in the margin of every page."""
        mark = self._usable(" ".join(mark.split()))[:MARK_MAX_CHARS].strip()
        serial = self._usable(serial)
        layout = self.layout
        objects: list[tuple[int, bytes]] = []
        next_id = layout.size

        def new(body: bytes) -> int:
            nonlocal next_id
            objects.append((next_id, body))
            next_id += 1
            return next_id - 1

        font_id, chars = self._font_objects(serial + mark, new)
        font_ref = f"{font_id} 0 R"
        pre = new(_stream([], b"q\n", compress=False))
        mark_ops = self._mark_ops(mark, chars)
        first = new(_stream([], b"Q\n" + self._number_ops(serial, chars) + mark_ops))
        rest = new(_stream([], b"Q\n" + mark_ops)) if len(layout.pages) > 1 else first

        # Resource dictionaries that name the font, then the pages that use them.
        for ref, entries in layout.resources.items():
            fonts = {**layout.fonts[ref], f"/{FONT_NAME}": font_ref.encode()}
            body = _dict([*entries.items(), ("/Font", _dict(fonts.items()))])
            objects.append((ref[0], body))
        for index, page in enumerate(layout.pages):
            stamp_id = first if index == 0 else rest
            contents = b"[" + b" ".join([f"{pre} 0 R".encode(), *page.contents, f"{stamp_id} 0 R".encode()]) + b"]"
            entries = [*page.entries.items(), ("/Contents", contents)]
            if page.resources_ref is not None:
                entries.append(("/Resources", f"{page.resources_ref[0]} {page.resources_ref[1]} R".encode()))
            else:
                assert page.resources_inline is not None
                fonts = {**layout.fonts[(0, index)], f"/{FONT_NAME}": font_ref.encode()}
                inline = {k: v for k, v in page.resources_inline.items() if k != "/Font"}
                entries.append(("/Resources", _dict([*inline.items(), ("/Font", _dict(fonts.items()))])))
            objects.append((page.ref[0], _dict(entries)))
        if self._xmp is not None and self.layout.metadata_ref is not None:
            # The master's XMP packet again, with this copy's InstanceID and 份号 (same object).
            master_instance, template = self._xmp
            packet = (template.replace(b"@@INSTANCE@@", copy_instance_id(master_instance, serial).encode())
                      .replace(b"@@SERIAL@@", serial.encode()))
            objects.append((self.layout.metadata_ref,
                            _stream([("/Type", "/Metadata"), ("/Subtype", "/XML")], packet, compress=False)))
        return self._append(objects, next_id, serial)

    def _number_ops(self, serial: str, chars: _FontChars | None) -> bytes:
        baseline = self.number_baseline()
        text = chars.code(serial) if chars else f"({serial})".encode("ascii")
        # Marked as an artifact: the master's structure tree (tagged PDF) does not hold it.
        return (f"/Artifact BMC 0 g BT /{FONT_NAME} {NUMBER_SIZE:g} Tf 1 0 0 1 {TEXT_LEFT:.3f} {baseline:.3f} Tm "
                .encode()
                + text + b" Tj ET EMC\n")

    def _mark_ops(self, mark: str, chars: _FontChars | None) -> bytes:
        if not mark:
            return b""
        start = (self.layout.height - self._width(mark, MARK_SIZE)) / 2
        text = chars.code(mark) if chars else f"({mark})".encode("ascii")
        return (f"/Artifact BMC q {MARK_GREY:g} g BT /{FONT_NAME} {MARK_SIZE:g} Tf 0 1 -1 0 {MARK_X:.3f} {start:.3f} Tm "
                .encode()
                + text + b" Tj ET Q EMC\n")

    def _font_objects(self, text: str, new: Any) -> tuple[int, _FontChars | None]:
        if self.font is None:
            return new(_dict([("/Type", "/Font"), ("/Subtype", "/Type1"), ("/BaseFont", "/Helvetica"),
                              ("/Encoding", "/WinAnsiEncoding")])), None
        font = self.font
        chars = sorted(set(text))
        procs: list[tuple[str, bytes]] = []
        widths: list[str] = []
        box = [0, 0, 0, 0]
        for i, char in enumerate(chars, start=1):
            glyph = font.glyph(char)
            assert glyph is not None
            body = _glyph_stream(glyph)
            procs.append((f"/g{i}", f"{new(body)} 0 R".encode()))
            widths.append(f"{glyph.advance:g}")
            box = [min(box[0], glyph.bbox[0]), min(box[1], glyph.bbox[1]),
                   max(box[2], glyph.bbox[2]), max(box[3], glyph.bbox[3])]
        cmap = _to_unicode(chars)
        to_unicode = new(_stream([], cmap))
        scale = 1 / font.units
        font_id = new(_dict([
            ("/Type", "/Font"), ("/Subtype", "/Type3"), ("/Name", f"/{FONT_NAME}"),
            ("/FontBBox", "[" + " ".join(str(v) for v in box) + "]"),
            ("/FontMatrix", f"[{scale:g} 0 0 {scale:g} 0 0]"),
            ("/CharProcs", _dict(procs)),
            ("/Encoding", _dict([("/Type", "/Encoding"),
                                 ("/Differences", "[1 " + " ".join(f"/g{i}" for i in range(1, len(chars) + 1)) + "]")])),
            ("/FirstChar", "1"), ("/LastChar", str(len(chars))),
            ("/Widths", "[" + " ".join(widths) + "]"),
            ("/Resources", "<<>>"),
            ("/ToUnicode", f"{to_unicode} 0 R"),
        ]))
        return font_id, _FontChars(chars)

    def _append(self, objects: list[tuple[int, bytes]], next_id: int, serial: str) -> bytes:
        layout = self.layout
        out = bytearray(layout.data)
        out += self._tail
        offsets: dict[int, int] = {}
        for number, body in objects:
            offsets[number] = len(out)
            out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
        second_id = hashlib.md5(layout.data[:64] + serial.encode(), usedforsecurity=False).hexdigest()
        trailer = [("/Size", str(next_id + (1 if layout.xref_stream else 0))), ("/Root", layout.root),
                   ("/Prev", str(layout.startxref))]
        if layout.info is not None:
            trailer.append(("/Info", layout.info))
        if layout.file_id is not None:
            trailer.append(("/ID", b"[" + layout.file_id + b" <" + second_id.encode() + b">]"))
        xref_at = len(out)
        if layout.xref_stream:
            offsets[next_id] = xref_at
            numbers = sorted(offsets)
            index, rows = [], bytearray()
            for number in numbers:
                if index and index[-2] + index[-1] == number:
                    index[-1] += 1
                else:
                    index += [number, 1]
                rows += b"\x01" + offsets[number].to_bytes(4, "big") + b"\x00\x00"
            entries = [("/Type", "/XRef"), ("/W", "[1 4 2]"), ("/Index", "[" + " ".join(map(str, index)) + "]"),
                       *trailer]
            out += f"{next_id} 0 obj\n".encode() + _stream(entries, bytes(rows), compress=False) + b"\nendobj\n"
        else:
            out += b"xref\n"
            numbers = sorted(offsets)
            groups: list[list[int]] = []
            for number in numbers:
                if groups and groups[-1][-1] + 1 == number:
                    groups[-1].append(number)
                else:
                    groups.append([number])
            for group in groups:
                out += f"{group[0]} {len(group)}\n".encode()
                for number in group:
                    out += f"{offsets[number]:010d} 00000 n \n".encode()
            out += b"trailer\n" + _dict(trailer) + b"\n"
        out += f"startxref\n{xref_at}\n%%EOF\n".encode()
        return bytes(out)


_INSTANCE = re.compile(rb"<xmpMM:InstanceID>([^<]*)</xmpMM:InstanceID>")


def _copy_xmp_template(packet: bytes | None) -> tuple[str, bytes] | None:
    """(the master's InstanceID, its packet with @@INSTANCE@@ and @@SERIAL@@ to fill in per copy),
    or None for a packet not written by rendering/xmp.py (left as it is)."""
    if not packet:
        return None
    found = _INSTANCE.search(packet)
    if found is None or b"<rdf:RDF" not in packet:
        return None
    template = packet[:found.start()] + b"<xmpMM:InstanceID>@@INSTANCE@@</xmpMM:InstanceID>" + packet[found.end():]
    copy = (f'\n<rdf:Description rdf:about="" xmlns:{CANYUE_PREFIX}="{CANYUE_NS}">'
            f"<{CANYUE_PREFIX}:{CUSTOM_PROPERTIES['canyue-copy'][0]}>@@SERIAL@@"
            f"</{CANYUE_PREFIX}:{CUSTOM_PROPERTIES['canyue-copy'][0]}></rdf:Description>").encode()
    end = template.index(b">", template.index(b"<rdf:RDF")) + 1
    return found.group(1).decode(), template[:end] + copy + template[end:]


@functools.lru_cache(maxsize=4096)
def _glyph_stream(glyph: Glyph) -> bytes:
    head = f"{glyph.advance:g} 0 {' '.join(str(v) for v in glyph.bbox)} d1\n".encode()
    return _stream([], head + glyph.path + b"\n")


def _to_unicode(chars: list[str]) -> bytes:
    lines = [
        "/CIDInit /ProcSet findresource begin", "12 dict begin", "begincmap",
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
        "/CMapName /Adobe-Identity-UCS def", "/CMapType 2 def",
        "1 begincodespacerange", "<00> <FF>", "endcodespacerange",
    ]
    for start in range(0, len(chars), 100):
        chunk = chars[start:start + 100]
        lines.append(f"{len(chunk)} beginbfchar")
        lines += [f"<{start + i + 1:02X}> <{_hex_utf16(c)}>" for i, c in enumerate(chunk)]
        lines.append("endbfchar")
    lines += ["endcmap", "CMapName currentdict /CMap defineresource pop", "end", "end"]
    return "\n".join(lines).encode("ascii")


def copy_mark(serial: str, label: str, organisation: str, recipient_id: int | None, reserve_label: str) -> str:
    """The margin mark: 份号, the recipient as printed, their organisation (and directory number)."""
    who = label or reserve_label
    parts = [serial, who, organisation]
    if recipient_id is not None:
        parts.append(f"R{recipient_id}")
    return " ".join(p for p in parts if p)
