from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, MultipleFileField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional


class FileForm(FlaskForm):
    retention = SelectField(_l("Retention period (保管期限)"))  # choices translated by the view
    version = HiddenField(validators=[DataRequired()])


class SequenceForm(FlaskForm):
    year = IntegerField(_l("Year (年度)"), validators=[DataRequired(), NumberRange(min=1949, max=2999)])
    retention = SelectField(_l("Retention period (保管期限)"))
    first_item = IntegerField(_l("First 件号 of the year"), validators=[DataRequired(), NumberRange(min=1, max=9999)])


class ImportForm(FlaskForm):
    files = MultipleFileField(
        _l("Brief files (.md), each with its original PDF of the same name if there is one"),
        validators=[DataRequired()],
    )


class ExportForm(FlaskForm):
    q = StringField(validators=[Optional(), Length(max=200)])  # export what this search finds
    series = IntegerField(validators=[Optional()])
    year = IntegerField(validators=[Optional(), NumberRange(min=1949, max=2999)])
