"""Login form."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, SubmitField
from wtforms.validators import DataRequired, Length

from portal.labels import lazy_gettext as _l


class LoginForm(FlaskForm):
    email = EmailField(
        _l("Email"), validators=[DataRequired(message=_l("Enter your email.")), Length(max=254)]
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(message=_l("Enter your password.")), Length(max=1024)],
    )
    remember = BooleanField(_l("Keep me signed in on this device"))
    next = HiddenField()
    submit = SubmitField(_l("Log in"))


class ReauthenticateForm(FlaskForm):
    """The password again, before an action that changes another account's access."""

    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(message=_l("Enter your password.")), Length(max=1024)],
    )
    next = HiddenField()
    submit = SubmitField(_l("Continue"))
