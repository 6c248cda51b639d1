"""Admin: every member's mandates; revoke one (re-authenticated, reasoned, audited)."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from wallet.forms import ReasonForm
from wallet.security import reauth_required
from wallet.services import mandates
from wallet.views.admin import bp  # admin.bp's before_request: admins only


@bp.get("/mandates")
def mandates_list() -> ResponseReturnValue:
    """The latest mandates of every merchant and member."""
    return render_template(
        "admin/mandates.html", mandates=mandates.list_all(), form=ReasonForm()
    )


@bp.post("/mandates/<mandate_id>/revoke")
@reauth_required(_l("Revoke a member's mandate"))
def revoke_mandate(mandate_id: str) -> ResponseReturnValue:
    """End a mandate at once, recording who and why."""
    form = ReasonForm()
    if not form.validate_on_submit():
        flash(_("Give a reason (up to 200 characters)."), "error")
        return render_template(
            "admin/mandates.html", mandates=mandates.list_all(), form=form
        ), 400
    mandate = mandates.by_id(mandate_id)
    mandates.revoke(mandate, current_user.email, "admin", form.reason.data or "")
    flash(_("The mandate was revoked."), "success")
    return redirect(url_for("admin.mandates_list"), code=303)
