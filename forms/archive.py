from flask_babel import lazy_gettext as _l
from wtforms import MultipleFileField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from forms.base import CanyueForm, VersionField, WholeNumberField
from workflows.limits import EARLIEST_YEAR, LATEST_YEAR, MAX_ID


class FileForm(CanyueForm):
    retention = SelectField(_l("Retention period (保管期限)"))  # choices translated by the view
    version = VersionField()


class SequenceForm(CanyueForm):
    year = WholeNumberField(_l("Year (年度)"), low=EARLIEST_YEAR, high=LATEST_YEAR)
    retention = SelectField(_l("Retention period (保管期限)"))
    first_item = WholeNumberField(_l("First 件号 of the year"), low=1, high=9999)


class ImportForm(CanyueForm):
    files = MultipleFileField(
        _l("Brief files (.md), each with its original PDF of the same name if there is one"),
        validators=[DataRequired()],
    )


class ExportForm(CanyueForm):
    q = StringField(validators=[Optional(), Length(max=200)])  # export what this search finds
    series = WholeNumberField(low=1, high=MAX_ID, required=False)
    year = WholeNumberField(low=EARLIEST_YEAR, high=LATEST_YEAR, required=False)
