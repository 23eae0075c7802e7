"""Signing in as an assessor (等保 2.0 level 3, OWASP ASVS L2) checks it: failed attempts counted
across real worker processes, lockout that cannot be turned against the owner, equal-time
answers, server-side sessions that end for good, the password policy, two-factor sign-in with
TOTP and recovery codes, and the security log of all of it."""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pyotp
import pytest
from sqlalchemy import func, select

from extensions import db
from models import AuditEvent, LoginThrottle, User, UserSession
from securitylog.operations import event_detail, security_events
from signin.passwords import password_problems
from signin.throttle import Rules
from tests.conftest import AUDIT_KEY, AUDIT_KEY_ID, PASSWORD, csrf_from, log_in_form, make_app

ROOT = Path(__file__).resolve().parent.parent
TOO_MANY = "Too many failed attempts. Please wait a while before trying again."


def sibling_app(app, **overrides):
    return make_app(SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"], **overrides)


def close(application) -> None:
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def location(response) -> str:
    return urlsplit(response.headers.get("Location", "")).path


def logged_in(client) -> bool:
    response = client.get("/")
    assert response.status_code in (200, 302), response.status_code
    return response.status_code == 200


def post_login(client, username: str, password: str, address: str = "127.0.0.1"):
    environ = {"REMOTE_ADDR": address}
    token = csrf_from(client.get("/login", environ_base=environ).get_data(as_text=True))
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token},
                       environ_base=environ)


def post_form(client, url: str, data: dict, page: str | None = None, prefix: str = ""):
    token = csrf_from(client.get(page or url).get_data(as_text=True))
    return client.post(url, data={**data, (f"{prefix}-csrf_token" if prefix else "csrf_token"): token})


def log_out(client) -> None:
    token = csrf_from(client.get("/account").get_data(as_text=True))
    assert location(client.post("/logout", data={"csrf_token": token})) == "/login"


def actions(app) -> list[str]:
    with app.app_context():
        return [e.action for e in reversed(db.session.scalars(security_events()).all())]


def events_of(app, action: str) -> list[dict]:
    with app.app_context():
        rows = db.session.scalars(security_events(actions=[action])).all()
        return [{**event_detail(e), "actor_id": e.actor_id, "actor_name": e.actor_name} for e in reversed(rows)]


# --- failed attempts across two real worker processes ------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def gunicorn(app, people):
    """Canyue under gunicorn with two workers, on the tests' database and audit key."""
    port = free_port()
    logs = Path(tempfile.mkdtemp(prefix="canyue-gunicorn-"))
    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": "gunicorn-test-secret",
        "CANYUE_AUDIT_KEYS": f"{AUDIT_KEY_ID}={AUDIT_KEY}",
        "CANYUE_AUDIT_KEY_ID": AUDIT_KEY_ID,
        "CANYUE_AUDIT_ANCHOR_FILE": str(logs / "anchors.log"),
        "CANYUE_FILES_DIR": str(logs / "files"),
        "CANYUE_2FA_REQUIRED_ROLES": "",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}", "--timeout", "60",
         "--access-logfile", str(logs / "access.log"), "--access-logformat", "%(p)s %(s)s %(m)s %(U)s",
         "app:create_app()"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=open(logs / "error.log", "wb"),
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                connection.request("GET", "/login")
                if connection.getresponse().status == 200:
                    break
            except OSError:
                pass
            assert process.poll() is None, (logs / "error.log").read_text()
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.2)
        yield port, logs
    finally:
        process.terminate()
        process.wait(timeout=30)


def fresh_form(port: int) -> tuple[str, str]:
    """A session cookie and the login form's CSRF token, as a browser gets them."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", "/login")
    response = connection.getresponse()
    page = response.read().decode()
    cookie = response.getheader("Set-Cookie").split(";", 1)[0]
    return cookie, csrf_from(page)


def test_failed_logins_are_counted_across_two_gunicorn_workers(app, gunicorn):
    port, logs = gunicorn
    forms = [fresh_form(port) for _ in range(40)]
    barrier = threading.Barrier(len(forms))
    statuses: list[int] = []

    def attempt(cookie: str, token: str, n: int) -> None:
        body = f"username=editor&password=wrong{n}&csrf_token={token}"
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        barrier.wait(timeout=60)
        connection.request("POST", "/login", body=body, headers={
            "Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"})
        statuses.append(connection.getresponse().status)

    threads = [threading.Thread(target=attempt, args=(c, t, n)) for n, (c, t) in enumerate(forms)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert len(statuses) == 40 and set(statuses) <= {401, 429}, statuses
    processed = statuses.count(401)
    # The limit is 5 failures for one account from one address; the account's own allowance is 5.
    assert 1 <= processed <= 5, statuses
    # Both workers answered the attempts (the access log names each answer's process).
    deadline = time.monotonic() + 10
    while True:  # gunicorn writes its access log a moment after answering
        posts = [line.split() for line in (logs / "access.log").read_text().splitlines() if " POST /login" in line]
        if len(posts) >= 40 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert len(posts) == 40 and len({pid for pid, *_rest in posts}) == 2, posts
    # The database counted exactly what was looked at, and the security log has each failure.
    with app.app_context():
        row = db.session.get(LoginThrottle, "account-address:editor|127.0.0.1")
        assert row is not None and row.failures == processed and row.pending == 0
    assert len(events_of(app, "login_failed")) == processed
    assert events_of(app, "login_throttled")[0]["username"] == "editor"
    # And the right password from that address is refused too, by either worker.
    for _ in range(4):
        cookie, token = fresh_form(port)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("POST", "/login", body=f"username=editor&password={PASSWORD}&csrf_token={token}",
                           headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"})
        assert connection.getresponse().status == 429


# --- lockout that cannot be turned against the owner --------------------------------------------


def test_the_wait_doubles_with_each_failure_and_is_capped():
    rules = Rules(delay_after=5, delay=1.0, delay_max=900.0)
    assert [rules.wait_after(n, 5) for n in range(4, 12)] == [0, 1, 2, 4, 8, 16, 32, 64]
    assert rules.wait_after(30, 5) == 900 and rules.wait_after(10_000, 5) == 900
    from config import DefaultConfig

    defaults = Rules.from_config({name: getattr(DefaultConfig, name) for name in dir(DefaultConfig)})
    assert (defaults.max_failures, defaults.delay_after, defaults.delay_max) == (5, 5, 900.0)


def test_product_defaults_are_the_secure_ones():
    from config import DefaultConfig

    assert DefaultConfig.LOGIN_MAX_FAILURES == 5 and DefaultConfig.LOGIN_FAILURE_WINDOW_MINUTES == 15
    assert DefaultConfig.LOGIN_DELAY_SECONDS == 1 and DefaultConfig.LOGIN_DELAY_MAX_SECONDS == 900
    assert DefaultConfig.CANYUE_PASSWORD_MIN_LENGTH >= 10 and DefaultConfig.SESSION_IDLE_MINUTES <= 30
    assert set(DefaultConfig.CANYUE_2FA_REQUIRED_ROLES.split(",")) >= {"signer", "secretary", "admin",
                                                                        "security_admin", "auditor"}


def test_the_owner_signs_in_after_a_delay_while_an_attacker_hammers(app, people):
    slow = sibling_app(app, LOGIN_DELAY_SECONDS=2.0)
    try:
        attacker = slow.test_client()
        statuses = [post_login(attacker, "editor", f"guess {n}", address="203.0.113.66").status_code
                    for n in range(20)]
        assert statuses.count(401) == 5 and statuses.count(429) == 15, statuses
        # The attacker's address is refused even with the right password: it locked out itself.
        assert post_login(attacker, "editor", PASSWORD, address="203.0.113.66").status_code == 429
        # The owner, from another address, is delayed, not blocked, while the hammering goes on.
        owner = slow.test_client()
        first = post_login(owner, "editor", PASSWORD, address="198.51.100.7")
        assert first.status_code == 429 and 1 <= int(first.headers["Retry-After"]) <= 2
        for n in range(5):
            assert post_login(attacker, "editor", f"more {n}", address="203.0.113.66").status_code == 429
        time.sleep(float(first.headers["Retry-After"]) + 0.1)
        assert post_login(owner, "editor", PASSWORD, address="198.51.100.7").status_code == 302
        assert logged_in(owner)
        log = actions(app)
        assert log.count("login_failed") == 5 and "login_throttled" in log and log[-1] == "login"
        # The owner's sign-in restarts the account's count; the attacker's address stays refused.
        assert post_login(attacker, "editor", PASSWORD, address="203.0.113.66").status_code == 429
        assert post_login(slow.test_client(), "editor", PASSWORD, address="198.51.100.9").status_code == 302
    finally:
        close(slow)


def test_a_browser_the_owner_signed_in_with_is_not_delayed_by_attacks(app, people):
    """The device cookie: attacks from elsewhere delay the account, not the owner's own browser."""
    slow = sibling_app(app, LOGIN_DELAY_SECONDS=30.0, LOGIN_DELAY_MAX_SECONDS=60.0)
    try:
        owner = slow.test_client()
        assert post_login(owner, "editor", PASSWORD, address="198.51.100.7").status_code == 302
        log_out(owner)
        # An attacker from many addresses: five failures, then every attempt waits 30 s or more.
        for n in range(8):
            post_login(slow.test_client(), "editor", f"guess {n}", address=f"203.0.113.{n + 1}")
        stranger = post_login(slow.test_client(), "editor", PASSWORD, address="198.51.100.8")
        assert stranger.status_code == 429 and int(stranger.headers["Retry-After"]) >= 25
        # The owner's browser still signs in at once (its own limit: five failures of its own).
        assert post_login(owner, "editor", PASSWORD, address="198.51.100.7").status_code == 302
        assert logged_in(owner)
        # A forged or foreign device cookie is worth nothing.
        forger = slow.test_client()
        forger.set_cookie("canyue_device", "forged.value.here", domain="canyue.test")
        assert post_login(forger, "editor2", "wrong guess").status_code == 401
    finally:
        close(slow)


def test_guessing_the_current_password_on_the_account_page_is_throttled(app, login_as):
    client = login_as("editor")
    for n in range(5):
        response = client.post("/account", {"password-current": f"wrong {n}", "password-new": "a brand new passphrase",
                                             "password-confirm": "a brand new passphrase"}, prefix="password")
        assert response.status_code == 200, n
    response = client.post("/account", {"password-current": PASSWORD, "password-new": "a brand new passphrase",
                                         "password-confirm": "a brand new passphrase"}, prefix="password")
    assert response.status_code == 429
    with app.app_context():
        assert db.session.get(User, db.session.scalar(select(User.id).where(User.username == "editor"))) \
            .check_password(PASSWORD)
    assert actions(app).count("password_change_failed") == 5 and "password_change_throttled" in actions(app)


# --- equal-time answers -------------------------------------------------------------------------


def test_unknown_and_known_usernames_take_equal_time(app, people):
    """Timing does not tell whether a username exists: an unknown one is checked against a dummy
    hash of the product's scheme (scrypt), as long as a real one."""
    lenient = sibling_app(app, LOGIN_MAX_FAILURES=1000, LOGIN_DELAY_AFTER=1000, LOGIN_ADDRESS_DELAY_AFTER=1000)
    try:
        with lenient.app_context():
            user = db.session.scalar(select(User).where(User.username == "signer"))
            user.set_password(PASSWORD)  # the product's hash, not the tests' cheap one
            db.session.commit()
        client = lenient.test_client()

        def timed(username: str) -> float:
            token = csrf_from(client.get("/login").get_data(as_text=True))
            start = time.perf_counter()
            response = client.post("/login", data={"username": username, "password": "not it at all",
                                                   "csrf_token": token})
            elapsed = time.perf_counter() - start
            assert response.status_code == 401
            return elapsed

        timed("signer"), timed("nobody-at-all")  # warm up
        known, unknown = [], []
        for n in range(7):
            known.append(timed("signer"))
            unknown.append(timed(f"nobody-{n}"))
        ratio = statistics.median(unknown) / statistics.median(known)
        assert 0.5 <= ratio <= 2.0, (known, unknown)
    finally:
        close(lenient)


# --- server-side sessions -------------------------------------------------------------------------


def test_a_session_cookie_replayed_after_logout_is_refused(app, people):
    browser = app.test_client()
    assert log_in_form(browser, "editor", PASSWORD).status_code == 302
    captured = browser.get_cookie("session", domain="canyue.test").value
    assert logged_in(browser)
    log_out(browser)
    thief = app.test_client()
    thief.set_cookie("session", captured, domain="canyue.test")
    response = thief.get("/")
    assert response.status_code == 302 and location(response) == "/login"
    assert thief.get("/account").status_code == 302
    # …and no renewed session was handed out for it.
    assert not [h for h in response.headers.getlist("Set-Cookie") if "_user_id" in h]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(UserSession)) == 0


def test_the_cookie_from_before_a_password_change_is_refused(app, people):
    browser = app.test_client()
    assert log_in_form(browser, "editor", PASSWORD).status_code == 302
    captured = browser.get_cookie("session", domain="canyue.test").value
    token = csrf_from(browser.get("/account").get_data(as_text=True))
    new = "a brand new passphrase"
    response = browser.post("/account", data={"password-csrf_token": token, "password-current": PASSWORD,
                                              "password-new": new, "password-confirm": new})
    assert response.status_code == 302 and logged_in(browser)
    thief = app.test_client()
    thief.set_cookie("session", captured, domain="canyue.test")
    assert not logged_in(thief)
    assert actions(app)[-1] == "password_changed"


def test_a_session_ends_after_its_absolute_lifetime(app, people):
    brief = sibling_app(app, SESSION_MAX_HOURS=1 / 3600)  # one second
    try:
        browser = brief.test_client()
        assert log_in_form(browser, "editor", PASSWORD).status_code == 302
        assert logged_in(browser)
        time.sleep(1.2)
        assert not logged_in(browser)
    finally:
        close(brief)


def test_sessions_are_listed_on_the_account_page(app, people):
    laptop, phone = app.test_client(), app.test_client()
    assert post_login(laptop, "editor", PASSWORD, address="198.51.100.1").status_code == 302
    assert post_login(phone, "editor", PASSWORD, address="198.51.100.2").status_code == 302
    page = laptop.get("/account").get_data(as_text=True)
    assert "198.51.100.1" in page and "198.51.100.2" in page


# --- the password policy ------------------------------------------------------------------------


@pytest.mark.parametrize(("password", "why"), [
    ("short1!", "at least 10"),
    ("editor", "at least 10"),
    ("editor2026!", "username"),
    ("rotide-editor", "username"),
    ("1qaz2wsx3edc", "common"),
    ("password123", "common"),
    ("Woaini1314", "common"),
    ("aaaaaaaaaaaa", "repeated"),
])
def test_the_password_policy_refuses(password, why):
    problems = " ".join(p.english() for p in password_problems(password, "editor"))
    assert why in problems, (password, problems)


def test_good_passwords_pass_the_policy():
    for password in (PASSWORD, "a brand new passphrase", "given password 1", "苏州太湖智库2026年参阅"):
        assert password_problems(password, "editor") == [], password


def test_the_policy_applies_on_the_account_page(app, login_as):
    client = login_as("editor")
    for bad, message in (("tooshort", "The password must have at least %(min)d characters."),
                         ("qwertyuiop123", "This password is one of the most common ones; choose another."),
                         ("editor12345", "The password must not be the username or little more than it.")):
        response = client.post("/account", {"password-current": PASSWORD, "password-new": bad,
                                             "password-confirm": bad}, prefix="password")
        assert response.status_code == 200
        from tests.test_auth import zh
        assert zh(app, message, min=10) in response.get_data(as_text=True), bad
    with app.app_context():
        assert db.session.scalar(select(User).where(User.username == "editor")).check_password(PASSWORD)


def test_the_policy_applies_to_admin_set_and_command_line_passwords(app, login_as):
    admin = login_as("admin")
    response = admin.post("/admin/users/new", {"username": "lichang", "display_name": "李长青",
                                               "roles": ["drafter"], "locale": "zh_CN", "active": "y",
                                               "password": "password1234"})
    assert response.status_code == 200
    with app.app_context():
        assert db.session.scalar(select(User).where(User.username == "lichang")) is None
        editor_id = db.session.scalar(select(User.id).where(User.username == "editor"))
    response = admin.post(f"/admin/users/{editor_id}", {"username": "editor", "display_name": "李青",
                                                        "roles": ["editor"], "locale": "zh_CN", "active": "y",
                                                        "password": "set by the administrator"})
    assert response.status_code == 302
    assert events_of(app, "password_reset")[-1]["username"] == "editor"  # (accounts/operations logs it)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["user", "create", "wanghai", "--name", "王海", "--password", "wanghai123"])
    assert result.exit_code != 0 and "username" in result.output
    result = runner.invoke(args=["user", "password", "editor", "--password", "qwertyuiop"])
    assert result.exit_code != 0 and "common" in result.output
    result = runner.invoke(args=["user", "password", "editor", "--password", "a long new passphrase"])
    assert result.exit_code == 0, result.output
    assert len(events_of(app, "password_reset")) == 2


# --- two-factor sign-in ---------------------------------------------------------------------------


def require_2fa(app, role: str = "signer") -> None:
    result = app.test_cli_runner().invoke(args=["security", "2fa-policy", role, "required"])
    assert result.exit_code == 0, result.output
    assert re.search(rf"^{role}\s+required", result.output, re.M)


def code_at(secret: str, offset: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + offset)


def a_wrong_code(secret: str) -> str:
    near = {code_at(secret, d) for d in (-30, 0, 30)}
    return next(c for c in (f"{n:06d}" for n in range(1000)) if c not in near)


def enrol_at_sign_in(client, username: str) -> tuple[str, list[str]]:
    response = log_in_form(client, username, PASSWORD)
    assert response.status_code == 302 and location(response) == "/login/enrol"
    assert not logged_in(client)
    page = client.get("/login/enrol").get_data(as_text=True)
    assert 'src="data:image/svg+xml' in page  # the QR code, drawn here: no CDN, allowed by the CSP
    secret = re.search(r'data-secret="([A-Z2-7]+)"', page).group(1)
    response = client.post("/login/enrol", data={"code": code_at(secret), "csrf_token": csrf_from(page)})
    assert response.status_code == 200
    codes = re.findall(r"<code>([a-z2-9]{5}-[a-z2-9]{5})</code>", response.get_data(as_text=True))
    assert len(codes) == 10
    assert logged_in(client)
    return secret, codes


def second_step(client, username: str, code: str):
    response = log_in_form(client, username, PASSWORD)
    assert response.status_code == 302 and location(response) == "/login/verify"
    token = csrf_from(client.get("/login/verify").get_data(as_text=True))
    return client.post("/login/verify", data={"code": code, "csrf_token": token})


def test_required_two_factor_sign_in_with_generated_codes(app, people):
    require_2fa(app, "signer")
    browser = app.test_client()
    secret, recovery = enrol_at_sign_in(browser, "signer")
    log_out(browser)

    # The code used at enrolment is refused again within its window: codes are used once.
    response = second_step(browser, "signer", code_at(secret))
    assert response.status_code == 401 and not logged_in(browser)
    # A wrong code is refused.
    response = second_step(browser, "signer", a_wrong_code(secret))
    assert response.status_code == 401 and not logged_in(browser)
    # The next step's code (clock drift of one step is allowed) signs in.
    response = second_step(browser, "signer", code_at(secret, 30))
    assert response.status_code == 302 and logged_in(browser)
    log_out(browser)
    # …once.
    assert second_step(browser, "signer", code_at(secret, 30)).status_code == 401

    # A recovery code works once.
    response = second_step(browser, "signer", recovery[0].upper())
    assert response.status_code == 302 and logged_in(browser)
    log_out(browser)
    assert second_step(browser, "signer", recovery[0]).status_code == 401
    assert not logged_in(browser)

    # Without the second step, the password alone opens nothing.
    response = log_in_form(app.test_client(), "signer", PASSWORD)
    assert location(response) == "/login/verify"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(UserSession)) == 0

    log = actions(app)
    assert log.count("2fa_failed") == 4 and log.count("2fa_enabled") == 1 and log.count("2fa_recovery_used") == 1
    logins = events_of(app, "login")
    assert [e["method"] for e in logins] == ["password+totp", "password+totp", "password+recovery"]
    assert events_of(app, "2fa_recovery_used")[0]["left"] == 9


def test_guessing_codes_is_throttled(app, people):
    require_2fa(app, "signer")
    browser = app.test_client()
    secret, _codes = enrol_at_sign_in(browser, "signer")
    log_out(browser)
    wrong = a_wrong_code(secret)
    statuses = [second_step(browser, "signer", wrong).status_code for _ in range(5)]
    assert statuses == [401] * 5
    # The right password again does not buy more guesses: from this address it is refused now.
    assert log_in_form(browser, "signer", PASSWORD).status_code == 429
    assert "2fa_failed" in actions(app) and "login_throttled" in actions(app)


def test_the_second_step_must_follow_the_password(app, people):
    require_2fa(app, "signer")
    client = app.test_client()
    assert client.get("/login/verify").status_code == 302
    assert client.get("/login/enrol").status_code == 302


def test_offered_two_factor_set_up_from_the_account_page(app, login_as):
    client = login_as("editor")  # offered: the editor chooses
    page = client.get("/account/2fa/setup").get_data(as_text=True)
    secret = re.search(r'data-secret="([A-Z2-7]+)"', page).group(1)
    response = client.post("/account/2fa/setup", {"code": a_wrong_code(secret)})
    assert response.status_code == 422
    response = client.post("/account/2fa/setup", {"code": code_at(secret)})
    assert response.status_code == 200 and len(re.findall(r"<code>[a-z2-9-]{11}</code>", response.get_data(as_text=True))) == 10
    log_out(client.http)
    assert location(log_in_form(client.http, "editor", PASSWORD)) == "/login/verify"
    token = csrf_from(client.http.get("/login/verify").get_data(as_text=True))
    assert client.http.post("/login/verify", data={"code": code_at(secret, 30), "csrf_token": token}).status_code == 302
    # Turning it off needs the password; then the password alone signs in again.
    client._token = None
    response = client.post("/account/2fa/disable", {"confirm-current": "wrong"}, prefix="confirm")
    assert response.status_code == 200
    response = client.post("/account/2fa/disable", {"confirm-current": PASSWORD}, prefix="confirm")
    assert response.status_code == 302
    assert location(log_in_form(app.test_client(), "editor", PASSWORD)) == "/"
    assert {"2fa_enabled", "2fa_disabled", "2fa_disable_failed"} <= set(actions(app))


def test_required_two_factor_cannot_be_turned_off(app, people):
    require_2fa(app, "signer")
    browser = app.test_client()
    enrol_at_sign_in(browser, "signer")
    token = csrf_from(browser.get("/account").get_data(as_text=True))
    response = browser.post("/account/2fa/disable", data={"confirm-current": PASSWORD, "confirm-csrf_token": token})
    assert response.status_code == 403
    with app.app_context():
        assert db.session.scalar(select(User).where(User.username == "signer")).has_totp


def test_the_policy_page_and_command(app, login_as):
    defaults = make_app(SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                        CANYUE_2FA_REQUIRED_ROLES="signer,secretary,admin,security_admin,auditor")
    try:
        output = defaults.test_cli_runner().invoke(args=["security", "2fa-policy"]).output
        for role in ("signer", "secretary", "admin", "security_admin", "auditor"):
            assert re.search(rf"^{role}\s+required$", output, re.M), output
        assert re.search(r"^drafter\s+offered$", output, re.M)
    finally:
        close(defaults)
    assert login_as("editor").get("/security/2fa-policy").status_code == 403
    assert login_as("admin").get("/security/2fa-policy").status_code == 403  # 三员分立: not the admin's
    admin = login_as("security_admin")
    page = admin.get("/security/2fa-policy")
    assert page.status_code == 200
    response = admin.post("/security/2fa-policy", {"role-editor": "required", "role-signer": "offered"})
    assert response.status_code == 302
    changed = events_of(app, "2fa_policy_changed")
    assert {(e["role"], e["to"]) for e in changed} == {("editor", "required")}
    # The editor must now enrol at sign-in.
    assert location(log_in_form(app.test_client(), "editor", PASSWORD)) == "/login/enrol"


def test_the_demo_offers_two_factor_sign_in(app):
    from commands.security import set_demo_policy
    from signin.twofactor import OFFERED, policy

    product = sibling_app(app, CANYUE_2FA_REQUIRED_ROLES="signer,secretary,admin,security_admin,auditor")
    try:
        with product.app_context():
            assert sorted(set_demo_policy(OFFERED)) == ["admin", "auditor", "secretary", "security_admin", "signer"]
            db.session.commit()
            assert set(policy(db.session, frozenset({"signer", "admin"})).values()) == {OFFERED}
    finally:
        close(product)
    source = (ROOT / "commands" / "demo.py").read_text(encoding="utf-8")
    assert "set_demo_policy(OFFERED)" in source and "Two-factor sign-in is offered" in source


# --- the security log ---------------------------------------------------------------------------


def test_sign_in_events_are_in_the_security_log(app, people):
    browser = app.test_client()
    assert post_login(browser, "editor", "wrong secret", address="198.51.100.3").status_code == 401
    assert post_login(browser, "nobody", "another secret", address="198.51.100.3").status_code == 401
    assert post_login(browser, "editor", PASSWORD, address="198.51.100.3").status_code == 302
    log_out(browser)
    failed = events_of(app, "login_failed")
    assert [(e["username"], e["reason"], e["ip"]) for e in failed] == [
        ("editor", "wrong_password", "198.51.100.3"), ("nobody", "unknown_user", "198.51.100.3")]
    assert failed[1]["actor_id"] is None and failed[1]["actor_name"] == "nobody"
    login = events_of(app, "login")[0]
    assert login["username"] == "editor" and login["ip"] == "198.51.100.3" and login["actor_id"] is not None
    assert events_of(app, "logout")[0]["username"] == "editor"
    with app.app_context():
        reasons = " ".join(e.reason or "" for e in db.session.scalars(select(AuditEvent)))
    for secret in ("wrong secret", "another secret", PASSWORD):
        assert secret not in reasons
    assert app.test_cli_runner().invoke(args=["audit", "verify"]).exit_code == 0


# --- the Redis store ----------------------------------------------------------------------------


@contextlib.contextmanager
def running_redis() -> Iterator[str]:
    """A throwaway redis-server on a free port (Debian's redis-server; scripts/install --test),
    stopped on leaving; yields its redis:// address."""
    import shutil

    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed: run the suite with `bash scripts/test`, which installs it")
    port = free_port()
    process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture
def redis_url():
    with running_redis() as url:
        yield url


def test_the_redis_store_counts_concurrent_attempts_once_each(redis_url):
    from signin.throttle import RedisStore, Throttle, keys_for

    throttle = Throttle(RedisStore(redis_url), Rules())
    keys = keys_for(throttle.rules, "editor", "203.0.113.5")
    barrier = threading.Barrier(30)
    verdicts = []

    def attempt() -> None:
        barrier.wait(timeout=30)
        verdict = throttle.reserve(keys)
        verdicts.append(verdict)
        if verdict.allowed:
            throttle.settle(keys, failed=True)

    threads = [threading.Thread(target=attempt) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(verdicts) == 30 and sum(v.allowed for v in verdicts) == 5
    assert not throttle.reserve(keys).allowed
    # Another address is delayed (the account's count), not refused for the window.
    elsewhere = keys_for(throttle.rules, "editor", "198.51.100.7")
    time.sleep(1.1)
    assert throttle.reserve(elsewhere).allowed
    throttle.succeed(elsewhere)
    assert throttle.store.clear_account("editor") >= 1
    assert throttle.reserve(keys).allowed


def test_sign_in_throttling_with_redis_configured(app, people, redis_url):
    with_redis = sibling_app(app, RATELIMIT_STORAGE_URI=redis_url)
    try:
        for n in range(5):
            assert post_login(with_redis.test_client(), "editor", f"wrong {n}").status_code == 401
        assert post_login(with_redis.test_client(), "editor", PASSWORD).status_code == 429
        with app.app_context():  # counted in Redis, not in the database
            assert db.session.get(LoginThrottle, "account-address:editor|127.0.0.1") is None
    finally:
        close(with_redis)
