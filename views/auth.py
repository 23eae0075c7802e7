"""Signing in and out: the password, the second factor, throttling, server-side sessions; the
login check for every other view. The rules live in signin/; this module applies them."""

from __future__ import annotations

import time
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import LoginManager, current_user, login_user, logout_user
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from extensions import db
from forms.auth import CodeForm, EmptyForm, LoginForm
from models import User
from models.types import utcnow
from securitylog.operations import log_security_event
from signin import sessions as signin_sessions
from signin import twofactor
from signin.throttle import DatabaseStore, Key, RedisStore, Rules, Throttle, Verdict, keys_for
from workflows.i18n import N_

bp = Blueprint("auth", __name__)

SESSION_ID = "sid"
PENDING = "signin_pending"
PENDING_SECONDS = 300  # the second step must follow the password within five minutes
DEVICE_COOKIE = "canyue_device"
WRONG_LOGIN = N_("Wrong username or password, or the account is deactivated.")


def init_login(app: Flask, login_manager: LoginManager) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None  # the login page says why on its own
    login_manager.session_protection = "basic"
    app.extensions["canyue_throttle"] = Throttle(_store(app), Rules.from_config(app.config))

    @login_manager.user_loader
    def _load(user_key: str) -> User | None:
        user_id, _sep, token = user_key.partition(":")
        if not user_id.isdigit():
            return None
        user = db.session.get(User, int(user_id))
        # A password change, reset or deactivation rotates the token and ends old sessions.
        if user is None or not user.active or user.session_token != token:
            return None
        # The session must still be open on the server: logging out ends it for good.
        row = signin_sessions.find_session(db.session, session.get(SESSION_ID), user.id, idle=_idle(),
                                           lifetime=_lifetime())
        if row is None:
            return None
        g.signin_session = row
        g.signin_activity = (row.id, row.last_seen_at)
        return user

    @app.after_request
    def _record_activity(response: Response) -> Response:
        # At the end of the request, like the cookie's own renewal: the idle time counts from here.
        activity = g.pop("signin_activity", None)
        if activity is not None:
            signin_sessions.touch(db.engine, *activity, idle=_idle())
        return response

    @app.before_request
    def _require_login():  # type: ignore[no-untyped-def]
        if request.endpoint in PUBLIC_ENDPOINTS or current_user.is_authenticated:
            return None
        return login_manager.unauthorized()


PUBLIC_ENDPOINTS = {"auth.login", "auth.second_factor", "auth.enrol_at_login", "static", "distribution.download",
                    "monitoring.healthz", "monitoring.readyz", "monitoring.metrics"}  # metrics: its own check


def _store(app: Flask) -> Any:
    uri = str(app.config.get("RATELIMIT_STORAGE_URI") or "")
    if uri.startswith(("redis://", "rediss://", "unix://")):
        return RedisStore(uri)
    if uri not in ("", "database", "memory://"):
        raise RuntimeError(f"RATELIMIT_STORAGE_URI: 'database' or a redis:// URL, not {uri!r}")
    with app.app_context():
        return DatabaseStore(db.engine)


def throttle() -> Throttle:
    return current_app.extensions["canyue_throttle"]  # type: ignore[no-any-return]


def _idle() -> Any:
    return current_app.permanent_session_lifetime


def _lifetime() -> Any:
    from datetime import timedelta

    return timedelta(hours=float(current_app.config["SESSION_MAX_HOURS"]))


def client_address() -> str:
    return (request.remote_addr or "unknown")[:64]


def _agent() -> str:
    return (request.user_agent.string or "")[:200]


def security_log(action: str, user: User | None, *, typed: str | None = None, acted: bool = True,
                 **detail: Any) -> None:
    """A security event with who (the username as typed, for an unknown one), from where and
    with which browser; never a password or a code."""
    name = typed if typed is not None else (user.username if user else "")
    detail = {"username": name, "ip": client_address(), "agent": _agent()[:120], **detail}
    log_security_event(db.session, action, user if acted else None, detail=detail,
                       subject_id=user.id if user is not None else 0,
                       actor_name=None if acted and user is not None else (name[:64] or "?"))


# --- equal-time password checks ---------------------------------------------------------------

_DUMMY_HASH: list[str] = []


def _dummy_hash() -> str:
    """A hash of a random password made with the product's scheme (models.user: werkzeug's
    scrypt), so that an unknown username costs the same time as a known one."""
    if not _DUMMY_HASH:
        import secrets

        _DUMMY_HASH.append(generate_password_hash(secrets.token_hex(16)))
    return _DUMMY_HASH[0]


def check_password(user: User | None, password: str) -> bool:
    """Verify the password of `user`; for no user, verify against a dummy hash all the same."""
    if user is None:
        check_password_hash(_dummy_hash(), password)
        return False
    return user.check_password(password)


# --- trusted devices ---------------------------------------------------------------------------


def _device_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="canyue-device")


def device_for(user: User | None) -> str | None:
    """The device id of this browser if it is a trusted one of `user` (signed in here before,
    since the last password change)."""
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw or user is None:
        return None
    try:
        data = _device_serializer().loads(raw, max_age=int(current_app.config["CANYUE_DEVICE_COOKIE_DAYS"]) * 86400)
    except BadSignature:
        return None
    if not isinstance(data, dict) or data.get("u") != user.id or data.get("t") != user.session_token[:8]:
        return None
    return str(data.get("d") or "")[:32] or None


def _set_device_cookie(response: Response, user: User) -> None:
    import secrets

    days = int(current_app.config["CANYUE_DEVICE_COOKIE_DAYS"])
    value = _device_serializer().dumps({"u": user.id, "t": user.session_token[:8], "d": secrets.token_hex(8)})
    response.set_cookie(DEVICE_COOKIE, value, max_age=days * 86400, httponly=True, samesite="Lax",
                        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")))


def attempt_keys(user: User | None, typed: str) -> list[Key]:
    return keys_for(throttle().rules, typed.strip().lower(), client_address(), device_for(user))


def too_many(verdict: Verdict) -> str:
    return _("Too many failed attempts. Please wait a while before trying again.") + " " + _(
        "You may try again in %(seconds)d seconds.", seconds=max(verdict.retry_after, 1))


# --- the sign-in -------------------------------------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
def login():  # type: ignore[no-untyped-def]
    if current_user.is_authenticated:
        return redirect(url_for("inbox.index"))
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("login.html", form=form)
    typed = form.username.data.strip()
    user = db.session.scalar(select(User).where(User.username == typed))
    keys = attempt_keys(user, typed)
    verdict = throttle().reserve(keys)
    if not verdict.allowed:
        if verdict.worth_logging:
            security_log("login_throttled", user, typed=typed, acted=False, wait=verdict.retry_after,
                         key=verdict.refused_key.split(":", 1)[0], refused=verdict.refused_count)
            db.session.commit()
        form.password.errors.append(too_many(verdict))
        return _with_retry(render_template("login.html", form=form), 429, verdict)
    good = check_password(user, form.password.data)
    if user is None or not good or not user.active:
        throttle().settle(keys, failed=True)
        reason = "unknown_user" if user is None else ("wrong_password" if not good else "deactivated")
        security_log("login_failed", user, typed=typed, acted=False, reason=reason)
        db.session.commit()
        form.password.errors.append(_(WRONG_LOGIN))
        return render_template("login.html", form=form), 401
    next_url = _safe_next(request.args.get("next"))
    current_policy = twofactor.policy(db.session, _required_roles())
    if user.has_totp or twofactor.required_for(user, current_policy):
        throttle().settle(keys, failed=False)  # not a failure; the account's count stays till the end
        session[PENDING] = {"uid": user.id, "tok": user.session_token, "at": int(time.time()), "next": next_url,
                            "enrol": not user.has_totp}
        return redirect(url_for("auth.enrol_at_login" if not user.has_totp else "auth.second_factor"))
    return complete_sign_in(user, keys, "password", next_url)


def _with_retry(page: str, status: int, verdict: Verdict) -> Response:
    response = make_response(page, status)
    response.headers["Retry-After"] = str(max(verdict.retry_after, 1))
    return response


def _required_roles() -> frozenset[str]:
    return twofactor.default_required_roles(current_app.config["CANYUE_2FA_REQUIRED_ROLES"])


def complete_sign_in(user: User, keys: list[Key], method: str, next_url: str | None,
                     page: str | None = None) -> Response:
    """Open a new server-side session for `user`, who passed every step of the sign-in (the
    attempt reserved under `keys` succeeded). A page (the recovery codes after enrolment) is
    shown instead of the redirect when given."""
    db.session.commit()  # the throttle store writes in its own transaction: nothing may be pending
    throttle().succeed(keys)
    locale = session.get("locale")
    session.clear()  # nothing from before the sign-in is kept (a new CSRF token too)
    session.permanent = True  # the cookie's lifetime is the idle time (security.py)
    if locale:
        session["locale"] = locale
    signin_sessions.purge_expired(db.session, idle=_idle(), lifetime=_lifetime())
    session[SESSION_ID] = signin_sessions.open_session(db.session, user.id, address=client_address(),
                                                       user_agent=_agent(), method=method)
    login_user(user)
    # A language picked on the login page is the one the user wants: it becomes their setting.
    if locale in current_app.config["LANGUAGES"]:
        user.locale = locale
    user.last_login_at = utcnow()
    security_log("login", user, method=method)
    db.session.commit()
    response = make_response(page) if page is not None else redirect(next_url or url_for("inbox.index"))
    _set_device_cookie(response, user)
    return response


def _pending_user() -> tuple[User | None, dict[str, Any]]:
    """The user who gave the right password and has the second step to take, if still in time."""
    pending = session.get(PENDING)
    if not isinstance(pending, dict) or int(time.time()) - int(pending.get("at", 0)) > PENDING_SECONDS:
        return None, {}
    user = db.session.get(User, int(pending.get("uid", 0)))
    if user is None or not user.active or user.session_token != pending.get("tok"):
        return None, {}
    return user, pending


def _back_to_login() -> Response:
    session.pop(PENDING, None)
    return redirect(url_for("auth.login"))


@bp.route("/login/verify", methods=["GET", "POST"])
def second_factor():  # type: ignore[no-untyped-def]
    """The second step: a code from the authenticator app, or a recovery code."""
    user, pending = _pending_user()
    if user is None or not user.has_totp:
        return _back_to_login()
    form = CodeForm()
    if not form.validate_on_submit():
        return render_template("login_verify.html", form=form)
    keys = attempt_keys(user, user.username)
    verdict = throttle().reserve(keys)
    if not verdict.allowed:
        if verdict.worth_logging:
            security_log("2fa_throttled", user, acted=False, wait=verdict.retry_after,
                         refused=verdict.refused_count)
            db.session.commit()
        form.code.errors.append(too_many(verdict))
        return _with_retry(render_template("login_verify.html", form=form), 429, verdict)
    code = form.code.data
    if twofactor.use_totp(db.session, user, code):
        method = "password+totp"
    elif twofactor.use_recovery_code(db.session, user, code):
        method = "password+recovery"
        db.session.flush()
        security_log("2fa_recovery_used", user, left=twofactor.recovery_codes_left(db.session, user))
    else:
        db.session.commit()  # the refused update held SQLite's write lock: release it first
        throttle().settle(keys, failed=True)
        security_log("2fa_failed", user, acted=False)
        db.session.commit()
        form.code.errors.append(_("The code is wrong, expired or was already used."))
        return render_template("login_verify.html", form=form), 401
    return complete_sign_in(user, keys, method, pending.get("next"))


@bp.route("/login/enrol", methods=["GET", "POST"])
def enrol_at_login():  # type: ignore[no-untyped-def]
    """Two-factor sign-in is required for this user's role and not set up yet: set it up now."""
    user, pending = _pending_user()
    if user is None or user.has_totp or not pending.get("enrol"):
        return _back_to_login()
    if user.totp_secret is None:
        twofactor.start_enrolment(db.session, user)
        db.session.commit()
    assert user.totp_secret is not None
    form = CodeForm()
    status = 200
    if form.validate_on_submit():
        keys = attempt_keys(user, user.username)
        verdict = throttle().reserve(keys)
        if not verdict.allowed:
            form.code.errors.append(too_many(verdict))
            return _with_retry(_enrol_page(user, form, at_login=True), 429, verdict)
        codes = twofactor.confirm_enrolment(db.session, user, form.code.data)
        db.session.commit()
        if codes is None:
            throttle().settle(keys, failed=True)
            security_log("2fa_failed", user, acted=False, during="enrolment")
            db.session.commit()
            form.code.errors.append(_("The code is wrong, expired or was already used."))
            status = 401
        else:
            security_log("2fa_enabled", user, during="sign-in")
            page = render_template("recovery_codes.html", codes=codes,
                                   next_url=pending.get("next") or url_for("inbox.index"))
            return complete_sign_in(user, keys, "password+totp", pending.get("next"), page=page)
    return _enrol_page(user, form, at_login=True), status


def _enrol_page(user: User, form: CodeForm, *, at_login: bool) -> str:
    assert user.totp_secret is not None
    uri = twofactor.provisioning_uri(user, user.totp_secret)
    return render_template("twofactor_setup.html", form=form, secret=user.totp_secret,
                           qr=twofactor.qr_svg_data_uri(uri), at_login=at_login)


def _safe_next(target: str | None) -> str | None:
    # Only a path on this site: never an open redirect. Browsers drop tabs and newlines from a
    # URL and read a backslash as "/", so "/<tab>/evil.example" would leave the site: refuse both.
    if not target or any(ch == "\\" or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target):
        return None
    if target.startswith("/") and not target.startswith("//"):
        return target
    return None


@bp.post("/logout")
def logout():  # type: ignore[no-untyped-def]
    if EmptyForm().validate_on_submit():
        user = current_user._get_current_object()  # type: ignore[attr-defined]
        signin_sessions.end_session(db.session, session.get(SESSION_ID))
        security_log("logout", user)
        db.session.commit()
        logout_user()
        session.clear()
        session.permanent = True
    return redirect(url_for("auth.login"))


# The user's own settings (password, two-factor sign-in) are in views/account.py.
from views import account as _account  # noqa: E402,F401
