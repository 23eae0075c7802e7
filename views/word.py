"""Word files and images: 从 Word 导入 (a new draft, or a new revision), 下载 Word 版, 插入图片."""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.wrappers import Response

from extensions import db
from figures.images import ImageRefused
from figures.operations import image_markdown, store_image
from forms.base import refusal, version_of
from forms.word import ImageForm, WordImportForm, WordRevisionForm
from i18n import translate
from models import Brief, Series
from publishing.services import file_store
from views.access import get_brief, refuse, require
from views.briefs import CONTENT_LABELS
from wordfiles.operations import brief_as_docx, import_new_draft, import_revision
from wordfiles.reader import LeftOut, WordRefused
from workflows.limits import ContentRefused
from workflows.policy import EXPORT_WORD, IMPORT_WORD, UPLOAD_IMAGE
from workflows.transitions import ActionRefused, StaleBrief, save_revision

bp = Blueprint("word", __name__)

DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _stale() -> str:
    return _("Someone else changed this brief after you opened it. Nothing was imported; please try again.")


def _refused(refused: Exception) -> str:
    """The reason, naming the field when the file's content is what was refused."""
    if isinstance(refused, ContentRefused):
        label = dict(CONTENT_LABELS).get(refused.field)
        if label is not None:
            return f"{label}：{translate(refused)}"
    return translate(refused)


def _report(left_out: list[LeftOut], images: int) -> None:
    if images:
        flash(_("%(count)d images were imported with it.", count=images), "info")
    if left_out:
        what = "; ".join(translate(item.message) + (f"：{item.detail}" if item.detail else "") for item in left_out)
        flash(_("Left out of the import: %(what)s.", what=what), "warning")


@bp.route("/briefs/import-word", methods=["GET", "POST"])
def import_form() -> Response | tuple[str, int] | str:
    require("create_brief")
    form = WordImportForm()
    form.series_id.choices = [(s.id, s.name) for s in db.session.scalars(
        select(Series).where(Series.active).order_by(Series.id))]
    error, status = None, 200
    if form.validate_on_submit():
        upload = form.file.data
        name = upload.filename or "document.docx"
        series = db.session.get(Series, form.series_id.data)
        try:
            result = import_new_draft(db.session, file_store(), current_user, series, upload.read(), name,
                                      classification=current_app.config["CANYUE_DEFAULT_CLASSIFICATION"])
            db.session.commit()
        except (WordRefused, ImageRefused, ContentRefused) as refused:
            db.session.rollback()
            error, status = _refused(refused), 422
        except ActionRefused as refused:
            db.session.rollback()
            refuse(refused.decision)
        else:
            flash(_("The Word file was imported as a new draft (revision 1). Check it, then submit it."), "success")
            _report(result.draft.ignored, len(result.draft.images))
            return redirect(url_for("briefs.edit", brief_id=result.brief.id))
    elif request.method == "POST":
        status, error = refusal(form)
    return render_template("briefs/import_word.html", form=form, brief=None, error=error), status


@bp.route("/briefs/<int:brief_id>/import-word", methods=["GET", "POST"])
def import_revision_form(brief_id: int) -> Response | tuple[str, int] | str:
    """从 Word 导入 on a brief: a new revision from a .docx."""
    brief = get_brief(brief_id, IMPORT_WORD)
    if request.method == "GET":
        form = WordRevisionForm(version=brief.version, formdata=None)
        return render_template("briefs/import_word.html", form=form, brief=brief, error=None)
    form = WordRevisionForm()
    error, status = None, 422
    if form.validate_on_submit():
        upload = form.file.data
        try:
            result = import_revision(db.session, file_store(), brief, current_user, upload.read(),
                                     upload.filename or "document.docx", expected_version=version_of(form))
            db.session.commit()
        except (WordRefused, ImageRefused, ContentRefused) as refused:
            db.session.rollback()
            error = _refused(refused)
        except (StaleBrief, StaleDataError):
            db.session.rollback()
            error, status = _stale(), 409
        except ActionRefused as refused:
            db.session.rollback()
            refuse(refused.decision)
        else:
            if result.revision is None:
                flash(_("The Word file holds what the brief already says: no new revision."), "info")
            else:
                flash(_("Imported from Word as revision %(number)d.", number=result.revision.number), "success")
            _report(result.draft.ignored, len(result.draft.images))
            return redirect(url_for("briefs.changes", brief_id=brief.id))
    else:
        status, error = refusal(form)
    brief = get_brief(brief_id, IMPORT_WORD)
    return render_template("briefs/import_word.html", form=form, brief=brief, error=error), status


@bp.get("/briefs/<int:brief_id>/brief.docx")
def export(brief_id: int) -> Response:
    brief = get_brief(brief_id, EXPORT_WORD)
    data = brief_as_docx(db.session, file_store(), brief, current_user, current_app.config.get("CANYUE_WORD_FONTS"))
    response = Response(data, mimetype=DOCX_MIME)
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(docx_name(brief))}"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def docx_name(brief: Brief) -> str:
    if brief.issue_number is None:
        return f"{brief.series.name}-{brief.title[:30]}-样稿.docx"
    supplement = "（增刊）" if brief.supplement else ""
    return f"{brief.series.name}-{brief.issue_year}年第{brief.issue_number}期{supplement}.docx"


@bp.post("/briefs/<int:brief_id>/images")
def upload_image(brief_id: int) -> Response | tuple[str, int]:
    """插入图片: the image is stored and its reference appended to the body, as a new revision."""
    brief = get_brief(brief_id, UPLOAD_IMAGE)
    form = ImageForm()
    if not form.validate_on_submit():
        status, error = refusal(form)
        flash(error, "error")
        return redirect(url_for("briefs.edit", brief_id=brief.id))
    upload = form.file.data
    name = upload.filename or "image"
    try:
        row = store_image(db.session, file_store(), brief, current_user, upload.read(), name)
        caption = (form.caption.data or "").strip() or name.rsplit(".", 1)[0]
        content = brief.content()
        content["body"] = (content["body"].rstrip() + "\n\n" + image_markdown(row.sha256, caption) + "\n")
        revision = save_revision(db.session, brief, current_user, content, expected_version=version_of(form))
        db.session.commit()
    except ImageRefused as refused:
        db.session.rollback()
        flash(translate(refused), "error")
        return redirect(url_for("briefs.edit", brief_id=brief.id))
    except (StaleBrief, StaleDataError):
        db.session.rollback()
        flash(_stale(), "error")
        return redirect(url_for("briefs.edit", brief_id=brief.id))
    except ActionRefused as refused:
        db.session.rollback()
        refuse(refused.decision)
    if revision is not None:
        flash(_("The image was added at the end of the body as revision %(number)d; move its line where it belongs.",
                number=revision.number), "success")
    return redirect(url_for("briefs.edit", brief_id=brief.id))
