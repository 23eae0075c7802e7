"""Applying a .docx to the database: a new draft from it, or a new revision of a brief; and
the .docx of a brief as it stands (the issue as printed, or a draft marked 样稿).

Each import stores the document's images (figures/), saves the content through the one
create_brief / save_revision, and writes an `import_word` audit event naming the file and
what was ignored. Nothing is committed here; a refusal raises before anything is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from figures.operations import store_clean_image, image_bytes
from models import Brief, Revision
from publishing.storage import Store
from rendering.printing import printed_issue_from_brief
from wordfiles.reader import ImportedDraft, read_docx
from wordfiles.writer import write_docx
from workflows.brief import State
from workflows.i18n import N_
from workflows.policy import EXPORT_WORD, IMPORT_WORD, can, may
from workflows.transitions import ActionRefused, StaleBrief, create_brief, record_event, save_revision


@dataclass(frozen=True)
class WordImport:
    brief: Brief
    revision: Revision | None  # None: the file held what the brief already says
    draft: ImportedDraft


def _content(draft: ImportedDraft, name: str, base: Mapping[str, Any] | None = None) -> dict[str, Any]:
    content = dict(base or {})
    content["title"] = draft.title or (base or {}).get("title") or name.rsplit(".", 1)[0][:200]
    content["author_line"] = draft.author_line or (base or {}).get("author_line", "")
    content["body"] = draft.body
    return content


def _audit(session: Session, brief: Brief, user: Any, name: str, draft: ImportedDraft) -> None:
    note = f"{name}"
    if draft.images:
        note += f"; {len(draft.images)} image(s)"
    if draft.ignored:
        note += "; ignored: " + "; ".join(str(item) for item in draft.ignored)
    record_event(session, brief, "import_word", user, from_state=brief.state, to_state=brief.state,
                 reason=note[:1000])


def import_new_draft(session: Session, store: Store, user: Any, series: Any, data: bytes,
                     name: str, *, classification: str = "") -> WordImport:
    """A new draft in `series` from a .docx (WordRefused, ActionRefused, ContentRefused);
    `classification` is the deployment's default 密级, as 新建稿件 offers it."""
    decision = may(user, "create_brief")
    if not decision:
        raise ActionRefused(decision)  # before reading a byte of the file
    draft = read_docx(data, name)
    brief = create_brief(session, user, series, {**_content(draft, name), "classification": classification})
    for image in draft.images:
        store_clean_image(session, store, brief, image, name)
    _audit(session, brief, user, name, draft)
    session.flush()
    return WordImport(brief, brief.revisions[-1] if brief.revisions else None, draft)


def import_revision(session: Session, store: Store, brief: Brief, user: Any, data: bytes, name: str,
                    *, expected_version: int | None = None) -> WordImport:
    """A new revision of `brief` from a .docx (its title, author line and body)."""
    decision = can(user, brief, IMPORT_WORD)
    if not decision:
        raise ActionRefused(decision)
    if expected_version is not None and expected_version != brief.version:
        raise StaleBrief(N_("Someone else changed this brief after you opened it."))
    draft = read_docx(data, name)
    # The revision first: content it refuses (a title too long, say) leaves no image file behind.
    revision = save_revision(session, brief, user, _content(draft, name, brief.content()),
                             expected_version=expected_version)
    for image in draft.images:
        store_clean_image(session, store, brief, image, name)
    _audit(session, brief, user, name, draft)
    session.flush()
    return WordImport(brief, revision, draft)


def brief_as_docx(session: Session, store: Store, brief: Brief, user: Any | None,
                  fonts: Mapping[str, str] | None = None) -> bytes:
    """The brief as a .docx: the issue as printed once published, else a 样稿 without numbers.
    `user` None only from the command line (the operator's own instance)."""
    if user is not None:
        decision = can(user, brief, EXPORT_WORD)
        if not decision:
            raise ActionRefused(decision)
    issued = brief.state in (State.PUBLISHED.value, State.ARCHIVED.value, State.ANNULLED.value)
    issue = printed_issue_from_brief(brief, specimen=not issued)
    images = {digest: data for digest, (data, _mime) in image_bytes(session, store, brief.body).items()}
    return write_docx(issue, brief.body, images, fonts)
