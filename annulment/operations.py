"""作废: a signer annuls an issued brief, with a reason.

The brief moves to `annulled` (a real state, which `archive` accepts); every copy not yet back
is recalled by distribution's own recall (workflows.dispatch.recall_copies); its numbers stay
on it, so they are never given again (publishing counts on from the highest held), while its
date no longer holds later issues back (publishing.pipeline.next_numbers_for). The move takes
the series' numbering lock, so a publish checking dates waits for it rather than racing it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from models import Brief
from publishing.pipeline import lock_series_numbering
from workflows.dispatch import recall_copies
from workflows.i18n import N_
from workflows.transitions import InvalidAction, apply_transition, begin_locked_move


def annul_issue(session: Session, brief_id: int, actor: Any, reason: str | None, *,
                expected_version: int | None = None) -> tuple[Brief, int]:
    """Annul the issue, committing on success: (the brief, how many copies were recalled)."""
    brief, _ = begin_locked_move(session, brief_id, actor, "annul",
                                 lambda b: lock_series_numbering(session, b.series_id),
                                 expected_version=expected_version)
    try:
        reason = (reason or "").strip()
        if not reason:
            raise InvalidAction(N_("Please give a reason."))
        event = apply_transition(session, brief, "annul", actor, comment=reason)
        recalled = recall_copies(session, brief, actor, f"作废收回：{reason}", now=event.created_at)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return brief, recalled
