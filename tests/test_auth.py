"""Logging in and out: what a person sees at the login page, how sessions end, and how failed
logins are throttled (signin/throttle.py in the database, exercised for real, not switched off;
tests/test_signin.py has the rest: workers, replayed cookies, timing, 2FA, the password policy)."""

from __future__ import annotations

import time
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from flask_babel import force_locale, gettext
from markupsafe import escape

from extensions import db
from models import User
from tests.conftest import PASSWORD, csrf_from, log_in_form, make_app

WRONG_LOGIN = "Wrong username or password, or the account is deactivated."
TOO_MANY = "Too many failed attempts. Please wait a while before trying again."


def zh(app, message: str, **params) -> str:
    """The message as a Chinese page shows it (translated, HTML-escaped)."""
    with app.test_request_context(), force_locale("zh_CN"):
        return str(escape(gettext(message, **params)))


def sibling_app(app, **overrides):
    """A second app on the session app's database (conftest may be imported twice under two
    module names, each with its own SQLite file, so the URL is taken from the running app)."""
    return make_app(SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"], **overrides)


def location(response) -> str:
    return response.headers.get("Location", "")


def is_login_redirect(response) -> bool:
    return response.status_code == 302 and urlsplit(location(response)).path == "/login"


def stays_on_site(response) -> bool:
    target = urlsplit(location(response))
    return target.netloc in ("", "canyue.test") and target.scheme in ("", "http", "https") \
        and location(response).startswith(("/", "http://canyue.test/"))


def logged_in(http) -> bool:
    response = http.get("/")
    if response.status_code == 200:
        return True
    assert is_login_redirect(response), response.status_code
    return False


def post_login(http, username: str, password: str, url: str = "/login"):
    token = csrf_from(http.get("/login").get_data(as_text=True))
    return http.post(url, data={"username": username, "password": password, "csrf_token": token})


# --- logging in -------------------------------------------------------------------------------


def test_login_success_goes_to_my_tasks(app, people):
    http = app.test_client()
    response = log_in_form(http, "editor", PASSWORD)
    assert response.status_code == 302
    assert urlsplit(location(response)).path == "/"
    page = http.get("/")
    assert page.status_code == 200
    assert "李青" in page.get_data(as_text=True)  # the display name in the header
    with app.app_context():
        user = db.session.get(User, people["editor"])
        assert user.last_login_at is not None


def test_anonymous_is_sent_to_login(app, people):
    http = app.test_client()
    for url in ("/", "/briefs", "/account", "/admin/users"):
        assert is_login_redirect(http.get(url)), url


def test_wrong_password_shows_the_form_again(app, people):
    http = app.test_client()
    response = log_in_form(http, "editor", "not the password")
    page = response.get_data(as_text=True)
    assert response.status_code == 401
    assert 'name="username"' in page and 'name="password"' in page
    assert zh(app, WRONG_LOGIN) in page
    assert 'value="editor"' in page  # the username is kept
    assert "not the password" not in page  # the password is not echoed
    assert not logged_in(http)


def test_unknown_user_gets_the_same_answer(app, people):
    """No user enumeration: an unknown name and a wrong password read the same."""
    known = log_in_form(app.test_client(), "editor", "not the password")
    unknown = log_in_form(app.test_client(), "nobody-here", "not the password")
    assert known.status_code == unknown.status_code == 401
    known_page = known.get_data(as_text=True)
    unknown_page = unknown.get_data(as_text=True)
    assert zh(app, WRONG_LOGIN) in unknown_page
    # The pages differ only in the echoed username (and the fresh CSRF token).
    def normalise(page: str, name: str) -> str:
        page = page.replace(f'value="{name}"', 'value="X"')
        return page.replace(csrf_from(page), "TOKEN")
    assert normalise(known_page, "editor") == normalise(unknown_page, "nobody-here")


def test_login_without_csrf_token_is_refused(app, people):
    http = app.test_client()
    http.get("/login")
    response = http.post("/login", data={"username": "editor", "password": PASSWORD})
    assert response.status_code == 400
    assert not logged_in(http)


def test_login_with_a_wrong_csrf_token_is_refused(app, people):
    http = app.test_client()
    http.get("/login")
    response = http.post("/login", data={"username": "editor", "password": PASSWORD, "csrf_token": "forged"})
    assert response.status_code == 400
    assert not logged_in(http)


def test_logged_in_user_visiting_login_goes_to_tasks(app, people):
    http = app.test_client()
    assert log_in_form(http, "editor", PASSWORD).status_code == 302
    response = http.get("/login")
    assert response.status_code == 302 and urlsplit(location(response)).path == "/"


# --- deactivation and password change end sessions ---------------------------------------------


def test_deactivated_account_cannot_log_in(app, people):
    with app.app_context():
        db.session.get(User, people["editor"]).deactivate()
        db.session.commit()
    http = app.test_client()
    response = log_in_form(http, "editor", PASSWORD)
    assert response.status_code == 401
    assert zh(app, WRONG_LOGIN) in response.get_data(as_text=True)
    assert not logged_in(http)


def test_deactivation_ends_an_open_session(app, people):
    http = app.test_client()
    assert log_in_form(http, "editor", PASSWORD).status_code == 302
    assert logged_in(http)
    with app.app_context():
        db.session.get(User, people["editor"]).deactivate()
        db.session.commit()
    assert is_login_redirect(http.get("/"))
    assert is_login_redirect(http.get("/briefs"))


def test_password_change_ends_other_sessions(app, people):
    laptop, phone = app.test_client(), app.test_client()
    assert log_in_form(laptop, "editor", PASSWORD).status_code == 302
    assert log_in_form(phone, "editor", PASSWORD).status_code == 302
    token = csrf_from(laptop.get("/account").get_data(as_text=True))
    new_password = "a brand new long password"
    response = laptop.post("/account", data={
        "password-csrf_token": token, "password-current": PASSWORD,
        "password-new": new_password, "password-confirm": new_password,
    })
    assert response.status_code == 302
    assert logged_in(laptop)  # the session that changed it stays
    assert not logged_in(phone)  # every other session ended
    assert log_in_form(app.test_client(), "editor", PASSWORD).status_code == 401
    assert log_in_form(app.test_client(), "editor", new_password).status_code == 302


def test_password_change_needs_the_current_password(app, people):
    http = app.test_client()
    assert log_in_form(http, "editor", PASSWORD).status_code == 302
    with app.app_context():
        before = db.session.get(User, people["editor"]).password_hash
    token = csrf_from(http.get("/account").get_data(as_text=True))
    response = http.post("/account", data={
        "password-csrf_token": token, "password-current": "wrong current",
        "password-new": "another long password", "password-confirm": "another long password",
    })
    assert response.status_code == 200
    assert zh(app, "The current password is wrong.") in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, people["editor"]).password_hash == before


# --- no open redirect --------------------------------------------------------------------------


@pytest.mark.parametrize("target", [
    "//evil.example", "https://evil.example", "http://evil.example/login", "/\\evil.example",
    "\\\\evil.example", "/%09/evil.example", "%2F%09%2Fevil.example", "/%0A/evil.example",
    "/%0D/evil.example", "javascript:alert(1)", " //evil.example",
])
def test_next_never_leaves_the_site(app, people, target):
    http = app.test_client()
    response = post_login(http, "editor", PASSWORD, url=f"/login?next={target}")
    assert response.status_code == 302
    assert stays_on_site(response), location(response)
    assert "evil.example" not in location(response)
    assert logged_in(http)


def test_next_on_the_site_is_followed(app, people):
    http = app.test_client()
    response = post_login(http, "editor", PASSWORD, url="/login?next=/briefs%3Fstate%3Din_review")
    assert response.status_code == 302
    assert location(response) in ("/briefs?state=in_review", "http://canyue.test/briefs?state=in_review")


def test_protected_page_sends_back_after_login(app, people):
    http = app.test_client()
    response = http.get("/briefs")
    assert is_login_redirect(response)
    login_url = urlsplit(location(response))
    target = f"/login?{login_url.query}"
    response = post_login(http, "editor", PASSWORD, url=target)
    assert response.status_code == 302 and urlsplit(location(response)).path == "/briefs"


# --- idle timeout ------------------------------------------------------------------------------


def test_session_ends_after_idle_time(app, people):
    short = sibling_app(app, SESSION_IDLE_MINUTES=1)
    assert short.permanent_session_lifetime == timedelta(minutes=1)  # config is in minutes
    short.permanent_session_lifetime = timedelta(seconds=1)
    try:
        http = short.test_client()
        assert log_in_form(http, "editor", PASSWORD).status_code == 302
        cookie = http.get_cookie("session", domain="canyue.test")
        assert cookie is not None
        # Activity renews the session: requests closer together than the limit keep it.
        for _ in range(3):
            time.sleep(0.6)
            assert http.get("/").status_code == 200
        time.sleep(2.1)
        assert is_login_redirect(http.get("/"))
        # The server refuses an old cookie itself, even if a browser kept sending it.
        replay = short.test_client()
        replay.set_cookie("session", cookie.value, domain="canyue.test")
        assert is_login_redirect(replay.get("/"))
    finally:
        with short.app_context():
            db.session.remove()
            db.engine.dispose()


def test_session_cookie_is_permanent_with_the_idle_lifetime(app, people):
    http = app.test_client()
    response = log_in_form(http, "editor", PASSWORD)
    cookie = http.get_cookie("session", domain="canyue.test")
    assert cookie is not None and cookie.expires is not None
    header = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("session=")][0]
    assert "Expires=" in header


# --- throttling --------------------------------------------------------------------------------


def from_address(http, address: str, username: str, password: str):
    token = csrf_from(http.get("/login", environ_base={"REMOTE_ADDR": address}).get_data(as_text=True))
    return http.post("/login", data={"username": username, "password": password, "csrf_token": token},
                     environ_base={"REMOTE_ADDR": address})


def test_five_failures_from_one_address_refuse_that_address_only(app, people):
    for attempt in range(5):
        response = log_in_form(app.test_client(), "editor", f"wrong {attempt}")
        assert response.status_code == 401, attempt
    http = app.test_client()
    response = log_in_form(http, "editor", PASSWORD)
    page = response.get_data(as_text=True)
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 60  # the rest of the 15-minute window
    assert zh(app, TOO_MANY) in page
    assert 'lang="zh-CN"' in page
    assert not logged_in(http)
    # The same account typed differently is the same account.
    assert log_in_form(app.test_client(), " EDITOR ", PASSWORD).status_code == 429
    # Another account from the same address still logs in.
    other = app.test_client()
    assert log_in_form(other, "editor2", PASSWORD).status_code == 302
    assert logged_in(other)
    # The owner, from another address, is not locked out: at most delayed (0.2 s in the tests).
    time.sleep(0.3)
    owner = app.test_client()
    assert from_address(owner, "10.0.0.9", "editor", PASSWORD).status_code == 302
    assert logged_in(owner)


def test_successful_logins_do_not_count(app, people):
    for _ in range(8):
        assert log_in_form(app.test_client(), "editor", PASSWORD).status_code == 302
    for attempt in range(5):
        assert log_in_form(app.test_client(), "editor", "wrong").status_code == 401, attempt
    assert log_in_form(app.test_client(), "editor", PASSWORD).status_code == 429


def test_unknown_accounts_are_throttled_too(app, people):
    for _ in range(5):
        assert log_in_form(app.test_client(), "ghost", "wrong").status_code == 401
    assert log_in_form(app.test_client(), "ghost", "wrong").status_code == 429


def test_failures_from_one_address_across_accounts_delay_that_address(app, people):
    """Password spraying from one address is slowed down, not turned into a lock-out of everyone
    behind it: past the allowance each attempt waits, and then goes through."""
    strict = sibling_app(app, LOGIN_ADDRESS_DELAY_AFTER=3, LOGIN_DELAY_SECONDS=1.0)
    try:
        # Successful logins do not use up the address's allowance.
        for name in ("drafter", "editor", "signer", "admin"):
            assert log_in_form(strict.test_client(), name, PASSWORD).status_code == 302, name
        for name in ("drafter", "editor", "signer"):
            assert log_in_form(strict.test_client(), name, "wrong").status_code == 401, name
        http = strict.test_client()
        response = log_in_form(http, "archivist", PASSWORD)
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "1"
        assert zh(strict, TOO_MANY) in response.get_data(as_text=True)
        assert is_login_redirect(http.get("/"))
        # Another address is not affected.
        assert from_address(strict.test_client(), "10.0.0.7", "archivist", PASSWORD).status_code == 302
        # After the wait, the same address signs in.
        time.sleep(1.1)
        assert log_in_form(http, "archivist", PASSWORD).status_code == 302
        assert logged_in(http)
    finally:
        with strict.app_context():
            db.session.remove()
            db.engine.dispose()


# --- logging out -------------------------------------------------------------------------------


def test_logout_needs_post(app, people):
    http = app.test_client()
    assert log_in_form(http, "editor", PASSWORD).status_code == 302
    assert http.get("/logout").status_code == 405
    assert logged_in(http)


def test_logout_needs_the_csrf_token(app, people):
    http = app.test_client()
    assert log_in_form(http, "editor", PASSWORD).status_code == 302
    assert http.post("/logout").status_code == 400
    assert logged_in(http)


def test_logout_ends_the_session(app, people):
    http = app.test_client()
    assert log_in_form(http, "editor", PASSWORD).status_code == 302
    token = csrf_from(http.get("/account").get_data(as_text=True))
    response = http.post("/logout", data={"csrf_token": token})
    assert is_login_redirect(response)
    assert not logged_in(http)
