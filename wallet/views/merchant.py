"""Merchant-facing pages: the staff dashboard, the wallet-link landing, the way back."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import IntegerField, StringField
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
)

from wallet.errors import ConflictError
from wallet.extensions import limiter, login_manager
from wallet.forms import ConfirmForm, member_cancel_days_field
from wallet.labels import krw
from wallet.models.merchant import Merchant
from wallet.models.order import Order
from wallet.security import keep_shown_once, pop_shown_once, reauth_required
from wallet.services import (
    brandpay,
    mandates,
    merchants,
    orders,
    outbox,
    payments,
    refund_requests,
    wallet_links,
)
from wallet.views.admin_merchants import KeyForm

bp = Blueprint("merchant", __name__)
GUEST_ORDERS_KEY = "guest_orders"  # orderIds whose pay link this browser redeemed

# -- framing ---------------------------------------------------------------------------


def allow_framing_by(merchant: Merchant | None) -> None:
    """This response (a wallet-link page the member may see) may be framed by the
    merchant's origins, if the merchant allows framing.

    Set by the view once it has checked the member may see the page, never derived
    from the URL: an anonymous visitor or another member gets exactly the answer of a
    nonexistent order, with no `frame-ancestors` naming the merchant (issue 13, I1).
    """
    g.frame_merchant = merchant


def _frame_ancestors(response: Response) -> Response:
    """Let a merchant that allows framing embed the link flow; every other page: none."""
    merchant = g.get("frame_merchant")
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


# -- wallet links --------------------------------------------------------------------


@bp.get("/l/<token>")
def landing(token: str) -> ResponseReturnValue:
    """Check a merchant's wallet link; pay links ask the member to continue (POST).

    Someone not logged in may log in (or sign up) for BrandPay, or pay a pay link's
    order by card as a guest, without an account (issue 12)."""
    if not current_user.is_authenticated:
        link = wallet_links.verify_link(token, "guest")
        if link.action != "pay":
            return login_manager.unauthorized()
    else:
        link = wallet_links.verify_link(token, current_user.email)
    allow_framing_by(link.merchant)
    if link.action == "mandate":
        return _mandate_page(link, token)
    return render_template("merchant/landing.html", link=link, token=token)


SELECTED_METHOD = "selected"  # the form's "my selected method" choice


def _mandate_page(
    link: wallet_links.VerifiedLink, token: str, error: str | None = None
) -> ResponseReturnValue:
    """What the member is asked to agree to, the method choice, BrandPay's billing
    agreement (static/js/mandate.js runs `brandpay.requestBillingAuth()`)."""
    overview = brandpay.methods_overview(current_user)
    linked = overview.link_status in ("linked", "needs_relink")
    page = render_template(
        "merchant/mandate.html",
        # Agreed already (e.g. the window came back as a whole page): no second window.
        agreed=linked and mandates.has_agreement(current_user),
        link=link,
        terms=link.terms,
        token=token,
        overview=overview,
        error=error,
        selected=SELECTED_METHOD,
    )
    return page, 409 if error else 200


@bp.post("/l/<token>/mandate")
@login_required
@limiter.limit("20 per minute")
def approve_mandate(token: str) -> ResponseReturnValue:
    """Approve the link's mandate with the chosen method; back to the shop, signed."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    link = wallet_links.verify_link(token, current_user.email)
    if link.action != "mandate":
        abort(404)
    choice = request.form.get("method", SELECTED_METHOD)
    method_key = None if choice == SELECTED_METHOD else choice[:300]
    allow_framing_by(link.merchant)
    try:
        mandate = mandates.approve_link(current_user, link, method_key)
    except (
        mandates.MandateNoAgreementError,
        mandates.MandateMethodRemovedError,
        mandates.MandateMemberWithdrawnError,
    ) as exc:
        return _mandate_page(link, token, exc.message)
    result = wallet_links.sign_mandate_result(link.merchant, mandate)
    return redirect(wallet_links.with_result(link.return_url, result), code=303)


@bp.post("/l/<token>/guest")
def redeem_as_guest(token: str) -> ResponseReturnValue:
    """Use a pay link once as a guest: go to the guest checkout (cards only)."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    order = wallet_links.redeem_guest_link(token)
    # Server-side session: only this browser may pay (and see) the guest's order.
    mine = [o for o in session.get(GUEST_ORDERS_KEY, []) if o != order.order_id]
    session[GUEST_ORDERS_KEY] = [*mine[-9:], order.order_id]
    return redirect(url_for("pay.guest_checkout", order_id=order.order_id), code=303)


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
    cached = g.get("staff_merchant")
    if cached is not None and (merchant_id is None or cached[0].id == merchant_id):
        return cached  # type: ignore[no-any-return]
    mine = merchants.merchants_of(current_user)
    if not mine:
        abort(403)
    if merchant_id is None:
        return mine[0], mine
    chosen = next((m for m in mine if m.id == merchant_id), None)
    if chosen is None:
        abort(404)  # someone else's merchant is not there for this member
    g.staff_merchant = (chosen, mine)
    return chosen, mine


def staff_only(view: Callable[..., Any]) -> Callable[..., Any]:
    """The member must be staff of `merchant_id` (403/404) before anything else, so
    that re-authentication is only ever asked of those who may act."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _staff_merchant(kwargs.get("merchant_id"))
        return view(*args, **kwargs)

    return wrapper


class ApproveForm(FlaskForm):
    """Approving a refund request: the amount is always stated (issue 14)."""

    amount = IntegerField(
        _l("Amount (won)"),
        validators=[
            InputRequired(message=_l("Enter the amount to refund, in won.")),
            NumberRange(min=1, message=_l("Enter a positive amount in won.")),
        ],
    )


class MerchantRefundForm(ApproveForm):
    """A refund from the dashboard: a stated amount and a reason."""

    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=200)])


class DeclineForm(FlaskForm):
    """Declining a refund request needs a reason the member will read."""

    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=200)])


class RefundPolicyForm(FlaskForm):
    """Whether members may cancel their own payments, and for how many days."""

    member_cancel_days = member_cancel_days_field()


class PreapprovalForm(FlaskForm):
    """The pre-approval hook's URL (issue 15); empty turns the hook off."""

    confirm_url = StringField(
        _l("Pre-approval URL"),
        validators=[Optional(), Length(max=500)],
        filters=[lambda v: (v or "").strip() or None],
    )


def _form_error(form: FlaskForm) -> str:
    """The first validation message of a form (shown next to the failing row)."""
    for errors in form.errors.values():
        for message in errors:
            return str(message)
    return _("Check the form and try again.")  # pragma: no cover


def _staff_actor(merchant: Merchant) -> str:
    """Who acted on the merchant's behalf, for refunds and the audit log."""
    return f"{current_user.email} (merchant:{merchant.public_id})"[:120]


def _dashboard(
    merchant: Merchant,
    mine: list[Merchant],
    status: int = 200,
    *,
    key_form: KeyForm | None = None,
    failed: tuple[str, str] | None = None,
    error: str | None = None,
    policy_form: RefundPolicyForm | None = None,
    hook_form: PreapprovalForm | None = None,
) -> ResponseReturnValue:
    """The dashboard; `failed` = (form kind, row id) whose form shows `error`."""
    recent = merchants.recent_orders(merchant, 50)
    events = outbox.recent_events(merchant)
    requests, _more = refund_requests.list_for_merchant(merchant)
    if policy_form is None:
        policy_form = RefundPolicyForm(formdata=None, obj=merchant)
    return render_template(
        "merchant/dashboard.html",
        merchant=merchant,
        mine=mine,
        orders=recent,
        payments=[o for o in recent if o.payment is not None],
        events=events,
        attempts=outbox.attempts_for([e.id for e in events]),
        keys=merchants.api_keys(merchant),
        # A key made by the previous POST, shown on this page once (PRG, issue 14).
        new_key=pop_shown_once("api_key", merchant=merchant.id),
        key_form=key_form or KeyForm(formdata=None),
        refund_requests=requests,
        mandates=mandates.list_for_merchant(merchant, limit=20)[0],
        policy_form=policy_form,
        hook_form=hook_form or PreapprovalForm(formdata=None, obj=merchant),
        failed=failed,
        error=error,
        portal_url=(request.url_root.rstrip("/")),
    ), status


def _back(merchant: Merchant, anchor: str) -> ResponseReturnValue:
    return redirect(url_for("merchant.dashboard", m=merchant.id) + f"#{anchor}", 303)


@bp.get("/merchant")
@login_required
def dashboard() -> ResponseReturnValue:
    """Orders, payments, refund requests, webhook deliveries, API keys, the snippet."""
    merchant, mine = _staff_merchant(request.args.get("m", type=int))
    return _dashboard(merchant, mine)


@bp.get("/merchant/<int:merchant_id>/orders/<order_id>")
@login_required
@staff_only
def order_detail(merchant_id: int, order_id: str) -> ResponseReturnValue:
    """One of the merchant's orders: its payment, refunds, requests and webhooks."""
    merchant, _mine = _staff_merchant(merchant_id)
    return _order_page(merchant, merchants.order_of(merchant, order_id))


def _order_page(
    merchant: Merchant, order: Order, status: int = 200, error: str | None = None
) -> ResponseReturnValue:
    """The order's page; `error` is a refused refund's reason, shown at its form."""
    events = outbox.recent_events(merchant, order_id=order.order_id)
    return render_template(
        "merchant/order.html",
        merchant=merchant,
        order=order,
        payment=order.payment,
        requests=refund_requests.for_order(order),
        events=events,
        attempts=outbox.attempts_for([e.id for e in events]),
        error=error,
        typed=request.form if request.method == "POST" else {},
    ), status


def _webhook_action(
    merchant_id: int, act: Callable[[Merchant, str], object], done: str
) -> ResponseReturnValue:
    """Resend / test: CSRF-checked, the outcome flashed on the delivery log."""
    merchant, _mine = _staff_merchant(merchant_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        act(merchant, _staff_actor(merchant))
    except ConflictError as exc:
        flash(exc.message, "error")
    else:
        flash(done, "success")
    return _back(merchant, "webhooks")


@bp.post("/merchant/<int:merchant_id>/webhooks/<int:event_id>/resend")
@login_required
@staff_only
@reauth_required(_l("Resend a webhook"))
def resend_webhook(merchant_id: int, event_id: int) -> ResponseReturnValue:
    """Deliver one webhook again (same body and webhook-id), as soon as possible."""
    return _webhook_action(
        merchant_id,
        lambda merchant, actor: outbox.resend(merchant, event_id, actor),
        _("The webhook will be sent again in a moment."),
    )


@bp.post("/merchant/<int:merchant_id>/webhooks/test")
@login_required
@staff_only
@reauth_required(_l("Send a test webhook"))
def test_webhook(merchant_id: int) -> ResponseReturnValue:
    """Queue a signed `webhook.test` event to the merchant's webhook URL."""
    return _webhook_action(
        merchant_id,
        outbox.send_test,
        _("A test event is on its way to your webhook URL."),
    )


@bp.post("/merchant/<int:merchant_id>/keys")
@login_required
@staff_only
@reauth_required(_l("Create an API key"))
def create_key(merchant_id: int) -> ResponseReturnValue:
    """Issue an API key; the page after shows it once (a reload mints nothing)."""
    merchant, mine = _staff_merchant(merchant_id)
    form = KeyForm()
    if not form.validate_on_submit():
        return _dashboard(merchant, mine, 400, key_form=form)
    _key, raw = merchants.issue_api_key(
        merchant, form.label.data or "", current_user.email
    )
    keep_shown_once("api_key", raw, merchant=merchant.id)
    return _back(merchant, "key-shown")


@bp.post("/merchant/<int:merchant_id>/keys/<int:key_id>/revoke")
@login_required
@staff_only
@reauth_required(_l("Revoke an API key"))
def revoke_key(merchant_id: int, key_id: int) -> ResponseReturnValue:
    """Revoke one API key."""
    merchant, _mine = _staff_merchant(merchant_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    merchants.revoke_api_key(merchant, key_id, current_user.email)
    return _back(merchant, "keys")


@bp.post("/merchant/<int:merchant_id>/orders/<order_id>/refund")
@login_required
@staff_only
@reauth_required(_l("Refund a payment"))
def refund(merchant_id: int, order_id: str) -> ResponseReturnValue:
    """Refund all or part of one of the merchant's paid orders, with a reason."""
    merchant, _mine = _staff_merchant(merchant_id)
    order = merchants.order_of(merchant, order_id)
    form = MerchantRefundForm()
    if not form.validate_on_submit():
        return _order_page(merchant, order, 400, error=_form_error(form))
    try:
        _order, pending = merchants.refund(
            merchant,
            order,
            form.amount.data,
            form.reason.data or "",
            actor=_staff_actor(merchant),
        )
    except ConflictError as exc:
        return _order_page(merchant, order, exc.status, error=exc.message)
    if pending:
        flash(payments.RefundPendingError().message, "warning")
    else:
        flash(_("Refunded %(amount)s.", amount=krw(form.amount.data)), "success")
    return redirect(
        url_for("merchant.order_detail", merchant_id=merchant.id, order_id=order_id),
        303,
    )


@bp.post("/merchant/<int:merchant_id>/refund-requests/<request_id>/approve")
@login_required
@staff_only
@reauth_required(_l("Approve a refund request"))
def approve_request(merchant_id: int, request_id: str) -> ResponseReturnValue:
    """Approve a member's refund request: refund the stated amount."""
    merchant, mine = _staff_merchant(merchant_id)
    form = ApproveForm()
    if not form.validate_on_submit():
        return _dashboard(
            merchant, mine, 400, failed=("approve", request_id), error=_form_error(form)
        )
    try:
        _req, pending = refund_requests.approve(
            merchant, request_id, form.amount.data, _staff_actor(merchant)
        )
    except ConflictError as exc:
        return _dashboard(
            merchant,
            mine,
            exc.status,
            failed=("approve", request_id),
            error=exc.message,
        )
    if pending:
        flash(payments.RefundPendingError().message, "warning")
    else:
        flash(
            _("Approved and refunded %(amount)s.", amount=krw(form.amount.data)),
            "success",
        )
    return _back(merchant, "refund-requests")


@bp.post("/merchant/<int:merchant_id>/refund-requests/<request_id>/decline")
@login_required
@staff_only
@reauth_required(_l("Decline a refund request"))
def decline_request(merchant_id: int, request_id: str) -> ResponseReturnValue:
    """Decline a member's refund request with a reason they will read."""
    merchant, mine = _staff_merchant(merchant_id)
    form = DeclineForm()
    if not form.validate_on_submit():
        return _dashboard(
            merchant, mine, 400, failed=("decline", request_id), error=_form_error(form)
        )
    try:
        refund_requests.decline(
            merchant, request_id, form.reason.data or "", _staff_actor(merchant)
        )
    except (ConflictError, refund_requests.RefundRequestError) as exc:
        return _dashboard(
            merchant,
            mine,
            exc.status,
            failed=("decline", request_id),
            error=exc.message,
        )
    flash(_("The refund request was declined; the member sees your reason."), "success")
    return _back(merchant, "refund-requests")


@bp.post("/merchant/<int:merchant_id>/refund-policy")
@login_required
@staff_only
@reauth_required(_l("Change the refund policy"))
def refund_policy(merchant_id: int) -> ResponseReturnValue:
    """Opt in to (or out of) members cancelling their own payments, and for how long."""
    merchant, mine = _staff_merchant(merchant_id)
    form = RefundPolicyForm()
    if not form.validate_on_submit():
        return _dashboard(merchant, mine, 400, policy_form=form)
    merchants.set_refund_policy(
        merchant, form.member_cancel_days.data, _staff_actor(merchant)
    )
    flash(_("The refund policy was saved."), "success")
    return _back(merchant, "refund-policy")


@bp.post("/merchant/<int:merchant_id>/pre-approval")
@login_required
@staff_only
@reauth_required(_l("Change the pre-approval hook"))
def preapproval_url(merchant_id: int) -> ResponseReturnValue:
    """Set or clear the URL asked before each confirm (issue 15)."""
    merchant, mine = _staff_merchant(merchant_id)
    form = PreapprovalForm()
    if not form.validate_on_submit():
        return _dashboard(merchant, mine, 400, hook_form=form)
    try:
        merchants.set_confirm_url(
            merchant, form.confirm_url.data, _staff_actor(merchant)
        )
    except merchants.MerchantError as exc:
        form.confirm_url.errors = [exc.message]
        return _dashboard(merchant, mine, exc.status, hook_form=form)
    flash(_("The pre-approval hook was saved."), "success")
    return _back(merchant, "pre-approval")
