"""Roles a user may hold (DESIGN.md, "Who uses it"). A user may hold several, except that the
three administrators (三员分立, 等保 2.0) are three different people: nobody holds two of
`admin`, `security_admin` and `auditor` (`check_separation`, asked wherever roles are set)."""

from enum import StrEnum

from workflows.i18n import N_


class Role(StrEnum):
    DRAFTER = "drafter"
    EDITOR = "editor"
    SIGNER = "signer"
    ARCHIVIST = "archivist"
    # 系统管理员: accounts, series, recipients, settings; no brief content of their own.
    ADMIN = "admin"
    # 机要员: dispatches copies and records receipts, nothing else (workflows/copy.py).
    CLERK = "clerk"
    # 安全保密管理员: assigns roles, sets security policy (2FA, who reads classified issues),
    # unlocks accounts.
    SECURITY_ADMIN = "security_admin"
    # 安全审计员: reads the security log and the audit trail, nothing else.
    AUDITOR = "auditor"
    # 秘书: records the paper sign-off (代签) of the leaders the security administrator links
    # them to, and nothing else (workflows/brief.py, sign_on_paper).
    SECRETARY = "secretary"


ROLE_LABELS: dict[Role, str] = {
    Role.DRAFTER: N_("Drafter"),
    Role.EDITOR: N_("Editor"),
    Role.SIGNER: N_("Signing leader"),
    Role.ARCHIVIST: N_("Archivist"),
    Role.ADMIN: N_("Administrator"),
    Role.CLERK: N_("Confidential clerk"),
    Role.SECURITY_ADMIN: N_("Security administrator"),
    Role.AUDITOR: N_("Security auditor"),
    Role.SECRETARY: N_("Secretary"),
}

# 三员: the system administrator, the security administrator and the auditor. Each watches the
# others, so one person holds at most one of them; none of them reads brief content by it.
ADMINISTRATOR_ROLES: frozenset[Role] = frozenset({Role.ADMIN, Role.SECURITY_ADMIN, Role.AUDITOR})

SEPARATION_MESSAGE = N_(
    "The system administrator, the security administrator and the auditor must be three different "
    "people: an account may hold only one of these roles."
)


class RoleConflict(ValueError):
    """Roles that one person may not hold together; the message is marked for translation."""

    def __init__(self, roles: frozenset[str]):
        super().__init__(SEPARATION_MESSAGE)
        self.roles = roles


def check_separation(roles: set[str] | frozenset[str] | list[str]) -> None:
    """Raise RoleConflict if `roles` hold two or more of the three administrators' roles."""
    held = frozenset(roles) & ADMINISTRATOR_ROLES
    if len(held) > 1:
        raise RoleConflict(frozenset(held))
