"""The member's own account: password, signed-in devices, log out everywhere.

Changing the email (and resetting a forgotten password) arrive with email itself
(issue 14); the page keeps a section for it.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required

from wallet.forms import ConfirmForm, PasswordChangeForm
from wallet.security import current_handle, end_session, renew_session
from wallet.services import members, sessions
from wallet.services.members import LoginError, PasswordError
from wallet.services.throttle import ThrottledError

bp = Blueprint("account", __name__, url_prefix="/account")


def _page(
    form: PasswordChangeForm, status: int = 200, headers: dict[str, str] | None = None
) -> ResponseReturnValue:
    return (
        render_template(
            "account/index.html",
            form=form,
            devices=sessions.active(current_user),
            this_device=current_handle(),
        ),
        status,
        headers or {},
    )


@bp.get("")
@login_required
def index() -> ResponseReturnValue:
    """Email, password, and the devices this account is signed in on."""
    return _page(PasswordChangeForm(formdata=None))


@bp.post("/password")
@login_required
def change_password() -> ResponseReturnValue:
    """New password (the current one required); every other device is signed out."""
    form = PasswordChangeForm()
    if not form.validate_on_submit():
        return _page(form, 400)
    member = current_user._get_current_object()  # the Member, not the proxy
    try:
        members.change_password(
            member,
            form.current.data or "",
            form.password.data or "",
            address=request.remote_addr,
            keep_session=current_handle(),
        )
    except (LoginError, ThrottledError) as exc:
        form.current.errors = [exc.message]
        retry = getattr(exc, "retry_after", None)
        return _page(form, exc.status, {"Retry-After": str(retry)} if retry else None)
    except PasswordError as exc:
        form.password.errors = [exc.message]
        return _page(form, exc.status)
    renew_session(member)  # this device stays signed in, on a new session id
    flash(_("Your password was changed. Every other device was signed out."), "success")
    return redirect(url_for("account.index"), code=303)


@bp.post("/sessions/end")
@login_required
def end_all_sessions() -> ResponseReturnValue:
    """Log out of every device, this one included."""
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("account.index"))
    sessions.end_all(current_user.id, current_user.email, "logged out everywhere")
    end_session(_("You are logged out on every device."))
    return redirect(url_for("auth.login"), code=303)
