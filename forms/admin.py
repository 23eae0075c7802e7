from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from forms.auth import PasswordPolicy


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class UserForm(FlaskForm):
    username = StringField(
        _l("Username"),
        validators=[DataRequired(), Length(max=64), Regexp(r"^[A-Za-z0-9_.-]+$", message=_l("Letters, digits, _ . - only."))],
    )
    display_name = StringField(_l("Name as printed"), validators=[DataRequired(), Length(max=64)])
    locale = SelectField(_l("Language"))
    active = BooleanField(_l("Active"), default=True)
    password = PasswordField(
        _l("Password (leave empty to keep it)"), validators=[Optional(), PasswordPolicy("username")]
    )


class SeriesForm(FlaskForm):
    name = StringField(_l("Name (masthead)"), validators=[DataRequired(), Length(max=40)])
    hosts = TextAreaField(_l("Hosts (one per line)"), validators=[DataRequired(), Length(max=500)])
    contact_phone = StringField(_l("Contact phone line"), validators=[Length(max=120)])
    address = StringField(_l("Address"), validators=[Length(max=200)])
    default_print_run = IntegerField(_l("Default print run (共印)"), validators=[DataRequired(), NumberRange(min=1, max=100000)])
    timezone = StringField(_l("Time zone"), validators=[DataRequired(), Length(max=64)])
    first_total_number = IntegerField(
        _l("总期号 of the first issue numbered here"), validators=[DataRequired(), NumberRange(min=1)]
    )
    supplement_numbering = SelectField(_l("Supplement numbering"))  # choices translated by the view
    active = BooleanField(_l("Active"), default=True)
    version = HiddenField()


class RolesForm(FlaskForm):
    """The security administrator's: which roles an account holds (三员分立 is checked by the model)."""

    roles = CheckboxesField(_l("Roles"))  # choices translated by the view


class ClassificationForm(FlaskForm):
    """The security administrator's: which 密级 levels of a series are classified, and who reads them."""

    classified_levels = StringField(
        _l("Classified 密级 levels (comma-separated; empty: none)"), validators=[Length(max=200)]
    )
    classified_readers = CheckboxesField(_l("Roles that may read classified issues"))
    version = HiddenField()
