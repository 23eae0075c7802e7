from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from forms.base import CanyueForm


class CommentForm(CanyueForm):
    body = TextAreaField(_l("Comment (Markdown; @name mentions a colleague who may read the brief)"),
                         validators=[DataRequired(message=_l("Please write a comment.")), Length(max=5000)])


class DeadlineForm(CanyueForm):
    deadline = DateField(_l("Deadline of this brief"), validators=[Optional()])


class DelegationForm(CanyueForm):
    delegate_id = SelectField(_l("Colleague"), coerce=int, validate_choice=True)
    role = SelectField(_l("Role"), validate_choice=True)
    starts_on = DateField(_l("From"), validators=[DataRequired(message=_l("Give the first day."))])
    ends_on = DateField(_l("To (included)"), validators=[DataRequired(message=_l("Give the last day."))])


class DayOffForm(CanyueForm):
    day = DateField(_l("Day off"), validators=[DataRequired(message=_l("Give the day."))])
    note = StringField(_l("Note"), validators=[Length(max=100)])
