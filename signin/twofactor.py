"""Two-factor sign-in: TOTP (RFC 6238, pyotp: 6 digits, 30 seconds, one step of clock drift
either way), one-time recovery codes, and the policy per role (required or offered), a setting
in the database that the security administrator changes. Operations flush, never commit."""

from __future__ import annotations

import hashlib
import hmac
import io
import secrets
import time
from collections.abc import Iterable
from typing import Any

import pyotp
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from models import RecoveryCode, Setting, User
from models.types import utcnow
from workflows.i18n import N_
from workflows.roles import ROLE_LABELS, Role

REQUIRED, OFFERED = "required", "offered"
# Roles the policy may name: every role of workflows/roles.py, and those of 三员分立 and 代签
# that may not exist there yet (they are plain strings here until they do).
POLICY_ROLES: tuple[str, ...] = tuple(dict.fromkeys([r.value for r in Role] + ["secretary", "security_admin",
                                                                               "auditor"]))
# Labels of the policy's roles that workflows/roles.py does not have yet.
EXTRA_ROLE_LABELS = {
    "secretary": N_("Secretary"),
    "security_admin": N_("Security administrator"),
    "auditor": N_("Audit administrator"),
}
SETTING_PREFIX = "2fa_policy."
RECOVERY_CODES = 10
ISSUER = "Canyue"
STEP = 30


# --- the policy ------------------------------------------------------------------------------


def role_label(role: str) -> str:
    """The label (marked with N_) of a role the policy names."""
    known = {r.value: label for r, label in ROLE_LABELS.items()}
    return known.get(role) or EXTRA_ROLE_LABELS.get(role, role)


def default_required_roles(configured: str | Iterable[str]) -> frozenset[str]:
    if isinstance(configured, str):
        configured = configured.split(",")
    return frozenset(r.strip() for r in configured if r.strip())


def policy(session: Session, defaults: frozenset[str]) -> dict[str, str]:
    """Role → required/offered: the database's setting where there is one, else the default."""
    stored = {row.key.removeprefix(SETTING_PREFIX): row.value for row in session.scalars(
        select(Setting).where(Setting.key.startswith(SETTING_PREFIX)))}
    return {role: stored.get(role) or (REQUIRED if role in defaults else OFFERED) for role in POLICY_ROLES}


def set_policy(session: Session, role: str, value: str, actor: Any) -> str | None:
    """Set the policy of `role`; returns the value it had (None if it was the default)."""
    if role not in POLICY_ROLES or value not in (REQUIRED, OFFERED):
        raise ValueError(f"unknown role or policy: {role} {value}")
    row = session.get(Setting, SETTING_PREFIX + role)
    before = row.value if row is not None else None
    if row is None:
        row = Setting(key=SETTING_PREFIX + role, value=value, updated_at=utcnow())
        session.add(row)
    row.value = value
    row.updated_at = utcnow()
    row.updated_by_id = actor.id if actor is not None else None
    session.flush()
    return before


def required_for(user: User, current_policy: dict[str, str]) -> bool:
    return any(current_policy.get(role) == REQUIRED for role in user.role_set)


# --- enrolment and codes ---------------------------------------------------------------------


def new_secret() -> str:
    return pyotp.random_base32()  # 32 base32 characters: 160 bits


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=ISSUER)


def qr_svg_data_uri(uri: str) -> str:
    """The QR code of `uri` as an SVG data: URI (the Content-Security-Policy allows data: images)."""
    import segno

    return str(segno.make(uri, error="m").svg_data_uri(scale=5, border=2))


def qr_png(uri: str) -> bytes:
    import segno

    out = io.BytesIO()
    segno.make(uri, error="m").save(out, kind="png", scale=5, border=2)
    return out.getvalue()


def _normalise_code(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def matching_step(secret: str, code: str, now: float | None = None) -> int | None:
    """The time step whose code `code` is (now, or one step before or after), or None."""
    code = _normalise_code(code)
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    now = time.time() if now is None else now
    current = int(now // STEP)
    found = None
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            found = step
    return found


def use_totp(session: Session, user: User, code: str, secret: str | None = None) -> bool:
    """Accept `code` for `user` once: the step is recorded, atomically, and no code of that step
    or an earlier one is accepted again (a code seen over a shoulder or replayed is refused)."""
    secret = secret or user.totp_secret
    if not secret:
        return False
    step = matching_step(secret, code)
    if step is None:
        return False
    table = User.__table__
    moved = session.execute(
        update(table).where(table.c.id == user.id)
        .where((table.c.totp_last_step.is_(None)) | (table.c.totp_last_step < step))
        .values(totp_last_step=step)
    ).rowcount
    session.expire(user, ["totp_last_step"])
    return moved == 1


def start_enrolment(session: Session, user: User) -> str:
    """A new secret for a user without active two-factor sign-in (kept until confirmed)."""
    if user.has_totp:
        raise ValueError("two-factor sign-in is already on")
    user.totp_secret = new_secret()
    user.totp_last_step = None
    session.flush()
    return user.totp_secret


def confirm_enrolment(session: Session, user: User, code: str) -> list[str] | None:
    """Turn two-factor sign-in on with a first code; returns the recovery codes (shown once)."""
    if user.totp_secret is None or user.has_totp or not use_totp(session, user, code):
        return None
    user.totp_enabled_at = utcnow()
    return new_recovery_codes(session, user)


def disable(session: Session, user: User) -> None:
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    session.execute(update(RecoveryCode).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
                    .values(used_at=utcnow()))
    session.flush()


def _code_hash(code: str) -> str:
    return hashlib.sha256(_normalise_code(code).encode()).hexdigest()


def new_recovery_codes(session: Session, user: User) -> list[str]:
    """Ten new codes (xxxxx-xxxxx, 50 bits each); the old unused ones stop working."""
    now = utcnow()
    session.execute(update(RecoveryCode).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
                    .values(used_at=now))
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(alphabet) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        session.add(RecoveryCode(user_id=user.id, code_hash=_code_hash(raw), created_at=now))
    session.flush()
    return codes


def use_recovery_code(session: Session, user: User, code: str) -> bool:
    """Accept a recovery code once (atomically: two requests with one code, one wins)."""
    if len(_normalise_code(code)) != 10:
        return False
    used = session.execute(
        update(RecoveryCode).where(RecoveryCode.user_id == user.id, RecoveryCode.code_hash == _code_hash(code),
                                   RecoveryCode.used_at.is_(None)).values(used_at=utcnow())
    ).rowcount
    return used == 1


def recovery_codes_left(session: Session, user: User) -> int:
    return len(session.scalars(select(RecoveryCode.id).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))).all())


def policy_detail(before: str | None, after: str, role: str) -> dict[str, str]:
    return {"role": role, "from": before or "default", "to": after}

