from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, IntegerField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, StopValidation

from workflows.numbering import MAX_ISSUE_NUMBER, MAX_TOTAL_NUMBER


class _OneMessage:
    """A value that cannot be read says only that (not also that it is out of range), and an
    empty one only that it is missing."""

    process_errors: list[Any]
    raw_data: list[Any] | None
    errors: list[Any]

    def pre_validate(self, form: Any) -> None:
        if not self.process_errors:
            return
        if not (self.raw_data and self.raw_data[0]):
            self.errors.clear()  # InputRequired says what is missing
            return
        raise StopValidation()


class WholeNumberField(_OneMessage, IntegerField):
    pass


class DayField(_OneMessage, DateField):
    pass


class CorrectionForm(FlaskForm):
    """The corrected date and numbers of an issue, and why: it starts from what the issue has."""

    issue_date = DayField(_l("Issue date"), validators=[InputRequired(message=_l("Please give the issue date."))])
    issue_number = WholeNumberField(_l("Issue number (期号)"), validators=[
        InputRequired(message=_l("Please give the issue number (期号).")),
        NumberRange(min=1, max=MAX_ISSUE_NUMBER, message=_l("期号 must be between 1 and 9999.")),
    ])
    total_number = WholeNumberField(_l("Overall number (总期号)"), validators=[
        InputRequired(message=_l("Please give the overall number (总期号).")),
        NumberRange(min=1, max=MAX_TOTAL_NUMBER, message=_l("总期号 must be between 1 and 999999.")),
    ])
    reason = TextAreaField(_l("Reason for the correction"), validators=[
        InputRequired(message=_l("Please give a reason.")), Length(max=5000),
    ])
    # The brief's version when the form was loaded: a request against a newer one is refused.
    version = HiddenField(validators=[DataRequired()])

    def fill_from(self, brief: Any) -> None:
        self.issue_date.data = brief.issue_date
        self.issue_number.data = brief.issue_number
        self.total_number.data = brief.total_number
        self.version.data = str(brief.version)


class ConfirmCorrectionForm(FlaskForm):
    comment = TextAreaField(_l("Opinion on the correction"), validators=[Length(max=5000)])
    version = HiddenField(validators=[DataRequired()])


class ReasonForm(FlaskForm):
    """A move after publication that needs only a reason (更正, 作废)."""

    reason = TextAreaField(_l("Reason"), validators=[InputRequired(message=_l("Please give a reason.")),
                                                     Length(max=5000)])
    version = HiddenField(validators=[DataRequired()])


class ReissueForm(FlaskForm):
    version = HiddenField(validators=[DataRequired()])
