"""Payments: confirm exactly once, reconcile unknown outcomes, refunds (contract §4).

The order row is the single-flight guard: a confirm starts only after an atomic
`UPDATE orders SET status='CONFIRMING' WHERE id=? AND status='PENDING'`; whoever loses
that race waits for the winner's outcome and never calls Toss. When Toss's answer is
lost, the payment is looked up and the order settled from Toss's truth; what stays
unknown is settled later by `reconcile` (cron: `flask wallet reconcile`).
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from wallet import labels
from wallet.errors import ConflictError, ForbiddenError, WalletError
from wallet.extensions import db
from wallet.labels import krw
from wallet.models import Member
from wallet.models._types import utcnow
from wallet.models.merchant import Merchant
from wallet.models.order import (
    CANCELED,
    CARD_WAYS,
    CONFIRMING,
    DONE,
    EXPIRED,
    FAILED,
    PARTIAL_CANCELED,
    PAY_AUTOPAY,
    PAY_BRANDPAY,
    PAY_WAYS,
    PENDING,
    UNKNOWN,
    Order,
)
from wallet.models.payment import (
    CANCEL_DONE,
    CANCEL_FAILED,
    CANCEL_PENDING,
    Payment,
    PaymentCancel,
)
from wallet.services import (
    audit,
    checkout_options,
    events,
    orders,
    preapproval,
    toss,
)
from wallet.toss import Payment as TossPayment
from wallet.toss import TossApiError, TossError, TossNotFoundError

log = logging.getLogger(__name__)

PAID_TOSS_STATUSES = frozenset({"DONE", "PARTIAL_CANCELED", "CANCELED"})
OPEN_TOSS_STATUSES = frozenset({"READY", "IN_PROGRESS"})
_POLL_SECONDS = 0.1
_MAX_FAILURE_CODE = 64


def _below_minimum() -> str:
    """contract §9's minimums, written as money is written in the reader's language."""
    return _(
        "The amount is below the minimum for this payment method (card %(card)s, "
        "account %(account)s).",
        card=krw(100),
        account=krw(200),
    )


# failUrl and confirm codes the member can act on (contract §4, §8); anything else
# gets the generic message.
FAIL_MESSAGES = {
    "PAY_PROCESS_CANCELED": _l("You closed the payment window. Nothing was charged."),
    "PAY_PROCESS_ABORTED": _l(
        "The payment was stopped before it finished. Nothing was charged."
    ),
    "REJECT_CARD_COMPANY": _l(
        "Your card company declined the payment. Try another card or account."
    ),
    "REJECT_CARD_PAYMENT": _l(
        "The card payment was declined. Try another card or account."
    ),
    "REJECT_ACCOUNT_PAYMENT": _l(
        "Your bank declined the payment. Try another account or a card."
    ),
    "INVALID_PASSWORD": _l("The payment password was wrong. Please try again."),
    "NOT_FOUND_CUSTOMER": _l(
        "Your BrandPay wallet was not found. Link your wallet again, then pay."
    ),
    "FORBIDDEN_DORMANT_OR_WITHDRAWAL_CUSTOMER": _l(
        "Your BrandPay membership is dormant or was closed. Link your wallet again."
    ),
    "NOT_ALLOWED_BRANDPAY_METHOD": _l(
        "That payment method cannot be used here. Choose another one."
    ),
    "NOT_FOUND_METHOD": _l(
        "That payment method is no longer registered. Choose another one."
    ),
    "NOT_FOUND_METHOD_OWNERSHIP": _l(
        "That payment method is no longer registered. Choose another one."
    ),
    "INVALID_CARD_INFO_RE_REGISTER": _l(
        "Your card details need to be registered again before you can pay with it."
    ),
    "FAILED_CARD_COMPANY": _l(
        "The card company could not process the payment. Try again later."
    ),
    "SUSPECTED_PHISHING_PAYMENT": _l(
        "The payment was blocked as suspicious. Contact your card company."
    ),
    "EXCEED_MAX_DISCOUNT_COUNT": _l(
        "The discount can no longer be used. Try again without it."
    ),
    "DUPLICATED_ORDER_ID": _l("This order was already paid."),
    "BELOW_MINIMUM_AMOUNT": LazyString(lambda: _below_minimum()),
    "NOT_FOUND_PAYMENT_SESSION": _l(
        "The payment session timed out before it was confirmed. Nothing was charged; "
        "please pay again."
    ),
    "FORBIDDEN_CONSECUTIVE_REQUEST": _l(
        "Toss asked us to slow down. Wait a moment and try again."
    ),
    "UPSTREAM_UNAVAILABLE": _l(
        "Toss did not answer. Nothing was charged; please try again."
    ),
    "AMOUNT_MISMATCH": _l(
        "The payment details did not match your order, so we did not take the "
        "payment. Any amount Toss approved has been canceled."
    ),
    "MERCHANT_DECLINED": _l(
        "The shop declined this payment, so it was not taken. Nothing was charged. "
        "Contact the shop if you have questions."
    ),
    "MERCHANT_NO_ANSWER": _l(
        "The shop did not confirm this payment in time, so it was not taken. "
        "Nothing was charged; you can try again."
    ),
    "OPTIONS_MISMATCH": _l(
        "Toss approved the payment with other options (installments or cash "
        "receipt) than you chose, so we did not take it. The amount has been "
        "canceled; please order again."
    ),
}
GENERIC_FAILURE = _l("The payment did not go through. Nothing was charged.")


class PaymentMismatchError(WalletError):
    """The success redirect's amount or orderId differs from the stored order."""

    status = 400
    code = "PAYMENT_MISMATCH"
    default_message = _l(
        "The reply about this payment did not match your order, so nothing was "
        "changed and nothing was charged for it. Your order is still open: you can "
        "pay it below."
    )


class RefundRefusedError(ConflictError):
    """The refund cannot be made (nothing or not that much left, wrong state)."""

    code = "REFUND_REFUSED"


class RefundPendingError(WalletError):
    """Toss's answer to a refund was lost; it is retried by reconcile."""

    status = 202
    code = "REFUND_PENDING"
    default_message = _l(
        "Toss has not confirmed the refund yet. We will check and finish it shortly."
    )


def fail_message(code: str | None) -> str:
    """What to tell the member for a failure code (never Toss's raw text)."""
    message = FAIL_MESSAGES.get(code or "")
    return str(message if message is not None else GENERIC_FAILURE)


def safe_code(code: str | None) -> str | None:
    """A failure code fit to store and show: upper-case letters and underscores."""
    if not code:
        return None
    cleaned = "".join(
        ch for ch in code[:_MAX_FAILURE_CODE] if ch.isalnum() or ch == "_"
    )
    return cleaned.upper() if cleaned and cleaned.isascii() else None


# -- confirm -----------------------------------------------------------------


def confirm(
    member: Member,
    order_id: str,
    payment_key: str,
    redirect_order_id: str | None,
    redirect_amount: int | None,
    way: str = PAY_BRANDPAY,
) -> Order:
    """Handle the successUrl: check, claim, confirm once, settle (contract §4).

    `way` is the window that sent the member here (PAY_WAYS): BrandPay payments are
    confirmed with the BrandPay confirm, card windows with the core confirm (§6.1).
    Returns the order in its resulting state: DONE, PENDING (payable again, with
    `failure_code`), UNKNOWN/CONFIRMING (being checked) or EXPIRED.
    """
    order = orders.get_for_member(member, order_id)
    return confirm_order(order, payment_key, redirect_order_id, redirect_amount, way)


def confirm_order(
    order: Order,
    payment_key: str,
    redirect_order_id: str | None,
    redirect_amount: int | None,
    way: str,
) -> Order:
    """The successUrl of an order already found for its payer (member or guest)."""
    if way not in PAY_WAYS or (way == PAY_BRANDPAY and order.member is None):
        raise WalletError(_("The payment reply from Toss was incomplete."))
    # contract §4: never trust the redirect's amount; compare with the stored order.
    if redirect_order_id != order.order_id or redirect_amount != order.amount:
        return _refuse_mismatch(order, payment_key, order.member)
    if order.status != PENDING:
        return _await_outcome(order)
    if not _claim(order, payment_key, way):
        return _await_outcome(order)
    return _confirm_claimed(order)


def _claim(order: Order, payment_key: str, way: str) -> bool:
    """Atomically take the order for one confirm; False when another request has it."""
    now = utcnow()
    claimed = db.session.execute(
        update(Order)
        .where(Order.id == order.id, Order.status == PENDING)
        .values(
            status=CONFIRMING,
            confirm_attempts=Order.confirm_attempts + 1,
            confirm_started_at=now,
            confirm_payment_key=payment_key,
            pay_way=way,
            failure_code=None,
            preapproval=None,  # issue 15: the merchant's hook is asked per attempt
            preapproval_reason=None,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        db.session.rollback()
        return False
    db.session.refresh(order)
    events.order_changed(order)
    db.session.commit()
    return True


def _await_outcome(order: Order) -> Order:
    """A duplicate redirect: wait (bounded) for the winner's outcome, never call Toss."""
    deadline = time.monotonic() + float(current_app.config["CONFIRM_WAIT_SECONDS"])
    while True:
        db.session.rollback()  # end any snapshot, so the next read sees new commits
        db.session.refresh(order)
        if order.status != CONFIRMING or time.monotonic() >= deadline:
            return order
        time.sleep(_POLL_SECONDS)


def _confirm_claimed(order: Order) -> Order:
    refusal = preapproval.gate(order)  # issue 15: the merchant's yes comes first
    if refusal == preapproval.DECLINED_CODE:
        _finish(order, FAILED, failure_code=refusal)
        return order
    if refusal is not None:
        _reopen(order, refusal)  # nothing was sent to Toss: payable again
        return order
    payment_key = order.confirm_payment_key or ""
    try:
        if order.pay_way in CARD_WAYS:
            # contract §6.1: standard and international windows, the core confirm.
            truth = toss().confirm_card_payment(
                payment_key,
                order.order_id,
                order.amount,
                idempotency_key=order.confirm_idempotency_key(),
            )
        else:
            customer_key = order.member.customer_key if order.member else ""
            truth = toss().confirm_payment(
                payment_key,
                order.order_id,
                order.amount,
                customer_key,
                idempotency_key=order.confirm_idempotency_key(),
            )
    except (TossError, ValueError) as exc:
        return _after_confirm_error(order, exc)
    return _settle(order, truth)


def _after_confirm_error(order: Order, exc: Exception) -> Order:
    """The confirm failed or its answer was lost: decide from Toss's truth."""
    unknown = isinstance(exc, TossError) and exc.outcome_unknown
    code = exc.code if isinstance(exc, TossApiError) else "UPSTREAM_UNAVAILABLE"
    log.warning("confirm of %s failed: %r", order.order_id, exc)
    found, truth = _lookup(order)
    if truth is not None and truth.status in PAID_TOSS_STATUSES:
        return _settle(order, truth)  # e.g. ALREADY_PROCESSED, or the answer was lost
    still_open = truth is not None and truth.status in OPEN_TOSS_STATUSES
    if unknown and (not found or still_open):
        # Toss may have acted, or may still be acting: settle it later, never guess.
        _finish(order, UNKNOWN)
    else:
        _reopen(order, code)  # Toss refused: nothing was charged
    return order


def _lookup(order: Order) -> tuple[bool, TossPayment | None]:
    """(looked up?, payment) for the order's claimed paymentKey; an autopay charge has
    no paymentKey before Toss answers, so it is looked up by its orderId (§4)."""
    key = order.confirm_payment_key
    if not key and order.pay_way != PAY_AUTOPAY:
        return True, None
    try:
        if key:
            truth = toss().get_payment(key)
        else:
            truth = toss().get_payment_by_order(order.order_id)
    except TossNotFoundError:
        return True, None
    except (TossError, ValueError) as exc:
        log.warning("lookup of %s failed: %r", order.order_id, exc)
        return False, None
    if truth.order_id != order.order_id:
        return True, None  # a key for another order is no truth about this one
    return True, truth


def _settle(order: Order, truth: TossPayment) -> Order:
    """Record Toss's paid truth for the order, or refuse it when it does not match."""
    if truth.order_id != order.order_id or truth.total_amount != order.amount:
        log.error("Toss payment for %s does not match the order", order.order_id)
        _cancel_mismatched(order, truth)
        _finish(order, FAILED, failure_code="AMOUNT_MISMATCH")
        return order
    why = checkout_options.mismatch(order, truth)
    if why is not None:
        # Issue 15: Toss charged with other options than the member chose (or than
        # Toss allows: installments under 50,000 KRW). Not recorded as paid: the
        # money goes back at once, with the reason, and the order says why.
        log.error("Toss payment for %s: options differ (%s)", order.order_id, why)
        _cancel_mismatched(
            order, truth, "Payment options did not match the order: " + why
        )
        _finish(order, FAILED, failure_code="OPTIONS_MISMATCH")
        audit.record(
            "toss", "payment.options_mismatch", f"order:{order.order_id}", reason=why
        )
        return order
    try:
        apply_truth(order, truth)
        db.session.commit()
    except SQLAlchemyError:
        # Confirmed at Toss but not recorded here (a crash, a lost connection): the
        # order stays CONFIRMING and `reconcile` records it from Toss's truth.
        db.session.rollback()
        log.exception("could not record the confirmed payment of %s", order.order_id)
        db.session.refresh(order)
        return order
    audit.record(
        "toss",
        "payment.confirmed",
        f"order:{order.order_id}",
        amount=order.amount,
        status=order.status,
    )
    preapproval.after_recorded(order)  # a late "no" while the confirm was in flight
    return order


def _finish(order: Order, status: str, **fields: object) -> None:
    orders.move(order, status, **fields)
    db.session.commit()
    db.session.refresh(order)


# The exactly-once core, for the other ways in (services/mandates.py: autopay).
lookup = _lookup
settle = _settle
finish = _finish


def _reopen(order: Order, code: str | None) -> None:
    """Nothing was charged: the order is payable again (or expired by now)."""
    target = EXPIRED if order.is_past_expiry() else PENDING
    _finish(order, target, failure_code=safe_code(code))


def _refuse_mismatch(order: Order, payment_key: str, member: Member | None) -> Order:
    """A redirect whose orderId or amount differ from the order (issue 13 L2).

    Any page can send a member's browser to a successUrl with made-up parameters, so
    the redirect alone never changes the order: only Toss's own truth about *this*
    order can (looked up by the paymentKey, as a webhook would be), and then exactly
    as that truth says (paid at the order's amount → DONE; paid at another amount →
    refunded and FAILED, see _settle). Otherwise the order stays as it was, payable,
    and PaymentMismatchError tells the member.
    """
    truth = None
    if order.status == PENDING:  # a confirm in flight or a settled order: untouched
        try:
            truth = toss().get_payment(payment_key)
        except (TossError, ValueError):
            truth = None
    moved = (
        truth is not None
        and truth.order_id == order.order_id
        and truth.status in PAID_TOSS_STATUSES
    )
    if moved:
        _settle(order, truth)  # type: ignore[arg-type]
    audit.record(
        member.email if member is not None else "guest",
        "payment.mismatch",
        f"order:{order.order_id}",
        order_moved=moved,
        status=order.status,
    )
    if moved:
        return order
    raise PaymentMismatchError()


def _cancel_mismatched(
    order: Order,
    truth: TossPayment,
    reason: str = "Payment details did not match the order",
) -> None:
    """Give back money Toss took for a payment whose details did not match."""
    if truth.status not in ("DONE", "PARTIAL_CANCELED") or truth.balance_amount <= 0:
        return
    try:
        toss().cancel_payment(
            truth.payment_key,
            reason[:200],
            idempotency_key=f"mismatch-{order.order_id}-{truth.payment_key}"[:300],
        )
    except TossError as exc:
        log.error("could not cancel mismatched payment of %s: %r", order.order_id, exc)


# -- Toss's truth --------------------------------------------------------------


def apply_truth(order: Order, truth: TossPayment) -> bool:
    """Bring order and payment in line with Toss's paid payment; no commit.

    Locks the order row so a webhook and a confirm cannot both insert the payment.
    Returns whether anything changed. Refunds still in flight are left to their own
    request (or reconcile): their effect is only booked with Toss's answer to them.
    """
    order = orders.lock(Order, order.id)
    payment = db.session.scalar(select(Payment).where(Payment.order_pk == order.id))
    changed = False
    if payment is None:
        payment = Payment(
            order_pk=order.id,
            payment_key=truth.payment_key,
            status="DONE",
            method=truth.method,
            card_number=_card_number(truth),
            total_amount=truth.total_amount,
            balance_amount=truth.total_amount,
            refund_reserved=0,
            approved_at=truth.approved_at,
            receipt_url=_receipt_url(truth),
            last_transaction_key=truth.last_transaction_key,
            **receipt_fields(truth),
        )
        db.session.add(payment)
        db.session.flush()
        changed = True
    elif payment.payment_key != truth.payment_key:
        log.error("order %s: Toss reports a second payment", order.order_id)
        return False
    if order.status in (PENDING, CONFIRMING, UNKNOWN):
        changed |= orders.move(order, DONE, failure_code=None)
    payment = orders.lock(Payment, payment.id)
    changed |= _book_external_cancels(order, payment, truth)
    receipt_url = _receipt_url(truth)
    if receipt_url and payment.receipt_url != receipt_url:
        payment.receipt_url = receipt_url
    return changed


def _receipt_url(truth: TossPayment) -> str | None:
    """Toss's receipt link, only if it is an http(s) URL (it becomes an href)."""
    url = truth.receipt_url
    if url and url.startswith(("https://", "http://")) and len(url) <= 500:
        return url
    return None


def _short(value: object, size: int) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text[:size] if text and text.isprintable() else None


def receipt_fields(truth: TossPayment) -> dict[str, object]:
    """What the receipt keeps from Toss's Payment (contract §4); absent: None."""
    card, transfer = truth.card_details, truth.transfer
    return {
        "approve_no": _short(card.approve_no if card else None, 32),
        "card_type": _short(card.card_type if card else None, 10),
        "issuer_code": _short(card.issuer_code if card else None, 8),
        "bank_code": _short(transfer.bank_code if transfer else None, 8),
        "supplied_amount": truth.supplied_amount,
        "vat": truth.vat,
        **checkout_options.reported(truth),
    }


def _card_number(truth: TossPayment) -> str | None:
    number = truth.card.get("number") if truth.card else None
    return str(number)[:32] if number else None


def _book_external_cancels(order: Order, payment: Payment, truth: TossPayment) -> bool:
    """Record cancels Toss has that we did not request (e.g. in Toss's console)."""
    if any(c.status == CANCEL_PENDING for c in payment.cancels):
        return False  # ours in flight: their answer books them, exactly
    known = {c.transaction_key for c in payment.cancels if c.transaction_key}
    changed = False
    for item in truth.cancels:
        if item.cancel_status not in (None, "DONE") or item.transaction_key in known:
            continue
        if item.cancel_amount > payment.balance_amount:
            log.error("order %s: Toss cancel exceeds our balance", order.order_id)
            continue
        db.session.add(
            PaymentCancel(
                payment_id=payment.id,
                amount=item.cancel_amount,
                reason=(item.cancel_reason or "Canceled at Toss")[:200],
                actor="toss",
                status=CANCEL_DONE,
                transaction_key=item.transaction_key,
                canceled_at=item.canceled_at or utcnow(),
            )
        )
        payment.balance_amount -= item.cancel_amount
        changed = True
    if changed:
        _update_paid_status(order, payment)
    return changed


def _update_paid_status(order: Order, payment: Payment) -> None:
    status = CANCELED if payment.balance_amount == 0 else PARTIAL_CANCELED
    payment.status = status
    if not orders.move(order, status):
        # A second partial refund keeps the status but changes what was refunded;
        # listeners (the merchant outbox) still need to hear about it.
        events.order_changed(order)


# -- reconcile -----------------------------------------------------------------


@dataclass
class ReconcileSummary:
    """What one reconcile run found and did."""

    checked: int = 0
    done: int = 0
    reopened: int = 0
    still_unknown: int = 0
    refunds_checked: int = 0
    refunds_settled: int = 0
    refunds_failed: int = 0
    details: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """Human-readable summary lines."""
        return [
            f"orders checked: {self.checked}, done: {self.done}, "
            f"reopened: {self.reopened}, still unknown: {self.still_unknown}",
            f"refunds checked: {self.refunds_checked}, settled: "
            f"{self.refunds_settled}, failed: {self.refunds_failed}",
        ]


def reconcile(min_age: float = 60.0) -> ReconcileSummary:
    """Settle every UNKNOWN order, every CONFIRMING one older than `min_age` seconds
    and every refund left pending, from Toss's truth. Safe to run again and again."""
    summary = ReconcileSummary()
    cutoff = utcnow() - timedelta(seconds=min_age)
    stuck = db.session.scalars(
        select(Order.id)
        .where(
            or_(
                Order.status == UNKNOWN,
                and_(Order.status == CONFIRMING, Order.confirm_started_at <= cutoff),
            )
        )
        .order_by(Order.id)
    ).all()
    for pk in stuck:
        order = db.session.get(Order, pk)
        if order is None:
            continue
        summary.checked += 1
        result = reconcile_order(order)
        summary.done += result == DONE
        summary.reopened += result in (PENDING, EXPIRED)
        summary.still_unknown += result in (UNKNOWN, CONFIRMING)
        summary.details.append(f"{order.order_id}: {result}")
    pending = db.session.scalars(
        select(PaymentCancel.id)
        .where(
            PaymentCancel.status == CANCEL_PENDING, PaymentCancel.created_at <= cutoff
        )
        .order_by(PaymentCancel.id)
    ).all()
    for pk in pending:
        summary.refunds_checked += 1
        try:
            cancel = _send_cancel(pk)
        except RefundRefusedError:
            summary.refunds_failed += 1
            continue
        except RefundPendingError:
            continue
        summary.refunds_settled += cancel.status == CANCEL_DONE
    return summary


def reconcile_order(order: Order) -> str:
    """Settle one unsettled order from Toss's truth; returns its resulting status."""
    if order.status not in (CONFIRMING, UNKNOWN):
        return order.status
    found, truth = _lookup(order)
    if not found:
        _finish(order, UNKNOWN)
        return order.status
    if truth is not None and truth.status in PAID_TOSS_STATUSES:
        return _settle(order, truth).status
    if order.pay_way == PAY_AUTOPAY:
        # Toss has no charge for this orderId: nothing was charged, and the mandate's
        # period gets its charge back (an autopay is DONE at once or not at all).
        from wallet.services import mandates

        mandates.fail_charge(order, truth.failure_code if truth is not None else None)
        return order.status
    if truth is not None and truth.status in OPEN_TOSS_STATUSES and _confirmable(order):
        # Authorized but not confirmed (or the confirm is still in flight): send the
        # same attempt again under the same Idempotency-Key; Toss replays or acts once.
        return _confirm_claimed(order).status
    _reopen(order, truth.failure_code if truth is not None else None)
    return order.status


def _confirmable(order: Order) -> bool:
    """A card window needs only the order; BrandPay also the member's customerKey."""
    return order.pay_way in CARD_WAYS or order.member is not None


def record_decline(member: Member, order_id: str, code: str | None) -> Order:
    """Toss's failUrl came back for the member's unpaid order: keep the attempt's
    code on it, so history lists it as declined (issue 14) and the checkout says why.

    The order stays payable. Only the code is kept, cleaned (`safe_code`): the rest of
    a failUrl query is whatever the browser sent, and Toss's message is never shown.
    """
    order = orders.get_for_member(member, order_id)
    cleaned = safe_code(code)
    if order.status != PENDING or cleaned is None or order.failure_code == cleaned:
        return order
    # Only while still PENDING: a confirm that won meanwhile is not overwritten.
    db.session.execute(
        update(Order)
        .where(Order.id == order.id, Order.status == PENDING)
        .values(failure_code=cleaned)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    db.session.refresh(order)
    audit.record(member.email, "payment.declined", order.order_id, code=cleaned)
    return order


def refresh_if_unknown(order: Order) -> Order:
    """On viewing an UNKNOWN order, try once to settle it (best effort)."""
    if order.status == UNKNOWN:
        reconcile_order(order)
    return order


# -- refunds -------------------------------------------------------------------


def refund(order: Order, amount: int | None, reason: str, actor: str) -> PaymentCancel:
    """Refund `amount` (None = all that remains) of the order's payment, with a reason.

    The amount is reserved with a guarded UPDATE before Toss is called, so concurrent
    refunds can never together exceed what remains; a refused refund releases it.
    """
    reason = (reason or "").strip()
    if not reason or len(reason) > 200:
        raise RefundRefusedError(_("Give a reason of 1 to 200 characters."))
    if amount is not None and (
        isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0
    ):
        raise RefundRefusedError(
            _("The refund amount must be a positive whole number.")
        )
    payment = db.session.scalar(select(Payment).where(Payment.order_pk == order.id))
    if payment is None:
        raise RefundRefusedError(_("This order has no payment to refund."))
    payment = orders.lock(Payment, payment.id)  # FOR UPDATE on PostgreSQL
    if payment.status not in (DONE, PARTIAL_CANCELED):
        db.session.rollback()
        raise RefundRefusedError(_("This payment can no longer be refunded."))
    wanted = payment.refundable if amount is None else amount
    if wanted <= 0:
        db.session.rollback()
        raise RefundRefusedError(_("Nothing is left to refund."))
    reserved = db.session.execute(
        update(Payment)
        .where(
            Payment.id == payment.id,
            Payment.balance_amount - Payment.refund_reserved >= wanted,
        )
        .values(refund_reserved=Payment.refund_reserved + wanted)
        .execution_options(synchronize_session=False)
    )
    if reserved.rowcount != 1:
        db.session.rollback()
        db.session.refresh(payment)
        raise RefundRefusedError(
            _(
                "At most %(amount)s can be refunded now.",
                amount=krw(max(payment.refundable, 0)),
            )
        )
    cancel = PaymentCancel(
        payment_id=payment.id,
        amount=wanted,
        reason=reason,
        actor=actor[:120],
        status=CANCEL_PENDING,
        idempotency_key=f"refund-{order.order_id}-{uuid.uuid4().hex}",
    )
    db.session.add(cancel)
    db.session.commit()
    return _send_cancel(cancel.id)


def _send_cancel(cancel_pk: int) -> PaymentCancel:
    """POST the cancel under its own Idempotency-Key and book Toss's answer."""
    cancel = db.session.get(PaymentCancel, cancel_pk)
    if cancel is None or cancel.status != CANCEL_PENDING:
        raise RefundRefusedError()
    payment = cancel.payment
    try:
        truth = toss().cancel_payment(
            payment.payment_key,
            cancel.reason,
            amount=cancel.amount,
            idempotency_key=cancel.idempotency_key or "",
        )
    except TossError as exc:
        if exc.outcome_unknown:
            # Keep it reserved and PENDING: reconcile re-sends under the same key.
            log.warning("refund %s outcome unknown: %r", cancel.id, exc)
            raise RefundPendingError() from None
        code = exc.code if isinstance(exc, TossApiError) else "UPSTREAM_UNAVAILABLE"
        _close_cancel(cancel.id, None, failure_code=code)
        audit.record(
            cancel.actor,
            "payment.refund_failed",
            f"order:{payment.order.order_id}",
            amount=cancel.amount,
            code=code,
        )
        raise RefundRefusedError(
            _("Toss refused the refund (%(code)s). Nothing was refunded.", code=code)
        ) from None
    cancel = _close_cancel(cancel.id, truth)
    audit.record(
        cancel.actor,
        "payment.refunded",
        f"order:{payment.order.order_id}",
        amount=cancel.amount,
        reason=cancel.reason,
        balance=payment.balance_amount,
    )
    return cancel


def _close_cancel(
    cancel_pk: int, truth: TossPayment | None, failure_code: str | None = None
) -> PaymentCancel:
    """Book a refund's outcome and release its reservation, under the payment lock."""
    cancel = db.session.get(PaymentCancel, cancel_pk)
    assert cancel is not None  # noqa: S101 - it was read a moment ago
    # Lock order, then payment, then cancel: the same order as apply_truth, so a
    # webhook and a refund cannot deadlock on PostgreSQL.
    order = orders.lock(Order, cancel.payment.order_pk)
    payment = orders.lock(Payment, cancel.payment_id)
    cancel = orders.lock(PaymentCancel, cancel.id)
    if cancel.status != CANCEL_PENDING:
        db.session.rollback()
        return cancel
    payment.refund_reserved -= cancel.amount
    if truth is None:
        cancel.status = CANCEL_FAILED
        cancel.failure_code = safe_code(failure_code)
    else:
        item = next(
            (
                c
                for c in truth.cancels
                if c.transaction_key == truth.last_transaction_key
            ),
            None,
        )
        cancel.status = CANCEL_DONE
        cancel.transaction_key = item.transaction_key if item else None
        cancel.canceled_at = (item.canceled_at if item else None) or utcnow()
        payment.balance_amount -= cancel.amount
        payment.last_transaction_key = truth.last_transaction_key
        _update_paid_status(order, payment)
    db.session.commit()
    return cancel


def member_cancel(member: Member, order_id: str) -> PaymentCancel:
    """A member cancels their own fully paid payment within the allowed days."""
    order = orders.get_for_member(member, order_id)
    if not can_member_cancel(order):
        if order.merchant_id is not None:
            # Issue 13 M1: a shop's order is refunded by the shop (or an admin).
            raise ForbiddenError(
                _(
                    "The shop refunds its own orders. Ask the shop for a refund on "
                    "the receipt."
                )
            )
        raise ForbiddenError(
            _(
                "This payment can no longer be canceled here. Contact support for a "
                "refund."
            )
        )
    return refund(order, None, labels.MEMBER_CANCEL_REASON, member.email)


def member_cancel_days(order: Order) -> int | None:
    """How many days the member may cancel this order alone; None: never.

    The member's own orders: MEMBER_CANCEL_DAYS. A merchant's: only if the merchant
    opted in (Merchant.member_cancel_days); otherwise the member asks for a refund.
    """
    if order.merchant_id is None:
        return int(current_app.config["MEMBER_CANCEL_DAYS"])
    merchant = db.session.get(Merchant, order.merchant_id)
    return merchant.member_cancel_days if merchant is not None else None


def member_cancel_deadline(order: Order) -> datetime | None:
    """Until when the member may cancel this payment alone; None: not at all (same
    policy as can_member_cancel, so the receipt never promises what is refused)."""
    payment = order.payment
    if order.status != DONE or payment is None or payment.refund_reserved:
        return None
    days = member_cancel_days(order)
    if days is None:
        return None
    approved = min(t for t in (payment.approved_at, payment.created_at) if t)
    return approved + timedelta(days=days)


def can_member_cancel(order: Order, now: datetime | None = None) -> bool:
    """Policy: a DONE payment with nothing refunded yet, within the allowed days."""
    # The earlier of Toss's approval time and our own record of it: neither a Toss
    # clock running ahead nor a late reconcile stretches the window.
    deadline = member_cancel_deadline(order)
    return deadline is not None and (now or utcnow()) <= deadline
