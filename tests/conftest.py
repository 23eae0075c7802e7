"""Test fixtures: the app on SQLite or PostgreSQL (CANYUE_TEST_DATABASE), its schema built by
the migrations, clients logged in per role, and factories for briefs in any state."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from werkzeug.security import generate_password_hash

from app import create_app
from extensions import db
from models import Brief, SecretaryLink, Series, User
from models.base import Base
from archive.filing import file_issue
from publishing.pipeline import publish
from workflows.filing import Retention
from workflows.brief import State
from workflows.transitions import apply_transition, create_brief

PASSWORD = "correct horse battery staple"
ENGINE = os.environ.get("CANYUE_TEST_DATABASE", "sqlite")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The browser tests (marker `browser`) run on SQLite only, to keep CI short: the pages are
    the same on both engines, and the multi-node tests drive live servers on PostgreSQL."""
    if ENGINE == "sqlite":
        return
    skip = pytest.mark.skip(reason="browser tests run on SQLite only (CI time)")
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(skip)

# Users the tests act as: name -> (display name, roles).
PEOPLE: dict[str, tuple[str, tuple[str, ...]]] = {
    "drafter": ("周明", ("drafter",)),
    "drafter2": ("孙丽", ("drafter",)),
    "editor": ("李青", ("editor",)),
    "editor2": ("吴刚", ("editor",)),
    "signer": ("王志远", ("signer",)),
    "signer2": ("郑海", ("signer",)),
    "archivist": ("陈静", ("archivist",)),
    "admin": ("赵敏", ("admin",)),
    "clerk": ("机要员小刘", ("clerk",)),
    # 三员分立: the two who watch the admin.
    "security_admin": ("黄磊", ("security_admin",)),
    "auditor": ("林芳", ("auditor",)),
    # 代签: records the paper sign-offs of "signer" (linked in the `people` fixture).
    "secretary": ("李秘书", ("secretary",)),
    # People holding two roles, for separation of duties.
    "drafter_editor": ("钱进", ("drafter", "editor")),
    "editor_signer": ("冯远", ("editor", "signer")),
    "drafter_signer": ("何平", ("drafter", "signer")),
}

# Which moves take a brief (authored by "drafter") from draft to each state.
PATHS: dict[State, list[str]] = {
    State.DRAFT: [],
    State.IN_REVIEW: ["submit"],
    State.AWAITING_SIGNOFF: ["submit", "approve"],
    State.SIGNED: ["submit", "approve", "sign"],
    State.PUBLISHED: ["submit", "approve", "sign", "publish"],
    State.ARCHIVED: ["submit", "approve", "sign", "publish", "archive"],
    State.WITHDRAWN: ["withdraw"],
}

SAMPLE_BODY = (
    "当前，低空经济正成为各地竞相布局的新赛道。现根据初步调研，形成分析建议，供领导参阅。\n\n"
    "# 一、发展态势\n\n"
    "**1、加强顶层设计。**结合我市实际，加快编制低空经济发展规划。"
)


def database_url() -> str:
    if ENGINE == "postgresql":
        user = os.environ.get("PGUSER", "postgres")
        password = os.environ.get("PGPASSWORD", "")
        host = os.environ.get("PGHOST", "localhost")
        port = os.environ.get("PGPORT", "5432")
        name = os.environ.get("PGDATABASE", "postgres")
        auth = f"{user}:{password}@" if password else f"{user}@"
        if host.startswith("/"):
            return f"postgresql+psycopg://{auth}/{name}?host={host}&port={port}"
        return f"postgresql+psycopg://{auth}{host}:{port}/{name}"
    path = Path(tempfile.mkdtemp(prefix="canyue-test-")) / "test.sqlite3"
    return f"sqlite:///{path}"


def make_app(**overrides: Any) -> Flask:
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": DATABASE_URL,
        # The product's throttling, in the database, with short waits so that tests need not
        # sleep long; the limits themselves are the product's (5 failures).
        "LOGIN_DELAY_SECONDS": 0.2,
        "LOGIN_DELAY_MAX_SECONDS": 1.0,
        # The product requires two-factor sign-in for signers and administrators; the tests that
        # are not about it sign in with a password (tests/test_signin.py drives "required").
        "CANYUE_2FA_REQUIRED_ROLES": "",
        "SERVER_NAME": "canyue.test",
        "CANYUE_FILES_DIR": str(FILES_DIR),
        "CANYUE_AUDIT_KEYS": {AUDIT_KEY_ID: AUDIT_KEY},
        "CANYUE_AUDIT_KEY_ID": AUDIT_KEY_ID,
        "CANYUE_AUDIT_ANCHOR_FILE": str(ANCHOR_FILE),
        "CANYUE_PREVIEW_CACHE_DIR": str(RUNTIME_DIR / "specimens"),
        "CANYUE_THROTTLE_DIR": str(RUNTIME_DIR / "throttle"),
        # Jobs stay in this process (tests run them with jobs.worker.drain or a worker of their own).
        "CANYUE_JOBS_URL": "memory://",
    }
    config.update(overrides)
    return create_app(config)


DATABASE_URL = database_url()
FILES_DIR = Path(tempfile.mkdtemp(prefix="canyue-files-"))
AUDIT_KEY_ID, AUDIT_KEY = "test1", "5e" * 32
ANCHOR_FILE = Path(tempfile.mkdtemp(prefix="canyue-anchors-")) / "audit-anchors.log"
RUNTIME_DIR = Path(tempfile.mkdtemp(prefix="canyue-runtime-"))  # the specimen cache, render counts


@pytest.fixture(scope="session")
def app() -> Iterator[Flask]:
    """One app per run; the schema comes from the migrations, never create_all."""
    from flask_migrate import upgrade

    application = make_app()
    with application.app_context():
        if ENGINE == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        upgrade()
        db.session.remove()
    print(f"\nCanyue tests on {ENGINE}: {application.config['SQLALCHEMY_DATABASE_URI'].split('@')[-1]}")
    yield application


def wipe(application: Flask) -> None:
    """Empty every table (core statements: the ORM refuses to delete audit events)."""
    with application.app_context():
        tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
            else:
                for name in tables:
                    conn.execute(text(f"DELETE FROM {name}"))
        db.session.remove()


@pytest.fixture(autouse=True)
def _clean(app: Flask) -> Iterator[None]:
    yield
    wipe(app)
    shutil.rmtree(FILES_DIR, ignore_errors=True)
    shutil.rmtree(RUNTIME_DIR / "specimens", ignore_errors=True)
    shutil.rmtree(RUNTIME_DIR / "throttle", ignore_errors=True)
    ANCHOR_FILE.unlink(missing_ok=True)


# A cheap hash keeps ~500 logins fast; the product hashes with scrypt (models.user).
_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")


@pytest.fixture
def people(app: Flask) -> dict[str, int]:
    """Every test person as name -> user id, with PASSWORD."""
    ids = {}
    with app.app_context():
        for name, (display, roles) in PEOPLE.items():
            user = User(username=name, display_name=display, password_hash=_HASH)
            user.set_roles(set(roles))
            db.session.add(user)
            db.session.flush()
            ids[name] = user.id
        db.session.add(SecretaryLink(secretary_id=ids["secretary"], leader_id=ids["signer"]))
        db.session.commit()
    return ids


@pytest.fixture
def clerk(app: Flask, people: dict[str, int]) -> int:
    """A 机要员: records dispatch and receipts, nothing else."""
    return people["clerk"]


def act_together(app: Flask, user_id: int, brief_ids: list[int], move: Callable[[Any, int], Any]) -> None:
    """Run `move(actor, brief_id)` for every brief at once, one thread each, released together;
    re-raise what any of them raised."""
    barrier = threading.Barrier(len(brief_ids))
    errors: list[BaseException] = []

    def worker(brief_id: int) -> None:
        try:
            with app.app_context():
                actor = db.session.get(User, user_id)
                db.session.commit()  # hand the connection back before waiting: the pool holds 15
                barrier.wait(timeout=60)
                move(actor, brief_id)
                db.session.remove()
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(b,)) for b in brief_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors


@pytest.fixture
def series_id(app: Flask) -> int:
    with app.app_context():
        series = Series(
            name="领导参阅", hosts="苏州太湖书院\n苏州太湖智库", contact_phone="0512-66881234",
            address="苏州市吴中区示例路 100 号", default_print_run=30, first_total_number=31,
        )
        db.session.add(series)
        db.session.commit()
        return series.id


def _user(name: str) -> User:
    user = db.session.scalar(db.select(User).where(User.username == name))
    assert user is not None, name
    return user


@pytest.fixture
def make_brief(app: Flask, people: dict[str, int], series_id: int) -> Callable[..., int]:
    """make_brief(state, author=..., **content) -> brief id, walked there through real moves."""

    def factory(
        state: State | str = State.DRAFT,
        *,
        author: str = "drafter",
        approver: str = "editor",
        signer: str = "signer",
        publisher: str = "editor",
        issue_date: date | None = None,
        series: int | None = None,
        **content: Any,
    ) -> int:
        state = State(state)
        annul = state is State.ANNULLED  # 作废: published, then annulled by a signer (annulment/)
        if annul:
            state = State.PUBLISHED
        fields = {"title": "关于加快我市低空经济产业发展的几点建议", "author_line": "苏州太湖智库",
                  "special_report": ["王建国书记", "李明代市长"], "body": SAMPLE_BODY}
        fields.update(content)
        actors = {"submit": author, "approve": approver, "sign": signer, "withdraw": author}
        with app.app_context():
            brief = create_brief(db.session, _user(author), db.session.get(Series, series or series_id), fields)
            for action in PATHS[state]:
                if action == "publish":
                    db.session.commit()
                    publish(db.session, brief.id, _user(publisher), issue_date=issue_date)
                elif action == "archive":
                    file_issue(db.session, brief.id, _user("archivist"), retention=Retention.PERMANENT,
                               fonds="Z001", category="WS")
                else:
                    comment = "不再需要" if action == "withdraw" else None
                    apply_transition(db.session, brief, action, _user(actors[action]), comment=comment)
            db.session.commit()
            if annul:
                from annulment.operations import annul_issue

                annul_issue(db.session, brief.id, _user("signer2"), "内容有误，停止使用")
            return brief.id

    return factory


class Client:
    """A test client logged in as one person, adding the CSRF token to every POST."""

    def __init__(self, flask_client: FlaskClient):
        self.http = flask_client
        self._token: str | None = None

    def token(self) -> str:
        if self._token is None:
            self._token = csrf_from(self.http.get("/account").get_data(as_text=True))
        return self._token

    def get(self, url: str, **kw: Any) -> Any:
        return self.http.get(url, **kw)

    def post(self, url: str, data: dict[str, Any] | None = None, *, prefix: str = "", csrf: bool = True, **kw: Any) -> Any:
        payload = dict(data or {})
        if csrf:
            payload[f"{prefix}-csrf_token" if prefix else "csrf_token"] = self.token()
        return self.http.post(url, data=payload, **kw)

    def act(self, brief_id: int, action: str, comment: str | None = None, version: int | None = None) -> Any:
        if version is None:
            version = brief_version(self.app, brief_id)
        data = {f"{action}-version": str(version)}
        if comment is not None:
            data[f"{action}-comment"] = comment
        return self.post(f"/briefs/{brief_id}/act/{action}", data, prefix=action)

    app: Flask


def brief_version(app: Flask, brief_id: int) -> int:
    with app.app_context():
        brief = db.session.get(Brief, brief_id)
        return brief.version if brief else 1


def fetch(app: Flask, brief_id: int) -> Brief:
    """A detached copy of the brief as stored now."""
    with app.app_context():
        brief = db.session.get(Brief, brief_id)
        assert brief is not None
        db.session.expunge(brief)
        return brief


def csrf_from(page: str) -> str:
    match = re.search(r'name="[\w-]*csrf_token"[^>]*value="([^"]+)"', page)
    assert match, "no CSRF token on the page"
    return match.group(1)


def log_in_form(http: FlaskClient, username: str, password: str, **kw: Any) -> Any:
    """Log in through the login page, as a person would (CSRF token included)."""
    token = csrf_from(http.get("/login").get_data(as_text=True))
    return http.post("/login", data={"username": username, "password": password, "csrf_token": token}, **kw)


@pytest.fixture
def login_as(app: Flask, people: dict[str, int]) -> Callable[[str], Client]:
    def log_in(name: str) -> Client:
        client = Client(app.test_client())
        client.app = app
        response = log_in_form(client.http, name, PASSWORD)
        assert response.status_code == 302, f"login as {name} failed: {response.status_code}"
        return client

    return log_in


@pytest.fixture(scope="session")
def s3_server() -> Iterator[dict[str, str]]:
    """An S3-protocol server on 127.0.0.1 (moto's server mode, in its own process) for the
    object-storage backend; yields the app configuration that points at it."""
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = tempfile.TemporaryFile()
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=log, stderr=subprocess.STDOUT)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(endpoint + "/moto-api/", timeout=1).close()
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise RuntimeError(f"the S3 server did not start: {log.read().decode(errors='replace')}")
            time.sleep(0.1)
    config = {"CANYUE_S3_ENDPOINT_URL": endpoint, "CANYUE_S3_REGION": "us-east-1",
              "CANYUE_S3_ACCESS_KEY_ID": "canyue-test", "CANYUE_S3_SECRET_ACCESS_KEY": "canyue-test-secret"}
    from publishing.objectstore import make_client

    make_client(config).create_bucket(Bucket="canyue-test")
    try:
        yield config
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()
