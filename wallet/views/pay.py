"""Pay: new test orders, BrandPay checkout, success/fail redirects, history, receipts."""

from __future__ import annotations

import re
from typing import Any

from flask import (
    Blueprint,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from wallet.errors import WalletError
from wallet.forms import ConfirmForm
from wallet.models.order import (
    CONFIRMING,
    DONE,
    EXPIRED,
    MAX_AMOUNT,
    MAX_ORDER_NAME,
    MIN_AMOUNT,
    PAY_BRANDPAY,
    PAY_CARD,
    PAY_FOREIGN_CARD,
    PENDING,
    UNKNOWN,
    Order,
)
from wallet.models.refund_request import MAX_REASON
from wallet.services import orders, payments, refund_requests, wallet_links
from wallet.views.merchant import GUEST_ORDERS_KEY, allow_framing_by
from wallet.views.wallet import browser_navigation, public_url_for

bp = Blueprint("pay", __name__, url_prefix="/pay")

# contract §4: Toss's paymentKey is at most 200 printable characters.
_PAYMENT_KEY_RE = re.compile(r"^[\x21-\x7e]{1,200}$")
_CODE_RE = re.compile(r"^[A-Z0-9_]{1,64}$")
# successUrl?way=: which window sent the member back (contract §6.1).
WAYS = {"brandpay": PAY_BRANDPAY, "card": PAY_CARD, "foreign": PAY_FOREIGN_CARD}
HISTORY_PAGE_SIZE = 20
RECENT_COUNT = 5


class RefundRequestForm(FlaskForm):
    """What the member tells the shop when asking for a refund."""

    reason = StringField(
        _l("Why do you want a refund?"),
        validators=[DataRequired(), Length(max=MAX_REASON)],
    )


class NewPaymentForm(FlaskForm):
    """A test order: a name and an amount in won."""

    order_name = StringField(
        _l("What is it for?"),
        validators=[DataRequired(), Length(max=MAX_ORDER_NAME)],
    )
    amount = IntegerField(
        _l("Amount (won)"),
        validators=[
            InputRequired(message=_l("Enter an amount in won.")),
            NumberRange(
                min=MIN_AMOUNT,
                max=MAX_AMOUNT,
                message=_l(
                    "Enter between %(min)s and %(max)s won (card payments start at "
                    "100 won, account payments at 200 won).",
                    min=f"{MIN_AMOUNT:,}",
                    max=f"{MAX_AMOUNT:,}",
                ),
            ),
        ],
    )


@bp.app_context_processor
def _recent_payments() -> dict[str, Any]:
    """`recent_payments()` for the wallet home's block (queried only when used)."""

    def recent_payments() -> list[Order]:
        if not current_user.is_authenticated:
            return []
        return list(orders.page(member_id=current_user.id, limit=RECENT_COUNT).orders)

    return {"recent_payments": recent_payments}


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new() -> ResponseReturnValue:
    """Create a test order on the server, then go to its checkout."""
    form = NewPaymentForm()
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("pay/new.html", form=form), status
    try:
        order = orders.create_order(
            form.amount.data or 0, form.order_name.data or "", member=current_user
        )
    except orders.InvalidOrderError as exc:
        form.amount.errors = [exc.message]
        return render_template("pay/new.html", form=form), exc.status
    return redirect(url_for("pay.checkout", order_id=order.order_id), code=303)


def _checkout_page(
    order: Order, error: str | None = None, status: int = 200, guest: bool = False
) -> ResponseReturnValue:
    prefix = "pay.guest_" if guest else "pay."
    ways = [w for w in WAYS if not (guest and w == "brandpay")]  # BrandPay: members
    return render_template(
        "pay/checkout.html",
        order=order,
        error=error,
        guest=guest,
        success_urls={
            way: public_url_for(prefix + "success", order_id=order.order_id, way=way)
            for way in ways
        },
        fail_url=public_url_for(prefix + "fail", order_id=order.order_id),
    ), status


def processing_page(order: Order) -> ResponseReturnValue:
    """Issue 14: shown at once while the confirm runs; the browser keeps it on screen
    until the same URL (with sync=1) answers with the outcome."""
    # Toss's own query (paymentKey, orderId, amount, way), then the route's order_id.
    values: dict[str, Any] = {**request.args.to_dict(), **(request.view_args or {})}
    values["sync"] = "1"
    target = url_for(request.endpoint or "pay.success", **values)
    return render_template("pay/processing.html", order=order, target=target), 200


@bp.get("/orders/<order_id>")
@login_required
def checkout(order_id: str) -> ResponseReturnValue:
    """The order and the BrandPay button; settled orders go to their receipt."""
    order = orders.get_for_member(current_user, order_id)
    if order.status not in (PENDING, EXPIRED):
        return redirect(url_for("pay.receipt", order_id=order.order_id))
    # Only now, for the member whose order it is, may its merchant frame the page.
    allow_framing_by(wallet_links.merchant_for_order(order))
    error = None
    if order.failure_code:
        error = payments.fail_message(order.failure_code)
    return _checkout_page(order, error)


@bp.get("/orders/<order_id>/success")
@login_required
def success(order_id: str) -> ResponseReturnValue:
    """Toss's successUrl: check the redirect against the order, confirm once."""
    payment_key = request.args.get("paymentKey", "")
    way = WAYS.get(request.args.get("way", "brandpay"))
    if not _PAYMENT_KEY_RE.match(payment_key) or way is None:
        raise WalletError(_("The payment reply from Toss was incomplete."))
    if browser_navigation() and not request.args.get("sync"):
        return processing_page(orders.get_for_member(current_user, order_id))
    try:
        order = payments.confirm(
            current_user,
            order_id,
            payment_key,
            request.args.get("orderId"),
            request.args.get("amount", type=int),
            way,
        )
    except payments.PaymentMismatchError as exc:
        order = orders.get_for_member(current_user, order_id)
        return _after_mismatch(order, exc)
    return _after_confirm(order)


def _after_mismatch(
    order: Order, exc: WalletError, guest: bool = False
) -> ResponseReturnValue:
    """Issue 13 L2: the order was not changed; say so where it can be paid."""
    if order.is_payable:
        return _checkout_page(order, exc.message, exc.status, guest=guest)
    flash(exc.message, "error")
    receipt = "pay.guest_receipt" if guest else "pay.receipt"
    return redirect(url_for(receipt, order_id=order.order_id), code=303)


def _after_confirm(order: Order, guest: bool = False) -> ResponseReturnValue:
    if order.status in (CONFIRMING, UNKNOWN):
        # Not an error: the outcome is being checked with Toss.
        return render_template("pay/pending.html", order=order, guest=guest), 202
    if order.status == PENDING:
        message = payments.fail_message(order.failure_code)
        return _checkout_page(order, message, guest=guest)
    if order.status == DONE:
        flash(_("Payment complete."), "success")
    receipt = "pay.guest_receipt" if guest else "pay.receipt"
    return redirect(url_for(receipt, order_id=order.order_id), code=303)


@bp.get("/orders/<order_id>/fail")
@login_required
def fail(order_id: str) -> ResponseReturnValue:
    """Toss's failUrl: say what happened; the order stays payable."""
    order = orders.get_for_member(current_user, order_id)
    code = request.args.get("code", "")
    code = code if _CODE_RE.match(code) else ""
    if order.status not in (PENDING, EXPIRED):
        return redirect(url_for("pay.receipt", order_id=order.order_id))
    # Toss's own message is not shown: the failUrl query is whatever the browser sent.
    return _checkout_page(order, payments.fail_message(code))


@bp.get("/orders/<order_id>/receipt")
@login_required
def receipt(order_id: str) -> ResponseReturnValue:
    """The order's outcome, cancels and Toss's receipt link."""
    order = payments.refresh_if_unknown(orders.get_for_member(current_user, order_id))
    if order.status == PENDING:
        return redirect(url_for("pay.checkout", order_id=order.order_id))
    return _receipt_page(order, RefundRequestForm(formdata=None))


def _receipt_page(
    order: Order, request_form: RefundRequestForm, status: int = 200
) -> ResponseReturnValue:
    return render_template(
        "pay/receipt.html",
        order=order,
        payment=order.payment,
        can_cancel=payments.can_member_cancel(order),
        cancel_days=payments.member_cancel_days(order),
        refund_request=refund_requests.latest_for_order(order)
        if order.merchant_id is not None
        else None,
        can_request_refund=refund_requests.can_request(order),
        request_form=request_form,
        failure=payments.fail_message(order.failure_code)
        if order.failure_code
        else None,
        form=ConfirmForm(),
    ), status


@bp.post("/orders/<order_id>/refund-request")
@login_required
def request_refund(order_id: str) -> ResponseReturnValue:
    """Ask the shop to refund its order (issue 13 M1: the shop decides)."""
    form = RefundRequestForm()
    order = orders.get_for_member(current_user, order_id)
    if not form.validate_on_submit():
        return _receipt_page(order, form, 400)
    try:
        refund_requests.request_refund(current_user, order_id, form.reason.data or "")
    except WalletError as exc:
        if exc.status == 404:
            raise
        form.reason.errors = [exc.message]
        return _receipt_page(order, form, exc.status)
    flash(
        _("Your refund request was sent to the shop. You will see its answer here."),
        "success",
    )
    return redirect(url_for("pay.receipt", order_id=order_id), code=303)


@bp.post("/orders/<order_id>/cancel")
@login_required
def cancel(order_id: str) -> ResponseReturnValue:
    """The member cancels their own payment in full (policy: payments.can_member_cancel)."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        raise WalletError(_("Your form expired. Reload the page and try again."))
    try:
        payments.member_cancel(current_user, order_id)
    except payments.RefundPendingError as exc:
        flash(exc.message, "warning")
    except payments.RefundRefusedError as exc:
        flash(exc.message, "error")
    else:
        flash(_("The payment was canceled and will be refunded."), "success")
    return redirect(url_for("pay.receipt", order_id=order_id), code=303)


@bp.get("/history")
@login_required
def history() -> ResponseReturnValue:
    """The member's payments, newest first, one keyset page at a time."""
    result = orders.page(
        member_id=current_user.id,
        cursor=request.args.get("after"),
        limit=HISTORY_PAGE_SIZE,
    )
    return render_template(
        "pay/history.html", page=result, first=not request.args.get("after")
    )


# -- guests: a merchant's pay link, paid by card without an account (issue 12) --------


def _guest_order(order_id: str) -> Order:
    return orders.get_for_guest(order_id, tuple(session.get(GUEST_ORDERS_KEY, ())))


@bp.get("/guest/<order_id>")
def guest_checkout(order_id: str) -> ResponseReturnValue:
    """The card windows for a guest's order (payment({customerKey: ANONYMOUS}))."""
    order = _guest_order(order_id)
    if order.status not in (PENDING, EXPIRED):
        return redirect(url_for("pay.guest_receipt", order_id=order.order_id))
    allow_framing_by(wallet_links.merchant_for_order(order))
    error = payments.fail_message(order.failure_code) if order.failure_code else None
    return _checkout_page(order, error, guest=True)


@bp.get("/guest/<order_id>/success")
def guest_success(order_id: str) -> ResponseReturnValue:
    """A guest's successUrl: the same checks and exactly-once confirm as a member's."""
    order = _guest_order(order_id)
    payment_key = request.args.get("paymentKey", "")
    way = WAYS.get(request.args.get("way", ""))
    if not _PAYMENT_KEY_RE.match(payment_key) or way not in (
        PAY_CARD,
        PAY_FOREIGN_CARD,
    ):
        raise WalletError(_("The payment reply from Toss was incomplete."))
    if browser_navigation() and not request.args.get("sync"):
        return processing_page(order)
    try:
        order = payments.confirm_order(
            order,
            payment_key,
            request.args.get("orderId"),
            request.args.get("amount", type=int),
            way,
        )
    except payments.PaymentMismatchError as exc:
        return _after_mismatch(_guest_order(order_id), exc, guest=True)
    return _after_confirm(order, guest=True)


@bp.get("/guest/<order_id>/fail")
def guest_fail(order_id: str) -> ResponseReturnValue:
    """A guest's failUrl: say what happened; the order stays payable."""
    order = _guest_order(order_id)
    if order.status not in (PENDING, EXPIRED):
        return redirect(url_for("pay.guest_receipt", order_id=order.order_id))
    code = request.args.get("code", "")
    code = code if _CODE_RE.match(code) else ""
    return _checkout_page(order, payments.fail_message(code), guest=True)


@bp.get("/guest/<order_id>/receipt")
def guest_receipt(order_id: str) -> ResponseReturnValue:
    """What the guest paid, and the way back to the shop with the signed result."""
    order = payments.refresh_if_unknown(_guest_order(order_id))
    if order.status == PENDING:
        return redirect(url_for("pay.guest_checkout", order_id=order.order_id))
    return render_template(
        "pay/guest_receipt.html",
        order=order,
        payment=order.payment,
        back_url=wallet_links.return_url_for(order, None),
    )
