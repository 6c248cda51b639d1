"""Admin: members with their BrandPay link status, and revoking a link's tokens."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from wallet.forms import ReasonForm
from wallet.services import brandpay
from wallet.views.admin import bp  # admin.bp's before_request: admins only


def _members_page(form: ReasonForm, status: int = 200) -> ResponseReturnValue:
    rows = brandpay.members_with_links()
    return render_template("admin/members.html", rows=rows, form=form), status


@bp.get("/members")
def members() -> ResponseReturnValue:
    """Every member: email, customerKey, link status and token expiry (never tokens)."""
    return _members_page(ReasonForm())


@bp.post("/members/<int:member_id>/revoke")
def revoke_link(member_id: int) -> ResponseReturnValue:
    """Crypto-shred a member's BrandPay tokens, recording who and why."""
    form = ReasonForm()
    if not form.validate_on_submit():
        flash(_("Give a reason (up to 200 characters) for revoking."), "error")
        return _members_page(form, 400)
    brandpay.revoke(member_id, current_user, form.reason.data or "")
    flash(_("The member's BrandPay tokens were revoked."), "success")
    return redirect(url_for("admin.members"), code=303)
