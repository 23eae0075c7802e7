from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from forms.auth import PasswordPolicy
from forms.base import CanyueForm, VersionField, WholeNumberField
from forms.notifications import EMAIL_PATTERN
from workflows.limits import MAX_RECORDED_PRINT_RUN, MAX_TOTAL_NUMBER, SERIES_NAME_LENGTH


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class UserForm(CanyueForm):
    username = StringField(
        _l("Username"),
        validators=[DataRequired(), Length(max=64), Regexp(r"^[A-Za-z0-9_.-]+$", message=_l("Letters, digits, _ . - only."))],
    )
    display_name = StringField(_l("Name as printed"), validators=[DataRequired(), Length(max=64)])
    # For notifications by mail; the user may change it on their account page too.
    email = StringField(_l("E-mail address"), validators=[
        Optional(), Length(max=254), Regexp(EMAIL_PATTERN, message=_l("This is not an e-mail address."))])
    locale = SelectField(_l("Language"))
    active = BooleanField(_l("Active"), default=True)
    password = PasswordField(
        _l("Password (leave empty to keep it)"), validators=[Optional(), PasswordPolicy("username")]
    )


class SeriesForm(CanyueForm):
    name = StringField(_l("Name (masthead)"), validators=[DataRequired(), Length(max=SERIES_NAME_LENGTH)])
    hosts = TextAreaField(_l("Hosts (one per line)"), validators=[DataRequired(), Length(max=500)])
    contact_phone = StringField(_l("Contact phone line"), validators=[Length(max=120)])
    address = StringField(_l("Address"), validators=[Length(max=200)])
    default_print_run = WholeNumberField(_l("Default print run (共印)"), low=1, high=MAX_RECORDED_PRINT_RUN)
    timezone = StringField(_l("Time zone"), validators=[DataRequired(), Length(max=64)])
    first_total_number = WholeNumberField(_l("总期号 of the first issue numbered here"), low=1, high=MAX_TOTAL_NUMBER)
    supplement_numbering = SelectField(_l("Supplement numbering"))  # choices translated by the view
    correction_mode = SelectField(_l("How a correction (更正) of an issue is issued"), choices=[
        ("notice", _l("As a correction notice, with the next number")),
        ("edition", _l("As a corrected edition (更正版) under the same numbers")),
    ], default="notice")
    active = BooleanField(_l("Active"), default=True)
    # How many working days each step may take (empty: no limit); inbox/due.py.
    review_days = WholeNumberField(_l("Review (working days)"), low=0, high=60, required=False)
    signoff_days = WholeNumberField(_l("Sign-off (working days)"), low=0, high=60, required=False)
    publish_days = WholeNumberField(_l("Publication after sign-off (working days)"), low=0, high=60, required=False)
    archive_days = WholeNumberField(_l("Filing after publication (working days)"), low=0, high=250, required=False)
    version = VersionField(required=False)


class RolesForm(CanyueForm):
    """The security administrator's: which roles an account holds (三员分立 is checked by the model)."""

    roles = CheckboxesField(_l("Roles"))  # choices translated by the view


class ClassificationForm(CanyueForm):
    """The security administrator's: which 密级 levels of a series are classified, and who reads them."""

    classified_levels = StringField(
        _l("Classified 密级 levels (comma-separated; empty: none)"), validators=[Length(max=200)]
    )
    classified_readers = CheckboxesField(_l("Roles that may read classified issues"))
    version = VersionField(required=False)
