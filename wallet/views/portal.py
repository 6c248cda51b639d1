"""The member's wallet home."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

bp = Blueprint("portal", __name__)


@bp.get("/")
def index() -> ResponseReturnValue:
    """Members go to their wallet; visitors to the login page."""
    if current_user.is_authenticated:
        return redirect(url_for("portal.home"))
    return redirect(url_for("auth.login"))


@bp.get("/wallet")
@login_required
def home() -> ResponseReturnValue:
    """Wallet overview."""
    return render_template("portal/home.html")


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """Liveness probe for load balancers."""
    return {"status": "ok"}
