"""Administration: users and roles, bulletin series."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.wrappers import Response

from extensions import db
from forms.admin import SeriesForm, UserForm
from forms.brief import version_of
from i18n import translate
from models import Series, User
from securitylog.operations import log_security_event
from views.access import require
from views.auth import client_address
from workflows.numbering import SUPPLEMENT_NUMBERING_LABELS
from workflows.roles import ROLE_LABELS, Role

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _user_form(user: User | None) -> UserForm:
    form = UserForm(obj=user) if user and request.method == "GET" else UserForm()
    form.roles.choices = [(r.value, translate(ROLE_LABELS[r])) for r in Role]
    form.locale.choices = list(current_app.config["LANGUAGES"].items())
    if user and request.method == "GET":
        form.roles.data = sorted(user.role_set)
    return form


@bp.get("/users")
def users() -> str:
    require("manage_users")
    everyone = db.session.scalars(select(User).order_by(User.active.desc(), User.username)).all()
    return render_template("admin/users.html", users=everyone, role_labels=ROLE_LABELS)


@bp.route("/users/new", methods=["GET", "POST"])
@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def user(user_id: int | None = None) -> Response | str:
    require("manage_users")
    account = db.session.get(User, user_id) if user_id else None
    if user_id and account is None:
        abort(404)
    form = _user_form(account)
    if form.validate_on_submit():
        clash = db.session.scalar(select(User).where(User.username == form.username.data))
        if clash is not None and clash is not account:
            form.username.errors.append(_("This username is taken."))
        elif account is None and not form.password.data:
            form.password.errors.append(_("A new account needs a password."))
        elif account is not None and account.id == current_user.id and (
            Role.ADMIN.value not in form.roles.data or not form.active.data
        ):
            form.roles.errors.append(_("You cannot remove your own administrator role or deactivate yourself."))
        else:
            if account is None:
                account = User(username=form.username.data)
                db.session.add(account)
            account.username = form.username.data
            account.display_name = form.display_name.data.strip()
            account.locale = form.locale.data
            account.set_roles(set(form.roles.data))
            if form.password.data:
                account.set_password(form.password.data)
                db.session.flush()
                log_security_event(db.session, "password_set", current_user, subject_id=account.id, detail={
                    "username": account.username, "by": current_user.username, "ip": client_address()})
            if form.active.data:
                account.active = True
            elif account.active:
                account.deactivate()
            db.session.commit()
            flash(_("The account %(name)s was saved.", name=account.username), "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, account=account)


@bp.get("/series")
def series_list() -> str:
    require("manage_series")
    rows = db.session.scalars(select(Series).order_by(Series.id)).all()
    return render_template("admin/series.html", series=rows)


@bp.route("/series/new", methods=["GET", "POST"])
@bp.route("/series/<int:series_id>", methods=["GET", "POST"])
def series(series_id: int | None = None) -> Response | tuple[str, int] | str:
    require("manage_series")
    record = db.session.get(Series, series_id) if series_id else None
    if series_id and record is None:
        abort(404)
    form = SeriesForm(obj=record) if record and request.method == "GET" else SeriesForm()
    form.supplement_numbering.choices = [(k.value, translate(v)) for k, v in SUPPLEMENT_NUMBERING_LABELS.items()]
    form.classified_readers.choices = [(r.value, translate(ROLE_LABELS[r])) for r in Role]
    if record and request.method == "GET":
        form.classified_readers.data = sorted(record.classified_reader_set)
    if record and request.method == "GET":
        form.version.data = str(record.version)
    if form.validate_on_submit():
        try:
            ZoneInfo(form.timezone.data)
        except (ZoneInfoNotFoundError, ValueError):
            form.timezone.errors.append(_("Unknown time zone. Use a name such as Asia/Shanghai."))
            return render_template("admin/series_form.html", form=form, record=record), 422
        clash = db.session.scalar(select(Series).where(Series.name == form.name.data.strip()))
        if clash is not None and clash is not record:
            form.name.errors.append(_("A series with this name exists."))
            return render_template("admin/series_form.html", form=form, record=record), 422
        if record is not None and version_of(form) != record.version:
            conflict = _("Someone else changed these settings after you opened them. Nothing was saved.")
            return render_template("admin/series_form.html", form=form, record=record, conflict=conflict), 409
        if record is None:
            record = Series()
            db.session.add(record)
        for field in ("name", "hosts", "contact_phone", "address", "default_print_run", "timezone",
                      "first_total_number", "supplement_numbering", "active"):
            value = getattr(form, field).data
            setattr(record, field, value.strip() if isinstance(value, str) else value)
        levels = [v.strip() for v in (form.classified_levels.data or "").replace("，", ",").split(",")]
        record.classified_levels = ",".join(v for v in levels if v)
        record.classified_readers = ",".join(sorted(form.classified_readers.data or []))
        try:
            db.session.commit()
        except StaleDataError:
            db.session.rollback()
            conflict = _("Someone else changed these settings after you opened them. Nothing was saved.")
            return render_template("admin/series_form.html", form=form, record=record, conflict=conflict), 409
        flash(_("The series %(name)s was saved.", name=record.name), "success")
        return redirect(url_for("admin.series_list"))
    return render_template("admin/series_form.html", form=form, record=record)
