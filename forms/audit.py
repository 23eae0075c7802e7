from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField
from wtforms.validators import NumberRange, Optional


class EventFilterForm(FlaskForm):
    """The filters of the security log and the audit trail (a GET form: no CSRF token)."""

    class Meta:
        csrf = False

    since = DateField(_l("From"), validators=[Optional()])
    until = DateField(_l("To"), validators=[Optional()])
    kind = SelectField(_l("Kind of event"), validate_choice=False)  # choices: the kinds the log holds
    user = SelectField(_l("User"), validate_choice=False)
    brief = IntegerField(_l("Brief no."), validators=[Optional(), NumberRange(min=1)])
    page = IntegerField(validators=[Optional(), NumberRange(min=1)])
