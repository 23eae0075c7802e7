"""Administration under 三员分立: accounts and bulletin series (the system administrator), roles
and who reads classified issues (the security administrator). Every change is a line of the
security log."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.wrappers import Response

from accounts.operations import AccountProblem, assign_roles, create_account, update_account
from extensions import db
from forms.admin import ClassificationForm, RolesForm, SeriesForm, UserForm
from forms.brief import version_of
from inbox.due import refresh_open
from i18n import translate
from models import Series, User
from status.system import system_status
from views.access import log_event, refuse, request_detail, require
from workflows.i18n import N_
from workflows.numbering import SUPPLEMENT_NUMBERING_LABELS
from workflows.policy import ASSIGN_ROLES, EDIT_ACCOUNT, can, may
from workflows.roles import ADMINISTRATOR_ROLES, ROLE_LABELS, SEPARATION_MESSAGE, Role, RoleConflict
from workflows.transitions import ActionRefused

bp = Blueprint("admin", __name__, url_prefix="/admin")

SERIES_FIELDS = ("name", "hosts", "contact_phone", "address", "default_print_run", "timezone",
                 "first_total_number", "supplement_numbering", "correction_mode", "active",
                 "review_days", "signoff_days", "publish_days", "archive_days")
ALLOWANCE_FIELDS = ("review_days", "signoff_days", "publish_days", "archive_days")


@bp.get("")
def home() -> str:
    """The system administrator's home: the installation's state at a glance (their 我的待办
    would always be empty — they move no brief)."""
    require("manage_users")
    return render_template("admin/home.html", status=system_status(db.session))


def _account(user_id: int) -> User:
    account = db.session.get(User, user_id)
    if account is None:
        abort(404)
    return account


# --- accounts ----------------------------------------------------------------------------------


@bp.get("/users")
def users() -> str:
    require("view_users")
    everyone = db.session.scalars(select(User).order_by(User.active.desc(), User.username)).all()
    allowed = {u.id: {"edit": bool(can(current_user, u, EDIT_ACCOUNT)), "roles": bool(can(current_user, u, ASSIGN_ROLES))}
               for u in everyone}
    return render_template("admin/users.html", users=everyone, allowed=allowed,
                           can_create=bool(may(current_user, "manage_users")))


def _user_form(account: User | None) -> UserForm:
    form = UserForm(obj=account) if account and request.method == "GET" else UserForm()
    form.locale.choices = list(current_app.config["LANGUAGES"].items())
    return form


@bp.route("/users/new", methods=["GET", "POST"])
@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def user(user_id: int | None = None) -> Response | tuple[str, int] | str:
    """The admin's account form: username, name, e-mail, language, active, password — never roles."""
    require("manage_users")
    account = _account(user_id) if user_id else None
    if account is not None:
        decision = can(current_user, account, EDIT_ACCOUNT)
        if not decision:
            refuse(decision)
    form = _user_form(account)
    if account is None:  # a new account has no password to keep: it needs one
        form.password.label.text = _("Password")
        form.password.flags.required = True
    status = 200
    if form.validate_on_submit():
        try:
            if account is None:
                if not form.password.data:
                    raise AccountProblem("password", N_("A new account needs a password."))
                account = create_account(
                    db.session, current_user, username=form.username.data, display_name=form.display_name.data,
                    password=form.password.data, locale=form.locale.data, email=form.email.data,
                    **request_detail())
                if not form.active.data:
                    update_account(db.session, current_user, account, active=False, **request_detail())
            else:
                update_account(
                    db.session, current_user, account, username=form.username.data,
                    display_name=form.display_name.data.strip(), locale=form.locale.data,
                    password=form.password.data or None, active=bool(form.active.data),
                    email=form.email.data or "", **request_detail())
        except AccountProblem as problem:
            db.session.rollback()
            getattr(form, problem.field).errors.append(translate(str(problem)))
        except ActionRefused as refused:
            db.session.rollback()
            form.active.errors.append(translate(refused.decision.message))
            status = 403
        else:
            db.session.commit()
            flash(_("The account %(name)s was saved.", name=account.username), "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, account=account,
                           can_assign=account is not None and bool(can(current_user, account, ASSIGN_ROLES))), status


@bp.route("/users/<int:user_id>/roles", methods=["GET", "POST"])
def user_roles(user_id: int) -> Response | tuple[str, int] | str:
    """The security administrator's: the roles an account holds."""
    require("assign_roles")
    account = _account(user_id)
    decision = can(current_user, account, ASSIGN_ROLES)
    if not decision:
        refuse(decision)
    form = RolesForm() if request.method == "POST" else RolesForm(roles=sorted(account.role_set))
    form.roles.choices = [(r.value, translate(ROLE_LABELS[r])) for r in Role]
    status = 200
    if form.validate_on_submit():
        try:
            changed = assign_roles(db.session, current_user, account, set(form.roles.data or []), **request_detail())
            db.session.commit()
        except RoleConflict as conflict:
            db.session.rollback()
            form.roles.errors.append(translate(str(conflict)))
            status = 422
        except IntegrityError:  # another security administrator gave a second one meanwhile
            db.session.rollback()
            form.roles.errors.append(translate(SEPARATION_MESSAGE))
            status = 409
        else:
            if changed:
                flash(_("The roles of %(name)s were saved.", name=account.username), "success")
            return redirect(url_for("admin.users"))
    elif request.method == "POST":
        status = 422
    return render_template("admin/user_roles.html", form=form, account=account), status


# --- series ------------------------------------------------------------------------------------


@bp.get("/series")
def series_list() -> str:
    require("view_series")
    rows = db.session.scalars(select(Series).order_by(Series.id)).all()
    return render_template("admin/series.html", series=rows, can_edit=bool(may(current_user, "manage_series")),
                           can_classify=bool(may(current_user, "classify_series")),
                           can_list=bool(may(current_user, "manage_recipients")))


def _series(series_id: int) -> Series:
    record = db.session.get(Series, series_id)
    if record is None:
        abort(404)
    return record


def _stale_settings() -> str:
    return _("Someone else changed these settings after you opened them. Nothing was saved.")


@bp.route("/series/new", methods=["GET", "POST"])
@bp.route("/series/<int:series_id>", methods=["GET", "POST"])
def series(series_id: int | None = None) -> Response | tuple[str, int] | str:
    require("manage_series")
    record = _series(series_id) if series_id else None
    form = SeriesForm(obj=record) if record and request.method == "GET" else SeriesForm()
    form.supplement_numbering.choices = [(k.value, translate(v)) for k, v in SUPPLEMENT_NUMBERING_LABELS.items()]
    if record and request.method == "GET":
        form.version.data = str(record.version)
    elif record is None and request.method == "GET":  # a new series starts with the usual allowances
        for field in ALLOWANCE_FIELDS:
            getattr(form, field).data = Series.__table__.c[field].default.arg if Series.__table__.c[field].default else None
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
            return render_template("admin/series_form.html", form=form, record=record,
                                   conflict=_stale_settings()), 409
        created = record is None
        if record is None:
            record = Series()
            db.session.add(record)
        changed = []
        for field in SERIES_FIELDS:
            value = getattr(form, field).data
            value = value.strip() if isinstance(value, str) else value
            if getattr(record, field) != value:
                changed.append(field)
            setattr(record, field, value)
        try:
            db.session.flush()
            if not created and set(changed) & set(ALLOWANCE_FIELDS):
                refresh_open(db.session, record.id)  # the open briefs' due dates follow
            if created or changed:
                log_event("series_created" if created else "series_changed", subject_id=record.id,
                          series=record.name, fields=changed)
            db.session.commit()
        except StaleDataError:
            db.session.rollback()
            return render_template("admin/series_form.html", form=form, record=record,
                                   conflict=_stale_settings()), 409
        flash(_("The series %(name)s was saved.", name=record.name), "success")
        return redirect(url_for("admin.series_list"))
    return render_template("admin/series_form.html", form=form, record=record)


def _reader_choices() -> list[tuple[str, str]]:
    """Roles that may be a series' classified readers: never an administrator's (三员分立)."""
    return [(r.value, translate(ROLE_LABELS[r])) for r in Role if r not in ADMINISTRATOR_ROLES]


@bp.route("/series/<int:series_id>/classification", methods=["GET", "POST"])
def series_classification(series_id: int) -> Response | tuple[str, int] | str:
    """The security administrator's: a series' classified 密级 levels and the roles that read them."""
    require("classify_series")
    record = _series(series_id)
    if request.method == "GET":
        form = ClassificationForm(classified_levels=record.classified_levels, version=str(record.version),
                                  classified_readers=sorted(record.classified_reader_set - ADMINISTRATOR_ROLES))
    else:
        form = ClassificationForm()
    form.classified_readers.choices = _reader_choices()
    status = 200
    if form.validate_on_submit():
        if version_of(form) != record.version:
            return render_template("admin/series_classification.html", form=form, record=record,
                                   conflict=_stale_settings()), 409
        levels = [v.strip() for v in (form.classified_levels.data or "").replace("，", ",").split(",")]
        before: dict[str, Any] = {"levels": record.classified_levels, "readers": record.classified_readers}
        record.classified_levels = ",".join(v for v in levels if v)
        record.classified_readers = ",".join(sorted(form.classified_readers.data or []))
        after = {"levels": record.classified_levels, "readers": record.classified_readers}
        try:
            if after != before:
                db.session.flush()
                log_event("classification_changed", subject_id=record.id, series=record.name,
                          before=before, after=after)
            db.session.commit()
        except StaleDataError:
            db.session.rollback()
            return render_template("admin/series_classification.html", form=form, record=record,
                                   conflict=_stale_settings()), 409
        flash(_("The classification settings of %(name)s were saved.", name=record.name), "success")
        return redirect(url_for("admin.series_list"))
    elif request.method == "POST":
        status = 422
    return render_template("admin/series_classification.html", form=form, record=record), status
