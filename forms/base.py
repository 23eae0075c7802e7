"""What every form of Canyue checks, whatever its fields (workflows/limits.py has the bounds):

- `CanyueForm`: no text field may hold control characters other than tab and newline (NUL
  above all: PostgreSQL cannot store it). They are removed from what the form shows again, and
  the field says so, so nothing typed is lost and saving again works.
- `WholeNumberField`: ASCII digits only, from `low` to `high` (int() would take '٣', '１', '+7',
  '1_0', and fail on 5,000 digits).
- `VersionField`: the version a form was loaded with, a whole number or the form is refused.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField
from wtforms.validators import InputRequired, Optional, StopValidation, ValidationError

from workflows.limits import MAX_ID, control_characters, parse_whole_number, without_control_characters


class CanyueForm(FlaskForm):
    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        for field in self:
            if not isinstance(field.data, str):
                continue
            found = control_characters(field.data)
            if found:
                field.data = without_control_characters(field.data)
                field.errors = [*field.errors, _l(
                    "It contained control characters (%(codes)s), which cannot be stored. They were removed "
                    "from the text below: check it and save again.", codes=", ".join(found[:5]))]
                valid = False
        return valid


def _range_message(low: int, high: int) -> Any:
    return _l("Enter a whole number from %(low)d to %(high)d.", low=low, high=high)


class WholeNumberField(IntegerField):
    """A whole number from `low` to `high`, typed in ASCII digits."""

    def __init__(self, label: Any = None, validators: Any = None, *, low: int, high: int, required: bool = True,
                 **kwargs: Any) -> None:
        self.low, self.high = low, high
        first = InputRequired(message=_range_message(low, high)) if required else Optional()
        super().__init__(label, [first, *(validators or [])], **kwargs)

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist:
            return
        raw = valuelist[0]
        if not str(raw).strip():
            self.data = None
            return
        self.data = parse_whole_number(raw, self.low, self.high)
        if self.data is None:
            raise ValueError(_range_message(self.low, self.high))

    def pre_validate(self, form: Any) -> None:
        # A default or a value from an object is held to the same bounds as a typed one.
        if self.data is not None and parse_whole_number(self.data, self.low, self.high) is None:
            raise ValidationError(_range_message(self.low, self.high))


class VersionField(HiddenField):
    """The record's version when the form was loaded (an optimistic lock)."""

    def __init__(self, label: Any = None, validators: Any = None, *, required: bool = True, **kwargs: Any) -> None:
        self.required = required
        super().__init__(label, validators, **kwargs)

    def pre_validate(self, form: Any) -> None:
        raw = self.data
        if raw in (None, ""):
            if self.required:
                raise StopValidation(_l("The form was incomplete. Please try again."))
            return
        if parse_whole_number(raw, 1, MAX_ID) is None:
            raise StopValidation(_l("The form was incomplete. Please try again."))


def version_of(form: Any) -> int | None:
    """The version a form was loaded with, if it gave a valid one."""
    return parse_whole_number(form.version.data, 1, MAX_ID)


def refusal(form: Any) -> tuple[int, str]:
    """The status and message for a form that did not validate: 400 when it is not the form that
    was served (its CSRF token or version missing or broken), 422 with the reasons when what
    was typed is refused (too long, out of range, control characters)."""
    broken = [f for f in form if f.errors and f.type in ("CSRFTokenField", "VersionField")]
    reasons = [f"{f.label.text}: {e}" if f.label and f.label.text else str(e)
               for f in form if f.errors and f not in broken for e in f.errors]
    if broken or not reasons:
        return 400, _("The form was incomplete. Please try again.")
    return 422, " ".join(reasons)
