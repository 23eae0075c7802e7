"""Correcting an issued brief (更正): a wrong issue date, 期号 or 总期号 found after publication.

One wrong date (an issue dated weeks ahead) or one wrong number would otherwise hold every
later issue of the series hostage: the next one may not be dated earlier, and it counts on
from the highest number held. So an editor asks for a correction (`request_correction`: the
new date and numbers, and a reason), a signer other than the one who asked confirms it
(`confirm_correction`), which applies it and makes the archival master and every copy again
as new files; the one who asked may withdraw the request, a signer may reject it. The four
moves are rows of the lifecycle table (workflows/brief.py) that leave the brief in its state
(published or archived). They are open only while every copy is still `printed`: once a copy
has left the office, the issue as sent is what it is. One request waits at a time.

Pure rules: the guards and effects the table names, the checks of the new values and the
record of the move in the organisation's own terms. corrections/operations.py applies them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from workflows.i18n import N_
from workflows.numbering import number_domain_error


class CorrectionState(StrEnum):
    PENDING = "pending"  # asked for, waiting for a signer
    APPLIED = "applied"  # confirmed: the brief carries the new values
    WITHDRAWN = "withdrawn"  # taken back by the editor who asked
    REJECTED = "rejected"  # refused by a signer


@dataclass(frozen=True)
class IssueFacts:
    """What a correction may change: the issue date and the two numbers."""

    issue_date: date
    issue: int  # 期号, within the year of the issue date
    total: int  # 总期号

    @property
    def year(self) -> int:
        return self.issue_date.year


def facts_of(brief: Any) -> IssueFacts:
    return IssueFacts(brief.issue_date, brief.issue_number, brief.total_number)


def proposed_facts(correction: Any) -> IssueFacts:
    return IssueFacts(correction.new_issue_date, correction.new_issue_number, correction.new_total_number)


def proposal_error(old: IssueFacts, new: IssueFacts) -> str | None:
    """The new values must change something and fit the columns (workflows.numbering)."""
    if new == old:
        return N_("The correction changes nothing: give another date or other numbers.")
    return number_domain_error(new.issue, new.total)


def order_error(new: IssueFacts, latest_lower: date | None, earliest_higher: date | None) -> tuple[str, date] | None:
    """Numbers and dates rise together in a sequence (publishing keeps them so): the corrected
    issue may not be dated before an issue with a lower 总期号, nor after one with a higher.
    `latest_lower` is the latest date among the issues with a lower 总期号, `earliest_higher`
    the earliest among those with a higher one. The refusal comes with the date in the way."""
    if latest_lower is not None and new.issue_date < latest_lower:
        return N_("With this date the issue would come before an issue with a lower overall number "
                  "(dated %(date)s)."), latest_lower
    if earliest_higher is not None and new.issue_date > earliest_higher:
        return N_("With this date the issue would come after an issue with a higher overall number "
                  "(dated %(date)s)."), earliest_higher
    return None


# --- the record, in the organisation's own terms (like the names it keeps) -------------------


def changes_text(old: IssueFacts, new: IssueFacts) -> str:
    """印发日期 2026-02-10 → 2026-01-21；期号 2026年第3期 → 2026年第2期：only what changes."""
    parts = []
    if new.issue_date != old.issue_date:
        parts.append(f"印发日期 {old.issue_date.isoformat()} → {new.issue_date.isoformat()}")
    if (new.year, new.issue) != (old.year, old.issue):
        parts.append(f"期号 {old.year}年第{old.issue}期 → {new.year}年第{new.issue}期")
    if new.total != old.total:
        parts.append(f"总期号 总第{old.total}期 → 总第{new.total}期")
    return "；".join(parts)


def request_record(old: IssueFacts, new: IssueFacts, reason: str) -> str:
    return f"{changes_text(old, new)}。理由：{reason}"


def confirmation_record(old: IssueFacts, new: IssueFacts, opinion: str | None, notes: list[str]) -> str:
    text = changes_text(old, new)
    if opinion:
        text += f"。意见：{opinion}"
    return "。".join([text, *notes])


def archive_code_note(brief: Any, new: IssueFacts) -> str | None:
    """A filed issue keeps its 档号 when its year changes (README, "The archive"): the
    档号 is the archive's identifier, cited in catalogues and on boxes, and its 件号 sequence
    stays gap-free; the discrepancy is written down instead."""
    if brief.archive_code and brief.archive_year is not None and brief.archive_year != new.year:
        return f"档号 {brief.archive_code} 保留不变（其年度 {brief.archive_year} 为归档时的印发年度）"
    return None


# --- guards and effects of the lifecycle table's correction rows -----------------------------


def requester_only(actor: Any, brief: Any) -> str | None:
    pending = brief.pending_correction
    if pending is not None and pending.requested_by_id != actor.id:
        return N_("Only the editor who asked for this correction may withdraw it.")
    return None


def not_requester(actor: Any, brief: Any) -> str | None:
    pending = brief.pending_correction
    if pending is not None and pending.requested_by_id == actor.id:
        return N_("You asked for this correction, so someone else must confirm or reject it.")
    return None


def no_copy_moved(actor: Any, brief: Any) -> str | None:
    if brief.copies_moved:
        return N_("A copy of this issue is no longer in the office (it has been dispatched, or recorded "
                  "otherwise), so its date and numbers can no longer be corrected.")
    return None


def nothing_pending(actor: Any, brief: Any) -> str | None:
    if brief.pending_correction is not None:
        return N_("A correction of this issue is already waiting for confirmation.")
    return None


def something_pending(actor: Any, brief: Any) -> str | None:
    if brief.pending_correction is None:
        return N_("No correction of this issue is waiting for confirmation.")
    return None


def _decide(correction: Any, state: CorrectionState, actor: Any, now: datetime) -> None:
    """Who settled the request, and when; what they wrote is the move's audit event."""
    correction.state = state.value
    correction.decided_by_id = actor.id
    correction.decided_by_name = actor.display_name
    correction.decided_at = now


def apply_correction(brief: Any, actor: Any, now: datetime, comment: str | None) -> None:
    """confirm_correction: the brief takes the new values (their checks ran under the series'
    numbering lock, corrections/operations.py)."""
    correction = brief.pending_correction
    new = proposed_facts(correction)
    brief.issue_date = new.issue_date
    brief.issue_year = new.year
    brief.issue_number = new.issue
    brief.total_number = new.total
    _decide(correction, CorrectionState.APPLIED, actor, now)


def withdraw_request(brief: Any, actor: Any, now: datetime, comment: str | None) -> None:
    _decide(brief.pending_correction, CorrectionState.WITHDRAWN, actor, now)


def reject_request(brief: Any, actor: Any, now: datetime, comment: str | None) -> None:
    _decide(brief.pending_correction, CorrectionState.REJECTED, actor, now)
