"""Briefs: lists, create and edit, the brief page and its actions, publishing."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, BinaryIO
from urllib.parse import quote

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import or_, select
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.wrappers import Response
from werkzeug.wsgi import wrap_file

from archive.fixity import record_download_check
from extensions import db
from figures.operations import image_data_uris
from forms.base import refusal
from forms.word import ImageForm
from forms.brief import ActionForm, BriefForm, DiffForm, EditBriefForm, NewBriefForm, PublishForm, version_of
from i18n import translate
from forms.inbox import CommentForm, DeadlineForm
from inbox import delegation
from inbox.due import today as local_today
from inbox.holders import HolderResolver
from inbox.queries import LIST_ONLY
from models import AuditEvent, Brief, Comment, Revision, Series, StoredFile
from publishing.pageimages import page_png, page_texts, texts_from_json, texts_to_json
from publishing.pipeline import PublishError, default_issue_date, next_numbers_for, print_run_now, publish
from publishing.previews import SpecimenKey, render_throttle, specimen_cache, specimen_key
from publishing.services import file_store, pdf_renderer
from publishing.storage import FixityError
from rendering.diff import body_diff, change_count, diff_fields
from rendering.markdown import render_body
from rendering.printing import printed_issue_from_brief
from signoff.operations import sign
from signoff.views import SHEET_STATES
from instructions.operations import instructions_of
from workflows.policy import REGISTER_INSTRUCTION
from views.access import get_brief, log_event, refuse, require
from views.errors import error_page
from views.inputs import int_arg
from workflows.brief import STATE_LABELS, TRANSITIONS, State
from workflows import holders as holder_rules
from workflows.holders import STEP_BY_ACTION
from workflows.copy import Medium
from workflows.distribution import plan_copies, series_special_labels
from workflows.limits import MAX_ID, MAX_PAGE, ContentRefused, parse_whole_number
from workflows.policy import (
    BROWSE_BRIEFS,
    COMMENT,
    EDIT,
    EXPORT_WORD,
    IMPORT_WORD,
    READ,
    SET_DEADLINE,
    UPLOAD_IMAGE,
    OnBehalf,
    available_actions,
    can,
    may,
    readable_clause,
)
from workflows.transitions import (
    ActionRefused,
    InvalidAction,
    StaleBrief,
    apply_transition,
    create_brief,
    save_revision,
)

bp = Blueprint("briefs", __name__)
log = logging.getLogger(__name__)

# Moves that run as a pipeline have their own page with their own form.
PIPELINE_PAGES = {
    "publish": "briefs.publish_form",
    "archive": "archive.file_form",
    "request_correction": "corrections.request_form",
    "confirm_correction": "corrections.confirm_form",
    "sign_on_paper": "signoff.paper_form",
    "correct": "amendments.correct",
    "reissue": "amendments.reissue_form",
    "annul": "amendments.annul",
}

CONTENT_LABELS = [
    ("title", _l("Title")),
    ("author_line", _l("Author line")),
    ("special_report", _l("Reported to (本期专报)")),
    ("supplement", _l("Supplement")),
    ("classification", _l("Classification")),
    ("urgency", _l("Urgency")),
    ("keywords", _l("Keywords")),
    ("body", _l("Body")),
]


def _stale_message() -> str:
    return _(
        "Someone else changed this brief after you opened it. Nothing was saved; "
        "your text is kept below. Compare it with the current version, then try again."
    )


def _choices(form: BriefForm, brief: Brief | None = None) -> None:
    config = current_app.config
    levels = [c for c in config["CANYUE_CLASSIFICATIONS"].split(",") if c]
    urgencies = [u for u in config["CANYUE_URGENCIES"].split(",") if u]
    # A value set before the deployment's levels changed stays selectable, so the brief saves.
    if brief is not None:
        levels += [brief.classification] if brief.classification and brief.classification not in levels else []
        urgencies += [brief.urgency] if brief.urgency and brief.urgency not in urgencies else []
    form.classification.choices = [("", _("None"))] + [(c, c) for c in levels]
    form.urgency.choices = [("", _("None"))] + [(u, u) for u in urgencies]
    if isinstance(form, NewBriefForm):
        series = db.session.scalars(select(Series).where(Series.active).order_by(Series.id))
        form.series_id.choices = [(s.id, s.name) for s in series]


def _returned_reasons(brief_ids: list[int]) -> dict[int, AuditEvent]:
    """For briefs whose latest move was a return or send-back, that event (its reason)."""
    if not brief_ids:
        return {}
    latest: dict[int, AuditEvent] = {}
    events = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.brief_id.in_(brief_ids), AuditEvent.from_state != AuditEvent.to_state)
        .order_by(AuditEvent.brief_id, AuditEvent.seq)
    )
    for event in events:
        latest[event.brief_id] = event
    return {bid: ev for bid, ev in latest.items() if ev.action in ("return", "send_back", "reopen")}


@bp.get("/briefs")
def index() -> str:
    require(BROWSE_BRIEFS)
    state = request.args.get("state", "")
    series_id = int_arg("series")
    query_text = request.args.get("q", "").strip()
    mine = request.args.get("mine") == "1"
    query = select(Brief).options(*LIST_ONLY).where(readable_clause(current_user, Brief))
    if state in {s.value for s in State}:
        query = query.where(Brief.state == state)
    if series_id:
        query = query.where(Brief.series_id == series_id)
    if mine:
        query = query.where(Brief.author_id == current_user.id)
    if query_text:
        like = f"%{query_text}%"
        query = query.where(or_(Brief.title.like(like), Brief.author_line.like(like)))
    page = db.paginate(query.order_by(Brief.updated_at.desc()), page=int_arg("page", high=MAX_PAGE, default=1),
                       per_page=30, error_out=False)
    series = db.session.scalars(select(Series).order_by(Series.id)).all()
    return render_template(
        "briefs/index.html", page=page, states=list(State), state=state, series=series,
        series_id=series_id, q=query_text, mine=mine,
    )


@bp.route("/briefs/new", methods=["GET", "POST"])
def new() -> Response | str:
    require("create_brief")
    form = NewBriefForm()
    _choices(form)
    if request.method == "GET":
        form.classification.data = current_app.config["CANYUE_DEFAULT_CLASSIFICATION"]
        form.author_line.data = ""
        # The series' usual 本期专报 leaders (the 专报 lines of its default list), to edit.
        chosen = request.args.get("series", type=int) or (form.series_id.choices[0][0] if form.series_id.choices else None)
        if chosen in {value for value, _label in form.series_id.choices}:
            form.series_id.data = chosen
            form.special_report.data = "\n".join(series_special_labels(db.session, chosen))
    if form.validate_on_submit():
        series = db.session.get(Series, form.series_id.data)
        try:
            brief = create_brief(db.session, current_user, series, form.content())
            db.session.commit()
        except ContentRefused as refused:
            db.session.rollback()
            return _content_refused(form, refused, None)
        flash(_("The draft was saved as revision 1."), "success")
        return redirect(url_for("briefs.edit", brief_id=brief.id))
    status = 422 if request.method == "POST" else 200
    return render_template("briefs/form.html", form=form, brief=None), status



def _content_refused(form: BriefForm, refused: ContentRefused, brief: Brief | None) -> tuple[str, int]:
    """The form again, the refusal next to its field, what was typed kept (the operation checks
    the content's limits whoever calls it; the form's own checks normally catch it first)."""
    field = getattr(form, refused.field, None)
    if field is not None:
        field.errors = [*field.errors, translate(refused)]
    return render_template("briefs/form.html", form=form, brief=brief,
                           conflict=None if field is not None else translate(refused)), 422


@bp.route("/briefs/<int:brief_id>/edit", methods=["GET", "POST"])
def edit(brief_id: int) -> Response | tuple[str, int] | str:
    if request.method == "POST":
        brief = db.session.get(Brief, brief_id)
        if brief is not None and not can(current_user, brief, READ) and _moved_on(brief):
            abort(error_page(409, _("Someone else acted on this brief after you opened it, and it is no longer "
                                    "open to you. Nothing was saved."), kept_text=request.form.get("body", "")))
        brief = get_brief(brief_id)
        if not can(current_user, brief, EDIT) and _moved_on(brief):
            # Someone moved the brief on (approved it, say) while this was being typed.
            form = EditBriefForm()
            _choices(form, brief)
            return render_template("briefs/form.html", form=form, brief=brief, conflict=_stale_message(),
                                   frozen=True), 409
    brief = get_brief(brief_id, EDIT)
    form = EditBriefForm()
    _choices(form, brief)
    if request.method == "GET":
        form.fill_from(brief)
    elif form.validate_on_submit():
        try:
            revision = save_revision(
                db.session, brief, current_user, form.content(), expected_version=version_of(form)
            )
            db.session.commit()
        except (StaleBrief, StaleDataError):
            db.session.rollback()
            return render_template("briefs/form.html", form=form, brief=brief, conflict=_stale_message()), 409
        except ActionRefused as refused:
            db.session.rollback()
            refuse(refused.decision)
        except ContentRefused as refused:
            db.session.rollback()
            return _content_refused(form, refused, brief)
        if revision is None:
            flash(_("Nothing changed, so no new revision was saved."), "info")
        else:
            flash(_("Saved as revision %(number)d.", number=revision.number), "success")
        if request.form.get("then") == "view":
            return redirect(url_for("briefs.show", brief_id=brief.id))
        return redirect(url_for("briefs.edit", brief_id=brief.id))
    elif form.version.errors:
        # Without the version it loaded, a save could overwrite someone else's edit unseen.
        return render_template("briefs/form.html", form=form, brief=brief, conflict=_stale_message()), 400
    else:  # what was typed is refused (too long, control characters): shown again, with the reasons
        return render_template("briefs/form.html", form=form, brief=brief), 422
    image_form = ImageForm(formdata=None) if can(current_user, brief, UPLOAD_IMAGE) else None
    return render_template("briefs/form.html", form=form, brief=brief, image_form=image_form,
                           returned=_returned_reasons([brief.id]).get(brief.id))


def _brief_or_gone_conflict(brief_id: int, form: ActionForm) -> Brief:
    """The brief, as get_brief finds it; but when someone else's move (a return, a withdrawal)
    took it out of this user's sight while they filled in the form, a conflict that keeps what
    they typed rather than a bare 404."""
    moved = db.session.get(Brief, brief_id)
    if moved is not None and not can(current_user, moved, READ) and _moved_on(moved):
        abort(error_page(409, _("Someone else acted on this brief after you opened it, and it is no longer "
                                "open to you. Nothing was done."), kept_text=(form.comment.data or "").strip()))
    return get_brief(brief_id)


def _moved_on(brief: Brief) -> bool:
    """Whether the form posted was filled in on an older version of the brief."""
    action = (request.view_args or {}).get("action") or request.form.get("do")
    raw = request.form.get("version") or request.form.get(f"{action}-version")
    if not raw:
        return True  # no version at all: not the form of this version
    version = parse_whole_number(raw, 1, MAX_ID)
    return version is not None and version != brief.version


def _action_forms(brief: Brief, failed: str | None = None, failed_form: ActionForm | None = None) -> dict[str, ActionForm]:
    forms = {}
    for transition in available_actions(current_user, brief):
        if transition.pipeline_only:
            continue
        if transition.action == failed and failed_form is not None:
            forms[transition.action] = failed_form
        else:
            forms[transition.action] = ActionForm(prefix=transition.action, version=brief.version, formdata=None)
    return forms


def _images(brief: Brief) -> dict[str, str]:
    """The body's stored images as data: URIs: the page and the PDF embed them, fetching nothing."""
    return dict(image_data_uris(db.session, file_store(), brief.body))


def _delegated_actions(brief: Brief, own: list[Any]) -> list[tuple[OnBehalf, list[Any], dict[str, ActionForm]]]:
    """The moves the user may make on this brief for a colleague they stand in for (委托)."""
    taken = {t.action for t in own}
    found = []
    for actor in delegation.acting_for(db.session, current_user._get_current_object()):  # type: ignore[attr-defined]
        moves = [t for t in available_actions(actor, brief) if not t.pipeline_only and t.action not in taken]
        if moves:
            taken |= {t.action for t in moves}
            found.append((actor, moves, {t.action: ActionForm(prefix=t.action, version=brief.version, formdata=None)
                                         for t in moves}))
    return found


def _render_show(brief: Brief, *, error: str | None = None, failed: str | None = None,
                 failed_form: ActionForm | None = None, comment_form: Any = None,
                 comment_error: str | None = None) -> str:
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.brief_id == brief.id).order_by(AuditEvent.seq)
    ).all()
    last_done = {e.action: e for e in events if e.action in STEP_BY_ACTION}
    comments = db.session.scalars(select(Comment).where(Comment.brief_id == brief.id).order_by(Comment.id)).all()
    may_comment = bool(can(current_user, brief, COMMENT))
    own_actions = available_actions(current_user, brief)
    return render_template(
        "briefs/show.html",
        progress=holder_rules.progress(brief.state, last_done),
        holding=HolderResolver(db.session).holding(brief),
        today=local_today(brief.series.timezone),
        comments=[(c, render_body(c.body)) for c in comments],
        comment_form=comment_form or (CommentForm(prefix="comment", formdata=None) if may_comment else None),
        comment_error=comment_error,
        deadline_form=DeadlineForm(prefix="deadline", deadline=brief.deadline, formdata=None)
        if can(current_user, brief, SET_DEADLINE) else None,
        delegated=_delegated_actions(brief, own_actions),
        brief=brief,
        body_html=render_body(brief.body, _images(brief)),
        events=events,
        actions=available_actions(current_user, brief),
        action_forms=_action_forms(brief, failed, failed_form),
        can_edit=bool(can(current_user, brief, EDIT)),
        word_actions={"export": bool(can(current_user, brief, EXPORT_WORD)),
                      "import": bool(can(current_user, brief, IMPORT_WORD))},
        error=error,
        failed=failed,
        returned=_returned_reasons([brief.id]).get(brief.id),
        pipeline_pages=PIPELINE_PAGES,
        # What was typed into a form that is no longer offered (the brief moved on meanwhile).
        kept_text=(failed_form.comment.data or "").strip() if failed_form is not None and failed not in {
            t.action for t in available_actions(current_user, brief)} else "",
        show_fixity=bool(may(current_user, "manage_archive")),
        has_sheet=brief.state in SHEET_STATES,
        instructions=instructions_of(db.session, brief),
        may_register=bool(can(current_user, brief, REGISTER_INSTRUCTION)),
        superseded_files=db.session.scalar(select(db.func.count(StoredFile.id)).where(
            StoredFile.brief_id == brief.id, StoredFile.superseded_by_id.is_not(None))),
    )


@bp.route("/briefs/<int:brief_id>", methods=["GET", "POST"])
def show(brief_id: int) -> Response | tuple[str, int] | str:
    """The brief page. Its action forms post to the page itself (the move in `do`), so that a
    refused move (a reason missing, say) answers on the brief's own address, what was typed
    kept in the form — never on an /act/ address that a reload or a bookmark would repeat."""
    if request.method == "POST":
        return act(brief_id, request.form.get("do", ""))
    return _render_show(get_brief(brief_id))


@bp.post("/briefs/<int:brief_id>/act/<action>")
def act(brief_id: int, action: str) -> Response | tuple[str, int]:
    transition = TRANSITIONS.get(action)
    if transition is None or transition.pipeline_only:
        abort(404)  # publishing has its own form and pipeline
    form = ActionForm(prefix=action)
    brief = _brief_or_gone_conflict(brief_id, form)
    if not form.validate_on_submit():
        status, reason = refusal(form)
        return _render_show(brief, error=reason, failed=action, failed_form=form), status
    if version_of(form) != brief.version:  # changed since the page was opened: say so, keep the text
        return _render_show(brief, error=_stale_message(), failed=action, failed_form=form), 409
    actor = _actor(request.form.get("for"))
    try:
        if action == "sign":  # 签发: the move, and the 签发单 as signed filed with the issue
            sign(db.session, file_store(), pdf_renderer(), brief, actor, comment=form.comment.data,
                 expected_version=version_of(form))
        else:
            apply_transition(
                db.session, brief, action, actor, comment=form.comment.data, expected_version=version_of(form)
            )
        db.session.commit()
    except ActionRefused as refused:
        db.session.rollback()
        refuse(refused.decision)
    except InvalidAction as invalid:
        db.session.rollback()
        return _render_show(brief, error=translate(invalid), failed=action, failed_form=form), 422
    except (StaleBrief, StaleDataError):
        db.session.rollback()
        brief = _brief_or_gone_conflict(brief_id, form)
        return _render_show(brief, error=_stale_message(), failed=action, failed_form=form), 409
    flash(_("Done: %(action)s.", action=translate(transition.label)), "success")
    # After a return or withdrawal the actor may no longer see the brief: go back to the tasks.
    if not can(current_user, brief, READ):
        return redirect(url_for("inbox.index"))
    return redirect(url_for("briefs.show", brief_id=brief_id))


def _actor(principal: str | None) -> Any:
    """Who makes the move: the user, or the user for a colleague they stand in for (委托, the
    form's `for`): the delegation must be in force today, else 403."""
    me = current_user._get_current_object()  # type: ignore[attr-defined]
    if not principal:
        return me
    for actor in delegation.acting_for(db.session, me):
        if str(actor.principal.id) == principal:
            return actor
    abort(error_page(403, _("You do not stand in for this colleague (no delegation in force today).")))


@bp.route("/briefs/<int:brief_id>/publish", methods=["GET", "POST"])
def publish_form(brief_id: int) -> Response | tuple[str, int] | str:
    brief = get_brief(brief_id, "publish")
    form = PublishForm()
    if request.method == "GET":
        form.issue_date.data = default_issue_date(brief)
        form.version.data = str(brief.version)
    status = 200
    error = None
    checking = request.form.get("check") == "1"  # "show the numbers for this date": nothing is published
    if form.validate_on_submit() and not checking:
        try:
            published = publish(
                db.session, brief.id, current_user,
                issue_date=form.issue_date.data, expected_version=version_of(form),
            )
        except ActionRefused as refused:
            refuse(refused.decision)
        except InvalidAction as invalid:
            error, status = translate(invalid), 422
        except (StaleBrief, StaleDataError):
            error, status = _stale_message(), 409
        except PublishError as failed:
            log.exception("publishing brief %s failed", brief_id)
            error = translate(failed) + " " + _("No number was used and the brief is still signed.")
            status = failed.status
        except Exception:
            log.exception("publishing brief %s failed", brief_id)
            error, status = _("Publishing failed, so nothing was changed: no number was used and "
                              "the brief is still signed. Please try again or tell the administrator."), 500
        else:
            flash(_("Published as No. %(issue)d (overall No. %(total)d).",
                    issue=published.issue_number, total=published.total_number), "success")
            return redirect(url_for("briefs.show", brief_id=brief_id))
        brief = get_brief(brief_id)
    elif request.method == "POST" and not checking:
        status, _reason = refusal(form)
    return render_template("briefs/publish.html", brief=brief, form=form, error=error,
                           outlook=_publish_outlook(brief, form.issue_date.data)), status


def _publish_outlook(brief: Brief, issue_date: Any) -> dict[str, Any]:
    """What 印发 will do on that date, from the same functions the pipeline runs (the numbers
    from next_numbers_for, the copies from plan_copies): no second computation to drift."""
    planned = plan_copies(db.session, brief)
    outlook: dict[str, Any] = {"numbers": None, "problem": None, "copies": len(planned),
                               "printed": sum(1 for c in planned if c.medium == Medium.PRINTED.value)}
    if issue_date is None:
        return outlook
    try:
        outlook["numbers"] = next_numbers_for(db.session, brief, issue_date)
    except InvalidAction as refused:
        outlook["problem"] = translate(refused)
    return outlook


@dataclass(frozen=True)
class _PreviewSource:
    """What the preview shows: the specimen (样稿) as it would print now, or, once published,
    the archival master itself. `token` names it and everything made from it in the cache."""

    token: str
    specimen: bool
    print_run: int
    key: SpecimenKey | None = None


def _preview_source(brief: Brief) -> _PreviewSource:
    if brief.state in (State.PUBLISHED, State.ARCHIVED, State.ANNULLED) and brief.master is not None:
        return _PreviewSource(f"{brief.id}-master-{brief.master.sha256[:20]}", False,
                              print_run_now(db.session, brief))
    key = specimen_key(brief, print_run_now(db.session, brief))
    return _PreviewSource(key.stem, True, key.print_run, key)


def _source_pdf(brief: Brief, source: _PreviewSource) -> bytes:
    """The PDF behind `source`: the stored master (fixity checked), else the cached specimen,
    else a new render, which counts against the user's allowance (publishing/previews.py)."""
    if source.key is None:
        stored = brief.master
        assert stored is not None
        try:
            return file_store().read_verified(stored.path, stored.sha256)
        except FixityError as error:
            log.error("brief %s: stored PDF %s failed its fixity check: %s", brief.id, stored.path, error)
            abort(error_page(409, _("The stored PDF no longer matches the fingerprint recorded when it was "
                                    "published, so it is not served. Please tell the archivist.")))
    cache = specimen_cache()
    data = cache.get(source.key)
    if data is None:
        wait = render_throttle().take(current_user.id)
        if wait is not None:
            config = current_app.config
            response = error_page(429, _(
                "You have had %(count)d new specimen PDFs made in the last %(minutes)d minutes, the most allowed. "
                "Please try again in %(wait)d minutes; a specimen already made opens at once.",
                count=config["CANYUE_PREVIEW_RENDERS"], minutes=config["CANYUE_PREVIEW_RENDER_MINUTES"],
                wait=max(1, round(wait / 60))))
            response.headers["Retry-After"] = str(int(wait) + 1)
            abort(response)
        issue = printed_issue_from_brief(brief, specimen=True, print_run=source.print_run,
                                         images=_images(brief))
        data = pdf_renderer().render(issue).data
        cache.put(source.key, data)
    return data


@bp.get("/briefs/<int:brief_id>/preview")
def preview(brief_id: int) -> str:
    """The issue page by page exactly as it will print: the pages of the specimen (or, once
    published, of the archival master) as images, each with its text laid over it
    (publishing/pageimages.py)."""
    brief = get_brief(brief_id)
    source = _preview_source(brief)
    cache = specimen_cache()
    cached = cache.get_file(f"{source.token}.pages.json")
    if cached is not None:
        pages = texts_from_json(cached)
    else:
        pages = page_texts(_source_pdf(brief, source))
        cache.put_file(f"{source.token}.pages.json", texts_to_json(pages), keep=source.token)
    return render_template("briefs/preview.html", brief=brief, pages=pages, source=source)


@bp.get("/briefs/<int:brief_id>/preview/<token>/page-<int:number>.png")
def preview_page(brief_id: int, token: str, number: int) -> Response:
    """One page of the preview as an image. `token` names the version the page was shown for:
    once the brief or its list changes, the old page is gone (404) and the preview is reloaded."""
    brief = get_brief(brief_id)  # first: the cache grants no permission
    source = _preview_source(brief)
    if token != source.token or not 1 <= number <= MAX_PAGE:
        abort(404)
    cache = specimen_cache()
    name = f"{source.token}.p{number}.png"
    data = cache.get_file(name)
    if data is None:
        try:
            data = page_png(_source_pdf(brief, source), number)
        except IndexError:
            abort(404)
        cache.put_file(name, data, keep=source.token)
    response = Response(data, mimetype="image/png")
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _pdf_response(data: bytes | BinaryIO, filename: str, size: int | None = None) -> Response:
    """`data` may be an open, already verified file (streamed in blocks, closed after)."""
    if isinstance(data, bytes):
        response = Response(data, mimetype="application/pdf")
    else:
        response = Response(wrap_file(request.environ, data, 1 << 16), mimetype="application/pdf",
                            direct_passthrough=True)
        if size is not None:
            response.content_length = size
    response.headers["Content-Disposition"] = f"inline; filename*=UTF-8''{quote(filename)}"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _file_name(brief: Brief, suffix: str = "") -> str:
    if brief.issue_number is None:
        return f"{brief.series.name}-{brief.title[:30]}{suffix}.pdf"
    supplement = "（增刊）" if brief.supplement else ""
    return f"{brief.series.name}-{brief.issue_year}年第{brief.issue_number}期{supplement}{suffix}.pdf"


@bp.get("/briefs/<int:brief_id>/issue.pdf")
def master_pdf(brief_id: int) -> Response:
    """The archival PDF, served only while it matches the SHA-256 recorded at creation."""
    brief = get_brief(brief_id)
    if brief.master is None:
        abort(404)
    stored = brief.master
    try:
        handle = file_store().open_verified(stored.path, stored.sha256)
    except FixityError as error:
        log.error("brief %s: stored PDF %s failed its fixity check: %s", brief_id, stored.path, error)
        record_download_check(stored, error)
        db.session.commit()
        abort(error_page(409, _("The stored PDF no longer matches the fingerprint recorded when it was "
                                "published, so it is not served. Please tell the archivist.")))
    record_download_check(stored, None)
    if brief.classification:
        log_event("classified_download", subject_id=brief.id, classification=brief.classification, file=stored.name)
    db.session.commit()
    return _pdf_response(handle, _file_name(brief), stored.size)


@bp.get("/briefs/<int:brief_id>/preview.pdf")
def preview_pdf(brief_id: int) -> Response:
    """A specimen PDF (样稿) of the brief as it stands, printing the 共印 its distribution list
    makes now: rendered on demand and kept for a while (publishing/previews.py). Only a
    render counts against the user's allowance."""
    brief = get_brief(brief_id)  # first: the cache grants no permission
    key = specimen_key(brief, print_run_now(db.session, brief))
    data = _source_pdf(brief, _PreviewSource(key.stem, True, key.print_run, key))
    return _pdf_response(data, _file_name(brief, "-样稿"))


@bp.get("/briefs/<int:brief_id>/changes")
def changes(brief_id: int) -> str:
    """Character-level diff between two revisions; by default since the brief was last returned."""
    brief = get_brief(brief_id)
    revisions = db.session.scalars(
        select(Revision).where(Revision.brief_id == brief.id).order_by(Revision.number)
    ).all()
    by_number = {r.number: r for r in revisions}
    form = DiffForm(request.args)
    newer = by_number.get(form.b.data or brief.revision_number) or revisions[-1]
    older_number = form.a.data or _default_base(brief)
    older = by_number.get(older_number) or revisions[0]
    diffs = diff_fields(older.content(), newer.content(), [(k, str(label)) for k, label in CONTENT_LABELS])
    body = body_diff(older.content().get("body") or "", newer.content().get("body") or "")
    only = request.args.get("only") == "1"  # "changes only": the changed paragraphs and their neighbours
    counts = {d.key: (body.changes if d.key == "body" else change_count(d)) for d in diffs}
    return render_template(
        "briefs/changes.html", brief=brief, revisions=revisions, older=older, newer=newer, diffs=diffs,
        state_labels=STATE_LABELS, body=body, only=only, counts=counts, total_changes=sum(counts.values()),
        body_blocks=body.with_context() if only else list(body.blocks),
    )


def _default_base(brief: Brief) -> int:
    """The revision the brief had when it was last returned, else the one before the latest."""
    last_return = db.session.scalar(
        select(AuditEvent.revision)
        .where(AuditEvent.brief_id == brief.id, AuditEvent.action.in_(["return", "send_back", "reopen"]))
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    )
    return last_return or max(brief.revision_number - 1, 1)
