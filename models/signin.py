"""Sign-in state kept in the database, so that it holds across worker processes: failed-attempt
counters (signin/throttle.py), server-side sessions (signin/sessions.py), recovery codes and
settings such as the two-factor policy (signin/twofactor.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base
from models.types import UTCDateTime


class LoginThrottle(Base):
    """Failed sign-in attempts under one key: an account, an account from one address, an
    address, or an account on one trusted device. Rows are locked while an attempt is reserved,
    so attempts in every process are counted (signin/throttle.py)."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    # Attempts under way (reserved, not yet answered) and when the last one was reserved.
    pending: Mapped[int] = mapped_column(default=0)
    pending_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    window_start: Mapped[datetime] = mapped_column(UTCDateTime())
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Attempts refused while throttled (the security log records the first, 10th, 100th …).
    refused: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class UserSession(Base):
    """A signed-in session. The cookie carries a random id; only its SHA-256 is stored, so the
    database does not hold usable session ids. Deleting the row ends the session for good."""

    __tablename__ = "user_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 hex of the cookie's id
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    address: Mapped[str] = mapped_column(String(64))
    user_agent: Mapped[str] = mapped_column(String(200), default="")
    # How the user signed in: password, password+totp, password+recovery.
    method: Mapped[str] = mapped_column(String(20))


class RecoveryCode(Base):
    """A one-time recovery code for two-factor sign-in, stored as its SHA-256 (the codes are
    random, 50 bits each, so a slow hash adds nothing)."""

    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Setting(Base):
    """An installation setting changed at run time (e.g. "2fa_policy.signer" = "required")."""

    __tablename__ = "setting"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
