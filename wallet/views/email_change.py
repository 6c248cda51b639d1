"""Change the account's email: request (password), confirm from the new address."""

from __future__ import annotations

from flask import (
    Blueprint,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required

from wallet.errors import ConflictError, WalletError
from wallet.extensions import limiter
from wallet.forms import ConfirmForm, EmailChangeForm
from wallet.models.member_token import EMAIL_CHANGE
from wallet.services import email_change
from wallet.services.member_tokens import InvalidLinkError
from wallet.services.members import LoginError
from wallet.services.throttle import ThrottledError
from wallet.views import emailed_links

bp = Blueprint("email_change", __name__, url_prefix="/account/email")


@bp.route("", methods=["GET", "POST"])
@login_required
@limiter.limit("10 per minute", methods=["POST"])
def change() -> ResponseReturnValue:
    """The form: a new address and the current password."""
    form = EmailChangeForm()
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("account/email.html", form=form), status
    try:
        new = email_change.request_change(
            current_user, form.email.data or "", form.password.data or ""
        )
    except ThrottledError as exc:
        form.password.errors = [exc.message]
        return render_template("account/email.html", form=form), exc.status
    except LoginError as exc:
        form.password.errors = [_("That is not your current password.")]
        return render_template("account/email.html", form=form), exc.status
    except WalletError as exc:
        form.email.errors = [exc.message]
        return render_template("account/email.html", form=form), exc.status
    flash(
        _(
            "We sent a confirmation link to %(email)s. Your address changes when you "
            "open it.",
            email=new,
        ),
        "success",
    )
    return redirect(url_for("email_change.change"), 303)


@bp.get("/confirm/<token>")
def open_link(token: str) -> ResponseReturnValue:
    """The mailed link (wallet/views/emailed_links.py)."""
    return emailed_links.open_link(EMAIL_CHANGE, token, "email_change.confirm")


@bp.route("/confirm", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def confirm() -> ResponseReturnValue:
    """Show the change and confirm it with a button (mail scanners only GET links)."""
    form = ConfirmForm()
    if request.method == "GET" or not form.validate_on_submit():
        try:
            token = emailed_links.usable(EMAIL_CHANGE)
        except InvalidLinkError as exc:
            return emailed_links.invalid_link(exc)
        status = 400 if request.method == "POST" else 200
        return render_template(
            "account/email_confirm.html", form=form, new_email=token.new_email
        ), status
    try:
        member = email_change.confirm(emailed_links.opened(EMAIL_CHANGE))
    except InvalidLinkError as exc:
        return emailed_links.invalid_link(exc)
    except ConflictError as exc:
        session.pop(EMAIL_CHANGE, None)
        return render_template(
            "auth/link_invalid.html", message=exc.message
        ), exc.status
    session.pop(EMAIL_CHANGE, None)
    flash(_("Your email is now %(email)s.", email=member.email), "success")
    if current_user.is_authenticated and current_user.id == member.id:
        return redirect(url_for("email_change.change"), 303)
    return redirect(url_for("auth.login"), 303)
