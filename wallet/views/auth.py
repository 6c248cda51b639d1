"""Register, log in, re-authenticate (and resume), log out, choose language."""

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
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from wallet.extensions import limiter
from wallet.forms import ConfirmForm, LoginForm, ReauthForm, RegisterForm
from wallet.security import (
    end_session,
    mark_reauthenticated,
    pending_action,
    reauth_label,
    recently_reauthenticated,
    safe_next,
    start_session,
)
from wallet.services import members
from wallet.services.members import LoginError
from wallet.services.throttle import ThrottledError

bp = Blueprint("auth", __name__, url_prefix="/auth")

# How a kept form field is named on the "confirm your action" page; fields not listed
# are sent along unchanged but not shown.
_FIELD_LABELS = {
    "reason": _l("Reason"),
    "amount": _l("Amount (won)"),
    "label": _l("Label"),
    "email": _l("Member email"),
    "name": _l("Name"),
    "origins": _l("Allowed return origins"),
    "webhook_url": _l("Webhook URL"),
    "member_cancel_days": _l("Member self-cancel (days)"),
    "start": _l("From (Korea time)"),
    "end": _l("To, inclusive (Korea time)"),
}


def _login_limit() -> str:
    return str(current_app.config["RATELIMIT_LOGIN"])


def _register_limit() -> str:
    return str(current_app.config["RATELIMIT_REGISTER"])


def _refused(
    template: str, exc: LoginError | ThrottledError, **context: object
) -> ResponseReturnValue:
    """The form again with the reason; 429 carries Retry-After."""
    flash(exc.message, "error")
    headers = {}
    if isinstance(exc, ThrottledError):
        headers["Retry-After"] = str(exc.retry_after)
    return render_template(template, **context), exc.status, headers


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login() -> ResponseReturnValue:
    """Show the login form; on POST check credentials and start a fresh session."""
    form = LoginForm(next=request.args.get("next", ""))
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("auth/login.html", form=form), status
    try:
        member = members.authenticate(
            form.email.data or "", form.password.data or "", request.remote_addr
        )
    except (LoginError, ThrottledError) as exc:
        return _refused("auth/login.html", exc, form=form)
    start_session(member)
    return redirect(safe_next(form.next.data, url_for("portal.home")))


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(_register_limit, methods=["POST"])
def register() -> ResponseReturnValue:
    """Create an account; the answer is the same whether or not the email is taken."""
    form = RegisterForm(next=request.args.get("next", ""))
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("auth/register.html", form=form), status
    members.sign_up(
        form.email.data or "", form.password.data or "", locale=session.get("lang")
    )
    # Issue 13 L1: a new and a taken email get exactly this answer (no session, no
    # "already exists"); the new member logs in with the password just chosen.
    flash(
        _(
            "Thank you. If this email is new here, your account is ready: log in "
            "with the password you chose. If you already have an account, log in "
            "with your usual password."
        ),
        "info",
    )
    target = safe_next(form.next.data, "")
    return redirect(url_for("auth.login", next=target or None), code=303)


@bp.route("/reauth", methods=["GET", "POST"])
@login_required
@limiter.limit(_login_limit, methods=["POST"])
def reauth() -> ResponseReturnValue:
    """Confirm the password before a privileged action; then resume it or go back."""
    form = ReauthForm(next=request.args.get("next", ""))
    pending = pending_action()
    label = reauth_label(pending["endpoint"]) if pending else None
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("auth/reauth.html", form=form, label=label), status
    try:
        members.reauthenticate(
            current_user, form.password.data or "", request.remote_addr
        )
    except (LoginError, ThrottledError) as exc:
        return _refused("auth/reauth.html", exc, form=form, label=label)
    mark_reauthenticated()
    if pending is not None:
        return redirect(url_for("auth.resume"), code=303)
    return redirect(safe_next(form.next.data, url_for("portal.home")))


@bp.get("/resume")
@login_required
def resume() -> ResponseReturnValue:
    """The action the password interrupted, filled in as it was: one click to finish."""
    pending = pending_action()
    if pending is None:
        flash(_("Nothing is waiting for your confirmation."), "info")
        return redirect(url_for("portal.home"))
    if not recently_reauthenticated():
        return redirect(url_for("auth.reauth", next=pending["back"]))
    shown = [
        (str(_FIELD_LABELS[name]), value)
        for name, value in pending["form"]
        if name in _FIELD_LABELS
    ]
    return render_template(
        "auth/resume.html",
        label=reauth_label(pending["endpoint"]),
        action=pending["url"],
        fields=pending["form"],
        shown=shown,
        back=pending["back"],
    )


@bp.post("/logout")
@login_required
def logout() -> ResponseReturnValue:
    """End the session (POST + CSRF, so a link cannot log people out)."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        return redirect(url_for("portal.home"))
    end_session(_("You are logged out."))
    return redirect(url_for("auth.login"))


@bp.post("/language")
def language() -> ResponseReturnValue:
    """Switch between Korean and English; remembered on the member too."""
    form = ConfirmForm()
    lang = request.form.get("lang", "")
    if form.validate_on_submit() and lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
        if current_user.is_authenticated:
            members.set_locale(current_user, lang)
    return redirect(safe_next(request.form.get("next"), url_for("portal.home")))
