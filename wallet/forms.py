"""Flask-WTF forms (CSRF on every one)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, IntegerField, PasswordField, StringField
from wtforms.validators import (
    DataRequired,
    Email,
    EqualTo,
    Length,
    NumberRange,
    Optional,
)

from wallet.models.merchant import MAX_MEMBER_CANCEL_DAYS


def new_password_fields(label: str, repeat: str) -> tuple[PasswordField, PasswordField]:
    """A new password (10 to 256 characters) and its repetition."""
    password = PasswordField(
        label,
        validators=[
            DataRequired(),
            Length(min=10, max=256, message=_l("Use 10 to 256 characters.")),
        ],
    )
    confirm = PasswordField(
        repeat,
        validators=[
            DataRequired(),
            EqualTo("password", message=_l("The passwords do not match.")),
        ],
    )
    return password, confirm


def member_cancel_days_field() -> IntegerField:
    """A merchant's member self-cancel window: empty (off) or 1 to 90 days."""
    return IntegerField(
        _l("Member self-cancel (days)"),
        validators=[
            Optional(),
            NumberRange(
                min=1,
                max=MAX_MEMBER_CANCEL_DAYS,
                message=_l(
                    "Enter 1 to %(days)d days, or leave it empty.",
                    days=MAX_MEMBER_CANCEL_DAYS,
                ),
            ),
        ],
    )


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
    password, confirm = new_password_fields(_l("Password"), _l("Repeat password"))


class ConfirmForm(FlaskForm):
    """A bare POST confirmation (the CSRF token is the point)."""


class ReasonForm(FlaskForm):
    """An action that needs a written reason (admin actions)."""

    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=200)])


class ForgotPasswordForm(FlaskForm):
    """The address a reset link is mailed to."""

    email = EmailField(
        _l("Email"),
        validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)],
    )


class NewPasswordForm(FlaskForm):
    """A new password, twice (the reset link's form)."""

    password = PasswordField(
        _l("New password"),
        validators=[
            DataRequired(),
            Length(min=10, max=256, message=_l("Use 10 to 256 characters.")),
        ],
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[
            DataRequired(),
            EqualTo("password", message=_l("The passwords do not match.")),
        ],
    )


class EmailChangeForm(FlaskForm):
    """A new address, confirmed with the current password."""

    email = EmailField(
        _l("New email address"),
        validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)],
    )
    password = PasswordField(
        _l("Current password"), validators=[DataRequired(), Length(max=256)]
    )


class PasswordChangeForm(FlaskForm):
    """The current password, and the new one twice."""

    current = PasswordField(
        _l("Current password"), validators=[DataRequired(), Length(max=256)]
    )
    password, confirm = new_password_fields(
        _l("New password"), _l("Repeat new password")
    )
