"""The Chinese catalog covers every text in the source, the compiled catalog is current, and
pages follow the user's language: Chinese by default, English on request."""

from __future__ import annotations

import fnmatch
import io
import os
import re
from pathlib import Path

import pytest
from babel import Locale
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from flask import Flask
from flask_babel import force_locale, get_translations, gettext

from workflows.brief import State

ROOT = Path(__file__).resolve().parent.parent
CHINESE = "zh_CN"

# The same options as scripts/translations extract: babel.cfg's method map, the extra keywords
# (-k _l -k lazy_gettext -k N_), and its --ignore-dirs list, read from the script itself.
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None, "N_": None}
PLACEHOLDER = re.compile(r"%(?:\(\w+\))?[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]")


def _ignored_dirs() -> list[str]:
    script = (ROOT / "scripts" / "translations").read_text(encoding="utf-8")
    match = re.search(r'--ignore-dirs="([^"]+)"', script)
    assert match, "scripts/translations no longer passes --ignore-dirs; update this test"
    return match.group(1).split()


def extracted_msgids() -> dict[str, list[str]]:
    """msgid -> where it occurs, as `scripts/translations extract` would collect them."""
    with open(ROOT / "babel.cfg", encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg, "babel.cfg")
    ignored = _ignored_dirs()

    def keep(dirname: str) -> bool:
        name = os.path.basename(dirname)
        return not any(fnmatch.fnmatch(name, pattern) for pattern in ignored)

    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS, directory_filter=keep
    ):
        msgid = message[0] if isinstance(message, (tuple, list)) else message
        if msgid:
            found.setdefault(msgid, []).append(f"{filename}:{lineno}")
    return found


def catalog_files(app: Flask) -> list[str]:
    """The .mo files the app loads for Chinese (Babel names the locale zh_Hans_CN)."""
    with app.test_request_context(), force_locale(CHINESE):
        return list(get_translations().files)


def po_path(app: Flask) -> Path:
    files = catalog_files(app)
    assert files, (
        f"the app finds no catalog for {CHINESE} (Babel looks for "
        f"translations/{Locale.parse(CHINESE)}/LC_MESSAGES/messages.mo): "
        "run `bash scripts/translations compile`"
    )
    return Path(files[0]).with_suffix(".po")


def placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text))


# --- The catalog ---------------------------------------------------------------------------


def test_every_source_text_has_a_chinese_translation(app):
    source = extracted_msgids()
    assert len(source) > 100, "extraction found suspiciously few texts"
    with open(po_path(app), "rb") as f:
        catalog = read_po(f, locale="zh_Hans_CN")

    missing, fuzzy, bad_placeholders = [], [], []
    for msgid, where in sorted(source.items()):
        entry = catalog.get(msgid)
        string = entry.string if entry is not None else ""
        if isinstance(string, (tuple, list)):
            string = string[0] if all(string) else ""
        if not string:
            missing.append(f"{msgid!r} ({where[0]})")
        elif entry.fuzzy:
            fuzzy.append(repr(msgid))
        elif placeholders(msgid) != placeholders(string):
            bad_placeholders.append(f"{msgid!r} -> {string!r}")

    problems = []
    if missing:
        problems.append(
            f"{len(missing)} text(s) without a Chinese translation (bash scripts/translations extract "
            "&& bash scripts/translations update, then translate):\n  " + "\n  ".join(missing)
        )
    if fuzzy:
        problems.append("fuzzy entries (the app ignores them until reviewed):\n  " + "\n  ".join(fuzzy))
    if bad_placeholders:
        problems.append("placeholders differ:\n  " + "\n  ".join(bad_placeholders))
    assert not problems, "\n".join(problems)


def test_the_compiled_catalog_matches_the_po_file(app):
    po = po_path(app)
    with open(po, "rb") as f:
        catalog = read_po(f, locale="zh_Hans_CN")
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    expected = Translations(fp=buffer)._catalog
    with app.test_request_context(), force_locale(CHINESE):
        loaded = get_translations()._catalog
    stale = sorted(k for k in set(expected) | set(loaded) if expected.get(k) != loaded.get(k))
    assert not stale, (
        f"{po.with_suffix('.mo')} is out of date with {po.name} "
        f"({len(stale)} differences, e.g. {stale[:3]!r}): run `bash scripts/translations compile`"
    )


def test_chinese_and_english_lookups(app):
    with app.test_request_context():
        with force_locale(CHINESE):
            assert gettext("My tasks") == "我的待办"
            assert gettext("No. %(issue)d (overall No. %(total)d)", issue=3, total=45) == "第3期（总第45期）"
        # No English catalog: the English msgids are shown as they are.
        with force_locale("en"):
            assert gettext("My tasks") == "My tasks"
            assert gettext("Revision %(n)d", n=2) == "Revision 2"


# --- Pages ---------------------------------------------------------------------------------


def test_the_account_language_switches_the_pages(login_as):
    client = login_as("drafter")  # a new account speaks Chinese
    page = client.get("/").get_data(as_text=True)
    assert "我的待办" in page
    assert 'lang="zh-CN"' in page

    response = client.post("/account", {"profile-locale": "en"}, prefix="profile")
    assert response.status_code == 302, response.get_data(as_text=True)[:500]

    page = client.get("/").get_data(as_text=True)
    assert "My tasks" in page
    assert "我的待办" not in page
    assert 'lang="en"' in page

    client.post("/account", {"profile-locale": "zh_CN"}, prefix="profile")
    assert "我的待办" in client.get("/").get_data(as_text=True)


def test_the_login_page_is_chinese_unless_english_is_chosen(app, people):
    http = app.test_client()
    page = http.get("/login").get_data(as_text=True)
    assert "登录" in page and "Log in" not in page

    page = http.get("/login?lang=en").get_data(as_text=True)
    assert "Log in" in page and "登录" not in page
    # The choice sticks for the session ...
    assert "Log in" in http.get("/login").get_data(as_text=True)
    # ... and can be undone.
    assert "登录" in http.get("/login?lang=zh_CN").get_data(as_text=True)


def test_a_brief_page_in_chinese(login_as, make_brief):
    brief_id = make_brief(State.IN_REVIEW)
    page = login_as("editor").get(f"/briefs/{brief_id}").get_data(as_text=True)
    assert "审核中" in page  # state label
    for button in ("审核通过", "退回修改"):
        assert button in page, button
    assert "理由" in page  # the reason field of 退回修改
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))
    assert "周明 提交审核" in text  # history: the person, then the event
    for english in ("In review", "Approve", "Return for revision", "submitted it for review"):
        assert english not in page, english


@pytest.mark.parametrize("state,label", [(State.DRAFT, "草稿"), (State.SIGNED, "已签发"), (State.PUBLISHED, "已印发")])
def test_state_labels_in_the_list(login_as, make_brief, state, label):
    make_brief(state)
    page = login_as("editor").get(f"/briefs?state={state.value}").get_data(as_text=True)
    assert label in page
