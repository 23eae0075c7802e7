"""Post a comment on a brief: checked by `can(user, brief, "comment")`, its @mentions resolved
to users who may read the brief, stored, and recorded as an audit event of the brief (the
comment's text is the event's reason, so the trail keeps what was said). Flushes, never commits."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from models import Brief, Comment, User
from notifications.kinds import MENTIONED
from notifications.operations import notify
from workflows.i18n import N_
from workflows.policy import COMMENT, READ, can
from workflows.transitions import ActionRefused, record_event

MAX_LENGTH = 5000
# @username or @显示名: letters (CJK included), digits, _ . - ; up to 64 characters.
MENTION = re.compile(r"(?<![\w@])@([\w.\-]{1,64})")


@dataclass
class CommentRefused(ValueError):
    """The comment is not acceptable; `message` is marked for translation."""

    message: str
    params: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message


def mentioned_names(body: str) -> list[str]:
    seen: list[str] = []
    for name in MENTION.findall(body):
        name = name.rstrip(".-")
        if name and name not in seen:
            seen.append(name)
    return seen


def resolve_mentions(session: Session, brief: Brief, body: str) -> list[User]:
    """The users @mentioned in `body`; refuses a name that is nobody's, or someone who may not
    read the brief (they would be told of a brief they cannot open)."""
    names = mentioned_names(body)
    if not names:
        return []
    users = session.scalars(select(User).where(
        User.active, or_(func.lower(User.username).in_([n.lower() for n in names]), User.display_name.in_(names))
    )).all()
    found: list[User] = []
    unknown, unreadable = [], []
    for name in names:
        user = next((u for u in users if u.username.lower() == name.lower() or u.display_name == name), None)
        if user is None:
            unknown.append(name)
        elif not can(user, brief, READ):
            unreadable.append(user.display_name)
        elif user not in found:
            found.append(user)
    if unknown:
        raise CommentRefused(N_("Nobody is called %(names)s: check the @ names. Nothing was posted."),
                             {"names": "、".join("@" + n for n in unknown)})
    if unreadable:
        raise CommentRefused(N_("%(names)s may not read this brief, so they cannot be mentioned. "
                                "Nothing was posted."), {"names": "、".join(unreadable)})
    return found


def post_comment(session: Session, brief: Brief, author: Any, body: str) -> Comment:
    decision = can(author, brief, COMMENT)
    if not decision:
        raise ActionRefused(decision)
    body = (body or "").replace("\r\n", "\n").strip()
    if not body:
        raise CommentRefused(N_("Please write a comment."))
    if len(body) > MAX_LENGTH:
        raise CommentRefused(N_("A comment is at most %(num)d characters."), {"num": MAX_LENGTH})
    if any(ord(c) < 32 and c not in "\n\t" for c in body):
        raise CommentRefused(N_("The comment contains control characters; please remove them."))
    mentioned = resolve_mentions(session, brief, body)
    comment = Comment(brief_id=brief.id, author_id=author.id, author_name=author.display_name, body=body,
                      mentions=[u.id for u in mentioned])
    session.add(comment)
    record_event(session, brief, "comment", author, from_state=brief.state, to_state=brief.state, reason=body)
    session.flush()
    # the mentioned are told in the app and, if they chose it, by mail (after the commit)
    notify(session, comment.mentions, MENTIONED, brief, author)
    return comment
