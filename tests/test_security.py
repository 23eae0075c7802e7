"""Security over HTTP: CSRF on every form, no script from stored text, response headers, and
no peeking at other people's briefs by id."""

from __future__ import annotations

import io

import re
from html.parser import HTMLParser

from flask_babel import force_locale, gettext
from markupsafe import escape
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from extensions import db
from models import AuditEvent, Brief, Revision, Series, User
from tests.conftest import PASSWORD, csrf_from, fetch
from workflows.brief import State


def zh(app, message: str) -> str:
    with app.test_request_context(), force_locale("zh_CN"):
        return str(escape(gettext(message)))


# --- CSRF on every form ------------------------------------------------------------------------


def snapshot(app) -> dict:
    """Everything a forged POST could change."""
    with app.app_context():
        users = db.session.scalars(select(User).order_by(User.id)).all()
        briefs = db.session.scalars(select(Brief).order_by(Brief.id)).all()
        series = db.session.scalars(select(Series).order_by(Series.id)).all()
        state = {
            "users": [(u.id, u.username, u.display_name, u.password_hash, u.session_token, u.active,
                       u.locale, sorted(u.role_set), u.totp_secret, u.totp_enabled_at) for u in users],
            "briefs": [(b.id, b.state, b.version, b.title, b.body, b.revision_number) for b in briefs],
            "series": [(s.id, s.name, s.version, s.hosts, s.default_print_run, s.classified_levels)
                       for s in series],
            # Events but the security log's (the test signs in as it goes, and each sign-in is logged).
            "events": db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.subject_type != "security")),
            "revisions": db.session.scalar(select(func.count(Revision.id))),
        }
        db.session.remove()
        return state


def fill(rule: str, values: dict) -> str:
    def value(match: re.Match) -> str:
        name = match.group(1)
        assert name in values, f"no test value for <{name}> in {rule}: add one"
        return str(values[name])
    return re.sub(r"<(?:[\w]+:)?(\w+)>", value, rule)


def test_every_form_needs_the_csrf_token(app, people, series_id, make_brief, login_as):
    draft = make_brief(State.DRAFT)
    signed = make_brief(State.SIGNED)
    published = make_brief(State.PUBLISHED)
    values = {"brief_id": draft, "action": "submit", "user_id": people["drafter2"], "series_id": series_id,
              "copy_id": 1, "entry_id": 1, "direction": "up", "link_id": 1, "recipient_id": 1,
              "notification_id": 1, "job_id": 1, "secretary_id": people["secretary"], "leader_id": people["signer"],
              "follow_up_id": 1, "delegation_id": 1, "day": "2026-10-08"}
    # Data that would change something if the token were not checked.
    form_data = {
        "auth.login": {"username": "drafter", "password": PASSWORD},
        "auth.logout": {},
        "auth.set_language": {"locale": "en", "next": "/"},
        "auth.second_factor": {"code": "123456"},
        "auth.enrol_at_login": {"code": "123456"},
        "auth.twofactor_setup": {"code": "123456"},
        "auth.twofactor_disable": {"confirm-current": PASSWORD},
        "auth.recovery_codes": {"confirm-current": PASSWORD},
        "security.twofactor_policy": {"role-drafter": "required"},
        "auth.account": {"password-current": PASSWORD, "password-new": "forged password 123",
                         "password-confirm": "forged password 123", "profile-locale": "en"},
        "briefs.new": {"series_id": series_id, "title": "伪造", "body": "伪造正文", "classification": "", "urgency": ""},
        "briefs.edit": {"title": "伪造", "body": "伪造正文", "classification": "", "urgency": "", "version": "1"},
        "briefs.act": {"submit-version": "1", "version": "1"},
        "briefs.show": {"do": "submit", "submit-version": "1", "version": "1"},
        "briefs.publish_form": {"issue_date": "2026-11-20", "version": "4"},
        "admin.user": {"username": "mallory", "display_name": "马洛里", "roles": ["admin"], "locale": "zh_CN",
                       "active": "y", "password": "forged password 123"},
        "admin.series": {"name": "伪造刊物", "hosts": "伪造", "default_print_run": "1", "timezone": "UTC",
                         "first_total_number": "1", "supplement_numbering": "shared", "active": "y",
                         "version": "1"},
        "admin.user_roles": {"roles": ["archivist"]},
        "admin.series_classification": {"classified_levels": "伪造", "version": "1"},
        "audit.verify": {},
        "archive.file_form": {"retention": "Y", "version": "6"},
        "archive.sequences": {"year": "2026", "retention": "Y", "first_item": "500"},
        "archive.export": {"year": "2026"},
        "archive.import_page": {"files": "an upload, made fresh for each post below"},
        # Distribution (views/distribution.py).
        "distribution.recipient_form": {"name": "伪造", "category": "送", "default_copies": "1", "active": "y"},
        "distribution.recipients_import": {"file": "an upload, made fresh for each post below"},
        "distribution.series_list": {"add_recipient": "1", "add_category": "送", "add_copies": "1",
                                     "add_medium": "printed"},
        "distribution.add_entry": {"recipient_id": "1", "category": "送", "copies": "1", "medium": "printed",
                                   "version": "1"},
        "distribution.save_list": {"version": "1"},
        "distribution.remove_entry": {"version": "1"},
        "distribution.move_entry": {"version": "1"},
        "distribution.dispatch_everything": {"route": "courier", "version": "1"},
        "distribution.receipts": {"copy": "1", "signed-1": "伪造", "version": "1"},
        "distribution.recall": {"reason": "伪造", "version": "1"},
        "distribution.copy_act": {"submit-version": "1", "submit-route": "courier"},
        "distribution.new_link": {"days": "7"},
        "distribution.revoke": {},
        # Corrections (views/corrections.py).
        "corrections.request_form": {"issue_date": "2026-11-20", "issue_number": "9", "total_number": "99",
                                     "reason": "伪造", "version": "6"},
        "corrections.confirm_form": {"comment": "伪造", "version": "6"},
        # 更正 and 作废 after publication (views/amendments.py).
        "amendments.correct": {"reason": "伪造", "version": "6"},
        "amendments.reissue_form": {"version": "6"},
        "amendments.annul": {"reason": "伪造", "version": "6"},
        # Word files and images (views/word.py).
        "word.import_form": {"series_id": "1", "file": "an upload, made fresh for each post below"},
        "word.import_revision_form": {"version": "1", "file": "an upload, made fresh for each post below"},
        "word.upload_image": {"version": "1", "caption": "伪造", "file": "an upload, made fresh for each post below"},
        # Notifications and background jobs (views/notifications.py, views/jobs.py).
        "notifications.mark_read": {"page": "1"},
        "notifications.mark_all_read": {},
        "notifications.settings": {"notify-email": "mallory@example.org", "notify-mail_todo": "y"},
        "jobs.retry": {},
        "work.start": {"kind": "archive.verify"},
        # 代签 and 领导批示 (signoff/views.py, instructions/views.py).
        "signoff.paper_form": {"leader_id": str(people["signer"]), "signed_on": "2026-11-20", "opinion": "伪造",
                               "version": "3"},
        "signoff.secretaries": {"secretary_id": str(people["secretary"]), "leader_id": str(people["signer2"])},
        "signoff.unlink": {},
        "instructions.new": {"leader_name": "伪造", "level": "部门", "given_on": "2026-11-20", "kind": "affirm",
                             "text": "伪造"},
        "instructions.follow_up": {"note": "伪造", "done": "done"},
        # The inbox (views/inbox.py): a comment, a deadline, 委托, the days off.
        "inbox.comment": {"comment-body": "伪造"},
        "inbox.deadline": {"deadline-deadline": "2030-01-01"},
        "inbox.delegate": {"delegation-delegate_id": "1", "delegation-role": "drafter",
                           "delegation-starts_on": "2026-12-01", "delegation-ends_on": "2026-12-09"},
        "inbox.end_delegation": {},
        "inbox.days_off": {"day-day": "2026-10-08", "day-note": "伪造"},
        "inbox.delete_day_off": {},
    }

    def data_for(endpoint: str) -> dict:
        if endpoint == "archive.import_page":  # an upload stream is read once
            return {"files": (io.BytesIO(b"---\ntitle: x\n---\n"), "forged.md")}
        if endpoint == "distribution.recipients_import":
            return {"file": (io.BytesIO("姓名或单位,类别\n伪造,送\n".encode()), "forged.csv")}
        if endpoint in ("word.import_form", "word.import_revision_form"):
            from tests.wordsamples import typed_docx
            return {**form_data[endpoint], "file": (io.BytesIO(typed_docx()), "forged.docx")}
        if endpoint == "word.upload_image":
            from tests.wordsamples import chart_png
            return {**form_data[endpoint], "file": (io.BytesIO(chart_png()), "forged.png")}
        return dict(form_data[endpoint])

    persona = {"auth.login": None, "auth.second_factor": None, "auth.enrol_at_login": None,
               "briefs.publish_form": "editor", "security.twofactor_policy": "admin"}
    persona.update(dict.fromkeys(["archive.file_form", "archive.sequences", "archive.export", "archive.import_page"],
                                 "archivist"))
    persona.update({e: "editor" for e in form_data if e.startswith("distribution.")})
    persona.update({"corrections.request_form": "editor", "corrections.confirm_form": "signer",
                    "amendments.correct": "editor", "amendments.reissue_form": "editor", "amendments.annul": "signer",
                    "admin.user_roles": "security_admin", "admin.series_classification": "security_admin",
                    "audit.verify": "auditor", "jobs.retry": "admin", "inbox.days_off": "admin",
                    "inbox.delete_day_off": "admin", "inbox.deadline": "editor", "signoff.paper_form": "secretary",
                    "signoff.secretaries": "security_admin", "signoff.unlink": "security_admin",
                    "instructions.new": "clerk", "instructions.follow_up": "editor"})
    clients = {name: login_as(name) for name in ("admin", "drafter", "editor", "archivist", "signer",
                                                 "security_admin", "auditor", "secretary", "clerk")}
    before = snapshot(app)
    checked = []
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods or rule.endpoint == "static":
            continue
        assert rule.endpoint in form_data, f"new POST route {rule.endpoint}: add it to this test"
        who = persona.get(rule.endpoint, "admin" if rule.endpoint.startswith("admin.") else "drafter")
        url_values = dict(values, brief_id={"briefs.publish_form": signed, "archive.file_form": published,
                                            "corrections.request_form": published,
                                            "corrections.confirm_form": published, "amendments.correct": published,
                                            "amendments.reissue_form": signed,
                                            "amendments.annul": published}.get(rule.endpoint, draft))
        url = fill(rule.rule, url_values)
        http = app.test_client() if who is None else clients[who].http
        response = http.post(url, data=data_for(rule.endpoint))
        assert response.status_code == 400, (url, response.status_code)
        assert zh(app, "The form has expired. Please reload the page and try again.") in response.get_data(as_text=True)
        # A token from another session does not do either.
        forged = csrf_from(login_as("drafter2").get("/account").get_data(as_text=True))
        response = http.post(url, data={**data_for(rule.endpoint), "csrf_token": forged,
                                        "submit-csrf_token": forged, "password-csrf_token": forged,
                                        "profile-csrf_token": forged, "confirm-csrf_token": forged,
                                        "notify-csrf_token": forged})
        assert response.status_code == 400, ("foreign token", url, response.status_code)
        checked.append(url)
        if who is None:
            assert http.get("/account").status_code == 302  # not logged in
        else:
            assert http.get("/account").status_code == 200  # still logged in (logout was refused too)
    # login, logout, account, new, edit, act, publish, 2 user, roles, 2 series, classification, file,
    # sequences, export, import, and distribution: 2 recipient, import, series list, add, save, remove,
    # move, dispatch, receipts, recall, copy move, new link, revoke; the audit trail's verification;
    # a correction's request and confirmation; and sign-in: second factor, enrolment at sign-in,
    # set-up, turning off, recovery codes, the two-factor policy; a Word import (new draft and
    # revision) and an image upload; the language switch and the brief page's own action POST;
    # a notification marked read, all marked read, the notification settings, a job's retry;
    # the inbox's comment, deadline, delegation (name, end) and days off (add, remove);
    # a paper sign-off, linking and unlinking a secretary, a 批示 and its follow-up;
    # 更正 (a correction draft, a 更正版) and 作废; starting a maintenance job (views/work.py)
    assert len(checked) == 64, checked
    assert snapshot(app) == before


def test_a_token_from_the_page_works(app, make_brief, login_as):
    """The control: the same POST with the page's own token goes through."""
    draft = make_brief(State.DRAFT)
    client = login_as("drafter")
    assert client.act(draft, "submit").status_code == 302
    assert fetch(app, draft).state == State.IN_REVIEW.value


# --- stored text cannot run script -------------------------------------------------------------

SCRIPT = "<script>alert(1)</script>"
JS_LINK = "[点我](javascript:alert(1))"
IMG = "<img src=x onerror=alert(1)>"
SVG = '"><svg onload=alert(1)>'

TITLE = f"标题{SCRIPT}{JS_LINK}{IMG}{SVG}"
AUTHOR_LINE = f"署名{SVG}{SCRIPT}"
SPECIAL = [f"{SCRIPT}书记", f"{IMG}市长", f"{SVG}主任"]
KEYWORDS = [SCRIPT, JS_LINK, IMG, SVG]
BODY = "\n\n".join([
    "正文开头。",
    SCRIPT,
    f"请{JS_LINK}查看。",
    IMG,
    SVG,
    '<a href="javascript:alert(1)">链接</a>',
    "<javascript:alert(1)>",
    "![图](javascript:alert(1))",
    "[正常链接](https://example.com/)",
])


class TagAudit(HTMLParser):
    """Collects what a browser would run (tags, handlers, URLs) and what it would show."""

    DANGEROUS_TAGS = {"script", "svg", "iframe", "object", "embed", "img", "math", "base"}
    URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "srcdoc"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.shown: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.DANGEROUS_TAGS and not self.preview_markup(tag, dict(attrs)):
            self.problems.append(f"<{tag}> tag")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"{name}= on <{tag}>")
            cleaned = re.sub(r"[\x00-\x20]", "", value or "").lower()
            if name in self.URL_ATTRIBUTES and (
                cleaned.startswith(("javascript:", "vbscript:", "data:text/html", "data:image/svg"))
                or (cleaned.startswith("data:") and tag in {"a", "iframe", "object", "embed", "form", "area"})
            ):
                self.problems.append(f"{name}={value!r} on <{tag}>")
            if name == "value" and value:
                self.shown.append(value)

    handle_startendtag = handle_starttag

    @staticmethod
    def preview_markup(tag: str, attrs: dict[str, str | None]) -> bool:
        """The preview's own page images and text layers (templates/briefs/preview.html)."""
        if tag == "svg":
            return attrs.get("class") == "preview-text" and len(attrs) == 5
        if tag == "img":
            return bool(re.fullmatch(r"/briefs/\d+/preview/[\w-]+/page-\d+\.png", attrs.get("src") or ""))
        return False

    def handle_data(self, data: str) -> None:
        self.shown.append(data)


def audit(page: str) -> TagAudit:
    parser = TagAudit()
    parser.feed(page)
    parser.close()
    return parser


# The one script every page loads (the phone menu, static/app.js): from the site, never inline.
OWN_SCRIPT = '<script src="/static/app.js" defer></script>'


def assert_inert(page: str, *visible: str, where: str = "") -> None:
    page = page.replace(OWN_SCRIPT, "", 1)
    assert "<script" not in page.lower(), where
    # The one SVG element allowed: the preview's text layer (templates/briefs/preview.html).
    assert "<svg" not in page.lower().replace('<svg class="preview-text"', ""), where
    # A second opinion besides the parser: in each tag, with its quoted values blanked out
    # (escaped text in a value is harmless), no event-handler attribute.
    for tag in re.findall(r"<[a-zA-Z][^<>]*>", page):
        bare = re.sub(r""""[^"]*"|'[^']*'""", '""', tag)
        assert not re.search(r"[\s/]on\w+\s*=", bare, re.I), (where, tag)
        assert not re.search(r"""=\s*javascript:""", bare, re.I), (where, tag)
    found = audit(page)
    assert found.problems == [], (where, found.problems)
    shown = "".join(found.shown)
    squashed = "".join(shown.split())
    for text in visible:
        # The preview's text layer has the page's lines: a name may run on to the next line.
        assert text in shown or "".join(text.split()) in squashed, (where, text)


def test_stored_text_is_shown_never_run(app, make_brief, login_as, series_id):
    brief_id = make_brief(State.DRAFT, title=TITLE, author_line=AUTHOR_LINE, special_report=SPECIAL,
                          keywords=KEYWORDS, body=BODY)
    client = login_as("drafter")
    # A second revision, saved through the form, so the changes page has a difference to show.
    edited_title = TITLE + "（修订）"
    response = client.post(f"/briefs/{brief_id}/edit", {
        "title": edited_title, "author_line": AUTHOR_LINE, "special_report": "\n".join(SPECIAL),
        "keywords": "、".join(KEYWORDS), "body": BODY + "\n\n补充一段" + SCRIPT, "classification": "",
        "urgency": "", "version": str(fetch(app, brief_id).version),
    })
    assert response.status_code == 302
    stored = fetch(app, brief_id)
    assert stored.revision_number == 2
    assert stored.title == edited_title and stored.special_report == SPECIAL and stored.keywords == KEYWORDS

    pages = {
        "/": [edited_title],
        "/briefs": [edited_title],
        f"/briefs/{brief_id}": [edited_title, AUTHOR_LINE, *SPECIAL, *KEYWORDS, SCRIPT, IMG, SVG],
        f"/briefs/{brief_id}/edit": [edited_title, AUTHOR_LINE, *SPECIAL, *KEYWORDS, SCRIPT],
        f"/briefs/{brief_id}/preview": [edited_title, AUTHOR_LINE, *SPECIAL, SCRIPT, IMG],
        f"/briefs/{brief_id}/changes": [TITLE, "（修订）", "补充一段" + SCRIPT],
        f"/briefs/{brief_id}/changes?a=1&b=2": [TITLE],
    }
    for url, visible in pages.items():
        response = client.get(url)
        assert response.status_code == 200, url
        assert_inert(response.get_data(as_text=True), *visible, where=url)

    body = client.get(f"/briefs/{brief_id}").get_data(as_text=True)
    assert 'href="https://example.com/"' in body  # ordinary links still work
    assert f"/briefs/{brief_id}\"" in client.get("/").get_data(as_text=True)  # listed on 我的待办


def test_stored_text_is_inert_for_reviewers_too(app, make_brief, login_as):
    brief_id = make_brief(State.SIGNED, title=TITLE, author_line=AUTHOR_LINE, special_report=SPECIAL,
                          keywords=KEYWORDS, body=BODY)
    for name, urls in {
        "editor": ["/", "/briefs", f"/briefs/{brief_id}", f"/briefs/{brief_id}/preview",
                   f"/briefs/{brief_id}/publish"],
        "signer": [f"/briefs/{brief_id}", f"/briefs/{brief_id}/changes"],
    }.items():
        client = login_as(name)
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, (name, url)
            assert_inert(response.get_data(as_text=True), TITLE, where=f"{name} {url}")


def test_a_hostile_display_name_is_inert(app, people, make_brief, login_as):
    evil_name = '<script>alert("名")</script>坏人'
    with app.app_context():
        evil = User(username="evil", display_name=evil_name,
                    password_hash=generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000"))
        evil.set_roles({"drafter"})
        db.session.add(evil)
        db.session.commit()
    brief_id = make_brief(State.DRAFT, author="evil")
    admin_page = login_as("admin").get("/admin/users")
    assert admin_page.status_code == 200
    assert_inert(admin_page.get_data(as_text=True), evil_name, where="admin users")
    author = login_as("evil")
    for url in ("/", f"/briefs/{brief_id}", f"/briefs/{brief_id}/changes", "/account"):
        response = author.get(url)
        assert response.status_code == 200, url
        assert_inert(response.get_data(as_text=True), evil_name, where=url)
    # The history names the actor, escaped.
    history = author.get(f"/briefs/{brief_id}").get_data(as_text=True)
    assert str(escape(evil_name)) in history


def test_the_audit_helper_catches_script(app):
    """The checks above can fail: a page with live script is caught."""
    for bad in ("<p><script>alert(1)</script></p>", '<a href=" javascript:alert(1)">x</a>',
                '<img src=x onerror=alert(1)>', '<div onclick="x()">', '<a href="data:text/html,x">x</a>',
                '<a href="JaVa\tScRiPt:alert(1)">x</a>'):
        try:
            assert_inert(bad)
        except AssertionError:
            continue
        raise AssertionError(f"not caught: {bad}")


# --- response headers --------------------------------------------------------------------------


def test_content_security_policy_everywhere(app, make_brief, login_as):
    brief_id = make_brief(State.DRAFT)
    anonymous = app.test_client()
    client = login_as("drafter")
    responses = {
        "/login": anonymous.get("/login"),
        "/": client.get("/"),
        "brief": client.get(f"/briefs/{brief_id}"),
        "preview": client.get(f"/briefs/{brief_id}/preview"),
        "404": client.get("/briefs/999999"),
        "405": client.get("/logout"),
    }
    for name, response in responses.items():
        policy = response.headers.get("Content-Security-Policy", "")
        directives = {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}
        assert directives.get("script-src") == ["'self'"], (name, policy)
        assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy, name
        assert directives.get("object-src") == ["'none'"], name
        assert "frame-ancestors" in directives, name
        assert response.headers.get("X-Content-Type-Options") == "nosniff", name


def test_session_cookie_is_httponly_and_lax(app, people):
    http = app.test_client()
    token = csrf_from(http.get("/login").get_data(as_text=True))
    response = http.post("/login", data={"username": "editor", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    cookies = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("session=")]
    assert cookies, response.headers
    for header in cookies:
        attributes = [part.strip().lower() for part in header.split(";")]
        assert "httponly" in attributes, header
        assert "samesite=lax" in attributes, header
    cookie = http.get_cookie("session", domain="canyue.test")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"


# --- other people's briefs by id ---------------------------------------------------------------


def test_another_drafter_cannot_reach_a_draft_by_id(app, make_brief, login_as):
    brief_id = make_brief(State.DRAFT, title="周明的草稿：不可外泄")
    before = fetch(app, brief_id)
    intruder = login_as("drafter2")
    for url in (f"/briefs/{brief_id}", f"/briefs/{brief_id}/edit", f"/briefs/{brief_id}/preview",
                f"/briefs/{brief_id}/changes", f"/briefs/{brief_id}/publish"):
        response = intruder.get(url)
        assert response.status_code == 404, url
        assert "不可外泄" not in response.get_data(as_text=True), url
    posts = {
        f"/briefs/{brief_id}/edit": ({"title": "孙丽改的", "body": "改", "version": str(before.version),
                                       "classification": "", "urgency": ""}, ""),
        f"/briefs/{brief_id}/act/submit": ({"submit-version": str(before.version)}, "submit"),
        f"/briefs/{brief_id}/act/withdraw": ({"withdraw-version": str(before.version),
                                               "withdraw-comment": "不要了"}, "withdraw"),
        f"/briefs/{brief_id}/publish": ({"issue_date": "2026-11-20", "version": str(before.version)}, ""),
    }
    for url, (data, prefix) in posts.items():
        response = intruder.post(url, data, prefix=prefix)
        assert response.status_code == 404, url
        assert "不可外泄" not in response.get_data(as_text=True), url
    assert f"/briefs/{brief_id}\"" not in intruder.get("/briefs").get_data(as_text=True)
    assert f"/briefs/{brief_id}\"" not in intruder.get("/").get_data(as_text=True)
    after = fetch(app, brief_id)
    assert (after.state, after.version, after.title, after.revision_number) == (
        before.state, before.version, before.title, before.revision_number)
    with app.app_context():
        assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.brief_id == brief_id)) == 1


def test_a_brief_in_review_is_hidden_from_other_drafters_and_archivists(app, make_brief, login_as):
    brief_id = make_brief(State.IN_REVIEW)
    for name in ("drafter2", "archivist", "admin"):
        client = login_as(name)
        assert client.get(f"/briefs/{brief_id}").status_code == 404, name
        assert client.act(brief_id, "withdraw", "不要了").status_code == 404, name
    assert fetch(app, brief_id).state == State.IN_REVIEW.value


def test_missing_briefs_and_actions_are_404(app, make_brief, login_as):
    brief_id = make_brief(State.DRAFT)
    client = login_as("drafter")
    for url in ("/briefs/999999", "/briefs/999999/edit", "/briefs/999999/preview", "/briefs/999999/changes",
                "/briefs/999999/publish", "/briefs/abc"):
        assert client.get(url).status_code == 404, url
    assert client.post("/briefs/999999/act/submit", {"submit-version": "1"}, prefix="submit").status_code == 404
    # An unknown action, and publishing without the publishing form, are not actions here.
    assert client.post(f"/briefs/{brief_id}/act/frobnicate", {"frobnicate-version": "1"},
                       prefix="frobnicate").status_code == 404
    assert client.post(f"/briefs/{brief_id}/act/publish", {"publish-version": "1"},
                       prefix="publish").status_code == 404
    assert fetch(app, brief_id).state == State.DRAFT.value
