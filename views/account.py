"""The user's own settings (个人设置): language, password, two-factor sign-in. Guessing the
current password here is throttled exactly like signing in, on the same keys."""

from __future__ import annotations

from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user
from werkzeug.wrappers import Response

from extensions import db
from forms.auth import CodeForm, ConfirmPasswordForm, LanguageForm, PasswordForm, ProfileForm
from models import User
from signin import sessions as signin_sessions
from signin import twofactor
from views.auth import (
    SESSION_ID,
    _enrol_page,
    _required_roles,
    _set_device_cookie,
    attempt_keys,
    bp,
    client_address,
    security_log,
    throttle,
    too_many,
)


def _me() -> User:
    return current_user._get_current_object()  # type: ignore[attr-defined,no-any-return]


def _forms() -> tuple[ProfileForm, PasswordForm, ConfirmPasswordForm]:
    profile = ProfileForm(prefix="profile", locale=current_user.locale)
    profile.locale.choices = list(current_app.config["LANGUAGES"].items())
    return profile, PasswordForm(prefix="password"), ConfirmPasswordForm(prefix="confirm")


def _account_page(profile: ProfileForm, password: PasswordForm, confirm: ConfirmPasswordForm,
                  status: int = 200) -> tuple[str, int]:
    me = _me()
    required = twofactor.required_for(me, twofactor.policy(db.session, _required_roles()))
    return render_template(
        "account.html", profile=profile, password=password, confirm=confirm, totp_required=required,
        recovery_left=twofactor.recovery_codes_left(db.session, me) if me.has_totp else 0,
        sessions=signin_sessions.user_sessions(db.session, me.id),
    ), status


def _check_current_password(field, action: str) -> tuple[bool, int]:  # type: ignore[no-untyped-def]
    """Check the current password under the sign-in throttle: (right, HTTP status if refused)."""
    me = _me()
    keys = attempt_keys(me, me.username)
    verdict = throttle().reserve(keys)
    if not verdict.allowed:
        if verdict.worth_logging:
            security_log(f"{action}_throttled", me, wait=verdict.retry_after, refused=verdict.refused_count)
            db.session.commit()
        field.errors.append(too_many(verdict))
        return False, 429
    right = me.check_password(field.data)
    throttle().settle(keys, failed=not right)
    if not right:
        security_log(f"{action}_failed", me)
        db.session.commit()
        field.errors.append(_("The current password is wrong."))
        return False, 200
    return True, 0


@bp.post("/account/language")
@login_required
def set_language():  # type: ignore[no-untyped-def]
    """The language switch in the menu: saved as the user's setting, back to the same page."""
    form = LanguageForm()
    form.locale.choices = list(current_app.config["LANGUAGES"].items())
    if form.validate_on_submit():
        current_user.locale = form.locale.data
        db.session.commit()
    target = request.form.get("next", "")
    # Only a path on this site (never //host or a scheme): the switch is no open redirect.
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        target = url_for("inbox.index")
    return redirect(target)


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():  # type: ignore[no-untyped-def]
    profile, password, confirm = _forms()
    if request.method == "POST" and "profile-locale" in request.form and profile.validate_on_submit():
        current_user.locale = profile.locale.data
        db.session.commit()
        flash(_("Your settings were saved."), "success")
        return redirect(url_for("auth.account"))
    if request.method == "POST" and "password-new" in request.form and password.validate_on_submit():
        right, status = _check_current_password(password.current, "password_change")
        if not right:
            return _account_page(profile, password, confirm, status or 200)
        me = _me()
        me.set_password(password.new.data)
        # Every other session ends; this one continues under a new id (and the new token).
        signin_sessions.end_user_sessions(db.session, me.id)
        session[SESSION_ID] = signin_sessions.open_session(
            db.session, me.id, address=client_address(), user_agent=request.user_agent.string or "",
            method=_method())
        security_log("password_changed", me)
        db.session.commit()
        # login_user needs the user itself: given the current_user proxy, it would resolve to
        # itself without end.
        login_user(me)
        flash(_("Your password was changed; other sessions were ended."), "success")
        response = redirect(url_for("auth.account"))
        _set_device_cookie(response, me)  # the old device cookies named the old token
        return response
    return _account_page(profile, password, confirm)


def _method() -> str:
    """How the current session was signed in (kept on the session that replaces it)."""
    row = getattr(g, "signin_session", None)
    return row.method if row is not None else "password"


@bp.route("/account/2fa/setup", methods=["GET", "POST"])
@login_required
def twofactor_setup():  # type: ignore[no-untyped-def]
    me = _me()
    if me.has_totp:
        return redirect(url_for("auth.account"))
    if me.totp_secret is None:
        twofactor.start_enrolment(db.session, me)
        db.session.commit()
    form = CodeForm()
    if form.validate_on_submit():
        codes = twofactor.confirm_enrolment(db.session, me, form.code.data)
        if codes is not None:
            security_log("2fa_enabled", me, during="account")
            db.session.commit()
            return render_template("recovery_codes.html", codes=codes, next_url=url_for("auth.account"))
        db.session.commit()
        form.code.errors.append(_("The code is wrong, expired or was already used."))
        return _enrol_page(me, form, at_login=False), 422
    return _enrol_page(me, form, at_login=False)


@bp.post("/account/2fa/disable")
@login_required
def twofactor_disable():  # type: ignore[no-untyped-def]
    profile, password, confirm = _forms()
    me = _me()
    if not confirm.validate_on_submit():
        return _account_page(profile, password, confirm, 422)
    if twofactor.required_for(me, twofactor.policy(db.session, _required_roles())):
        confirm.current.errors.append(_("Two-factor sign-in is required for your role; it cannot be turned off."))
        return _account_page(profile, password, confirm, 403)
    right, status = _check_current_password(confirm.current, "2fa_disable")
    if not right:
        return _account_page(profile, password, confirm, status or 200)
    twofactor.disable(db.session, me)
    security_log("2fa_disabled", me)
    db.session.commit()
    flash(_("Two-factor sign-in is off."), "success")
    return redirect(url_for("auth.account"))


@bp.post("/account/2fa/recovery-codes")
@login_required
def recovery_codes():  # type: ignore[no-untyped-def]
    profile, password, confirm = _forms()
    me = _me()
    if not me.has_totp or not confirm.validate_on_submit():
        return _account_page(profile, password, confirm, 422)
    right, status = _check_current_password(confirm.current, "2fa_codes")
    if not right:
        return _account_page(profile, password, confirm, status or 200)
    codes = twofactor.new_recovery_codes(db.session, me)
    security_log("2fa_recovery_codes_renewed", me)
    db.session.commit()
    return render_template("recovery_codes.html", codes=codes, next_url=url_for("auth.account"))

