"""Pay: new test orders, BrandPay checkout, success/fail redirects, history, receipts."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from wallet.errors import WalletError, wants_json
from wallet.forms import ConfirmForm
from wallet.labels import krw
from wallet.models.order import (
    CANCELED,
    CONFIRMING,
    DONE,
    EXPIRED,
    FAILED,
    MAX_AMOUNT,
    MAX_ORDER_NAME,
    MIN_AMOUNT,
    PARTIAL_CANCELED,
    PAY_BRANDPAY,
    PAY_CARD,
    PAY_FOREIGN_CARD,
    PENDING,
    UNKNOWN,
    Order,
)
from wallet.models.refund_request import MAX_REASON
from wallet.services import (
    checkout_options,
    order_list,
    orders,
    payments,
    receipts,
    refund_requests,
    wallet_links,
)
from wallet.services.order_list import ListedOrder
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


class CheckoutOptionsForm(FlaskForm):
    """The checkout's options (issue 15), checked by services/checkout_options."""

    installment = StringField(_l("Installments"))
    card_point = BooleanField(_l("Use card points"))
    cash_receipt = StringField(_l("Cash receipt"))
    cash_receipt_number_type = StringField(_l("Number type"))
    cash_receipt_number = StringField(_l("Number"))


def _amount_range() -> str:
    return _(
        "Enter between %(min)s and %(max)s (card payments start at %(card)s, "
        "account payments at %(account)s).",
        min=krw(MIN_AMOUNT),
        max=krw(MAX_AMOUNT),
        card=krw(100),
        account=krw(200),
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
                # Formatted when shown, in the reader's language (12,300원 / ₩12,300).
                message=LazyString(lambda: _amount_range()),
            ),
        ],
    )


@bp.app_context_processor
def _recent_payments() -> dict[str, Any]:
    """`recent_payments()` for the wallet home's block (queried only when used)."""

    def recent_payments() -> list[ListedOrder]:
        if not current_user.is_authenticated:
            return []
        return list(order_list.listed(member=current_user, limit=RECENT_COUNT).orders)

    return {"recent_payments": recent_payments}


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new() -> ResponseReturnValue:
    """Create a test order on the server, then go to its checkout."""
    form = NewPaymentForm()
    if request.method == "GET":  # "Pay again" from history: the same name and amount
        form.order_name.data = request.args.get("order_name", "")[:MAX_ORDER_NAME]
        form.amount.data = request.args.get("amount", type=int)
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
    order: Order,
    error: str | None = None,
    status: int = 200,
    guest: bool = False,
) -> ResponseReturnValue:
    prefix = "pay.guest_" if guest else "pay."
    ways = [w for w in WAYS if not (guest and w == "brandpay")]  # BrandPay: members
    # One URL built, each button's way written at its end (issue 16: a url_for each).
    success, _way, _ = public_url_for(
        prefix + "success", order_id=order.order_id, way="WAY"
    ).rpartition("WAY")
    return render_template(
        "pay/checkout.html",
        order=order,
        error=error,
        guest=guest,
        number_types=checkout_options.NUMBER_TYPES,
        installment_months=[m for m in checkout_options.INSTALLMENT_MONTHS if m],
        installment_minimum=checkout_options.INSTALLMENT_MINIMUM,
        success_urls={way: success + way for way in ways},
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


@bp.post("/orders/<order_id>/options")
@login_required
def options(order_id: str) -> ResponseReturnValue:
    """Store the member's checkout options before the SDK call (issue 15).

    The checkout's script posts the form (JSON answer: what requestPayment gets); a
    refusal stores nothing and says which field is wrong.
    """
    form = CheckoutOptionsForm()
    order = orders.get_for_member(current_user, order_id)
    try:
        if not form.validate_on_submit():
            raise WalletError(_("Your form expired. Reload the page and try again."))
        raw = (form.installment.data or "0").strip()
        if not raw.isdigit() or len(raw) > 2:
            raise checkout_options.CheckoutOptionsError(
                _("Choose a lump sum or 2 to 12 months."), "installment"
            )
        receipt = checkout_options.parse_cash_receipt(
            form.cash_receipt.data,
            form.cash_receipt_number_type.data,
            form.cash_receipt_number.data,
        )
        order = checkout_options.choose(
            current_user, order_id, int(raw), bool(form.card_point.data), receipt
        )
    except WalletError as exc:
        if exc.status == 404:
            raise
        if wants_json(request):
            field = getattr(exc, "field", None)
            body = {"code": exc.code, "message": exc.message, "field": field}
            return jsonify(error=body), exc.status
        return _checkout_page(order, exc.message, exc.status)
    if wants_json(request):
        return jsonify(ok=True, options=checkout_options.sdk_options(order, receipt))
    return redirect(url_for("pay.checkout", order_id=order.order_id), code=303)


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
        if order.merchant_id is not None and not guest:
            # Issue 14: a shop's order goes back to the shop by itself (static/js/return.js).
            return redirect(
                url_for("pay.receipt", order_id=order.order_id, back="auto"), code=303
            )
    receipt = "pay.guest_receipt" if guest else "pay.receipt"
    return redirect(url_for(receipt, order_id=order.order_id), code=303)


@bp.get("/orders/<order_id>/fail")
@login_required
def fail(order_id: str) -> ResponseReturnValue:
    """Toss's failUrl: say what happened; the order stays payable."""
    code = request.args.get("code", "")
    code = code if _CODE_RE.match(code) else ""
    # Kept on the order (issue 14): history lists the declined attempt with a retry.
    order = payments.record_decline(current_user, order_id, code)
    if order.status not in (PENDING, EXPIRED):
        return redirect(url_for("pay.receipt", order_id=order.order_id))
    # Toss's own message is not shown: the failUrl query is whatever the browser sent.
    return _checkout_page(order, payments.fail_message(code))


@bp.get("/orders/<order_id>/receipt")
@login_required
def receipt(order_id: str) -> ResponseReturnValue:
    """The order's outcome, cancels and Toss's receipt link."""
    order = payments.refresh_if_unknown(
        orders.get_for_member(current_user, order_id, with_payment=True)
    )
    if order.status == PENDING:
        return redirect(url_for("pay.checkout", order_id=order.order_id))
    return _receipt_page(
        order, RefundRequestForm(formdata=None), auto_return=request.args.get("back")
    )


def _receipt_page(
    order: Order,
    request_form: RefundRequestForm,
    status: int = 200,
    auto_return: str | None = None,
) -> ResponseReturnValue:
    shop_return = wallet_links.shop_return_for(order, current_user)
    return render_template(
        "pay/receipt.html",
        order=order,
        shop_return=shop_return,
        auto_return=auto_return == "auto" and shop_return is not None,
        payment=order.payment,
        can_cancel=payments.can_member_cancel(order),
        cancel_days=payments.member_cancel_days(order),
        cancel_deadline=payments.member_cancel_deadline(order),
        refund_timings=receipts.refund_timings(order.payment),
        refund_request=refund_requests.latest_for_order(order)
        if order.merchant_id is not None
        else None,
        can_request_refund=refund_requests.can_request(order),
        request_form=request_form,
        failure=payments.fail_message(order.failure_code)
        if order.failure_code
        else None,
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


# The history's status filter: (value, label, order statuses, declined only).
HISTORY_STATUS_CHOICES = (
    ("paid", _l("Paid"), (DONE, PARTIAL_CANCELED), False),
    ("refunded", _l("Refunded (all or part)"), (PARTIAL_CANCELED, CANCELED), False),
    ("unpaid", _l("Awaiting payment"), (PENDING,), False),
    ("declined", _l("Declined"), (PENDING, EXPIRED, FAILED), True),
    ("failed", _l("Stopped"), (FAILED,), False),
    ("expired", _l("Expired"), (EXPIRED,), False),
    ("checking", _l("Being checked"), (CONFIRMING, UNKNOWN), False),
)
_MAX_DATE_SPAN = timedelta(days=366 * 5)


class HistoryFilter:
    """The history's filters from the query string; anything malformed is ignored
    (a filter link that went stale shows everything rather than an error)."""

    def __init__(self, args: Any) -> None:
        self.status = args.get("status", "")
        if self.status not in {c[0] for c in HISTORY_STATUS_CHOICES}:
            self.status = ""
        self.shop = args.get("shop", "")
        if not (self.shop == "direct" or (self.shop.isdigit() and len(self.shop) < 10)):
            self.shop = ""
        self.since = _kst_day(args.get("from"))
        self.until = _kst_day(args.get("to"))
        if self.since and self.until and self.until < self.since:
            self.since, self.until = self.until, self.since

    @property
    def active(self) -> bool:
        """Whether any filter is set."""
        return bool(self.status or self.shop or self.since or self.until)

    def args(self) -> dict[str, str]:
        """The filters as query arguments, for the next page's link."""
        found = {
            "status": self.status,
            "shop": self.shop,
            "from": self.since.isoformat() if self.since else "",
            "to": self.until.isoformat() if self.until else "",
        }
        return {k: v for k, v in found.items() if v}

    def query(self) -> dict[str, Any]:
        """Keyword arguments for orders.page."""
        kwargs: dict[str, Any] = {"statuses": orders.MEMBER_HISTORY_STATUSES}
        for value, _label, statuses, declined in HISTORY_STATUS_CHOICES:
            if value == self.status:
                kwargs.update(statuses=statuses, declined_only=declined)
        if self.shop == "direct":
            kwargs["direct_only"] = True
        elif self.shop:
            kwargs["merchant_id"] = int(self.shop)
        # Days are Korea's days: 2026-12-02 runs from 00:00 KST (15:00 UTC the day before).
        if self.since:
            kwargs["since"] = datetime.combine(self.since, time(), _KST)
        if self.until:
            kwargs["before"] = datetime.combine(
                self.until + timedelta(days=1), time(), _KST
            )
        return kwargs


_KST = ZoneInfo("Asia/Seoul")


def _kst_day(value: str | None) -> date | None:
    try:
        day = date.fromisoformat(value or "")
    except ValueError:
        return None
    today = datetime.now(_KST).date()
    return day if abs(today - day) <= _MAX_DATE_SPAN else None


@bp.get("/history")
@login_required
def history() -> ResponseReturnValue:
    """The member's payments, newest first, one keyset page at a time."""
    filters = HistoryFilter(request.args)
    result = order_list.listed(
        member=current_user,
        cursor=request.args.get("after"),
        limit=HISTORY_PAGE_SIZE,
        **filters.query(),
    )
    return render_template(
        "pay/history.html",
        page=result,
        first=not request.args.get("after"),
        filters=filters,
        shops=orders.merchants_of_member(current_user.id),
        status_choices=HISTORY_STATUS_CHOICES,
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
