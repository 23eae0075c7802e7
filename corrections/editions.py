"""更正 of an issued brief's text: the correction draft, and its 更正版 (workflows/brief.py:
the `correct` and `reissue` rows).

`open_correction` (an editor, with a reason) leaves the issue in its state and makes the
correction draft, whose author is that editor: reviewed by another editor and signed as any
brief. How it is issued is the series' setting, fixed on the draft when it is made:
- `notice`: a correction notice, an issue of its own (the series' next number, or a 增刊),
  whose text names the corrected issue; published by `publish` as any brief.
- `edition`: a 更正版 of the issue under the issue's own numbers. `reissue` runs the one
  publish pipeline (publishing.pipeline.run_pipeline) with steps of its own around the
  pipeline's render_master, stamp_copies and store_files: the master and every copy are made
  again from the draft's text for the issue's numbers and copies, and under the numbering lock
  the issue takes the draft's text as a new revision, and the new files supersede the old ones
  (kept, never overwritten, linked by superseded_by_id). The draft ends `reissued`, holding no
  numbers: a 更正版 is the same issue, not a second brief holding its numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from corrections.operations import copies_as_printed, record_new_files
from models import Brief
from models.brief import CONTENT_FIELDS
from models.types import utcnow
from publishing.pipeline import (
    NumbersMoved,
    PublishContext,
    Step,
    lock_series_numbering,
    render_master,
    run_pipeline,
    stamp_copies,
    store_files,
)
from workflows.brief import ISSUED_STATES
from workflows.i18n import N_
from workflows.limits import TITLE_LENGTH
from workflows.transitions import (
    InvalidAction,
    apply_transition,
    begin_locked_move,
    create_brief,
    record_event,
    snapshot_revision,
)

NOTICE, EDITION = "notice", "edition"


def issue_name(brief: Brief) -> str:
    """本刊2026年第3期（总第33期）: how a correction names the issue it corrects."""
    return f"本刊{brief.issue_year}年第{brief.issue_number}期（总第{brief.total_number}期）"


def notice_content(brief: Brief) -> dict[str, Any]:
    """A correction notice's first text: it names the corrected issue; the editor writes the rest."""
    title = f"关于《{brief.title}》的更正"
    if len(title) > TITLE_LENGTH:
        title = f"关于{issue_name(brief)}的更正"
    return {
        "title": title, "author_line": brief.author_line, "special_report": list(brief.special_report),
        "classification": brief.classification, "urgency": brief.urgency, "supplement": False,
        "keywords": list(brief.keywords),
        "body": f"{issue_name(brief)}刊发的《{brief.title}》一文有误，现更正如下：\n\n（更正内容）\n\n特此更正。",
    }


def open_correction(session: Session, brief_id: int, actor: Any, reason: str | None, *,
                    expected_version: int | None = None) -> Brief:
    """`correct`: the issue stays as it is; its correction draft is made. Commits; the draft."""
    brief, _ = begin_locked_move(session, brief_id, actor, "correct",
                                 lambda b: lock_series_numbering(session, b.series_id),
                                 expected_version=expected_version)
    try:
        reason = (reason or "").strip()
        if not reason:
            raise InvalidAction(N_("Please give a reason."))
        kind = EDITION if brief.series.correction_mode == EDITION else NOTICE
        content = brief.content() if kind == EDITION else notice_content(brief)
        # The move first (its checks see no draft yet), then the draft, which it allows.
        apply_transition(session, brief, "correct", actor,
                         comment=f"{'更正版' if kind == EDITION else '更正通知'}。理由：{reason}")
        draft = create_brief(session, actor, brief.series, content, correction_of=brief, correction_kind=kind,
                             reason=f"更正{issue_name(brief)}。理由：{reason}")
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return draft


# --- reissue: a run of the publish pipeline -----------------------------------------------------


@dataclass
class EditionContext(PublishContext):
    original_id: int | None = None
    original_version: int | None = None
    original: Brief | None = None


def _issue_of(ctx: EditionContext) -> Brief:
    original = ctx.session.get(Brief, ctx.original_id, populate_existing=True)
    assert original is not None
    if original.state not in {s.value for s in ISSUED_STATES} or original.annulled_at is not None:
        raise InvalidAction(N_("The issue this correction is for is no longer issued (it was annulled), so no "
                               "corrected edition can replace it."))
    return original


def plan_edition(ctx: PublishContext) -> None:
    """Before any lock: the issue's numbers, date, print run and copies as printed, set on the
    draft in memory only for the render (the session is rolled back before the lock)."""
    assert isinstance(ctx, EditionContext)
    draft = ctx.brief
    original = _issue_of(ctx)
    ctx.version, ctx.original_version = draft.version, original.version
    ctx.head_before = original.audit_head  # the new master belongs to the issue's chain
    ctx.planned = copies_as_printed(ctx.session, original)
    ctx.published_at = utcnow()
    for column in ("number_sequence", "issue_year", "issue_number", "total_number", "issue_date", "print_run"):
        setattr(draft, column, getattr(original, column))
    draft.edition = original.edition + 1
    draft.published_by_id, draft.published_at = ctx.actor.id, ctx.published_at


def check_edition(ctx: PublishContext) -> None:
    """Under the numbering lock: the draft and the issue as rendered, the same copies."""
    assert isinstance(ctx, EditionContext)
    original = _issue_of(ctx)
    if (ctx.brief.version != ctx.version or original.version != ctx.original_version
            or original.audit_head != ctx.head_before or copies_as_printed(ctx.session, original) != ctx.planned):
        raise NumbersMoved()
    ctx.original = original


def record_edition(ctx: PublishContext) -> None:
    """The draft's move, then the issue's: its text becomes the draft's (a new revision), its
    edition counts on, and its event (whose prev_hash the new master carries) says so."""
    assert isinstance(ctx, EditionContext) and ctx.original is not None
    draft, original = ctx.brief, ctx.original
    apply_transition(ctx.session, draft, "reissue", ctx.actor, now=ctx.published_at)
    for field in CONTENT_FIELDS:
        setattr(original, field, getattr(draft, field))
    original.edition += 1
    now = ctx.published_at or utcnow()
    snapshot_revision(ctx.session, original, ctx.actor, now)
    event = record_event(ctx.session, original, "new_edition", ctx.actor, from_state=original.state,
                         to_state=original.state, now=now,
                         reason=f"更正版（第{original.edition}次更正），更正稿 #{draft.id}，签发：{draft.signer_name}")
    if event.prev_hash != ctx.head_before:
        raise NumbersMoved()
    ctx.event_seq = event.seq


def record_edition_files(ctx: PublishContext) -> None:
    assert isinstance(ctx, EditionContext) and ctx.original is not None
    record_new_files(ctx, ctx.original)


EDITION_PREPARE: list[Step] = [plan_edition, render_master, stamp_copies, store_files]
EDITION_COMMIT: list[Step] = [check_edition, record_edition, record_edition_files]


def reissue(session: Session, draft_id: int, actor: Any, *, expected_version: int | None = None) -> Brief:
    """Issue a signed correction draft as the 更正版 of its issue, committing on success; on
    any failure nothing changes and the files made for it are removed. The draft."""

    def begin(draft: Brief) -> PublishContext:
        assert draft.corrects_id is not None  # the move's condition
        return EditionContext(session, draft, draft.series, actor, draft.corrects.issue_date,
                              original_id=draft.corrects_id)

    return run_pipeline(session, draft_id, actor, "reissue", begin, EDITION_PREPARE, EDITION_COMMIT,
                        expected_version=expected_version)

