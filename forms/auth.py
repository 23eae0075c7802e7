from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import Field, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from i18n import translate
from signin.passwords import MAX_LENGTH, password_problems


class PasswordPolicy:
    """The password policy (signin/passwords.py) as a validator. The username is the form's
    `username_field`, or the signed-in user's."""

    def __init__(self, username_field: str | None = None):
        self.username_field = username_field

    def __call__(self, form: FlaskForm, field: Field) -> None:
        if self.username_field:
            username = form[self.username_field].data or ""
        else:
            username = current_user.username if current_user.is_authenticated else ""
        problems = password_problems(field.data or "", username,
                                     min_length=int(current_app.config["CANYUE_PASSWORD_MIN_LENGTH"]))
        if problems:
            raise ValidationError(" ".join(translate(p) for p in problems))


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=MAX_LENGTH)])


class CodeForm(FlaskForm):
    """The second step of signing in: a code from the authenticator app, or a recovery code."""

    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=20)])


class ProfileForm(FlaskForm):
    locale = SelectField(_l("Language"))


class LanguageForm(FlaskForm):
    """The language switch in the menu (one button per language)."""

    locale = SelectField(_l("Language"))


class PasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=MAX_LENGTH)])
    new = PasswordField(_l("New password"), validators=[DataRequired(), PasswordPolicy()])
    confirm = PasswordField(
        _l("Repeat the new password"), validators=[EqualTo("new", message=_l("The two passwords differ."))]
    )


class ConfirmPasswordForm(FlaskForm):
    """An action on one's own two-factor sign-in that needs the current password again."""

    current = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=MAX_LENGTH)])


class EmptyForm(FlaskForm):
    """A POST-only action: the form exists for its CSRF token."""
