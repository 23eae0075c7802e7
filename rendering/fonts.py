"""Fonts of the printed brief: the font roles, licensed faces in a fonts directory, and how
WeasyPrint embeds them.

Font roles
    The page uses five faces by role (FORMAT.md): ``fangsong`` (仿宋, body), ``title``
    (小标宋, masthead and title), ``hei`` (黑体, 一、 headings), ``kai`` (楷体, （一） headings)
    and ``song`` (宋体, page numbers). static/print.css gives each role a stack: the official
    face first, common system names, then the free faces scripts/install installs (FandolFang
    for 仿宋, FandolKai for 楷体, Noto CJK for the rest). The PDF renderer puts
    configured faces in front of those stacks (`FontSetup.stylesheet`).

Licensed faces (``instance/fonts/``, or any directory given as ``fonts_dir``)
    Every ``.ttf .otf .ttc .otc`` file there is registered with the renderer's fontconfig
    (with all of its family names, the Chinese ones included), so a face whose name is already
    in a stack (仿宋_GB2312, FangSong, 方正小标宋简体, SimHei, 楷体_GB2312 …) is used as soon as
    it is dropped in. Other faces are given a role by their name (仿宋/FangSong/FandolFang,
    小标宋/XiaoBiaoSong, 黑体/Hei/FandolHei, 楷/Kai/FandolKai, 宋体/Song/FandolSong), or
    explicitly in ``roles.toml`` in the same directory (``fangsong = "FZFangSong-Z02S"``) or by the ``font_roles`` argument, which wins.

Subsetting
    WeasyPrint subsets embedded fonts keeping the original glyph ids (the PDF's text refers to
    them), which leaves an empty glyph, a width and a vertical metric for every id below the
    highest one used: Noto CJK has 65 535 glyphs, so each face cost 140–290 KB however few
    glyphs it held. For CID-keyed CFF fonts (Noto CJK, Source Han, most OpenType CJK faces)
    the glyph ids need not be kept: the font's charset maps each CID (the number in the PDF's
    text) to its glyph. `install_compact_subsetting` makes WeasyPrint subset those fonts to
    just the glyphs used, without hinting and without vertical metrics, once it has checked
    that the charset keeps the CIDs; anything else is subset as WeasyPrint does.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import struct
import threading
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "ROLES",
    "FONT_SUFFIXES",
    "FontFace",
    "FontSetup",
    "default_stacks",
    "embed_compact_fonts_as_cff",
    "guess_role",
    "install_compact_subsetting",
    "read_faces",
]

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
PRINT_CSS = ROOT / "static" / "print.css"

ROLES = ("fangsong", "title", "hei", "kai", "song")
FONT_SUFFIXES = (".ttf", ".otf", ".ttc", ".otc")
ROLES_FILE = "roles.toml"

GENERIC = {"fangsong": "serif", "title": "serif", "hei": "sans-serif", "kai": "serif", "song": "serif"}


# ---------------------------------------------------------------------------------------------
# Stacks
# ---------------------------------------------------------------------------------------------

_STACK_RE = re.compile(r"--font-(\w+)\s*:\s*([^;]+);")
_FAMILY_RE = re.compile(r'"((?:[^"\\]|\\.)*)"|([A-Za-z][\w -]*)')


def default_stacks(css_text: str | None = None) -> dict[str, tuple[str, ...]]:
    """Each role's font stack as static/print.css declares it (the one source of truth),
    without the generic family at its end."""
    css_text = PRINT_CSS.read_text(encoding="utf-8") if css_text is None else css_text
    stacks: dict[str, tuple[str, ...]] = {}
    for role, value in _STACK_RE.findall(css_text):
        if role not in ROLES:
            continue
        families = []
        for quoted, bare in _FAMILY_RE.findall(value):
            name = quoted.replace('\\"', '"').replace("\\\\", "\\") if quoted else bare.strip()
            if name and name not in ("serif", "sans-serif", "monospace", "cursive", "fantasy"):
                families.append(name)
        stacks[role] = tuple(families)
    missing = set(ROLES) - set(stacks)
    if missing:
        raise ValueError(f"print.css declares no font stack for: {', '.join(sorted(missing))}")
    return stacks


def css_family(name: str) -> str:
    """A family name as a CSS string. Names come from configuration and font files: refuse
    anything that is not a plain printable name rather than escape it."""
    if not name or len(name) > 120 or any(ch in name for ch in '"\\;{}<>') or not name.isprintable():
        raise ValueError(f"not a usable font family name: {name!r}")
    return f'"{name}"'


# ---------------------------------------------------------------------------------------------
# Faces in a fonts directory
# ---------------------------------------------------------------------------------------------

_ROLE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("title", re.compile(r"小标宋|xiao\s*biao\s*song|\bxbs\b", re.I)),
    ("fangsong", re.compile(r"仿宋|fang\s*song|fandol\s*fang", re.I)),
    ("kai", re.compile(r"楷|kai\s*ti|\bkai\b|ukai|gkai|fandol\s*kai", re.I)),
    ("hei", re.compile(r"(?<!雅)黑|sim\s*hei|\bhei(ti)?\b|stheiti|fandol\s*hei", re.I)),
    ("song", re.compile(r"宋|sim\s*sun|song\s*ti|\bsong\b|stsong|fandol\s*song", re.I)),
)


def guess_role(family: str) -> str | None:
    """The role a face plays, judged by its family name (None when the name does not say)."""
    if re.search(r"ya\s*hei|雅黑", family, re.I):
        return None  # 微软雅黑 is no 黑体
    for role, pattern in _ROLE_PATTERNS:
        if pattern.search(family):
            return role
    return None


@dataclass(frozen=True)
class FontFace:
    path: Path
    index: int
    families: tuple[str, ...]  # every family name the face carries, in any language
    weight: int = 400


def read_faces(path: Path) -> list[FontFace]:
    """The faces in one font file, with their family names (name IDs 1 and 16)."""
    from fontTools.ttLib import TTCollection, TTFont

    faces: list[FontFace] = []
    try:
        if path.suffix.lower() in (".ttc", ".otc"):
            fonts = list(TTCollection(str(path), lazy=True).fonts)
        else:
            fonts = [TTFont(str(path), lazy=True)]
    except Exception as error:  # a broken file must not stop the renderer
        log.warning("fonts: cannot read %s: %s", path, error)
        return faces
    for index, font in enumerate(fonts):
        names: list[str] = []
        try:
            for record in font["name"].names:
                if record.nameID in (1, 16):
                    try:
                        name = record.toUnicode().strip()
                    except UnicodeDecodeError:
                        continue
                    if name and name not in names:
                        names.append(name)
            weight = font["OS/2"].usWeightClass if "OS/2" in font else 400
        except Exception as error:
            log.warning("fonts: cannot read the names in %s: %s", path, error)
            continue
        faces.append(FontFace(path=path, index=index, families=tuple(names), weight=weight))
    return faces


@dataclass
class FontSetup:
    """Which faces fill which role, for one renderer."""

    fonts_dir: Path | None = None
    files: list[Path] = field(default_factory=list)
    faces: list[FontFace] = field(default_factory=list)
    roles: dict[str, tuple[str, ...]] = field(default_factory=dict)  # role → configured families
    stacks: dict[str, tuple[str, ...]] = field(default_factory=dict)  # role → full stack

    @classmethod
    def discover(
        cls, fonts_dir: Path | None = None, font_roles: Mapping[str, str | Iterable[str]] | None = None
    ) -> FontSetup:
        setup = cls(fonts_dir=Path(fonts_dir) if fonts_dir else None)
        configured: dict[str, list[str]] = {role: [] for role in ROLES}

        def add(role: str, families: str | Iterable[str], source: str) -> None:
            if role not in ROLES:
                raise ValueError(f"{source}: unknown font role {role!r} (roles: {', '.join(ROLES)})")
            items = [families] if isinstance(families, str) else list(families)
            for family in items:
                family = str(family).strip()
                css_family(family)  # validate
                if family not in configured[role]:
                    configured[role].append(family)

        # 1. Explicit configuration wins, then roles.toml, then what the names say.
        for role, families in (font_roles or {}).items():
            add(role, families, "font_roles")
        if setup.fonts_dir is not None and setup.fonts_dir.is_dir():
            roles_file = setup.fonts_dir / ROLES_FILE
            if roles_file.is_file():
                with roles_file.open("rb") as handle:
                    for role, families in tomllib.load(handle).items():
                        add(role, families, str(roles_file))
            setup.files = sorted(
                p for p in setup.fonts_dir.iterdir() if p.is_file() and p.suffix.lower() in FONT_SUFFIXES
            )
            for path in setup.files:
                setup.faces.extend(read_faces(path))
            for face in setup.faces:
                for family in face.families:
                    role = guess_role(family)
                    if role is not None:
                        try:
                            add(role, family, str(face.path))
                        except ValueError:
                            pass  # an odd name in a font file: the face stays usable by its other names
                        break  # one name per face is enough

        defaults = default_stacks()
        for role in ROLES:
            setup.roles[role] = tuple(configured[role])
            stack = list(configured[role])
            stack += [family for family in defaults[role] if family not in stack]
            setup.stacks[role] = tuple(stack)
        return setup

    def family_list(self, role: str) -> str:
        return ", ".join([*(css_family(f) for f in self.stacks[role]), GENERIC[role]])

    def stylesheet(self) -> str:
        """CSS putting the configured faces in front of print.css's stacks (PDF only)."""
        lines = [":root {"]
        for role in ROLES:
            lines.append(f"  --font-{role}: {self.family_list(role)};")
        lines.append("}")
        song = self.family_list("song")
        lines.append(f"@page :left {{ @bottom-left {{ font-family: {song}; }} }}")
        lines.append(f"@page :right {{ @bottom-right {{ font-family: {song}; }} }}")
        return "\n".join(lines) + "\n"

    def register(self, font_config: object) -> None:
        """Make the directory's faces known to a WeasyPrint FontConfiguration's fontconfig."""
        if not self.files:
            return
        from weasyprint.text.ffi import ffi, fontconfig, pangoft2
        from weasyprint.text.fonts import PREFERRED_ENCODING

        config = font_config._config  # noqa: SLF001 (WeasyPrint 70: the FcConfig behind the font map)
        for path in self.files:
            if not fontconfig.FcConfigAppFontAddFile(config, str(path).encode(PREFERRED_ENCODING)):
                log.warning("fonts: fontconfig refused %s", path)
        pangoft2.pango_fc_font_map_config_changed(ffi.cast("PangoFcFontMap *", font_config.font_map))


# ---------------------------------------------------------------------------------------------
# Compact subsetting of CID-keyed CFF fonts
# ---------------------------------------------------------------------------------------------

# Tables a PDF viewer never reads from an embedded font (layout is done, text is horizontal).
_DROP_TABLES = (
    b"BASE", b"DSIG", b"EBDT", b"EBLC", b"EBSC", b"GDEF", b"GPOS", b"GSUB", b"JSTF", b"LTSH",
    b"PCLT", b"SVG ", b"VORG", b"vhea", b"vmtx", b"meta", b"STAT", b"MATH",
)

_installed = False

# Digests of the compact subsets made in this process, until the PDF that embeds them is
# finished (see `embed_compact_fonts_as_cff`). Bounded: a render that fails midway leaves its
# entries behind.
_compact_digests: dict[bytes, None] = {}
_MAX_DIGESTS = 256

# Faces whose subsets were checked (see _cids_kept): True when their charset keeps the CIDs.
_identity_faces: dict[tuple[object, ...], bool] = {}


def _digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


def _cids_kept(font_data: bytes, gids: list[int]) -> bool:
    """True when the subset's charset maps its glyphs to CIDs equal to the original glyph ids.

    WeasyPrint writes original glyph ids as CIDs. A CID-keyed font whose charset is the
    identity (Adobe-Identity-0, as Noto CJK and Source Han are) subset without keeping glyph
    ids still maps each of those CIDs to the right glyph; anything else does not.
    """
    from fontTools.ttLib import TTFont

    font = TTFont(io.BytesIO(font_data), lazy=True)
    if "CFF " not in font:
        return False
    cff = font["CFF "].cff
    top = cff.topDictIndex[0]
    if not hasattr(top, "ROS"):
        return False  # name-keyed: glyph ids are all there is
    order = font.getGlyphOrder()
    cids = []
    for name in order[1:]:
        if not name.startswith("cid"):
            return False
        cids.append(int(name[3:]))
    if cids != sorted(cids):
        return False
    wanted = [gid for gid in gids if gid != 0]
    return set(wanted) <= set(cids)


def install_compact_subsetting() -> None:
    """Make WeasyPrint subset CID-keyed CFF fonts without keeping glyph ids (idempotent)."""
    global _installed
    if _installed:
        return
    from weasyprint.pdf import fonts as pdf_fonts
    from weasyprint.text.ffi import ffi, harfbuzz, harfbuzz_subset
    from weasyprint.text.fonts import get_hb_object_data

    original_subset = pdf_fonts.Font.subset

    def subset(self, to_unicode, hinting):  # type: ignore[no-untyped-def]
        if not to_unicode or harfbuzz_subset is None or "CFF " not in self.tables or self.missing:
            return original_subset(self, to_unicode, hinting)
        gids = sorted(set(to_unicode) | {0})
        plan = ffi.gc(
            harfbuzz_subset.hb_subset_input_create_or_fail(), harfbuzz_subset.hb_subset_input_destroy
        )
        if plan == ffi.NULL:
            return original_subset(self, to_unicode, hinting)
        glyphs = harfbuzz_subset.hb_subset_input_glyph_set(plan)
        harfbuzz.hb_set_add_sorted_array(glyphs, ffi.new(f"hb_codepoint_t[{len(gids)}]", gids), len(gids))
        flags = harfbuzz_subset.HB_SUBSET_FLAGS_DESUBROUTINIZE
        if not hinting:
            flags |= harfbuzz_subset.HB_SUBSET_FLAGS_NO_HINTING
        harfbuzz_subset.hb_subset_input_set_flags(plan, flags)
        drop = harfbuzz_subset.hb_subset_input_set(plan, harfbuzz_subset.HB_SUBSET_SETS_DROP_TABLE_TAG)
        tags = sorted(harfbuzz.hb_tag_from_string(tag, -1) for tag in _DROP_TABLES)
        harfbuzz.hb_set_add_sorted_array(drop, ffi.new(f"hb_codepoint_t[{len(tags)}]", tags), len(tags))
        face = harfbuzz_subset.hb_subset_or_fail(self.hb_face, plan)
        if face == ffi.NULL:
            return original_subset(self, to_unicode, hinting)
        face = ffi.gc(face, harfbuzz.hb_face_destroy)
        data = get_hb_object_data(face)
        # Whether a face's charset keeps CIDs is a property of the face: checked once.
        key = (self.family, self.index, self.glyph_count, self.weight, self.style)
        usable = bool(data) and _identity_faces.get(key, True)
        if usable and key not in _identity_faces:
            try:
                usable = _cids_kept(data, gids)
            except Exception as error:  # fontTools could not read it back: be conservative
                log.debug("fonts: compact subset of %s unreadable: %s", self.family, error)
                usable = False
            _identity_faces[key] = usable
        if not usable:
            return original_subset(self, to_unicode, hinting)
        self.file_content = data
        if len(_compact_digests) >= _MAX_DIGESTS:
            _compact_digests.pop(next(iter(_compact_digests)))
        _compact_digests[_digest(data)] = None

    pdf_fonts.Font.subset = subset

    # Font.__init__ copies the whole font file out of HarfBuzz (20 MB for a Noto CJK
    # collection, per face and per render) although a compact subset never reads it: copy it
    # only when something asks for it.
    original_init = pdf_fonts.Font.__init__
    real_get_data = pdf_fonts.get_hb_object_data
    initialising = threading.local()

    def get_data(hb_object, *args):  # type: ignore[no-untyped-def]
        if not args and getattr(initialising, "font", None) is not None:
            return None  # Font.__init__'s copy of the font file: deferred
        return real_get_data(hb_object, *args)

    def init(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        initialising.font = self
        try:
            original_init(self, *args, **kwargs)
        finally:
            initialising.font = None

    def get_content(self):  # type: ignore[no-untyped-def]
        data = self.__dict__.get("_file_content")
        if data is None:
            data = self.__dict__["_file_content"] = real_get_data(self.hb_face)
        return data

    def set_content(self, value):  # type: ignore[no-untyped-def]
        self.__dict__["_file_content"] = value

    pdf_fonts.get_hb_object_data = get_data
    pdf_fonts.Font.__init__ = init
    pdf_fonts.Font.file_content = property(get_content, set_content)
    _installed = True


def _sfnt_table(data: bytes, tag: bytes) -> bytes | None:
    """One table of an OpenType font, from its table directory."""
    if len(data) < 12:
        return None
    (count,) = struct.unpack(">H", data[4:6])
    for i in range(count):
        entry = data[12 + 16 * i : 28 + 16 * i]
        if len(entry) < 16:
            return None
        if entry[:4] == tag:
            offset, length = struct.unpack(">II", entry[8:16])
            return data[offset : offset + length]
    return None


def embed_compact_fonts_as_cff(pdf: object) -> None:
    """Embed this process's compact subsets as bare CID-keyed CFF (``/CIDFontType0C``).

    A compact subset has new glyph ids; the PDF's text still names the original ones, as
    CIDs. The PDF specification maps CIDs to glyphs through the CFF charset in both forms of
    embedding, but FreeType-based viewers (poppler, MuPDF) read an OpenType wrapper's glyph
    ids as glyph ids; with the bare CFF program every viewer goes through the charset. Called
    from WeasyPrint's ``finisher`` hook with the pydyf.PDF about to be written.
    """
    for stream in getattr(pdf, "objects", ()):
        extra = getattr(stream, "extra", None)
        content = getattr(stream, "stream", None)
        if not extra or extra.get("Subtype") != "/OpenType" or not content or len(content) != 1:
            continue
        data = content[0]
        if not isinstance(data, bytes) or data[:4] != b"OTTO":
            continue
        digest = _digest(data)
        if digest not in _compact_digests:
            continue
        cff = _sfnt_table(data, b"CFF ")
        if cff is None:
            continue
        stream.stream = [cff]
        extra["Subtype"] = "/CIDFontType0C"
        _compact_digests.pop(digest, None)
