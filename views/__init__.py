"""Blueprints: validate the form, call the operation, commit once, redirect."""

from __future__ import annotations

from flask import Flask
from flask_babel import format_date, format_datetime, get_locale

from i18n import translate
from workflows import limits
from workflows.brief import EVENT_LABELS, STATE_LABELS, State
from workflows.copy import COPY_EVENT_LABELS
from workflows.instructions import INSTRUCTION_KINDS
from workflows.filing import RETENTION_LABELS, Retention
from workflows.numbering import SUPPLEMENT_NUMBERING_LABELS, SupplementNumbering
from workflows.policy import may
from workflows.roles import ROLE_LABELS, Role


def init_templates(app: Flask) -> None:
    """Helpers the templates call; the permission ones come from the policy module."""
    app.jinja_env.globals.update(
        may=lambda user, action: bool(may(user, action)),
        state_label=lambda state: translate(STATE_LABELS[State(state)]),
        role_label=lambda role: translate(ROLE_LABELS[Role(role)]),
        action_label=lambda action: EVENT_LABELS.get(action) or COPY_EVENT_LABELS.get(action, action),
        instruction_kind_label=lambda kind: INSTRUCTION_KINDS.get(kind, kind),
        retention_label=lambda value: RETENTION_LABELS[Retention(value)],
        supplement_label=lambda value: SUPPLEMENT_NUMBERING_LABELS[SupplementNumbering(value)],
        get_locale=get_locale,
        format_date=format_date,
        format_datetime=format_datetime,
        limits=limits,  # the bounds of workflows/limits.py, for min/max/maxlength attributes
    )
