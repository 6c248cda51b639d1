"""Flask-WTF forms (CSRF on every one)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length


class LoginForm(FlaskForm):
    """Email + password."""

    email = EmailField(
        _l("Email"),
        validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)],
    )
    password = PasswordField(
        _l("Password"), validators=[DataRequired(), Length(max=256)]
    )
    next = HiddenField()


class ReauthForm(FlaskForm):
    """Password again, before a privileged action."""

    password = PasswordField(
        _l("Password"), validators=[DataRequired(), Length(max=256)]
    )
    next = HiddenField()


class RegisterForm(FlaskForm):
    """A new member account."""

    next = HiddenField()
    email = EmailField(
        _l("Email"),
        validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)],
    )
    password = PasswordField(
        _l("Password"),
        validators=[
            DataRequired(),
            Length(min=10, max=256, message=_l("Use 10 to 256 characters.")),
        ],
    )
    confirm = PasswordField(
        _l("Repeat password"),
        validators=[
            DataRequired(),
            EqualTo("password", message=_l("The passwords do not match.")),
        ],
    )


class ConfirmForm(FlaskForm):
    """A bare POST confirmation (the CSRF token is the point)."""


class ReasonForm(FlaskForm):
    """An action that needs a written reason (admin actions)."""

    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=200)])


class PasswordChangeForm(FlaskForm):
    """The current password, and the new one twice."""

    current = PasswordField(
        _l("Current password"), validators=[DataRequired(), Length(max=256)]
    )
    password = PasswordField(
        _l("New password"),
        validators=[
            DataRequired(),
            Length(min=10, max=256, message=_l("Use 10 to 256 characters.")),
        ],
    )
    confirm = PasswordField(
        _l("Repeat new password"),
        validators=[
            DataRequired(),
            EqualTo("password", message=_l("The passwords do not match.")),
        ],
    )
