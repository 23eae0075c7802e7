"""The brief lifecycle (DESIGN.md, "The brief lifecycle") as one declarative table.

Each `Transition` answers, from one entry: is this move legal from this state, which roles
may make it, which separation-of-duty guards apply, whether it needs a reason, and what it
records on the brief. The policy module, the apply function, the buttons on a brief page and
the README's diagram are all read off `LIFECYCLE`.

Most moves take the brief to another state; the corrections of an issued brief's date and
numbers (workflows/correction.py) leave it where it is (`target` None: published stays
published, archived stays archived), so the state column keeps one value per state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from workflows import correction
from workflows.i18n import N_
from workflows.roles import Role


class State(StrEnum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    AWAITING_SIGNOFF = "awaiting_signoff"
    SIGNED = "signed"
    PUBLISHED = "published"
    ARCHIVED = "archived"
    WITHDRAWN = "withdrawn"
    # 作废: an issue annulled after publication; it keeps its numbers (never reused).
    ANNULLED = "annulled"
    # A correction draft published as a 更正版 of the issue it corrects: its text became that
    # issue's new edition, under the issue's own numbers, so it holds none of its own.
    REISSUED = "reissued"


STATE_LABELS: dict[State, str] = {
    State.DRAFT: N_("Draft"),
    State.IN_REVIEW: N_("In review"),
    State.AWAITING_SIGNOFF: N_("Awaiting sign-off"),
    State.SIGNED: N_("Signed"),
    State.PUBLISHED: N_("Published"),
    State.ARCHIVED: N_("Archived"),
    State.WITHDRAWN: N_("Withdrawn"),
    State.ANNULLED: N_("Annulled"),
    State.REISSUED: N_("Issued as a corrected edition"),
}

# Content (title, body, 专报 names, ...) changes only here; from approval on it is frozen so
# that the leader signs exactly what will be printed.
EDITABLE_STATES = frozenset({State.DRAFT, State.IN_REVIEW})


class Actor(Protocol):
    id: int
    display_name: str

    @property
    def role_set(self) -> frozenset[str]: ...


class PendingCorrection(Protocol):
    requested_by_id: int


class BriefRecord(Protocol):
    """What the rules read and write on a brief (the ORM model satisfies it)."""

    state: str
    author_id: int
    # A correction draft (更正) names the issue it corrects; an annulled issue when it was annulled.
    corrects_id: int | None
    annulled_at: datetime | None
    approved_by_id: int | None
    submitted_at: datetime | None
    # For corrections: the request waiting for a signer, and whether a copy left `printed`.
    pending_correction: PendingCorrection | None

    @property
    def copies_moved(self) -> bool: ...

    @property
    def open_correction(self) -> Any: ...

    @property
    def corrects_as_edition(self) -> bool: ...

    @property
    def corrects(self) -> Any: ...  # the issue a correction draft corrects (a BriefRecord), or None


# A guard returns None when the actor may proceed, else the refusal's message.
Guard = Callable[[Actor, Any], str | None]
Effect = Callable[[Any, Actor, datetime, str | None], None]


def author_only(actor: Actor, brief: BriefRecord) -> str | None:
    if actor.id != brief.author_id:
        return N_("Only the author of this brief may do this.")
    return None


def not_author(actor: Actor, brief: BriefRecord) -> str | None:
    if actor.id == brief.author_id:
        return N_("You wrote this brief, so someone else must review and sign it.")
    return None


def not_approver(actor: Actor, brief: BriefRecord) -> str | None:
    if brief.approved_by_id is not None and actor.id == brief.approved_by_id:
        return N_("You approved this brief, so another leader must sign it.")
    return None


# The guards that keep duties apart (who may NOT act), as opposed to those that name who may
# (the author, the requester). A delegate acting for a colleague (委托) is judged by these
# for both people (workflows.policy.OnBehalf).
SEPARATION_GUARDS: frozenset[Guard] = frozenset({not_author, not_approver, correction.not_requester})


def acts_for_a_signer(actor: Actor, brief: BriefRecord) -> str | None:
    """代签: the secretary acts for at least one linked leader who may sign this brief (a
    signer who neither wrote nor approved it). The leader named is checked again, with
    the same rules, when the sign-off is recorded (signoff/operations.py)."""
    if not any(may_sign_for(leader, brief) is None for leader in getattr(actor, "acting_for", ())):
        return N_("You record sign-offs only for the leaders you are linked to, and none of them may sign this brief.")
    return None


def may_sign_for(leader: Actor, brief: BriefRecord) -> str | None:
    """Whether `leader` could sign `brief` themselves: the rules of `sign`, judged for them."""
    if Role.SIGNER not in leader.role_set:
        return N_("This leader does not hold the signing role.")
    for guard in (not_author, not_approver):
        if guard(leader, brief):
            return N_("This leader wrote or approved the brief, so another leader must sign it.")
    return None


def _record_submission(brief: Any, actor: Actor, now: datetime, comment: str | None) -> None:
    if brief.submitted_at is None:
        brief.submitted_at = now


def _record_approval(brief: Any, actor: Actor, now: datetime, comment: str | None) -> None:
    brief.approved_by_id = actor.id
    brief.approved_at = now
    brief.editor_name = actor.display_name


def _void_approval_and_signature(brief: Any, actor: Actor, now: datetime, comment: str | None) -> None:
    brief.approved_by_id = None
    brief.approved_at = None
    brief.editor_name = None
    brief.signed_by_id = None
    brief.signed_at = None
    brief.signer_name = None
    brief.sign_opinion = None


def _record_signature(brief: Any, actor: Actor, now: datetime, comment: str | None) -> None:
    brief.signed_by_id = actor.id
    brief.signed_at = now
    brief.signer_name = actor.display_name
    brief.sign_opinion = comment or None


def _record_publication(brief: Any, actor: Actor, now: datetime, comment: str | None) -> None:
    brief.published_by_id = actor.id
    brief.published_at = now


def never_submitted(actor: Actor, brief: BriefRecord) -> str | None:
    # A brief once submitted has been read by others: it may be withdrawn, never deleted.
    if brief.submitted_at is not None:
        return N_("This draft was submitted once, so it can only be withdrawn, not deleted.")
    return None


def not_annulled(actor: Actor, brief: BriefRecord) -> str | None:
    if brief.annulled_at is not None:
        return N_("This issue has been annulled.")
    return None


def not_filed(actor: Actor, brief: BriefRecord) -> str | None:
    # An issue annulled after filing keeps its 档号: it is not filed a second time.
    if getattr(brief, "archived_at", None) is not None:
        return N_("This issue is filed in the archive already.")
    return None


def no_open_correction(actor: Actor, brief: BriefRecord) -> str | None:
    if brief.open_correction is not None:
        return N_("A correction of this issue is already being prepared; finish or withdraw it first.")
    return None


def as_notice(actor: Actor, brief: BriefRecord) -> str | None:
    if brief.corrects_as_edition:
        return N_("This correction is issued as a corrected edition of the issue, not as an issue of its own.")
    return None


def as_edition(actor: Actor, brief: BriefRecord) -> str | None:
    if not brief.corrects_as_edition:
        return N_("Only a correction draft of a series that issues corrected editions is issued this way.")
    return None


def corrected_issue_in_force(actor: Actor, brief: BriefRecord) -> str | None:
    """A correction draft is issued only while the issue it corrects stands: once that issue is
    annulled, the draft can only be withdrawn."""
    original = brief.corrects if brief.corrects_id is not None else None
    if original is not None and original.annulled_at is not None:
        return N_("The issue this correction is for has been annulled, so the correction is not issued: "
                  "withdraw it.")
    return None


def _record_annulment(brief: Any, actor: Actor, now: datetime, comment: str | None) -> None:
    brief.annulled_by_id = actor.id
    brief.annulled_at = now


def _record_reissue(brief: Any, actor: Actor, now: datetime, comment: str | None) -> None:
    brief.published_by_id = actor.id
    brief.published_at = now


def _mark_deleted(brief: Any, actor: Actor, now: datetime, comment: str | None) -> None:
    # Hidden, not removed: its rows, events and files stay, so the audit chain is never cut.
    brief.deleted_at = now


def _record_filing(brief: Any, actor: Actor, now: datetime, comment: str | None) -> None:
    brief.archived_by_id = actor.id
    brief.archived_at = now


@dataclass(frozen=True)
class Transition:
    action: str
    label: str
    sources: frozenset[State]
    target: State | None  # None: the brief stays in its state (a correction)
    roles: frozenset[Role]
    # Who, of those holding the role, may not make the move (separation of duties): 403.
    guards: tuple[Guard, ...] = ()
    # "required", "optional" or None: whether the move takes a written reason / opinion.
    comment: str | None = None
    comment_label: str = N_("Reason")
    effect: Effect | None = None
    # Moves with their own page and operation (publishing, filing, a correction's request and
    # its confirmation), never made from the plain action form.
    pipeline_only: bool = False
    tone: str = "default"
    # The 我的待办 group a brief falls in when this move is open to the user.
    todo: str | None = None
    # The author of a correction draft (更正) makes this move whatever their roles: they are the
    # editor who asked for the correction, and the draft is theirs (DESIGN.md, `correct`).
    correction_author: bool = False
    # What the brief must be like beyond its state (a correction pending, no copy sent),
    # checked after the state and refused like it: 409.
    conditions: tuple[Guard, ...] = ()

    @property
    def reason_required(self) -> bool:
        return self.comment == "required"

    def target_for(self, source: State) -> State:
        return source if self.target is None else self.target


# Published or filed: the issue exists, with its numbers and date.
ISSUED_STATES = frozenset({State.PUBLISHED, State.ARCHIVED})
# The issue exists with its numbers, annulled or not: read as an issue, its copies tracked.
NUMBERED_STATES = ISSUED_STATES | {State.ANNULLED}

LIFECYCLE: tuple[Transition, ...] = (
    Transition(
        "submit", N_("Submit for review"),
        frozenset({State.DRAFT}), State.IN_REVIEW,
        frozenset({Role.DRAFTER}), (author_only,),
        effect=_record_submission, tone="primary", todo=N_("Drafts to submit"), correction_author=True,
    ),
    Transition(
        "return", N_("Return for revision"),
        frozenset({State.IN_REVIEW}), State.DRAFT,
        frozenset({Role.EDITOR}), (not_author,),
        comment="required", comment_label=N_("Reason for returning"), tone="danger",
    ),
    Transition(
        "approve", N_("Approve"),
        frozenset({State.IN_REVIEW}), State.AWAITING_SIGNOFF,
        frozenset({Role.EDITOR}), (not_author,),
        effect=_record_approval, tone="primary", todo=N_("To review"),
    ),
    Transition(
        "send_back", N_("Send back to review"),
        frozenset({State.AWAITING_SIGNOFF}), State.IN_REVIEW,
        frozenset({Role.SIGNER}), (not_author,),
        comment="required", comment_label=N_("Reason for sending back"),
        effect=_void_approval_and_signature, tone="danger",
    ),
    Transition(
        "sign", N_("Sign off"),
        frozenset({State.AWAITING_SIGNOFF}), State.SIGNED,
        frozenset({Role.SIGNER}), (not_author, not_approver),
        comment="optional", comment_label=N_("Sign-off opinion"), effect=_record_signature, tone="primary",
        todo=N_("To sign off"),
    ),
    # 代签: a secretary records the sign-off a linked leader made on the paper 签发单 (its own
    # page: the leader, the date and opinion as written, the scan; signoff/operations.py).
    Transition(
        "sign_on_paper", N_("Record a paper sign-off"),
        frozenset({State.AWAITING_SIGNOFF}), State.SIGNED,
        frozenset({Role.SECRETARY}), (acts_for_a_signer,),
        comment="optional", comment_label=N_("Opinion as written"), pipeline_only=True, tone="primary", todo=N_("Paper sign-offs to record"),
    ),
    Transition(
        "reopen", N_("Revoke sign-off"),
        frozenset({State.SIGNED}), State.IN_REVIEW,
        frozenset({Role.EDITOR, Role.SIGNER}), (not_author,),
        comment="required", comment_label=N_("Reason for revoking the sign-off"),
        effect=_void_approval_and_signature, tone="danger",
    ),
    Transition(
        "publish", N_("Publish"),
        frozenset({State.SIGNED}), State.PUBLISHED,
        frozenset({Role.EDITOR}),
        effect=_record_publication, pipeline_only=True, tone="primary", todo=N_("To publish"),
        conditions=(as_notice, corrected_issue_in_force),
    ),
    # A correction draft of a series that issues 更正版: published as the corrected issue's new
    # edition, its master and copies superseding the old ones under the same numbers.
    Transition(
        "reissue", N_("Issue as corrected edition"),
        frozenset({State.SIGNED}), State.REISSUED,
        frozenset({Role.EDITOR}),
        effect=_record_reissue, pipeline_only=True, tone="primary", todo=N_("To publish"),
        conditions=(as_edition, corrected_issue_in_force),
    ),
    Transition(
        "archive", N_("File in the archive"),
        frozenset({State.PUBLISHED, State.ANNULLED}), State.ARCHIVED,
        frozenset({Role.ARCHIVIST}),
        effect=_record_filing, pipeline_only=True, tone="primary", todo=N_("To file"),
        conditions=(not_filed,),
    ),
    # 更正: an editor opens a correction draft of an issued brief, which stays as it is; the
    # draft is reviewed by another editor and signed as any brief (corrections/afterlife.py).
    Transition(
        "correct", N_("Correct this issue"),
        ISSUED_STATES, None,
        frozenset({Role.EDITOR}),
        comment="required", comment_label=N_("Reason for the correction"), pipeline_only=True,
        conditions=(not_annulled, no_open_correction),
    ),
    # 作废: a signer annuls an issue; its copies are recalled, its numbers stay held.
    Transition(
        "annul", N_("Annul this issue"),
        ISSUED_STATES, State.ANNULLED,
        frozenset({Role.SIGNER}), (not_author,),
        comment="required", comment_label=N_("Reason for annulling"), effect=_record_annulment,
        pipeline_only=True, tone="danger", conditions=(not_annulled,),
    ),
    Transition(
        "withdraw", N_("Withdraw"),
        frozenset({State.DRAFT, State.IN_REVIEW}), State.WITHDRAWN,
        frozenset({Role.DRAFTER}), (author_only,),
        comment="required", comment_label=N_("Reason for withdrawing"), tone="danger", correction_author=True,
    ),
    # Corrections of an issued brief's date and numbers (workflows/correction.py).
    # An author's draft nobody else has seen (never submitted) may be deleted: it stays a
    # draft in the database, marked deleted and hidden from every list and page.
    Transition(
        "delete", N_("Delete draft"),
        frozenset({State.DRAFT}), None,
        frozenset({Role.DRAFTER}), (author_only,),
        effect=_mark_deleted, tone="danger", conditions=(never_submitted,), correction_author=True,
    ),
    Transition(
        "request_correction", N_("Request a correction"),
        ISSUED_STATES, None,
        frozenset({Role.EDITOR}),
        comment="required", comment_label=N_("Reason for the correction"), pipeline_only=True,
        conditions=(not_annulled, correction.nothing_pending, correction.no_copy_moved),
    ),
    Transition(
        "confirm_correction", N_("Confirm the correction"),
        ISSUED_STATES, None,
        frozenset({Role.SIGNER}), (correction.not_requester,),
        comment="optional", comment_label=N_("Opinion on the correction"), effect=correction.apply_correction,
        pipeline_only=True, tone="primary", todo=N_("Corrections to confirm"),
        conditions=(correction.something_pending, correction.no_copy_moved),
    ),
    Transition(
        "withdraw_correction", N_("Withdraw the correction request"),
        ISSUED_STATES, None,
        frozenset({Role.EDITOR}), (correction.requester_only,),
        comment="optional", effect=correction.withdraw_request, tone="danger",
        conditions=(correction.something_pending,),
    ),
    Transition(
        "reject_correction", N_("Reject the correction"),
        ISSUED_STATES, None,
        frozenset({Role.SIGNER}), (correction.not_requester,),
        comment="required", comment_label=N_("Reason for rejecting"), effect=correction.reject_request, tone="danger",
        conditions=(correction.something_pending,),
    ),
)

TRANSITIONS: dict[str, Transition] = {t.action: t for t in LIFECYCLE}


def mermaid_diagram(translate: Callable[[str], str] = lambda s: s) -> str:
    """The lifecycle as a Mermaid state diagram, generated from the table."""
    lines = ["stateDiagram-v2"]
    for state in State:
        lines.append(f'    state "{translate(STATE_LABELS[state])} ({state.value})" as {state.value}')
    lines.append(f"    [*] --> {State.DRAFT.value}")
    for t in LIFECYCLE:
        roles = ", ".join(sorted(r.value for r in t.roles))
        for source in sorted(t.sources, key=list(State).index):
            lines.append(
                f"    {source.value} --> {t.target_for(source).value}: {translate(t.label)} ({t.action}; {roles})"
            )
    return "\n".join(lines) + "\n"


# How each audit event reads in a brief's history.
EVENT_LABELS: dict[str, str] = {
    "create": N_("created the brief"),
    "edit": N_("saved a revision"),
    "submit": N_("submitted it for review"),
    "return": N_("returned it for revision"),
    "approve": N_("approved it"),
    "send_back": N_("sent it back to review"),
    "sign": N_("signed it off"),
    "sign_on_paper": N_("recorded a sign-off made on paper"),
    "register_instruction": N_("registered a leader's instruction (批示)"),
    "follow_up": N_("updated the follow-up of an instruction (批示落实)"),
    "reopen": N_("revoked the sign-off"),
    "publish": N_("published it"),
    "archive": N_("filed it in the archive"),
    "import": N_("imported it into the archive"),
    "import_word": N_("imported a Word file into it"),
    "withdraw": N_("withdrew it"),
    "delete": N_("deleted the draft"),
    "request_correction": N_("asked for a correction"),
    "confirm_correction": N_("confirmed the correction"),
    "withdraw_correction": N_("withdrew the correction request"),
    "reject_correction": N_("rejected the correction"),
    "reissue": N_("issued it as a corrected edition"),
    "correct": N_("opened a correction of it"),
    "correction_of": N_("opened this correction draft"),
    "new_edition": N_("replaced its text and files with a corrected edition"),
    "annul": N_("annulled it"),
    "comment": N_("commented"),
    "set_deadline": N_("set the deadline"),
}
