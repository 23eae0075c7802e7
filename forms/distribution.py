from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from forms.base import CanyueForm, VersionField, WholeNumberField
from workflows.limits import (
    MAX_COPIES_PER_LINE,
    NOTE_LENGTH,
    ORGANISATION_LENGTH,
    PERSON_NAME_LENGTH,
    USERNAME_LENGTH,
)


class RecipientForm(CanyueForm):
    name = StringField(_l("Name (person or unit)"), validators=[DataRequired(), Length(max=PERSON_NAME_LENGTH)])
    title = StringField(_l("Title (书记, 代市长, 秘书长 …)"), validators=[Length(max=PERSON_NAME_LENGTH)])
    organisation = StringField(_l("Organisation"), validators=[Length(max=ORGANISATION_LENGTH)])
    category = SelectField(_l("Category"))  # choices translated by the view
    default_copies = WholeNumberField(_l("Copies by default"), default=1, low=1, high=MAX_COPIES_PER_LINE)
    username = StringField(_l("Account (username, optional)"), validators=[Optional(), Length(max=USERNAME_LENGTH)])
    active = BooleanField(_l("Active"), default=True)


class ImportForm(CanyueForm):
    file = FileField(_l("CSV file (UTF-8 or GB18030)"), validators=[FileRequired()])


class AddEntryForm(CanyueForm):
    recipient_id = SelectField(_l("Recipient"), coerce=int)
    category = SelectField(_l("Category"))
    copies = WholeNumberField(_l("Copies"), default=1, low=1, high=MAX_COPIES_PER_LINE)
    medium = SelectField(_l("Form"))
    version = VersionField()


class ListForm(CanyueForm):
    """The copy counts and forms of every line (fields named copies-<id>, medium-<id>)."""

    version = VersionField()


class EntryForm(CanyueForm):
    """Remove or move one line."""

    version = VersionField()


class CopyMoveForm(CanyueForm):
    person = StringField(_l("Name"), validators=[Length(max=PERSON_NAME_LENGTH)])
    route = SelectField(_l("Sent by"), validate_choice=False)
    when = DateTimeLocalField(_l("When"), format="%Y-%m-%dT%H:%M", validators=[Optional()])
    witness = StringField(_l("Witness"), validators=[Length(max=PERSON_NAME_LENGTH)])
    comment = TextAreaField(_l("Note"), validators=[Length(max=NOTE_LENGTH)])
    version = VersionField()


class DispatchAllForm(CanyueForm):
    route = SelectField(_l("Sent by"))
    person = StringField(_l("Dispatched by (经办人)"), validators=[Length(max=PERSON_NAME_LENGTH)])
    when = DateTimeLocalField(_l("When"), format="%Y-%m-%dT%H:%M", validators=[Optional()])
    version = VersionField()


class ReceiptsForm(CanyueForm):
    """A batch of receipts: checked copies (copy-<id>) with who signed (signed-<id>)."""

    when = DateTimeLocalField(_l("Signed for on"), format="%Y-%m-%dT%H:%M", validators=[Optional()])
    version = VersionField()


class RecallForm(CanyueForm):
    reason = TextAreaField(_l("Reason for the recall"), validators=[Length(max=NOTE_LENGTH)])
    version = VersionField()


class LinkForm(CanyueForm):
    days = WholeNumberField(_l("Valid for (days)"), default=7, low=1, high=90)
