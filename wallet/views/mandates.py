"""The member's mandates: what each shop may charge automatically, and revoking it
(CSRF; at once). The admin's list and revoke are in admin_mandates.py."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required

from wallet.forms import ConfirmForm
from wallet.services import mandates

bp = Blueprint("mandates", __name__)


@bp.get("/wallet/mandates")
@login_required
def index() -> ResponseReturnValue:
    """Every mandate the member approved, with its limits, use and latest charges."""
    rows = mandates.list_for_member(current_user)
    return render_template(
        "wallet/mandates.html",
        mandates=rows,
        charges={m.id: mandates.charges_of(m, 5) for m in rows},
    )


@bp.post("/wallet/mandates/<mandate_id>/revoke")
@login_required
def revoke(mandate_id: str) -> ResponseReturnValue:
    """Revoke one of the member's mandates: no charge is accepted from now on."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    mandate = mandates.of_member(current_user, mandate_id)
    mandates.revoke(mandate, current_user.email, "member")
    flash(
        _(
            "Revoked: %(shop)s can no longer charge you automatically.",
            shop=mandate.merchant.name,
        ),
        "success",
    )
    return redirect(url_for("mandates.index"), code=303)
