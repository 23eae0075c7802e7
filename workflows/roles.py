"""Roles a user may hold (DESIGN.md, "Who uses it"). A user may hold several."""

from enum import StrEnum

from workflows.i18n import N_


class Role(StrEnum):
    DRAFTER = "drafter"
    EDITOR = "editor"
    SIGNER = "signer"
    ARCHIVIST = "archivist"
    ADMIN = "admin"
    # 机要员: dispatches copies and records receipts, nothing else (workflows/copy.py).
    CLERK = "clerk"


ROLE_LABELS: dict[Role, str] = {
    Role.DRAFTER: N_("Drafter"),
    Role.EDITOR: N_("Editor"),
    Role.SIGNER: N_("Signing leader"),
    Role.ARCHIVIST: N_("Archivist"),
    Role.ADMIN: N_("Administrator"),
    Role.CLERK: N_("Confidential clerk"),
}
