"""Forgot password → mailed link → new password (issue 14)."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import logout_user

from wallet.extensions import limiter
from wallet.forms import ForgotPasswordForm, NewPasswordForm
from wallet.models.member_token import PASSWORD_RESET
from wallet.services import password_reset
from wallet.services.member_tokens import InvalidLinkError
from wallet.views import emailed_links

bp = Blueprint("password_reset", __name__, url_prefix="/auth")


@bp.route("/forgot", methods=["GET", "POST"])
@limiter.limit("5 per minute;20 per hour", methods=["POST"])
def forgot() -> ResponseReturnValue:
    """Ask for a reset link; the answer is the same for every address."""
    form = ForgotPasswordForm()
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("auth/forgot.html", form=form), status
    password_reset.request_reset(form.email.data or "")
    minutes = int(current_app.config["PASSWORD_RESET_TTL"]) // 60
    return render_template(
        "auth/forgot_sent.html", email=form.email.data, minutes=minutes
    )


@bp.get("/reset/<token>")
def open_link(token: str) -> ResponseReturnValue:
    """The mailed link (wallet/views/emailed_links.py)."""
    return emailed_links.open_link(PASSWORD_RESET, token, "password_reset.reset")


@bp.route("/reset", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def reset() -> ResponseReturnValue:
    """Choose the new password; then log in with it."""
    form = NewPasswordForm()
    if request.method == "GET" or not form.validate_on_submit():
        try:
            emailed_links.usable(PASSWORD_RESET)
        except InvalidLinkError as exc:
            return emailed_links.invalid_link(exc)
        status = 400 if request.method == "POST" else 200
        return render_template("auth/reset.html", form=form), status
    try:
        password_reset.reset_password(
            emailed_links.opened(PASSWORD_RESET), form.password.data or ""
        )
    except InvalidLinkError as exc:
        return emailed_links.invalid_link(exc)
    except password_reset.WeakPasswordError as exc:
        form.password.errors = [exc.message]
        return render_template("auth/reset.html", form=form), 400
    logout_user()
    session.clear()
    flash(_("Your password was changed. Log in with the new one."), "success")
    return redirect(url_for("auth.login"), 303)
