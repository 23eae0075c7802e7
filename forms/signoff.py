from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from forms.base import CanyueForm, VersionField
from workflows import limits


class PaperSignoffForm(CanyueForm):
    # Not checked against the choices here: the operation refuses a leader not linked (403).
    leader_id = SelectField(_l("Leader who signed"), coerce=int, validators=[InputRequired()], validate_choice=False)
    signed_on = DateField(_l("Date written on the sheet"), validators=[DataRequired()])
    opinion = TextAreaField(_l("Opinion as written"), validators=[Length(max=limits.COMMENT_LENGTH)])
    scan = FileField(_l("Scan of the signed sheet (PDF or image)"))
    version = VersionField()


class SecretaryLinkForm(CanyueForm):
    secretary_id = SelectField(_l("Secretary"), coerce=int, validators=[InputRequired()])
    leader_id = SelectField(_l("Leader"), coerce=int, validators=[InputRequired()])


class InstructionForm(CanyueForm):
    recipient_id = SelectField(_l("Leader from the recipients directory"), coerce=int, validators=[Optional()])
    leader_name = StringField(_l("Or the leader's name as written"), validators=[Length(max=limits.PERSON_NAME_LENGTH)])
    level = SelectField(_l("Level"), validators=[InputRequired()])
    given_on = DateField(_l("Date of the instruction"), validators=[DataRequired()])
    text = TextAreaField(_l("Text as written"), validators=[DataRequired(), Length(max=limits.COMMENT_LENGTH)])
    kind = SelectField(_l("Kind"), validators=[InputRequired()])
    scan = FileField(_l("Scan of the 批示件 (PDF or image)"))
    responsible_name = StringField(_l("Responsible for carrying it out"),
                                   validators=[Length(max=limits.PERSON_NAME_LENGTH)])
    owner_id = SelectField(_l("Editor who follows it up"), coerce=int, validators=[Optional()])
    due_on = DateField(_l("Due date"), validators=[Optional()])


class FollowUpForm(CanyueForm):
    note = TextAreaField(_l("Progress note"), validators=[Length(max=limits.COMMENT_LENGTH)])
    done = SelectField(_l("Status"), choices=[("open", _l("Not done yet")), ("done", _l("Done"))])
