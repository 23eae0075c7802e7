"""The inbox in SQL: each list and count is one query, filtered by the database.

`todo_clause(actor)` is `policy.can` for the forward moves (workflows/holders.py) written as a
condition on the brief: the roles are the actor's (known before the query), the states come
from the lifecycle table, and each guard and condition of a move has its SQL twin in
`GUARD_SQL`. A guard without a twin fails loudly (KeyError), and tests/test_inbox.py checks
that the SQL and `can` agree for every role, state and guard.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, exists, false, func, not_, or_, select
from sqlalchemy.orm import aliased, defer, selectinload

from models import AuditEvent, Brief, Copy, Correction, SecretaryLink, UserRole
from models.brief import OPEN_CORRECTION_STATES
from workflows import correction as correction_rules
from workflows.brief import (
    SEPARATION_GUARDS,
    TRANSITIONS,
    acts_for_a_signer,
    as_edition,
    as_notice,
    author_only,
    corrected_issue_in_force,
    never_submitted,
    no_open_correction,
    not_annulled,
    not_approver,
    not_author,
    not_filed,
)
from workflows.copy import CopyState
from workflows.correction import CorrectionState
from workflows.holders import FORWARD_MOVES
from workflows.policy import readable_clause
from workflows.roles import Role

# What a list never shows is left in the table, not carried through the sort; the pending
# correction the guards read is loaded for the whole page at once.
LIST_ONLY = (defer(Brief.body), defer(Brief.special_report), defer(Brief.keywords), defer(Brief.sign_opinion),
             defer(Brief.provenance), selectinload(Brief.pending_correction))

_PENDING = Correction.state == CorrectionState.PENDING.value


def _pending_correction(*more: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists().where(Correction.brief_id == Brief.id, _PENDING, *more)


# guard -> (user id -> condition that holds exactly when the guard lets that user through)
GUARD_SQL: dict[Callable[..., Any], Callable[[int], ColumnElement[bool]]] = {
    author_only: lambda uid: Brief.author_id == uid,
    not_author: lambda uid: Brief.author_id != uid,
    not_approver: lambda uid: or_(Brief.approved_by_id.is_(None), Brief.approved_by_id != uid),
    never_submitted: lambda uid: Brief.submitted_at.is_(None),
    correction_rules.not_requester: lambda uid: not_(_pending_correction(Correction.requested_by_id == uid)),
    correction_rules.requester_only: lambda uid: not_(_pending_correction(Correction.requested_by_id != uid)),
    # As an IN over the pending corrections' briefs: an index lookup, not a probe of every issue.
    correction_rules.something_pending: lambda uid: Brief.id.in_(select(Correction.brief_id).where(_PENDING)),
    correction_rules.nothing_pending: lambda uid: not_(_pending_correction()),
    # 代签: a leader linked to the secretary who holds the signing role and may sign the brief.
    acts_for_a_signer: lambda uid: exists().where(
        SecretaryLink.secretary_id == uid, UserRole.user_id == SecretaryLink.leader_id,
        UserRole.role == Role.SIGNER.value, SecretaryLink.leader_id != Brief.author_id,
        or_(Brief.approved_by_id.is_(None), SecretaryLink.leader_id != Brief.approved_by_id)),
    correction_rules.no_copy_moved: lambda uid: not_(
        exists().where(Copy.brief_id == Brief.id, Copy.state != CopyState.PRINTED.value)),
}


# Correlated with the outer query's Brief when used; built once (expressions are immutable, and
# aliasing on every request cost more than the query itself).
_draft, _original = aliased(Brief, name="open_draft"), aliased(Brief, name="corrected_issue")
OPEN_CORRECTION_OF_BRIEF = exists().where(_draft.corrects_id == Brief.id, _draft.deleted_at.is_(None),
                                          _draft.state.in_([st.value for st in OPEN_CORRECTION_STATES]))
CORRECTS_AN_ANNULLED_ISSUE = exists().where(_original.id == Brief.corrects_id, _original.annulled_at.is_not(None))


# 更正 and 作废 (workflows/brief.py): their guards as SQL too.
GUARD_SQL.update({
    as_notice: lambda uid: or_(Brief.correction_kind.is_(None), Brief.correction_kind != "edition"),
    as_edition: lambda uid: Brief.correction_kind == "edition",
    not_filed: lambda uid: Brief.archived_at.is_(None),
    not_annulled: lambda uid: Brief.annulled_at.is_(None),
    no_open_correction: lambda uid: not_(OPEN_CORRECTION_OF_BRIEF),
    corrected_issue_in_force: lambda uid: not_(CORRECTS_AN_ANNULLED_ISSUE),
})


def move_clause(actor: Any, action: str) -> ColumnElement[bool]:
    """`can(actor, brief, action)` for a lifecycle move, as SQL (readability included)."""
    return and_(readable_clause(actor, Brief), move_conditions(actor, action))


def move_conditions(actor: Any, action: str) -> ColumnElement[bool]:
    """`move_clause` without readability (for a query that already asks it once)."""
    transition = TRANSITIONS[action]
    parts = [Brief.state.in_([s.value for s in transition.sources])]
    if not actor.role_set & transition.roles:
        if not transition.correction_author:
            return false()
        # the author of a correction draft makes this move whatever their roles (policy.can)
        parts.append(and_(Brief.corrects_id.is_not(None), Brief.author_id == actor.id))
    parts += [GUARD_SQL[g](actor.id) for g in transition.guards]
    delegate = getattr(actor, "delegate", None)
    if delegate is not None:
        parts += [GUARD_SQL[g](delegate.id) for g in transition.guards if g in SEPARATION_GUARDS]
    parts += [GUARD_SQL[c](actor.id) for c in transition.conditions]
    return and_(*parts)


def _open_moves(actor: Any) -> list[str]:
    return [t.action for t in FORWARD_MOVES if actor.role_set & t.roles or t.correction_author]


def todo_clause(actor: Any) -> ColumnElement[bool]:
    """The briefs in `actor`'s 待办: some forward move is open to them."""
    moves = _open_moves(actor)
    if not moves:
        return false()
    return and_(readable_clause(actor, Brief), or_(*(move_conditions(actor, a) for a in moves)))


def todo_group(actor: Any) -> ColumnElement[str]:
    """Which 待办 group a brief of `todo_clause` falls in: its first open forward move, in the
    table's order (readability is the clause's, asked once)."""
    moves = _open_moves(actor)
    if not moves:
        return func.coalesce(None, "")
    return case(*((move_conditions(actor, a), a) for a in moves), else_="")


# 紧急程度: 特急 first, then 加急, then 平件 (no urgency, or another word).
URGENCY_RANK = {"特急": 0, "加急": 1}


def urgency_rank() -> ColumnElement[int]:
    return case(*((Brief.urgency == word, rank) for word, rank in URGENCY_RANK.items()), else_=len(URGENCY_RANK))


def _by_urgency_then_due() -> list[Any]:
    return [urgency_rank(), Brief.due_on.is_(None), Brief.due_on, Brief.updated_at.desc(), Brief.id.desc()]


def todo_query(actor: Any) -> Select[Any]:
    group = todo_group(actor)
    moves = _open_moves(actor)
    # Grouped by the move (the table's order), then urgent first, then the earliest due.
    order = case(*((group == a, i) for i, a in enumerate(moves)), else_=len(moves)) if moves else group
    return select(Brief).options(*LIST_ONLY).where(todo_clause(actor)).order_by(order, *_by_urgency_then_due())


def todo_counts(actor: Any) -> dict[str, int]:
    group = todo_group(actor).label("todo_group")
    from extensions import db

    rows = db.session.execute(select(group, func.count(Brief.id)).where(todo_clause(actor)).group_by(group))
    return {g: n for g, n in rows if g}


def todo_count(actors: Sequence[Any]) -> int:
    from extensions import db

    clauses = [todo_clause(a) for a in actors]
    return db.session.scalar(select(func.count(Brief.id)).where(or_(*clauses))) or 0


def done_query(user: Any) -> Select[Any]:
    """已办: the briefs `user` moved or commented on (delegated moves included), newest first,
    with their latest such event; those they can no longer read are left out."""
    acted = sorted({t.action for t in TRANSITIONS.values()} | {"comment", "set_deadline"})
    latest = (
        select(AuditEvent.brief_id, func.max(AuditEvent.id).label("last_id"))
        .where(AuditEvent.actor_id == user.id, AuditEvent.brief_id.is_not(None), AuditEvent.action.in_(acted))
        .group_by(AuditEvent.brief_id).subquery()
    )
    return (
        select(Brief, AuditEvent)
        .options(*LIST_ONLY)
        .join(latest, latest.c.brief_id == Brief.id)
        .join(AuditEvent, AuditEvent.id == latest.c.last_id)
        .where(readable_clause(user, Brief))
        .order_by(latest.c.last_id.desc())
    )


def mine_query(user: Any) -> Select[Any]:
    """我发起的: the briefs `user` wrote, the latest change first."""
    return (select(Brief).options(*LIST_ONLY).where(Brief.author_id == user.id, Brief.deleted_at.is_(None))
            .order_by(Brief.updated_at.desc(), Brief.id.desc()))


def copies_query(user: Any) -> Select[Any]:
    """The issues with copies still to dispatch or waiting to be signed for, with the counts."""
    counts = (
        select(
            Copy.brief_id,
            func.sum(case((Copy.state == CopyState.PRINTED.value, 1), else_=0)).label("to_send"),
            func.sum(case((Copy.state == CopyState.DISPATCHED.value, 1), else_=0)).label("awaited"),
            func.min(Copy.dispatched_at).label("oldest_dispatch"),
        )
        .where(Copy.state.in_([CopyState.PRINTED.value, CopyState.DISPATCHED.value]), Copy.recalled.is_(False))
        .group_by(Copy.brief_id).subquery()
    )
    return (
        select(Brief, counts.c.to_send, counts.c.awaited, counts.c.oldest_dispatch)
        .options(*LIST_ONLY)
        .join(counts, counts.c.brief_id == Brief.id)
        .where(readable_clause(user, Brief))
        .order_by(Brief.published_at.desc(), Brief.id.desc())
    )


def overdue(today: date) -> ColumnElement[bool]:
    return and_(Brief.due_on.is_not(None), Brief.due_on < today)
