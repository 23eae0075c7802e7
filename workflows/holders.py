"""Who holds a brief, read off the lifecycle table (workflows/brief.py LIFECYCLE).

A brief is *held* by whoever may make one of its forward moves now: the moves with a 待办
group (`Transition.todo`: submit, approve, sign, publish, archive, confirm a correction). The
roles come from the table, the guards (not the author, not the approver, not the requester)
from `policy.can`, so the inbox, the brief page's "waiting for" line and the reminders agree
with the buttons. The lifecycle as the steps a person follows, 拟稿 → 审核 → 签发 → 印发 →
归档, is the chain of those moves from draft to archive. Pure: no Flask, no models.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from workflows.brief import LIFECYCLE, TRANSITIONS, State, Transition
from workflows.i18n import N_
from workflows.policy import can
from workflows.roles import Role

ActorT = TypeVar("ActorT")

# The moves that put a brief in someone's 待办, in the table's order.
FORWARD_MOVES: tuple[Transition, ...] = tuple(t for t in LIFECYCLE if t.todo)


@dataclass(frozen=True)
class Step:
    key: str
    label: str
    action: str  # the forward move that completes the step
    # "待%(names)s签发": who the step waits for.
    waiting: str

    @property
    def transition(self) -> Transition:
        return TRANSITIONS[self.action]

    @property
    def states(self) -> frozenset[State]:
        return self.transition.sources


STEPS: tuple[Step, ...] = (
    Step("draft", N_("Drafting"), "submit", N_("Waiting for %(names)s to submit")),
    Step("review", N_("Review"), "approve", N_("Waiting for %(names)s to review")),
    Step("signoff", N_("Sign-off"), "sign", N_("Waiting for %(names)s to sign off")),
    Step("publish", N_("Publication"), "publish", N_("Waiting for %(names)s to publish")),
    Step("archive", N_("Filing"), "archive", N_("Waiting for %(names)s to file")),
)
STEP_BY_ACTION = {s.action: s for s in STEPS}
# Each step's states: those its move leaves from (one each, but filing, which also takes an
# annulled issue); each step's move leads to the next step's state.
assert all(len(s.states) == 1 for s in STEPS[:-1])
assert all(TRANSITIONS[s.action].target in n.states for s, n in zip(STEPS, STEPS[1:]))


def forward_moves(state: str) -> list[Transition]:
    """The forward moves open from `state` (to someone)."""
    return [t for t in FORWARD_MOVES if State(state) in t.sources]


def holder_roles(state: str) -> frozenset[Role]:
    """The roles whose holders may hold a brief in `state` (the guards narrow it further)."""
    # A secretary records a leader's paper sign-off (代签): the brief waits for the leader.
    return frozenset().union(*(t.roles for t in forward_moves(state))) - {Role.SECRETARY}


def held_moves(user: Any, brief: Any) -> list[Transition]:
    """The forward moves `user` may make on `brief` now (those that put it in their 待办)."""
    return [t for t in forward_moves(brief.state) if can(user, brief, t.action)]


# The people a brief names: the only ids its guards compare the actor's with (author_only,
# not_author, not_approver, the correction's requester).
NAMED_FIELDS = ("author_id", "approved_by_id", "signed_by_id", "published_by_id", "archived_by_id")


def _named_ids(brief: Any) -> set[int]:
    named = {getattr(brief, f, None) for f in NAMED_FIELDS}
    pending = getattr(brief, "pending_correction", None) if State(brief.state) in TRANSITIONS[
        "confirm_correction"].sources else None
    if pending is not None:
        named.add(pending.requested_by_id)
    return {i for i in named if i is not None}


def holders(brief: Any, candidates: Iterable[ActorT]) -> list[ActorT]:
    """Those of `candidates` who hold `brief` now. `can()` reads an actor's id only to compare
    it with the people the brief names, so for anyone else the answer follows from their roles:
    it is asked once per set of roles (tests/test_inbox.py checks this against asking each)."""
    named = _named_ids(brief)
    by_roles: dict[tuple[frozenset[str], tuple[int, ...]], bool] = {}
    found = []
    for user in candidates:
        if user.id in named:  # type: ignore[attr-defined]
            holds = bool(held_moves(user, brief))
        else:
            # A secretary's moves follow the leaders they act for (代签), not their roles alone.
            held = user.role_set  # type: ignore[attr-defined]
            roles = (held, tuple(l.id for l in getattr(user, "acting_for", ())) if "secretary" in held else ())
            if roles not in by_roles:
                by_roles[roles] = bool(held_moves(user, brief))
            holds = by_roles[roles]
        if holds:
            found.append(user)
    return found


def current_step(state: str) -> Step | None:
    """The step a brief in `state` is at; None once filed or withdrawn."""
    for step in STEPS:
        if State(state) in step.states:
            return step
    return None


def step_position(state: str) -> int:
    """How many steps are done: 0 for a draft, len(STEPS) once filed, -1 when withdrawn."""
    if State(state) is State.ARCHIVED:
        return len(STEPS)
    step = current_step(state)
    return -1 if step is None else STEPS.index(step)


def progress(state: str, last_done: dict[str, Any]) -> list[tuple[Step, str, Any]]:
    """Every step with its status ("done", "current", "todo") and, for a done step, what
    `last_done` gives for its move (the latest audit event of that action)."""
    position = step_position(state)
    rows = []
    for index, step in enumerate(STEPS):
        if position < 0:
            status = "done" if step.action in last_done else "todo"
        elif index < position:
            status = "done"
        elif index == position:
            status = "current"
        else:
            status = "todo"
        rows.append((step, status, last_done.get(step.action) if status == "done" else None))
    return rows


def names_text(names: Sequence[str], role_label: str, many: int = 3) -> str | None:
    """How a list of holders reads: up to `many` names joined with 、, else the role and count."""
    if not names:
        return None
    if len(names) <= many:
        return "、".join(names)
    return f"{role_label}（{len(names)}）"
