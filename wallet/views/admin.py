"""The admin console blueprint; capabilities add their routes in admin_<area>.py modules."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from wallet.security import admin_required
from wallet.services import admin

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@admin_required
def _guard() -> None:
    """Every admin route: admins only (anonymous → login, members → 403)."""
    return None


@bp.get("/")
def index() -> ResponseReturnValue:
    """Admin landing page: counts, member search, and links to each area."""
    return render_template("admin/index.html", overview=admin.overview())
