"""Login, logout, the user's own settings; the login check for every other view."""

from __future__ import annotations

from flask import Blueprint, Flask, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import LoginManager, current_user, login_required, login_user, logout_user
from sqlalchemy import select

from extensions import db, limiter
from forms.auth import EmptyForm, LoginForm, PasswordForm, ProfileForm
from models import User
from models.types import utcnow

bp = Blueprint("auth", __name__)


def init_login(app: Flask, login_manager: LoginManager) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None  # the login page says why on its own
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def _load(user_key: str) -> User | None:
        user_id, _sep, token = user_key.partition(":")
        if not user_id.isdigit():
            return None
        user = db.session.get(User, int(user_id))
        # A password change or deactivation rotates the token and ends old sessions.
        if user is None or not user.active or user.session_token != token:
            return None
        return user

    @app.before_request
    def _require_login():  # type: ignore[no-untyped-def]
        if request.endpoint in PUBLIC_ENDPOINTS or current_user.is_authenticated:
            return None
        return login_manager.unauthorized()


PUBLIC_ENDPOINTS = {"auth.login", "static", "distribution.download"}


def _account_key() -> str:
    return "account:" + (request.form.get("username") or "").strip().lower()


def _failed(response) -> bool:  # type: ignore[no-untyped-def]
    return response.status_code == 401


def _limit(name: str):  # type: ignore[no-untyped-def]
    return lambda: current_app.config[name]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_limit("LOGIN_LIMIT_PER_ACCOUNT"), key_func=_account_key, methods=["POST"], deduct_when=_failed)
@limiter.limit(_limit("LOGIN_LIMIT_PER_ADDRESS"), methods=["POST"], deduct_when=_failed)
def login():  # type: ignore[no-untyped-def]
    if current_user.is_authenticated:
        return redirect(url_for("briefs.dashboard"))
    form = LoginForm()
    if form.validate_on_submit():
        user = db.session.scalar(select(User).where(User.username == form.username.data.strip()))
        if user is not None and user.active and user.check_password(form.password.data):
            login_user(user)
            user.last_login_at = utcnow()
            db.session.commit()
            return redirect(_safe_next(request.args.get("next")) or url_for("briefs.dashboard"))
        form.password.errors.append(_("Wrong username or password, or the account is deactivated."))
        return render_template("login.html", form=form), 401
    return render_template("login.html", form=form)


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
        logout_user()
    return redirect(url_for("auth.login"))


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():  # type: ignore[no-untyped-def]
    languages = current_app.config["LANGUAGES"]
    profile = ProfileForm(prefix="profile", locale=current_user.locale)
    profile.locale.choices = list(languages.items())
    password = PasswordForm(prefix="password")
    if request.method == "POST" and "profile-locale" in request.form and profile.validate_on_submit():
        current_user.locale = profile.locale.data
        db.session.commit()
        flash(_("Your settings were saved."), "success")
        return redirect(url_for("auth.account"))
    if request.method == "POST" and "password-new" in request.form and password.validate_on_submit():
        if not current_user.check_password(password.current.data):
            password.current.errors.append(_("The current password is wrong."))
        else:
            current_user.set_password(password.new.data)
            db.session.commit()
            # Stay logged in with the new session token. login_user needs the user itself:
            # given the current_user proxy, it would resolve to itself without end.
            login_user(current_user._get_current_object())  # type: ignore[attr-defined]
            flash(_("Your password was changed; other sessions were ended."), "success")
            return redirect(url_for("auth.account"))
    return render_template("account.html", profile=profile, password=password)


