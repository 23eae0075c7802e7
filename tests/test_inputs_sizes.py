"""Sizes: a request beyond MAX_CONTENT_LENGTH is a 413 in the user's language with nothing
written; a body beyond BODY_LENGTH is refused at save; specimen PDFs are cached per brief
version and print run, and renders (cache misses only) are throttled per user across worker
processes."""

from __future__ import annotations

import io
import subprocess
import sys
import time
from pathlib import Path

import pytest
from flask_babel import force_locale, gettext
from sqlalchemy import func, select

from extensions import db
from models import AuditEvent, Brief, Recipient, Revision
from publishing.previews import RenderThrottle, SpecimenCache, SpecimenKey
from rendering.pdf import RenderedPdf
from tests.conftest import FILES_DIR, RUNTIME_DIR, fetch
from tests.test_inputs_text import chinese
from workflows.brief import State
from workflows.limits import BODY_LENGTH, ContentRefused

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024


@pytest.fixture(autouse=True)
def as_served(app):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    yield
    app.config["PROPAGATE_EXCEPTIONS"] = None


def counts(app) -> tuple[int, ...]:
    with app.app_context():
        # (Sign-ins are logged: the security log's events are not what a refusal must leave alone.)
        events = db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.subject_type != "security"))
        return (*(db.session.scalar(select(func.count(m.id))) for m in (Brief, Revision)), events,
                db.session.scalar(select(func.count(Recipient.id))))


TOO_LARGE = ("What was sent is larger than %(size)s MB, the most Canyue accepts at once. Nothing was saved: "
             "send smaller files, or fewer at a time.")


# --- The request limit -----------------------------------------------------------------------------


def test_the_request_limit_is_set_and_configurable(app):
    assert app.config["MAX_CONTENT_LENGTH"] == 20 * MB
    from config import from_environment

    assert from_environment({"MAX_CONTENT_LENGTH": str(5 * MB)})["MAX_CONTENT_LENGTH"] == 5 * MB


@pytest.mark.parametrize("url,field", [("/archive/import", "files"), ("/recipients/import", "file")])
def test_an_upload_beyond_the_limit_is_a_413_and_keeps_nothing(app, series_id, login_as, url, field):
    client = login_as("archivist" if url.startswith("/archive") else "editor")
    before = counts(app)
    big = io.BytesIO(b"x" * (21 * MB))
    response = client.post(url, {field: (big, "big.md" if field == "files" else "big.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert chinese(app, TOO_LARGE, size="20") in page and 'lang="zh-CN"' in page
    assert counts(app) == before
    assert not [p for p in FILES_DIR.rglob("*") if p.is_file()]


def test_the_413_page_speaks_english_to_an_english_user(app, series_id, login_as):
    client = login_as("archivist")
    assert client.post("/account", {"profile-locale": "en"}, prefix="profile").status_code == 302
    response = client.post("/archive/import", {"files": (io.BytesIO(b"x" * (21 * MB)), "big.md")},
                           content_type="multipart/form-data")
    assert response.status_code == 413
    with app.test_request_context(), force_locale("en"):
        assert gettext(TOO_LARGE, size="20") in response.get_data(as_text=True)


def test_a_form_beyond_the_limit_is_a_413(app, make_brief, login_as):
    brief_id = make_brief(State.DRAFT)
    before = fetch(app, brief_id)
    response = login_as("drafter").post(f"/briefs/{brief_id}/edit", {
        "title": before.title, "body": "x" * (21 * MB), "classification": "", "urgency": "",
        "version": str(before.version)})
    assert response.status_code == 413
    assert fetch(app, brief_id).revision_number == before.revision_number


def test_a_smaller_configured_limit_is_applied(app, series_id, login_as):
    app.config["MAX_CONTENT_LENGTH"] = 1 * MB
    try:
        response = login_as("archivist").post("/archive/import", {"files": (io.BytesIO(b"x" * (2 * MB)), "a.md")},
                                              content_type="multipart/form-data")
        assert response.status_code == 413
        assert chinese(app, TOO_LARGE, size="1") in response.get_data(as_text=True)
    finally:
        app.config["MAX_CONTENT_LENGTH"] = 20 * MB


# --- The body's length -------------------------------------------------------------------------------


def test_a_body_at_its_limit_saves_and_one_more_character_is_refused_and_kept(app, make_brief, login_as):
    brief_id = make_brief(State.DRAFT)
    client = login_as("drafter")
    before = fetch(app, brief_id)
    response = client.post(f"/briefs/{brief_id}/edit", {
        "title": before.title, "body": "长" * (BODY_LENGTH + 1), "classification": "", "urgency": "",
        "version": str(before.version)})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "长" * (BODY_LENGTH + 1) in page  # what was typed is kept
    assert fetch(app, brief_id).revision_number == before.revision_number
    response = client.post(f"/briefs/{brief_id}/edit", {
        "title": before.title, "body": "长" * BODY_LENGTH, "classification": "", "urgency": "",
        "version": str(before.version)})
    assert response.status_code == 302
    assert len(fetch(app, brief_id).body) == BODY_LENGTH


def test_the_save_operation_refuses_a_body_beyond_its_limit_whoever_calls_it(app, make_brief):
    from models import User
    from workflows.transitions import save_revision

    brief_id = make_brief(State.DRAFT)
    with app.app_context():
        brief = db.session.get(Brief, brief_id)
        author = db.session.scalar(select(User).where(User.username == "drafter"))
        with pytest.raises(ContentRefused) as refused:
            save_revision(db.session, brief, author, {"body": "长" * (BODY_LENGTH + 1)})
        assert refused.value.field == "body"
        db.session.rollback()
    assert fetch(app, brief_id).revision_number == 1


# --- Specimen PDFs: cached, and renders throttled ------------------------------------------------------


class CountingRenderer:
    def __init__(self) -> None:
        self.calls = 0

    def render(self, issue, **kw):
        self.calls += 1
        return RenderedPdf(b"%PDF-1.7 specimen " + str(self.calls).encode() + b" " + issue.title.encode(), 1)


@pytest.fixture
def renderer(monkeypatch):
    fake = CountingRenderer()
    monkeypatch.setattr("views.briefs.pdf_renderer", lambda: fake)
    return fake


@pytest.fixture
def allowance(app):
    saved = app.config["CANYUE_PREVIEW_RENDERS"]
    app.config["CANYUE_PREVIEW_RENDERS"] = 2
    yield 2
    app.config["CANYUE_PREVIEW_RENDERS"] = saved


def edit(app, client, brief_id, title):
    version = fetch(app, brief_id).version
    response = client.post(f"/briefs/{brief_id}/edit", {"title": title, "body": "正文。", "classification": "",
                                                         "urgency": "", "version": str(version)})
    assert response.status_code == 302


def test_a_specimen_is_rendered_once_per_version(app, make_brief, login_as):
    brief_id = make_brief(State.DRAFT)
    client = login_as("drafter")
    started = time.monotonic()
    first = client.get(f"/briefs/{brief_id}/preview.pdf")
    rendered = time.monotonic() - started
    assert first.status_code == 200 and first.data.startswith(b"%PDF")
    started = time.monotonic()
    again = client.get(f"/briefs/{brief_id}/preview.pdf")
    assert again.status_code == 200 and again.data == first.data
    assert time.monotonic() - started < rendered  # from the cache
    assert len(list((RUNTIME_DIR / "specimens").glob("*.pdf"))) == 1


def test_reopening_is_never_refused_and_only_renders_count(app, make_brief, login_as, renderer, allowance):
    brief_id = make_brief(State.DRAFT)
    client = login_as("drafter")
    for _ in range(10):
        assert client.get(f"/briefs/{brief_id}/preview.pdf").status_code == 200
    assert renderer.calls == 1
    edit(app, client, brief_id, "第二稿")
    assert client.get(f"/briefs/{brief_id}/preview.pdf").status_code == 200
    assert renderer.calls == 2
    edit(app, client, brief_id, "第三稿")
    refused = client.get(f"/briefs/{brief_id}/preview.pdf")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert chinese(app, "You have had %(count)d new specimen PDFs made in the last %(minutes)d minutes, the most "
                   "allowed. Please try again in %(wait)d minutes; a specimen already made opens at once.",
                   count=2, minutes=10, wait=10) in refused.get_data(as_text=True)
    assert renderer.calls == 2
    # Another user's allowance is their own.
    assert login_as("editor").get(f"/briefs/{make_brief(State.IN_REVIEW)}/preview.pdf").status_code == 200


def test_the_cache_changes_with_the_print_run_and_the_series(app, make_brief, login_as, renderer, series_id):
    from models import Series

    brief_id = make_brief(State.DRAFT)
    client = login_as("drafter")
    assert client.get(f"/briefs/{brief_id}/preview.pdf").status_code == 200
    with app.app_context():
        db.session.get(Series, series_id).default_print_run = 45
        db.session.commit()
    assert client.get(f"/briefs/{brief_id}/preview.pdf").status_code == 200
    assert renderer.calls == 2
    assert len(list((RUNTIME_DIR / "specimens").glob("*.pdf"))) == 1  # the older one was replaced


def test_the_cache_is_no_permission(app, make_brief, login_as, renderer):
    brief_id = make_brief(State.DRAFT, title="周明的草稿：不可外泄")
    assert login_as("drafter").get(f"/briefs/{brief_id}/preview.pdf").status_code == 200
    for intruder in ("drafter2", "editor", "archivist"):
        response = login_as(intruder).get(f"/briefs/{brief_id}/preview.pdf")
        assert response.status_code == 404
        assert "不可外泄".encode() not in response.data
    assert renderer.calls == 1


def test_the_throttle_holds_across_processes(tmp_path):
    """Two other processes take the allowance; this one is refused (per-process memory would not)."""
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from pathlib import Path; "
            "from publishing.previews import RenderThrottle; "
            "print(RenderThrottle(Path(sys.argv[2]), limit=2, window_seconds=600).take(7))")
    for _ in range(2):
        done = subprocess.run([sys.executable, "-c", code, str(ROOT), str(tmp_path)], capture_output=True, text=True,
                              check=True)
        assert done.stdout.strip() == "None", done.stderr
    wait = RenderThrottle(tmp_path, limit=2, window_seconds=600).take(7)
    assert wait is not None and 590 < wait <= 600
    assert RenderThrottle(tmp_path, limit=2, window_seconds=600).take(8) is None  # another user


def test_the_cache_is_bounded_by_size_and_age(tmp_path):
    cache = SpecimenCache(tmp_path, max_bytes=250, max_age_seconds=3600)
    keys = [SpecimenKey(b, 1, 30, 1, 1, "f") for b in range(1, 5)]
    for key in keys:
        cache.put(key, b"%PDF" + b"x" * 96)
        time.sleep(0.01)
    assert [cache.get(k) is not None for k in keys] == [False, False, True, True]
    assert sum(p.stat().st_size for p in tmp_path.iterdir()) <= 250
    old = tmp_path / keys[3].filename
    stale = time.time() - 7200
    import os

    os.utime(old, (stale, stale))
    assert cache.get(keys[3]) is None and not old.exists()
    cache.put(SpecimenKey(9, 1, 30, 1, 1, "f"), b"x" * 1000)  # larger than the whole cache: not kept
    assert cache.get(SpecimenKey(9, 1, 30, 1, 1, "f")) is None
