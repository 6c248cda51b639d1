"""Receipts by mail: payment approved, refund done, BrandPay withdrawal done.

Listeners of `services.events`: they run inside the transaction that changes the order
or the link and only add mail rows to it (wallet/services/mail.py), so a receipt is
sent if and only if the change committed. Orders without a member (a merchant's order
nobody has paid through a wallet link yet, a guest) get no mail.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from wallet.extensions import db
from wallet.models import Member
from wallet.models._types import utcnow
from wallet.models.merchant import Merchant
from wallet.models.order import CANCELED, DONE, PARTIAL_CANCELED, Order
from wallet.models.payment import CANCEL_DONE, Payment, PaymentCancel
from wallet.services import events, mail

PAYMENT_APPROVED = mail.register_kind(
    "payment_approved", _l("Payment approved: %(order_name)s")
)
REFUND_DONE = mail.register_kind("refund_done", _l("Refund: %(order_name)s"))
BRANDPAY_WITHDRAWN = mail.register_kind(
    "brandpay_withdrawn", _l("You have left BrandPay")
)

# Toss's refund policy (payment notes, 환불정책): when the money is back, by method.
CARD = "카드"  # contract §4: Payment.method is Korean
TRANSFER = "계좌이체"
VIRTUAL_ACCOUNT = "가상계좌"


def refund_timing(method: str | None, *, full: bool, same_day: bool) -> str:
    """Which of Toss's refund-timing rules applies, as a code the templates explain.

    Cards: a full cancel on the day of payment is immediate (check cards: that day); a
    partial cancel, even on the same day, goes through acquisition first, 3–4
    business days (check cards: up to about 10 days); a full cancel on a later day:
    3–4 business days for credit cards, the same day for check cards. Transfers come
    back at once; virtual accounts after two business days.
    """
    if method == CARD:
        if not full:
            return "card_partial"
        return "card_full_same_day" if same_day else "card_full_later"
    if method == TRANSFER:
        return "transfer"
    if method == VIRTUAL_ACCOUNT:
        return "virtual_account"
    return "other"


def refund_timings(payment: Payment | None) -> dict[int, str]:
    """The refund-timing rule of each refund of a payment, by PaymentCancel id: what
    the receipt page says under each refund (the same rules as the refund mail)."""
    if payment is None:
        return {}
    approved = payment.approved_at or payment.created_at
    timings = {}
    for cancel in payment.cancels:
        when = cancel.canceled_at or cancel.created_at or utcnow()
        timings[cancel.id] = refund_timing(
            payment.method,
            full=cancel.amount == payment.total_amount,
            same_day=approved is not None and _kst_date(approved) == _kst_date(when),
        )
    return timings


def _kst_date(moment: datetime) -> Any:
    from zoneinfo import ZoneInfo

    return moment.astimezone(ZoneInfo("Asia/Seoul")).date()


def _member(order: Order) -> Member | None:
    if order.member_id is None:
        return None
    return db.session.get(Member, order.member_id)


def _merchant_name(order: Order) -> str | None:
    if order.merchant_id is None:
        return None
    merchant = db.session.get(Merchant, order.merchant_id)
    return merchant.name if merchant is not None else None


@events.on_order_changed
def mail_receipts(order: Any) -> None:
    """Listener: a member's order was paid → receipt; refunded → refund mail."""
    if order.status not in (DONE, PARTIAL_CANCELED, CANCELED):
        return
    member = _member(order)
    if member is None:
        return
    payment = db.session.scalar(select(Payment).where(Payment.order_pk == order.id))
    if payment is None:
        return
    if order.status == DONE:
        _payment_approved(member, order, payment)
    else:
        _refunds_done(member, order, payment)


def _payment_approved(member: Member, order: Order, payment: Payment) -> None:
    key = f"payment_approved:{order.id}"
    if mail.already_queued(key):
        return
    mail.enqueue(
        member,
        PAYMENT_APPROVED.name,
        dedupe_key=key,
        order_id=order.order_id,
        order_name=order.order_name,
        amount=payment.total_amount,
        method=payment.method,
        card_number=payment.card_number,
        installment_months=payment.installment_months,  # issue 15
        cash_receipt_type=payment.cash_receipt_type,
        approved_at=payment.approved_at or payment.created_at or utcnow(),
        merchant_name=_merchant_name(order),
    )


def _refunds_done(member: Member, order: Order, payment: Payment) -> None:
    """One mail per refund Toss has done and we have not announced yet."""
    # A query, not payment.cancels: refunds booked in this very transaction (Toss's
    # console cancels seen by reconcile) are not in the loaded collection yet.
    done = db.session.scalars(
        select(PaymentCancel)
        .where(
            PaymentCancel.payment_id == payment.id,
            PaymentCancel.status == CANCEL_DONE,
        )
        .order_by(PaymentCancel.id)
    ).all()
    for cancel in done:
        key = f"refund_done:{cancel.id}"
        if mail.already_queued(key):
            continue
        canceled_at = cancel.canceled_at or utcnow()
        approved_at = payment.approved_at or payment.created_at or canceled_at
        full = cancel.amount == payment.total_amount
        mail.enqueue(
            member,
            REFUND_DONE.name,
            dedupe_key=key,
            order_id=order.order_id,
            order_name=order.order_name,
            amount=cancel.amount,
            total=payment.total_amount,
            # As of this transaction: what the receipt page shows now.
            refunded_total=payment.canceled_amount,
            remaining=payment.balance_amount,
            method=payment.method,
            card_number=payment.card_number,
            canceled_at=canceled_at,
            full=full,
            timing=refund_timing(
                payment.method,
                full=full,
                same_day=_kst_date(approved_at) == _kst_date(canceled_at),
            ),
            merchant_name=_merchant_name(order),
        )


@events.on_link_withdrawn
def mail_withdrawal(member: Any) -> None:
    """Listener: the member left BrandPay → a confirmation with what that means."""
    mail.enqueue(member, BRANDPAY_WITHDRAWN.name, withdrawn_at=utcnow())
