"""Who holds each brief now, as users: the active accounts with a holding role for whom
`can()` grants a forward move (workflows/holders.py), and how long the brief has waited."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from flask_babel import gettext

from i18n import translate
from models import Brief, User, UserRole
from models.types import utcnow
from workflows import holders as rules
from workflows.brief import author_only
from workflows.roles import ROLE_LABELS, Role


@dataclass(frozen=True)
class Holding:
    """Who a brief waits for, and since when."""

    step: rules.Step | None
    users: list[Any]
    since: datetime | None
    waited_days: int
    due_on: date | None

    def names(self) -> list[str]:
        return [u.display_name for u in self.users]

    def text(self) -> str:
        """"待王志远签发，已等 2 天": the step's waiting line with the names (or the role and count)."""
        if self.step is None:
            return ""
        roles = sorted(self.step.transition.roles)
        who = rules.names_text(self.names(), translate(ROLE_LABELS[Role(roles[0])]))
        if who is None:
            return gettext("Nobody may take this step now (separation of duties): ask the administrator to "
                             "give the role to someone else.")
        line = gettext(self.step.waiting, names=who)
        if self.waited_days:
            line += gettext(", waiting for %(num)d days", num=self.waited_days)
        return line


class HolderResolver:
    """Resolves holders for many briefs with one query for the candidates."""

    def __init__(self, session: Session):
        self.session = session
        self._by_roles: dict[frozenset[str], list[User]] = {}

    def candidates(self, roles: frozenset[Role]) -> list[User]:
        key = frozenset(r.value for r in roles)
        if key not in self._by_roles:
            self._by_roles[key] = list(self.session.scalars(
                select(User).where(User.active, User.id.in_(select(UserRole.user_id).where(UserRole.role.in_(key))))
                .order_by(User.id)
            )) if key else []
        return self._by_roles[key]

    def _candidates_for(self, brief: Brief) -> list[User]:
        moves = rules.forward_moves(brief.state)
        if moves and all(author_only in t.guards for t in moves):  # the author's own step (拟稿)
            author = brief.author
            return [author] if author.active else []
        return self.candidates(rules.holder_roles(brief.state))

    def holding(self, brief: Brief, now: datetime | None = None) -> Holding:
        step = rules.current_step(brief.state)
        users = rules.holders(brief, self._candidates_for(brief)) if step else []
        since = brief.state_since
        waited = max(0, ((now or utcnow()) - since).days) if since is not None else 0
        return Holding(step, users, since, waited, brief.due_on)

    def many(self, briefs: Iterable[Brief]) -> dict[int, Holding]:
        now = utcnow()
        return {b.id: self.holding(b, now) for b in briefs}
