from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from models.base import Base
from models.types import UTCDateTime, utcnow
from workflows.roles import ADMINISTRATOR_ROLES, Role, check_separation

ROLE_VALUES = ", ".join(f"'{r.value}'" for r in Role)
# 三员分立 in the database too: at most one row per user among the three administrators' roles.
ADMINISTRATOR_VALUES = ", ".join(f"'{r.value}'" for r in sorted(ADMINISTRATOR_ROLES))
ONE_ADMINISTRATOR_ROLE = text(f"role IN ({ADMINISTRATOR_VALUES})")


class UserRole(Base):
    __tablename__ = "user_role"
    __table_args__ = (
        CheckConstraint(f"role IN ({ROLE_VALUES})", name="known_role"),
        Index("uq_user_role_one_administrator", "user_id", unique=True,
              sqlite_where=ONE_ADMINISTRATOR_ROLE, postgresql_where=ONE_ADMINISTRATOR_ROLE),
    )

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(20), primary_key=True)


class User(Base):
    __tablename__ = "user_account"
    subject_type = "user"  # what workflows.policy.can is asked about

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    # The name as printed on an issue (责任编辑, 签发人), e.g. 李长青.
    display_name: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(255))
    locale: Mapped[str] = mapped_column(String(10), default="zh_CN")
    # Where notifications go by e-mail (notifications/), if the user gives one on their account page.
    email: Mapped[str | None] = mapped_column(String(254))
    active: Mapped[bool] = mapped_column(default=True)
    # Rotated on password change and deactivation, which ends every open session.
    session_token: Mapped[str] = mapped_column(String(32), default=lambda: secrets.token_hex(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Two-factor sign-in (TOTP, RFC 6238): the base32 secret, set at enrolment and confirmed
    # by a first code (totp_enabled_at); the last time step accepted, so that no code is used twice.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    totp_last_step: Mapped[int | None]

    role_rows: Mapped[list[UserRole]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    # 代签: the leaders this account (a secretary) records paper sign-offs for.
    acting_for: Mapped[list[User]] = relationship(
        secondary="secretary_link", primaryjoin="User.id == SecretaryLink.secretary_id",
        secondaryjoin="User.id == SecretaryLink.leader_id", viewonly=True, order_by="User.display_name",
    )

    def __repr__(self) -> str:
        return f"<User {self.username}>"

    @property
    def role_set(self) -> frozenset[str]:
        return frozenset(r.role for r in self.role_rows)

    def set_roles(self, roles: set[str] | frozenset[str] | list[str]) -> None:
        """Hold exactly `roles`; RoleConflict (nothing changed) for two of the three administrators'."""
        wanted = {Role(r).value for r in roles}
        check_separation(wanted)
        self.role_rows = [r for r in self.role_rows if r.role in wanted] + [
            UserRole(role=r) for r in sorted(wanted - self.role_set)
        ]

    def has_role(self, role: str) -> bool:
        return role in self.role_set

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)
        self.session_token = secrets.token_hex(16)

    @property
    def has_totp(self) -> bool:
        return self.totp_secret is not None and self.totp_enabled_at is not None

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def deactivate(self) -> None:
        self.active = False
        self.session_token = secrets.token_hex(16)

    # The user protocol of Flask-Login (its UserMixin would import Flask into the models).
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"
