"""Merchant-facing pages: the staff dashboard, the wallet-link landing, the way back."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from wallet.forms import ConfirmForm
from wallet.models.merchant import Merchant
from wallet.security import reauth_required
from wallet.services import merchants, orders, outbox, wallet_links
from wallet.views.admin_merchants import KeyForm

bp = Blueprint("merchant", __name__)

# Pages of the wallet-link flow that a merchant may frame (CSP frame-ancestors).
_FRAMEABLE = frozenset({"merchant.landing", "merchant.redeem", "pay.checkout"})


# -- framing ---------------------------------------------------------------------------


def _frame_ancestors(response: Response) -> Response:
    """Let a merchant that allows framing embed the link flow; every other page: none."""
    merchant = _framing_merchant()
    if merchant is None or not merchant.allow_framing or not merchant.origins:
        return response
    csp = response.headers.get("Content-Security-Policy", "")
    if "frame-ancestors 'none'" in csp:
        response.headers["Content-Security-Policy"] = csp.replace(
            "frame-ancestors 'none'", "frame-ancestors " + " ".join(merchant.origins)
        )
        response.headers.pop("X-Frame-Options", None)  # CSP is the finer control
    return response


@bp.record_once
def _register_framing(state: BlueprintSetupState) -> None:
    # after_request hooks run in reverse order of registration; putting this one first
    # in the list makes it run last, after security's default headers (frame-ancestors
    # 'none', X-Frame-Options DENY) are set, so it can relax them for this page only.
    state.app.after_request_funcs.setdefault(None, []).insert(0, _frame_ancestors)


def _framing_merchant() -> Merchant | None:
    if request.endpoint not in _FRAMEABLE or not request.view_args:
        return None
    if "token" in request.view_args:
        return wallet_links.merchant_of_token(str(request.view_args["token"]))
    order = orders.find(str(request.view_args.get("order_id", "")))
    return wallet_links.merchant_for_order(order) if order is not None else None


# -- wallet links --------------------------------------------------------------------


@bp.get("/l/<token>")
@login_required
def landing(token: str) -> ResponseReturnValue:
    """Check a merchant's wallet link; pay links ask the member to continue (POST)."""
    link = wallet_links.verify_link(token, current_user.email)
    return render_template(
        "merchant/landing.html", link=link, token=token, form=ConfirmForm()
    )


@bp.post("/l/<token>")
@login_required
def redeem(token: str) -> ResponseReturnValue:
    """Use a pay link once: the order becomes the member's; go to checkout."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    order = wallet_links.redeem_pay_link(token, current_user)
    return redirect(url_for("pay.checkout", order_id=order.order_id), code=303)


@bp.get("/merchant/return/<order_id>")
@login_required
def return_to(order_id: str) -> ResponseReturnValue:
    """Back to the merchant's allow-listed return URL with a signed result."""
    order = orders.find(order_id)
    if order is None:
        raise wallet_links.LinkError(_("We could not find that order."), status=404)
    return redirect(wallet_links.return_url_for(order, current_user), code=303)


# -- dashboard -------------------------------------------------------------------------


def _staff_merchant(merchant_id: int | None) -> tuple[Merchant, list[Merchant]]:
    mine = merchants.merchants_of(current_user)
    if not mine:
        abort(403)
    if merchant_id is None:
        return mine[0], mine
    chosen = next((m for m in mine if m.id == merchant_id), None)
    if chosen is None:
        abort(404)  # someone else's merchant is not there for this member
    return chosen, mine


def _dashboard(
    merchant: Merchant,
    mine: list[Merchant],
    new_key: str | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    recent = merchants.orders_page(merchant, None, 50).orders
    events = outbox.recent_events(merchant)
    return render_template(
        "merchant/dashboard.html",
        merchant=merchant,
        mine=mine,
        orders=recent,
        payments=[o for o in recent if o.payment is not None],
        events=events,
        attempts=outbox.attempts_for([e.id for e in events]),
        keys=merchants.api_keys(merchant),
        new_key=new_key,
        key_form=KeyForm(formdata=None),
        form=ConfirmForm(),
        portal_url=(request.url_root.rstrip("/")),
    ), status


@bp.get("/merchant")
@login_required
def dashboard() -> ResponseReturnValue:
    """Orders, payments, webhook deliveries, API keys and the embed snippet."""
    merchant, mine = _staff_merchant(request.args.get("m", type=int))
    return _dashboard(merchant, mine)


@bp.post("/merchant/<int:merchant_id>/keys")
@login_required
@reauth_required(_l("Create an API key"))
def create_key(merchant_id: int) -> ResponseReturnValue:
    """Issue an API key; the page shows it once (it is not stored anywhere readable)."""
    merchant, mine = _staff_merchant(merchant_id)
    form = KeyForm()
    if not form.validate_on_submit():
        return _dashboard(merchant, mine, status=400)
    _key, raw = merchants.issue_api_key(
        merchant, form.label.data or "", current_user.email
    )
    return _dashboard(merchant, mine, new_key=raw, status=201)


@bp.post("/merchant/<int:merchant_id>/keys/<int:key_id>/revoke")
@login_required
@reauth_required(_l("Revoke an API key"))
def revoke_key(merchant_id: int, key_id: int) -> ResponseReturnValue:
    """Revoke one API key."""
    merchant, _mine = _staff_merchant(merchant_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    merchants.revoke_api_key(merchant, key_id, current_user.email)
    return redirect(url_for("merchant.dashboard", m=merchant.id), code=303)
