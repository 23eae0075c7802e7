from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional


class RecipientForm(FlaskForm):
    name = StringField(_l("Name (person or unit)"), validators=[DataRequired(), Length(max=64)])
    title = StringField(_l("Title (书记, 代市长, 秘书长 …)"), validators=[Length(max=64)])
    organisation = StringField(_l("Organisation"), validators=[Length(max=120)])
    category = SelectField(_l("Category"))  # choices translated by the view
    default_copies = IntegerField(_l("Copies by default"), default=1, validators=[DataRequired(), NumberRange(min=1, max=1000)])
    username = StringField(_l("Account (username, optional)"), validators=[Optional(), Length(max=64)])
    active = BooleanField(_l("Active"), default=True)


class ImportForm(FlaskForm):
    file = FileField(_l("CSV file (UTF-8)"), validators=[FileRequired()])


class AddEntryForm(FlaskForm):
    recipient_id = SelectField(_l("Recipient"), coerce=int)
    category = SelectField(_l("Category"))
    copies = IntegerField(_l("Copies"), default=1, validators=[DataRequired(), NumberRange(min=1, max=1000)])
    medium = SelectField(_l("Form"))
    version = HiddenField(validators=[DataRequired()])


class ListForm(FlaskForm):
    """The copy counts and forms of every line (fields named copies-<id>, medium-<id>)."""

    version = HiddenField(validators=[DataRequired()])


class EntryForm(FlaskForm):
    """Remove or move one line."""

    version = HiddenField(validators=[DataRequired()])


class CopyMoveForm(FlaskForm):
    person = StringField(validators=[Length(max=64)])
    route = SelectField(_l("Sent by"), validate_choice=False)
    when = DateTimeLocalField(_l("When"), format="%Y-%m-%dT%H:%M", validators=[Optional()])
    witness = StringField(_l("Witness"), validators=[Length(max=64)])
    comment = TextAreaField(validators=[Length(max=2000)])
    version = HiddenField(validators=[DataRequired()])


class DispatchAllForm(FlaskForm):
    route = SelectField(_l("Sent by"))
    person = StringField(_l("Dispatched by (经办人)"), validators=[Length(max=64)])
    when = DateTimeLocalField(_l("When"), format="%Y-%m-%dT%H:%M", validators=[Optional()])
    version = HiddenField(validators=[DataRequired()])


class ReceiptsForm(FlaskForm):
    """A batch of receipts: checked copies (copy-<id>) with who signed (signed-<id>)."""

    when = DateTimeLocalField(_l("Signed for on"), format="%Y-%m-%dT%H:%M", validators=[Optional()])
    version = HiddenField(validators=[DataRequired()])


class RecallForm(FlaskForm):
    reason = TextAreaField(_l("Reason for the recall"), validators=[Length(max=2000)])
    version = HiddenField(validators=[DataRequired()])


class LinkForm(FlaskForm):
    days = IntegerField(_l("Valid for (days)"), default=7, validators=[DataRequired(), NumberRange(min=1, max=90)])
