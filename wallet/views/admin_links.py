"""Admin: find members, see one member's link, payments and audit trail; revoke or
force a re-link of their BrandPay tokens (both re-authenticated, reasoned, audited)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from wallet.errors import WalletError
from wallet.forms import ReasonForm
from wallet.security import db_int, reauth_required
from wallet.services import admin
from wallet.views.admin import bp  # admin.bp's before_request: admins only


@bp.get("/members")
def members() -> ResponseReturnValue:
    """Search by exact customerKey or email prefix (or substring); keyset pages."""
    query = (request.args.get("q") or "").strip()[: admin.MAX_QUERY]
    contains = request.args.get("match") == "contains"
    result = admin.search_members(
        query, contains=contains, after=request.args.get("after") or None
    )
    return render_template(
        "admin/members.html", result=result, q=query, contains=contains
    )


def _detail_page(
    member_id: int, *, failed: str | None = None, status: int = 200
) -> ResponseReturnValue:
    """The member page; `failed` names the action whose form shows an error."""
    detail = admin.member_detail(
        member_id,
        current_user,
        payments_after=request.args.get("after") or None,
        audit_before=request.args.get("before", type=db_int),
    )
    return render_template(
        "admin/member_detail.html", detail=detail, form=ReasonForm(), failed=failed
    ), status


@bp.get("/members/<int:member_id>")
def member_detail(member_id: int) -> ResponseReturnValue:
    """Link status and token expiry (never tokens), payments, refunds, audit entries."""
    return _detail_page(member_id)


def _reasoned_action(member_id: int, action: str, done: str) -> ResponseReturnValue:
    """Validate the reason, run the admin service, and go back to the member's page."""
    form = ReasonForm()
    if not form.validate_on_submit():
        flash(_("Give a reason (up to 200 characters)."), "error")
        return _detail_page(member_id, failed=action, status=400)
    run = admin.revoke_link if action == "revoke" else admin.force_relink
    try:
        run(member_id, current_user, form.reason.data or "")
    except WalletError as exc:
        if exc.status == 404:
            raise
        flash(exc.message, "error")
        return _detail_page(member_id, failed=action, status=exc.status)
    flash(done, "success")
    return redirect(url_for("admin.member_detail", member_id=member_id), code=303)


@bp.post("/members/<int:member_id>/revoke")
@reauth_required(_l("Revoke a member's BrandPay tokens"))
def revoke_link(member_id: int) -> ResponseReturnValue:
    """Crypto-shred a member's BrandPay tokens, recording who and why; notify them."""
    return _reasoned_action(
        member_id, "revoke", _("The member's BrandPay tokens were revoked.")
    )


@bp.post("/members/<int:member_id>/relink")
@reauth_required(_l("Make a member link BrandPay again"))
def force_relink(member_id: int) -> ResponseReturnValue:
    """Destroy the member's tokens and ask them to link BrandPay again; notify them."""
    return _reasoned_action(
        member_id,
        "relink",
        _("The member must now link BrandPay again; they will see a notice."),
    )
