"""Notices on the member's wallet home (an admin revoked their link or asked for a
re-link), and dismissing them."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from wallet.services import notices

bp = Blueprint("notices", __name__)


@bp.app_context_processor
def _notices() -> dict[str, Any]:
    """`member_notices()` in templates: the member's undismissed notices."""

    def member_notices() -> list[Any]:
        if not current_user.is_authenticated:
            return []
        return notices.pending(current_user)

    return {"member_notices": member_notices}


@bp.post("/wallet/notices/<int:notice_id>/dismiss")
@login_required
def dismiss(notice_id: int) -> ResponseReturnValue:
    """Mark one of the member's own notices read (CSRF: the global CSRFProtect)."""
    notices.dismiss(current_user, notice_id)
    return redirect(url_for("portal.home"), code=303)
