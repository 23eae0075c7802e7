"""Distribution (分发): the recipients directory, distribution lists, the board of an issue's
numbered copies, copy moves, receipt sheets, CSV, and electronic delivery by signed link.

Every view asks the policy (workflows.policy.can / may) before it shows or does anything;
operations live in workflows/ (flush, never commit); a view validates, calls, commits once,
redirects."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, BinaryIO
from urllib.parse import quote
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import or_, select
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.wrappers import Response
from werkzeug.wsgi import wrap_file

from distribution.board import (
    board,
    copy_history,
    downloads_of,
    histories,
    issues_with_copies,
    links_of,
    recipient_copies,
)
from distribution.csvio import export_distribution, export_recipients, import_recipients, parse_recipients
from distribution.links import LinkRefused, log_download, make_link, open_link, revoke_link
from distribution.receipts import html_to_pdf
from printrun.merge import merge_for_duplex
from extensions import db
from forms.auth import EmptyForm
from forms.base import refusal
from forms.brief import version_of
from forms.distribution import (
    AddEntryForm,
    CopyMoveForm,
    DispatchAllForm,
    EntryForm,
    ImportForm,
    LinkForm,
    ListForm,
    RecallForm,
    ReceiptsForm,
    RecipientForm,
)
from i18n import translate
from models import Brief, Copy, DistributionEntry, DownloadLink, Recipient, Series, User
from publishing.services import file_store
from publishing.storage import FixityError
from views.access import get_brief, get_copy, log_event, refuse, require
from views.errors import error_page
from workflows import distribution as lists
from workflows.copy import (
    CATEGORY_LABELS,
    COPY_EVENT_LABELS,
    COPY_STATE_LABELS,
    COPY_TRANSITIONS,
    MEDIUM_LABELS,
    RESERVE_LABEL,
    ROUTE_LABELS,
    Category,
    CopyState,
    Medium,
    Route,
)
from workflows.dispatch import StaleCopy, apply_copy_transition, dispatch_all, recall_issue, record_receipts
from workflows.i18n import N_
from workflows.limits import (
    Problem,
    MAX_COPIES_PER_LINE,
    MAX_ID,
    PERSON_NAME_LENGTH,
    LimitExceeded,
    check_copies,
    parse_whole_number,
    text_problem,
)
from workflows.policy import (
    BULK_MOVES,
    DOWNLOAD,
    EDIT,
    EDIT_LIST,
    READ,
    RECALL,
    SHARE,
    VIEW_DISTRIBUTION,
    VIEW_LIST,
    available_copy_actions,
    can,
    may,
)
from workflows.transitions import ActionRefused, InvalidAction, StaleBrief, save_revision

bp = Blueprint("distribution", __name__)
log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------
# Template helpers
# ---------------------------------------------------------------------------------------------


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    return {
        "copy_state_label": lambda state: translate(COPY_STATE_LABELS[CopyState(state)]),
        "category_label": lambda value: translate(CATEGORY_LABELS[Category(value)]) if value else translate(RESERVE_LABEL),
        "medium_label": lambda value: translate(MEDIUM_LABELS[Medium(value)]),
        "route_label": lambda value: translate(ROUTE_LABELS[Route(value)]) if value else "",
        "copy_event_label": lambda action: translate(COPY_EVENT_LABELS.get(action, action)),
        "distribution_section": _brief_section,
        "has_own_copies": _has_own_copies,
    }


def _brief_section(brief: Brief) -> dict[str, Any] | None:
    """What the brief page shows of its distribution (templates/distribution/_brief_section.html)."""
    if not current_user.is_authenticated:
        return None
    issued = brief.state in ("published", "archived")
    board_allowed = issued and bool(can(current_user, brief, VIEW_DISTRIBUTION))
    if issued:
        return {"issued": True, "board": board_allowed, "copies": None} if board_allowed else None
    entries = lists.entries_of(db.session, brief.id)
    return {"issued": False, "entries": entries, "edit": bool(can(current_user, brief, EDIT_LIST)),
            "copies": sum(e.copies for e in entries)}


def _has_own_copies() -> bool:
    if not current_user.is_authenticated:
        return False
    return db.session.scalar(select(Recipient.id).where(Recipient.user_id == current_user.id).limit(1)) is not None


def _zone(brief: Brief) -> ZoneInfo:
    return ZoneInfo(brief.series.timezone)


def _aware(moment: datetime | None, brief: Brief) -> datetime | None:
    """A time typed in a form (the series' local time) as an aware datetime."""
    if moment is None:
        return None
    return moment.replace(tzinfo=_zone(brief))


def _csv_response(data: bytes, filename: str) -> Response:
    response = Response(data, mimetype="text/csv")
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _pdf_response(data: bytes | BinaryIO, filename: str, attachment: bool = False,
                  size: int | None = None) -> Response:
    """`data` may be an open, already verified file (streamed in blocks, closed after)."""
    if isinstance(data, bytes):
        response = Response(data, mimetype="application/pdf")
    else:
        response = Response(wrap_file(request.environ, data, 1 << 16), mimetype="application/pdf",
                            direct_passthrough=True)
        if size is not None:
            response.content_length = size
    disposition = "attachment" if attachment else "inline"
    response.headers["Content-Disposition"] = f"{disposition}; filename*=UTF-8''{quote(filename)}"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _stale() -> str:
    return _("Someone else changed this distribution after you opened it. Nothing was saved; please try again.")


def _issue_name(brief: Brief) -> str:
    if brief.issue_number is None:
        return f"{brief.series.name}-{brief.title[:30]}"
    return f"{brief.series.name}-{brief.issue_year}年第{brief.issue_number}期"


# ---------------------------------------------------------------------------------------------
# Overview and the recipients directory
# ---------------------------------------------------------------------------------------------


@bp.get("/distribution")
def overview() -> str:
    require("distribution")
    days = current_app.config["CANYUE_RECEIPT_OVERDUE_DAYS"]
    return render_template("distribution/overview.html", issues=issues_with_copies(db.session, days),
                           overdue_days=days, states=list(CopyState))


def _category_choices(include_special: bool = True) -> list[tuple[str, str]]:
    return [(c.value, translate(label)) for c, label in CATEGORY_LABELS.items()
            if include_special or c is not Category.SPECIAL]


def _medium_choices() -> list[tuple[str, str]]:
    return [(m.value, translate(label)) for m, label in MEDIUM_LABELS.items()]


@bp.get("/recipients")
def recipients() -> str:
    require("view_recipients")
    q = request.args.get("q", "").strip()
    category = request.args.get("category", "")
    show_inactive = request.args.get("inactive") == "1"
    query = select(Recipient)
    if q:
        like = f"%{q}%"
        query = query.where(or_(Recipient.name.like(like), Recipient.title.like(like), Recipient.organisation.like(like)))
    if category in {c.value for c in Category}:
        query = query.where(Recipient.category == category)
    if not show_inactive:
        query = query.where(Recipient.active)
    rows = db.session.scalars(query.order_by(Recipient.category, Recipient.name, Recipient.id)).all()
    return render_template("distribution/recipients.html", recipients=rows, q=q, category=category,
                           show_inactive=show_inactive, categories=_category_choices(),
                           can_manage=bool(may(current_user, "manage_recipients")),
                           series=db.session.scalars(select(Series).order_by(Series.id)).all())


@bp.route("/recipients/new", methods=["GET", "POST"])
@bp.route("/recipients/<int:recipient_id>/edit", methods=["GET", "POST"])
def recipient_form(recipient_id: int | None = None) -> Response | tuple[str, int] | str:
    require("manage_recipients")
    record = db.session.get(Recipient, recipient_id) if recipient_id else None
    if recipient_id and record is None:
        abort(404)
    form = RecipientForm(obj=record) if record and request.method == "GET" else RecipientForm()
    form.category.choices = _category_choices()
    if record and request.method == "GET":
        form.username.data = record.user.username if record.user else ""
    if form.validate_on_submit():
        user_id = None
        if form.username.data:
            user_id = db.session.scalar(select(User.id).where(User.username == form.username.data.strip()))
            if user_id is None:
                form.username.errors.append(_("No account has this username."))
                return render_template("distribution/recipient_form.html", form=form, record=record), 422
        if record is None:
            record = Recipient()
            db.session.add(record)
        record.name = form.name.data.strip()
        record.title = (form.title.data or "").strip()
        record.organisation = (form.organisation.data or "").strip()
        record.category = form.category.data
        record.default_copies = form.default_copies.data
        record.active = bool(form.active.data)
        record.user_id = user_id
        db.session.commit()
        flash(_("%(name)s was saved. Issues already published keep the name and title they were printed with.",
                name=record.label), "success")
        return redirect(url_for("distribution.recipient", recipient_id=record.id))
    status = 422 if request.method == "POST" else 200
    return render_template("distribution/recipient_form.html", form=form, record=record), status


@bp.get("/recipients/<int:recipient_id>")
def recipient(recipient_id: int) -> str:
    """Everything one recipient was ever sent: each copy, its issue and where it is."""
    require("view_recipients")
    record = db.session.get(Recipient, recipient_id)
    if record is None:
        abort(404)
    copies = [c for c in recipient_copies(db.session, record.id) if can(current_user, c, READ)]
    return render_template("distribution/recipient.html", record=record, copies=copies,
                           can_manage=bool(may(current_user, "manage_recipients")))


@bp.get("/recipients/export.csv")
def recipients_csv() -> Response:
    require("view_recipients")
    rows = db.session.scalars(select(Recipient).order_by(Recipient.id)).all()
    log_event("csv_exported", what="recipients", rows=len(rows))
    db.session.commit()
    return _csv_response(export_recipients(rows), "recipients.csv")


@bp.route("/recipients/import", methods=["GET", "POST"])
def recipients_import() -> tuple[str, int] | Response | str:
    require("manage_recipients")
    form = ImportForm()
    problems = None
    if form.validate_on_submit():
        rows, found = parse_recipients(db.session, form.file.data.read())
        problems = [(p.line, translate(p.problem)) for p in found]
        if not problems:
            created, updated = import_recipients(db.session, rows)
            db.session.commit()
            flash(_("Imported: %(created)d added, %(updated)d updated.", created=created, updated=updated), "success")
            return redirect(url_for("distribution.recipients"))
        return render_template("distribution/import.html", form=form, problems=problems), 422
    return render_template("distribution/import.html", form=form, problems=problems)


# ---------------------------------------------------------------------------------------------
# Distribution lists: a series' default, and each brief's
# ---------------------------------------------------------------------------------------------


def _active_recipients() -> list[Recipient]:
    return list(db.session.scalars(select(Recipient).where(Recipient.active).order_by(Recipient.category, Recipient.name)))


@bp.route("/series/<int:series_id>/distribution", methods=["GET", "POST"])
def series_list(series_id: int) -> Response | tuple[str, int] | str:
    """A series' default list: where each new brief's list starts."""
    require("manage_recipients")
    series = db.session.get(Series, series_id)
    if series is None:
        abort(404)
    form = EmptyForm()
    status, error = 200, None
    if form.validate_on_submit():
        lines = []
        try:
            index = 0
            while f"rid-{index}" in request.form:
                recipient_id = parse_whole_number(request.form[f"rid-{index}"], 1, MAX_ID)
                if recipient_id is None or db.session.get(Recipient, recipient_id) is None:
                    raise ValueError(index)
                lines.append((recipient_id, Category(request.form.get(f"cat-{index}", "")).value,
                              check_copies(request.form.get(f"copies-{index}", "")),
                              Medium(request.form.get(f"medium-{index}", "")).value))
                index += 1
            added = request.form.get("add_recipient", "")
            if added.strip():
                added_id = parse_whole_number(added, 1, MAX_ID)
                who = db.session.get(Recipient, added_id) if added_id is not None else None
                if who is None:
                    raise ValueError(added)
                copies = request.form.get("add_copies", "").strip() or who.default_copies
                lines.append((who.id, Category(request.form.get("add_category", who.category)).value,
                              check_copies(copies),
                              Medium(request.form.get("add_medium", Medium.PRINTED.value)).value))
            removed = parse_whole_number(request.form.get("remove", ""), 0, len(lines) - 1) if lines else None
            if removed is not None:
                del lines[removed]
        except LimitExceeded as refused:
            status, error = 422, translate(refused)
        except (ValueError, TypeError):
            status, error = 422, _("The list could not be read. Please reload the page and try again.")
        else:
            lists.replace_series_list(db.session, series.id, lines)
            log_event("series_changed", subject_id=series.id, series=series.name, fields=["default_distribution"])
            db.session.commit()
            flash(_("The default distribution list of %(name)s was saved.", name=series.name), "success")
            return redirect(url_for("distribution.series_list", series_id=series.id))
    elif request.method == "POST":
        status = 400
    entries = lists.series_entries(db.session, series.id)
    return render_template(
        "distribution/series_list.html", series=series, entries=entries, form=form, error=error,
        recipients=_active_recipients(), categories=_category_choices(), media=_medium_choices(),
    ), status


def _render_list(brief: Brief, *, error: str | None = None, add_form: AddEntryForm | None = None) -> str:
    entries = lists.entries_of(db.session, brief.id)
    editable = bool(can(current_user, brief, EDIT_LIST))
    text_editable = bool(can(current_user, brief, EDIT))
    add_form = add_form or AddEntryForm(formdata=None, version=str(brief.version), copies=1)
    add_form.recipient_id.choices = [(r.id, f"{r.label}{'（' + r.organisation + '）' if r.organisation else ''}")
                                     for r in _active_recipients()]
    add_form.category.choices = _category_choices(include_special=text_editable)
    add_form.medium.choices = _medium_choices()
    planned = lists.plan_copies(db.session, brief)
    return render_template(
        "distribution/brief_list.html", brief=brief, entries=entries, editable=editable,
        text_editable=text_editable, add_form=add_form, list_form=ListForm(formdata=None, version=str(brief.version)),
        entry_form=EntryForm(formdata=None, version=str(brief.version)), media=_medium_choices(), error=error,
        planned=planned, has_list=lists.has_list(db.session, brief, entries),
    )


@bp.get("/briefs/<int:brief_id>/distribution")
def brief_list(brief_id: int) -> str:
    return _render_list(get_brief(brief_id, VIEW_LIST))


def _list_change(brief_id: int, form: Any, change: Any) -> Response | tuple[str, int]:
    """Validate, apply `change(brief)`, commit once; the page again with the reason if refused."""
    brief = get_brief(brief_id, EDIT_LIST)
    if not form.validate_on_submit():
        status, reason = refusal(form)
        return _render_list(brief, error=reason), status
    if version_of(form) != brief.version:
        return _render_list(brief, error=_stale()), 409
    try:
        message = change(brief)
        db.session.commit()
    except lists.ListRefused as refused:
        db.session.rollback()
        return _render_list(get_brief(brief_id), error=translate(refused)), 409
    except (InvalidAction, LimitExceeded) as invalid:
        db.session.rollback()
        return _render_list(get_brief(brief_id), error=translate(invalid)), 422
    except ActionRefused as refused:
        db.session.rollback()
        refuse(refused.decision)
    except (StaleBrief, StaleDataError):
        db.session.rollback()
        return _render_list(get_brief(brief_id), error=_stale()), 409
    if message:
        flash(message, "success")
    return redirect(url_for("distribution.brief_list", brief_id=brief_id))


@bp.post("/briefs/<int:brief_id>/distribution/add")
def add_entry(brief_id: int) -> Response | tuple[str, int]:
    form = AddEntryForm()
    form.recipient_id.choices = [(r.id, r.label) for r in _active_recipients()]
    form.category.choices = _category_choices()
    form.medium.choices = _medium_choices()

    def change(brief: Brief) -> str:
        who = db.session.get(Recipient, form.recipient_id.data)
        if who is None or not who.active:
            raise InvalidAction(_("This recipient does not exist or is not active."))
        if form.category.data == Category.SPECIAL.value:
            # 本期专报 names are content: added through a new revision (workflows.distribution).
            if who.label in brief.special_report:
                raise InvalidAction(_("%(name)s is already on the 本期专报 line.", name=who.label))
            save_revision(db.session, brief, current_user, {"special_report": [*brief.special_report, who.label]},
                          expected_version=brief.version)
            for entry in lists.entries_of(db.session, brief.id):
                if entry.category == Category.SPECIAL.value and entry.label == who.label:
                    entry.recipient_id, entry.copies, entry.medium = who.id, form.copies.data, form.medium.data
            db.session.flush()
            return _("%(name)s was added to the 本期专报 line (a new revision).", name=who.label)
        lists.add_entry(db.session, brief, who, form.category.data, form.copies.data, form.medium.data)
        return _("%(name)s was added to the list.", name=who.label)

    return _list_change(brief_id, form, change)


@bp.post("/briefs/<int:brief_id>/distribution/save")
def save_list(brief_id: int) -> Response | tuple[str, int]:
    form = ListForm()

    def change(brief: Brief) -> str:
        changed = 0
        for entry in lists.entries_of(db.session, brief.id):
            copies = parse_whole_number(request.form.get(f"copies-{entry.id}", ""), 1, MAX_COPIES_PER_LINE)
            medium = request.form.get(f"medium-{entry.id}", entry.medium)
            if copies is None or medium not in {m.value for m in Medium}:
                raise InvalidAction(N_("Each line needs a number of copies from 1 to %(high)d."),
                                    high=MAX_COPIES_PER_LINE)
            changed += lists.update_entry(db.session, brief, entry, copies=copies, medium=medium)
        return _("The list was saved.") if changed else _("Nothing changed.")

    return _list_change(brief_id, form, change)


def _entry(brief: Brief, entry_id: int) -> DistributionEntry:
    entry = db.session.get(DistributionEntry, entry_id)
    if entry is None or entry.brief_id != brief.id:
        abort(404)
    return entry


@bp.post("/briefs/<int:brief_id>/distribution/<int:entry_id>/remove")
def remove_entry(brief_id: int, entry_id: int) -> Response | tuple[str, int]:
    def change(brief: Brief) -> str:
        entry = _entry(brief, entry_id)
        if entry.category == Category.SPECIAL.value:
            if not can(current_user, brief, EDIT):
                raise lists.ListRefused(N_("本期专报 names are part of the text: remove them by editing the brief."))
            names = list(brief.special_report)
            if entry.label in names:
                names.remove(entry.label)
            save_revision(db.session, brief, current_user, {"special_report": names}, expected_version=brief.version)
            return _("%(name)s was taken off the 本期专报 line (a new revision).", name=entry.label)
        lists.remove_entry(db.session, brief, entry)
        return _("The line was removed.")

    return _list_change(brief_id, EntryForm(), change)


@bp.post("/briefs/<int:brief_id>/distribution/<int:entry_id>/move/<direction>")
def move_entry(brief_id: int, entry_id: int, direction: str) -> Response | tuple[str, int]:
    if direction not in ("up", "down"):
        abort(404)

    def change(brief: Brief) -> str:
        lists.move_entry(db.session, brief, _entry(brief, entry_id), -1 if direction == "up" else 1)
        return ""

    return _list_change(brief_id, EntryForm(), change)


# ---------------------------------------------------------------------------------------------
# The board of an issue's copies
# ---------------------------------------------------------------------------------------------


def _route_choices() -> list[tuple[str, str]]:
    return [(r.value, translate(label)) for r, label in ROUTE_LABELS.items()]


def _now_local(brief: Brief) -> datetime:
    return datetime.now(_zone(brief)).replace(second=0, microsecond=0, tzinfo=None)


def _render_board(brief: Brief, *, error: str | None = None, status: int = 200) -> tuple[str, int]:
    days = current_app.config["CANYUE_RECEIPT_OVERDUE_DAYS"]
    state = board(db.session, brief, days)
    now = _now_local(brief)
    # 经办人: the clerk at the keyboard, as on a copy's own page.
    dispatch_form = DispatchAllForm(formdata=None, version=str(brief.version), when=now,
                                    person=current_user.display_name)
    dispatch_form.route.choices = _route_choices()
    return render_template(
        "distribution/board.html", brief=brief, board=state, histories=histories(db.session, brief),
        dispatch_form=dispatch_form, receipts_form=ReceiptsForm(formdata=None, version=str(brief.version), when=now),
        recall_form=RecallForm(formdata=None, version=str(brief.version)),
        can_bulk=bool(can(current_user, brief, BULK_MOVES)), can_recall=bool(can(current_user, brief, RECALL)),
        error=error,
    ), status


@bp.get("/briefs/<int:brief_id>/copies")
def board_page(brief_id: int) -> tuple[str, int]:
    return _render_board(get_brief(brief_id, VIEW_DISTRIBUTION))


def _bulk(brief_id: int, action: str, form: Any, run: Any) -> Response | tuple[str, int]:
    brief = get_brief(brief_id, action)
    if not form.validate_on_submit():
        status, reason = refusal(form)
        return _render_board(brief, error=reason, status=status)
    try:
        message = run(brief)
        db.session.commit()
    except ActionRefused as refused:
        db.session.rollback()
        refuse(refused.decision)
    except (InvalidAction, LimitExceeded) as invalid:
        db.session.rollback()
        return _render_board(get_brief(brief_id), error=translate(invalid), status=422)
    except (StaleBrief, StaleDataError):
        db.session.rollback()
        return _render_board(get_brief(brief_id), error=_stale(), status=409)
    flash(message, "success")
    return redirect(url_for("distribution.board_page", brief_id=brief_id))


@bp.post("/briefs/<int:brief_id>/copies/dispatch")
def dispatch_everything(brief_id: int) -> Response | tuple[str, int]:
    form = DispatchAllForm()
    form.route.choices = _route_choices()

    def run(brief: Brief) -> str:
        count = dispatch_all(db.session, brief, current_user, route=form.route.data, person=form.person.data,
                             when=_aware(form.when.data, brief), expected_version=version_of(form))
        return _("%(count)d copies were dispatched.", count=count)

    return _bulk(brief_id, BULK_MOVES, form, run)


@bp.post("/briefs/<int:brief_id>/copies/receipts")
def receipts(brief_id: int) -> Response | tuple[str, int]:
    form = ReceiptsForm()

    def run(brief: Brief) -> str:
        chosen = []
        for raw in request.form.getlist("copy"):
            copy_id = parse_whole_number(raw, 1, MAX_ID)
            if copy_id is None:
                raise InvalidAction(N_("The form was incomplete. Please try again."))
            signed = request.form.get(f"signed-{raw}", "").strip()
            problem = text_problem(signed, limit=PERSON_NAME_LENGTH, single_line=True) or (
                None if signed else Problem(N_("please type the name of the person who signed")))
            if problem:
                raise InvalidAction(N_("Who signed for copy %(copy)s: %(problem)s"), copy=raw, problem=problem)
            chosen.append((copy_id, signed))
        if not chosen:
            raise InvalidAction(_("Choose the copies that were signed for."))
        count = record_receipts(db.session, brief, current_user, chosen, when=_aware(form.when.data, brief),
                                expected_version=version_of(form))
        return _("%(count)d receipts were recorded.", count=count)

    return _bulk(brief_id, BULK_MOVES, form, run)


@bp.post("/briefs/<int:brief_id>/copies/recall")
def recall(brief_id: int) -> Response | tuple[str, int]:
    form = RecallForm()

    def run(brief: Brief) -> str:
        flagged = recall_issue(db.session, brief, current_user, form.reason.data, expected_version=version_of(form))
        return _("The issue was recalled: %(count)d copies are to come back.", count=flagged)

    return _bulk(brief_id, RECALL, form, run)


@bp.get("/briefs/<int:brief_id>/copies/receipt-sheet.pdf")
def receipt_sheet(brief_id: int) -> Response:
    """签收单 for the courier: 份号, recipient, and columns to sign and date."""
    brief = get_brief(brief_id, VIEW_DISTRIBUTION)
    state = board(db.session, brief, current_app.config["CANYUE_RECEIPT_OVERDUE_DAYS"])
    wanted = request.args.get("copies", "outstanding")
    if wanted == "all":
        copies = [c for c in state.copies if c.medium == Medium.PRINTED.value]
    else:  # the printed copies still to be signed for
        copies = [c for c in state.copies if c.medium == Medium.PRINTED.value
                  and c.state in (CopyState.PRINTED.value, CopyState.DISPATCHED.value)]
    html = render_template("distribution/receipt_sheet.html", brief=brief, copies=copies,
                           printed_on=datetime.now(_zone(brief)).date())
    return _pdf_response(html_to_pdf(html), f"{_issue_name(brief)}-签收单.pdf")


@bp.get("/briefs/<int:brief_id>/copies/distribution.csv")
def distribution_csv(brief_id: int) -> Response:
    brief = get_brief(brief_id, VIEW_DISTRIBUTION)
    state = board(db.session, brief, current_app.config["CANYUE_RECEIPT_OVERDUE_DAYS"])
    data = export_distribution(brief, state.copies, state.downloads)
    log_event("csv_exported", subject_id=brief.id, what="distribution", rows=len(state.copies))
    db.session.commit()
    return _csv_response(data, f"{_issue_name(brief)}-分发记录.csv")


# ---------------------------------------------------------------------------------------------
# One copy: its history, its moves, its file, its links
# ---------------------------------------------------------------------------------------------


def _move_form(copy: Copy, action: str, formdata: Any = None) -> CopyMoveForm:
    brief = copy.brief
    if formdata is None:
        defaults: dict[str, Any] = {"version": str(copy.version), "when": _now_local(brief)}
        if action == "dispatch":
            defaults["route"] = Route.ELECTRONIC.value if copy.medium == Medium.ELECTRONIC.value else Route.COURIER.value
            defaults["person"] = current_user.display_name
        # Who signed for or returned a copy is typed, never guessed: the recipient may be a
        # unit, and ticking a box must not record a unit as the person who signed.
        elif action == "destroy":
            defaults["person"] = current_user.display_name
        form = CopyMoveForm(prefix=action, formdata=None, **defaults)
    else:
        form = CopyMoveForm(prefix=action)
    form.route.choices = _route_choices()
    return form


def _render_copy(copy: Copy, *, error: str | None = None, failed: str | None = None,
                 failed_form: CopyMoveForm | None = None, new_link: str | None = None, status: int = 200) -> tuple[str, int]:
    moves = available_copy_actions(current_user, copy)
    forms = {t.action: (failed_form if t.action == failed and failed_form else _move_form(copy, t.action)) for t in moves}
    return render_template(
        "distribution/copy.html", copy=copy, brief=copy.brief, history=copy_history(db.session, copy), moves=moves,
        forms=forms, failed=failed, error=error, links=links_of(db.session, copy),
        downloads=downloads_of(db.session, copy), link_form=LinkForm(formdata=None),
        revoke_form=EmptyForm(formdata=None), can_share=bool(can(current_user, copy, SHARE)),
        can_download=bool(can(current_user, copy, DOWNLOAD)), new_link=new_link, now=datetime.now(_zone(copy.brief)),
    ), status


@bp.get("/copies/<int:copy_id>")
def copy_page(copy_id: int) -> tuple[str, int]:
    return _render_copy(get_copy(copy_id))


@bp.post("/copies/<int:copy_id>/act/<action>")
def copy_act(copy_id: int, action: str) -> Response | tuple[str, int]:
    transition = COPY_TRANSITIONS.get(action)
    if transition is None:
        abort(404)
    copy = get_copy(copy_id)
    form = _move_form(copy, action, formdata=request.form)
    if not form.validate_on_submit():
        status, reason = refusal(form)
        return _render_copy(copy, error=reason, failed=action, failed_form=form, status=status)
    try:
        apply_copy_transition(
            db.session, copy, action, current_user, when=_aware(form.when.data, copy.brief), person=form.person.data,
            route=form.route.data or None, witness=form.witness.data, comment=form.comment.data,
            expected_version=version_of(form),
        )
        db.session.commit()
    except ActionRefused as refused:
        db.session.rollback()
        refuse(refused.decision)
    except InvalidAction as invalid:
        db.session.rollback()
        return _render_copy(get_copy(copy_id), error=translate(invalid), failed=action, failed_form=form,
                            status=422)
    except (StaleCopy, StaleBrief, StaleDataError):
        db.session.rollback()
        return _render_copy(get_copy(copy_id), error=_stale(), failed=action, failed_form=form, status=409)
    flash(_("Done: %(action)s.", action=translate(transition.label)), "success")
    return redirect(url_for("distribution.copy_page", copy_id=copy_id))


def _serve_copy(copy: Copy) -> Response:
    """The copy's PDF, served only while it matches the SHA-256 recorded when it was made."""
    stored = copy.stored_file
    if stored is None:
        abort(404)
    try:
        handle = file_store().open_verified(stored.path, stored.sha256)
    except FixityError as error:
        log.error("copy %s: stored PDF %s failed its fixity check: %s", copy.id, stored.path, error)
        abort(error_page(409, _("The stored copy no longer matches the fingerprint recorded when it was made, "
                                "so it is not served. Please tell the archivist.")))
    return _pdf_response(handle, f"{_issue_name(copy.brief)}-{copy.serial}.pdf", attachment=True, size=stored.size)


@bp.get("/briefs/<int:brief_id>/copies/paper.pdf")
def paper_copies_pdf(brief_id: int) -> Response:
    """Every paper copy of the issue in one PDF, in 份号 order, each starting on a right-hand
    page (printrun/merge.py): for the 机要员 who prints the run. Each copy is checked against
    its fingerprint and logged as a download, as when it is fetched alone."""
    brief = get_brief(brief_id, BULK_MOVES)
    copies = db.session.scalars(select(Copy).where(
        Copy.brief_id == brief.id, Copy.medium == Medium.PRINTED.value).order_by(Copy.number)).all()
    if not copies:
        abort(error_page(404, _("This issue has no paper copies to print.")))
    datas = []
    for copy in copies:
        decision = can(current_user, copy, DOWNLOAD)
        if not decision:
            refuse(decision)
        datas.append(_verified_copy_bytes(copy))
    merged, _blanks = merge_for_duplex(datas)
    for copy in copies:
        log_download(db.session, copy, ip=request.remote_addr, user=current_user)
    if brief.classification:
        log_event("classified_download", subject_id=brief.id, classification=brief.classification,
                  copy=f"{copies[0].serial}-{copies[-1].serial}")
    db.session.commit()
    return _pdf_response(merged, f"{_issue_name(brief)}-纸质份-{len(copies)}.pdf", attachment=True)


def _verified_copy_bytes(copy: Copy) -> bytes:
    stored = copy.stored_file
    if stored is None:
        abort(error_page(409, _("Copy %(serial)s has no stored file, so the print run cannot be made.",
                                serial=copy.serial)))
    try:
        return file_store().read_verified(stored.path, stored.sha256)
    except FixityError as error:
        log.error("copy %s: stored PDF %s failed its fixity check: %s", copy.id, stored.path, error)
        abort(error_page(409, _("Copy %(serial)s no longer matches the fingerprint recorded when it was made, "
                                "so the print run is not served. Please tell the archivist.", serial=copy.serial)))


@bp.get("/copies/<int:copy_id>/pdf")
def copy_pdf(copy_id: int) -> Response:
    """The copy's PDF from an account: its own recipient, or an editor or clerk; logged."""
    copy = get_copy(copy_id, DOWNLOAD)
    response = _serve_copy(copy)
    log_download(db.session, copy, ip=request.remote_addr, user=current_user)
    if copy.brief.classification:
        log_event("classified_download", subject_id=copy.brief_id, classification=copy.brief.classification,
                  copy=copy.serial)
    db.session.commit()
    return response


@bp.post("/copies/<int:copy_id>/links")
def new_link(copy_id: int) -> Response | tuple[str, int]:
    copy = get_copy(copy_id, SHARE)
    form = LinkForm()
    if not form.validate_on_submit():
        status, _reason = refusal(form)
        return _render_copy(copy, error=_("Give the number of days the link stays valid (1 to 90)."), status=status)
    try:
        _link, token = make_link(db.session, copy, current_user, current_app.config["SECRET_KEY"], form.days.data)
        db.session.commit()
    except ActionRefused as refused:
        db.session.rollback()
        refuse(refused.decision)
    url = url_for("distribution.download", token=token, _external=True)
    flash(_("A download link was made. Copy it now: it is shown only once."), "success")
    return _render_copy(copy, new_link=url)


@bp.post("/links/<int:link_id>/revoke")
def revoke(link_id: int) -> Response:
    link = db.session.get(DownloadLink, link_id)
    if link is None:
        abort(404)
    get_copy(link.copy_id)  # 404 for what may not be seen
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        revoke_link(db.session, link, current_user)
        db.session.commit()
    except ActionRefused as refused:
        db.session.rollback()
        refuse(refused.decision)
    flash(_("The link was revoked."), "success")
    return redirect(url_for("distribution.copy_page", copy_id=link.copy_id))


@bp.get("/d/<token>")
def download(token: str) -> Response:
    """A copy's PDF through a signed link: no login, but only while the link is valid."""
    try:
        link = open_link(db.session, token, current_app.config["SECRET_KEY"])
    except LinkRefused as refused:
        abort(error_page(refused.status, translate(refused)))
    response = _serve_copy(link.copy)
    log_download(db.session, link.copy, ip=request.remote_addr, link=link)
    if link.copy.brief.classification:
        log_event("classified_download", subject_id=link.copy.brief_id, actor_name=f"download link {link.id}",
                  classification=link.copy.brief.classification, copy=link.copy.serial, link=link.id)
    db.session.commit()
    return response


@bp.get("/my-copies")
def my_copies() -> str:
    """The copies sent to the recipient linked to this account."""
    copies = db.session.scalars(
        select(Copy).join(Recipient, Recipient.id == Copy.recipient_id).where(Recipient.user_id == current_user.id)
        .order_by(Copy.id.desc())
    ).all()
    copies = [c for c in copies if can(current_user, c, READ)]
    return render_template("distribution/my_copies.html", copies=copies,
                           downloadable={c.id for c in copies if can(current_user, c, DOWNLOAD)})
