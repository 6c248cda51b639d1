"""Register, log in, log out, choose language."""

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
from flask_login import current_user, login_required, login_user, logout_user

from wallet.errors import ConflictError
from wallet.extensions import limiter
from wallet.forms import ConfirmForm, LoginForm, ReauthForm, RegisterForm
from wallet.security import mark_reauthenticated, safe_next
from wallet.services import members
from wallet.services.members import LockedOutError, LoginError

bp = Blueprint("auth", __name__, url_prefix="/auth")


def _login_limit() -> str:
    return str(current_app.config["RATELIMIT_LOGIN"])


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login() -> ResponseReturnValue:
    """Show the login form; on POST check credentials and start a fresh session."""
    form = LoginForm(next=request.args.get("next", ""))
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("auth/login.html", form=form), status
    try:
        member = members.authenticate(form.email.data or "", form.password.data or "")
    except (LoginError, LockedOutError) as exc:
        flash(exc.message, "error")
        return render_template("auth/login.html", form=form), exc.status
    lang = session.get("lang")
    session.clear()  # a new session at login: nothing from before survives (fixation)
    if lang:
        session["lang"] = lang
    login_user(member)
    return redirect(safe_next(form.next.data, url_for("portal.home")))


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit("5 per minute", methods=["POST"])
def register() -> ResponseReturnValue:
    """Create an account and log in."""
    form = RegisterForm()
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("auth/register.html", form=form), status
    try:
        member = members.register(
            form.email.data or "", form.password.data or "", locale=session.get("lang")
        )
    except ConflictError as exc:
        form.email.errors = [exc.message]
        return render_template("auth/register.html", form=form), 409
    session.clear()
    login_user(member)
    flash(_("Welcome! Your account is ready."), "success")
    return redirect(url_for("portal.home"))


@bp.route("/reauth", methods=["GET", "POST"])
@login_required
@limiter.limit(_login_limit, methods=["POST"])
def reauth() -> ResponseReturnValue:
    """Confirm the password before a sensitive action; then go back to it."""
    form = ReauthForm(next=request.args.get("next", ""))
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("auth/reauth.html", form=form), status
    try:
        members.reauthenticate(current_user, form.password.data or "")
    except (LoginError, LockedOutError) as exc:
        flash(exc.message, "error")
        return render_template("auth/reauth.html", form=form), exc.status
    mark_reauthenticated()
    return redirect(safe_next(form.next.data, url_for("admin.index")))


@bp.post("/logout")
@login_required
def logout() -> ResponseReturnValue:
    """End the session (POST + CSRF, so a link cannot log people out)."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        return redirect(url_for("portal.home"))
    logout_user()
    session.clear()
    flash(_("You are logged out."), "info")
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
