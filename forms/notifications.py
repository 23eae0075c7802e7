"""The account page's notification settings: an e-mail address, and per kind, also by mail."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField
from wtforms.validators import Length, Optional, Regexp

from notifications.kinds import KIND_LABELS, KINDS

# Enough to refuse a typing error (no @, spaces, no domain); the mail server judges the rest.
EMAIL_PATTERN = r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$"


class NotificationSettingsForm(FlaskForm):
    email = StringField(_l("E-mail address"), validators=[
        Optional(), Length(max=254), Regexp(EMAIL_PATTERN, message=_l("This is not an e-mail address."))])

    def by_mail(self) -> dict[str, bool]:
        return {kind: bool(self[f"mail_{kind}"].data) for kind in KINDS}

    def kind_fields(self) -> list[Any]:
        return [self[f"mail_{kind}"] for kind in KINDS]


for _kind in KINDS:
    setattr(NotificationSettingsForm, f"mail_{_kind}", BooleanField(_l(KIND_LABELS[_kind])))
