"""领导批示: the kinds of instruction and the levels of leader (pure tables)."""

from __future__ import annotations

from workflows.i18n import N_

AFFIRM = "affirm"  # 肯定性批示
ACT = "act"  # 要求落实: gets a follow-up (批示落实)
FORWARD = "forward"  # 转交

INSTRUCTION_KINDS: dict[str, str] = {
    AFFIRM: N_("Affirmative (肯定性)"),
    ACT: N_("Asks for action (要求落实)"),
    FORWARD: N_("Forwarded (转交)"),
}

# Installation setting CANYUE_INSTRUCTION_LEVELS overrides this list.
DEFAULT_LEVELS = "省部级,市委书记/市长,副市级,部门"


def levels(configured: str) -> list[str]:
    return [level.strip() for level in configured.split(",") if level.strip()]
