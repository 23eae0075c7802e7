"""The life of one numbered copy (DESIGN.md, "Distribution") as one declarative table.

A copy is made at publication (printed), then sent (dispatched: by 机要交通, 专人 or 电子,
by whom, when), then signed for (received: 签收, who signed, when). Where the issue is
classified or has been recalled (收回), a copy is taken back (returned) or destroyed under a
witness (监销). A lost copy is recorded, never hidden. Each `CopyTransition` answers, from one
entry: from which states the move is legal, which roles may make it, what it must be told
(route, who, when, witness, a note) and what it records on the copy. The policy module
(`workflows.policy.can` with a copy as the subject), `workflows.dispatch.apply_copy_transition`
and the buttons on a copy's page are all read off `COPY_LIFECYCLE`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from workflows.i18n import N_
from workflows.roles import Role


class CopyState(StrEnum):
    PRINTED = "printed"
    DISPATCHED = "dispatched"
    RECEIVED = "received"
    RETURNED = "returned"
    DESTROYED = "destroyed"
    LOST = "lost"


COPY_STATE_LABELS: dict[CopyState, str] = {
    CopyState.PRINTED: N_("Printed"),
    CopyState.DISPATCHED: N_("Dispatched"),
    CopyState.RECEIVED: N_("Signed for"),
    CopyState.RETURNED: N_("Returned"),
    CopyState.DESTROYED: N_("Destroyed"),
    CopyState.LOST: N_("Lost"),
}

# A copy in one of these is accounted for at the end of a recall.
CLOSED_STATES = frozenset({CopyState.RETURNED, CopyState.DESTROYED})
# A copy in one of these has left the office and not come back.
OUT_STATES = frozenset({CopyState.DISPATCHED, CopyState.RECEIVED})


class Medium(StrEnum):
    """What a copy is: a printed sheet or an electronic file."""

    PRINTED = "printed"
    ELECTRONIC = "electronic"


MEDIUM_LABELS: dict[Medium, str] = {
    Medium.PRINTED: N_("Printed copy"),
    Medium.ELECTRONIC: N_("Electronic copy"),
}


class Route(StrEnum):
    """How a copy is dispatched."""

    COURIER = "courier"  # 机要交通
    HAND = "hand"  # 专人
    ELECTRONIC = "electronic"  # 电子


ROUTE_LABELS: dict[Route, str] = {
    Route.COURIER: N_("Confidential courier (机要交通)"),
    Route.HAND: N_("By hand (专人)"),
    Route.ELECTRONIC: N_("Electronic (电子)"),
}


class Category(StrEnum):
    """The line of the distribution a recipient stands on; 专报 names are printed on page 1."""

    SPECIAL = "专报"
    REPORT = "报"
    SEND = "送"
    ISSUE = "发"


CATEGORY_LABELS: dict[Category, str] = {
    Category.SPECIAL: N_("Special report (专报)"),
    Category.REPORT: N_("Report to (报)"),
    Category.SEND: N_("Send to (送)"),
    Category.ISSUE: N_("Issue to (发)"),
}
# Copies beyond the list's (see workflows.distribution.plan_copies) have no category.
RESERVE_LABEL = N_("Reserve (机动)")


class CopyRecord(Protocol):
    """What the rules read on a copy (the ORM model satisfies it)."""

    state: str
    recalled: bool

    @property
    def issue_classification(self) -> str: ...


@dataclass(frozen=True)
class MoveDetails:
    """What the person making a move told us, and when it was recorded."""

    actor: Any
    when: datetime  # when it happened (a receipt may be recorded days later)
    person: str | None = None
    route: Route | None = None
    witness: str | None = None
    comment: str | None = None


CopyGuard = Callable[[Any, Any], str | None]
CopyEffect = Callable[[Any, MoveDetails], None]


def restricted_issue(actor: Any, copy: CopyRecord) -> str | None:
    """Copies are taken back or destroyed only for a classified or a recalled issue."""
    if copy.recalled or copy.issue_classification:
        return None
    return N_("Copies are taken back or destroyed only when the issue is classified or has been recalled.")


def _record_dispatch(copy: Any, d: MoveDetails) -> None:
    copy.route = d.route.value if d.route else None
    copy.dispatched_by = d.person or d.actor.display_name
    copy.dispatched_at = d.when


def _record_receipt(copy: Any, d: MoveDetails) -> None:
    copy.signed_by = d.person
    copy.received_at = d.when


def _record_return(copy: Any, d: MoveDetails) -> None:
    copy.returned_by = d.person
    copy.returned_at = d.when
    copy.witness = d.witness


def _record_destruction(copy: Any, d: MoveDetails) -> None:
    copy.destroyed_by = d.person or d.actor.display_name
    copy.destroyed_at = d.when
    copy.witness = d.witness


def _record_loss(copy: Any, d: MoveDetails) -> None:
    copy.lost_at = d.when
    copy.lost_note = d.comment


COPY_MOVERS = frozenset({Role.EDITOR, Role.CLERK})


@dataclass(frozen=True)
class CopyTransition:
    action: str
    label: str
    sources: frozenset[CopyState]
    target: CopyState
    roles: frozenset[Role]
    # "required", "optional" or None: a written note.
    comment: str | None = None
    comment_label: str = N_("Note")
    # The label of the "who" field (经办人, 签收人 ...), or None when the move takes no name.
    person: str | None = None
    person_required: bool = False
    route: bool = False  # takes a dispatch route (机要交通 / 专人 / 电子)
    witness: str | None = None  # "required", "optional" or None
    guards: tuple[CopyGuard, ...] = ()
    effect: CopyEffect | None = None
    tone: str = "default"
    # When the move happened (its own timestamp beside the audit event's) is recorded as
    # `<timestamp_field>` on the copy; it must not precede `after_field`.
    after_field: str | None = None

    @property
    def reason_required(self) -> bool:
        return self.comment == "required"

    @property
    def witness_required(self) -> bool:
        return self.witness == "required"


COPY_LIFECYCLE: tuple[CopyTransition, ...] = (
    CopyTransition(
        "dispatch", N_("Dispatch"),
        frozenset({CopyState.PRINTED}), CopyState.DISPATCHED, COPY_MOVERS,
        person=N_("Dispatched by (经办人)"), route=True,
        effect=_record_dispatch, tone="primary",
    ),
    CopyTransition(
        "receive", N_("Record receipt (签收)"),
        frozenset({CopyState.DISPATCHED}), CopyState.RECEIVED, COPY_MOVERS,
        person=N_("Signed for by (签收人)"), person_required=True,
        effect=_record_receipt, tone="primary", after_field="dispatched_at",
    ),
    CopyTransition(
        "return_copy", N_("Record return (收回)"),
        frozenset({CopyState.DISPATCHED, CopyState.RECEIVED}), CopyState.RETURNED, COPY_MOVERS,
        person=N_("Returned by"), person_required=True, witness="optional",
        guards=(restricted_issue,), effect=_record_return, after_field="dispatched_at",
    ),
    CopyTransition(
        "destroy", N_("Record destruction (销毁)"),
        frozenset({CopyState.PRINTED, CopyState.RECEIVED, CopyState.RETURNED}), CopyState.DESTROYED, COPY_MOVERS,
        person=N_("Destroyed by"), witness="required",
        guards=(restricted_issue,), effect=_record_destruction, tone="danger",
    ),
    CopyTransition(
        "lose", N_("Record as lost"),
        frozenset({CopyState.PRINTED, CopyState.DISPATCHED, CopyState.RECEIVED, CopyState.RETURNED}),
        CopyState.LOST, COPY_MOVERS,
        comment="required", comment_label=N_("What happened"),
        effect=_record_loss, tone="danger",
    ),
)

COPY_TRANSITIONS: dict[str, CopyTransition] = {t.action: t for t in COPY_LIFECYCLE}

# How each copy event (and the distribution events of a brief) reads in a history.
COPY_EVENT_LABELS: dict[str, str] = {
    "dispatch": N_("dispatched the copy"),
    "receive": N_("recorded the receipt"),
    "return_copy": N_("recorded the copy's return"),
    "destroy": N_("recorded the copy's destruction"),
    "lose": N_("recorded the copy as lost"),
    "recall": N_("recalled the issue"),
}


def copy_mermaid_diagram(translate: Callable[[str], str] = lambda s: s) -> str:
    """The copy's life as a Mermaid state diagram, generated from the table."""
    lines = ["stateDiagram-v2"]
    for state in CopyState:
        lines.append(f'    state "{translate(COPY_STATE_LABELS[state])} ({state.value})" as {state.value}')
    lines.append(f"    [*] --> {CopyState.PRINTED.value}")
    for t in COPY_LIFECYCLE:
        roles = ", ".join(sorted(r.value for r in t.roles))
        for source in sorted(t.sources, key=list(CopyState).index):
            lines.append(f"    {source.value} --> {t.target.value}: {translate(t.label)} ({t.action}; {roles})")
    return "\n".join(lines) + "\n"
