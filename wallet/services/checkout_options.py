"""Checkout options: installments, card points and cash receipts (issue 15).

The member picks them on the checkout page; they are stored on the order BEFORE the
SDK call (contract §6.1 / the v2 typings' `card.cardInstallmentPlan`, `card.useCardPoint`,
`transfer.cashReceipt`), handed to requestPayment from what is stored, and re-checked
against Toss's Payment when the confirm answers (`mismatch`).

Where Toss allows them:
- BrandPay: `card{cardInstallmentPlan, useCardPoint}` and `transfer{cashReceipt}`.
- The standard card window: `card{cardInstallmentPlan, useCardPoint}` (no transfer).
- The international window: none (Toss offers no installments there).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import update

from wallet.errors import ConflictError, WalletError
from wallet.extensions import db
from wallet.labels import krw
from wallet.models import Member
from wallet.models.order import (
    INSTALLMENT_MINIMUM,
    INSTALLMENT_MONTHS,
    PAY_AUTOPAY,
    PAY_BRANDPAY,
    PAY_CARD,
    PENDING,
    RECEIPT_EXPENSE,
    RECEIPT_INCOME,
    RECEIPT_TYPES,
    Order,
)
from wallet.models.payment import Payment
from wallet.services import orders
from wallet.toss import Payment as TossPayment
from wallet.toss.types import CashReceiptRequest

NUMBER_MOBILE = "MOBILE"
NUMBER_CARD = "CASH_RECEIPT_CARD"
NUMBER_BUSINESS = "BUSINESS_REGISTRATION"
# v2 typings (소득공제_현금영수증 / 지출증빙_현금영수증): which numbers each type takes.
NUMBER_TYPES = {
    RECEIPT_INCOME: (NUMBER_MOBILE, NUMBER_CARD),
    RECEIPT_EXPENSE: (NUMBER_BUSINESS, NUMBER_CARD),
}
# Korean mobile numbers (010, 011, 016-019), cash-receipt cards (13-19 digits, the
# National Tax Service's card numbers), business registration numbers (10 digits with
# the NTS check digit).
_FORMATS = {
    NUMBER_MOBILE: re.compile(r"^01[016789]\d{7,8}\Z"),
    NUMBER_CARD: re.compile(r"^\d{13,19}\Z"),
    NUMBER_BUSINESS: re.compile(r"^\d{10}\Z"),
}
_SEPARATORS = re.compile(r"[\s-]")
_BUSINESS_WEIGHTS = (1, 3, 7, 1, 3, 7, 1, 3, 5)


class CheckoutOptionsError(WalletError):
    """Options the order cannot take; nothing was stored."""

    status = 400
    code = "INVALID_CHECKOUT_OPTIONS"
    default_message = _l("These payment options cannot be used for this order.")

    def __init__(self, message: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class CashReceiptChoice:
    """A cash receipt as the member asked for it (the whole number: not stored)."""

    type: str
    number_type: str
    number: str

    def to_json(self) -> dict[str, str]:
        """`transfer.cashReceipt` of the v2 typings."""
        return CashReceiptRequest(self.type, self.number, self.number_type).to_json()


def business_number_ok(number: str) -> bool:
    """The NTS check digit of a 10-digit business registration number."""
    if not _FORMATS[NUMBER_BUSINESS].match(number):
        return False
    digits = [int(c) for c in number]
    total = sum(d * w for d, w in zip(digits, _BUSINESS_WEIGHTS, strict=False))
    total += digits[8] * 5 // 10
    return (10 - total % 10) % 10 == digits[9]


def parse_cash_receipt(
    receipt_type: str | None, number_type: str | None, number: str | None
) -> CashReceiptChoice | None:
    """Validate a cash receipt request; None when none is wanted."""
    if not receipt_type:
        return None
    if receipt_type not in RECEIPT_TYPES:
        raise CheckoutOptionsError(_("Choose a cash receipt type."), "cash_receipt")
    kinds = NUMBER_TYPES[receipt_type]
    if number_type not in kinds:
        raise CheckoutOptionsError(
            _("This cash receipt type takes another kind of number."),
            "cash_receipt_number_type",
        )
    cleaned = _SEPARATORS.sub("", number or "")
    valid = bool(_FORMATS[number_type].match(cleaned))
    if number_type == NUMBER_BUSINESS:
        valid = business_number_ok(cleaned)
    if not valid:
        messages = {
            NUMBER_MOBILE: _("Enter a mobile number such as 010-1234-5678."),
            NUMBER_CARD: _("Enter the 13 to 19 digits of your cash receipt card."),
            NUMBER_BUSINESS: _("Enter a valid 10-digit business registration number."),
        }
        raise CheckoutOptionsError(messages[number_type], "cash_receipt_number")
    return CashReceiptChoice(receipt_type, number_type, cleaned)


def check_installment(amount: int, months: int | None) -> int:
    """The plan for `amount`: 0 (lump sum) or 2-12 months from 50,000 KRW."""
    months = months or 0
    if isinstance(months, bool) or months not in INSTALLMENT_MONTHS:
        raise CheckoutOptionsError(
            _("Choose a lump sum or 2 to 12 months."), "installment"
        )
    if months and amount < INSTALLMENT_MINIMUM:
        raise CheckoutOptionsError(
            _(
                "Installments start at %(minimum)s; this order is paid in one go.",
                minimum=krw(INSTALLMENT_MINIMUM),
            ),
            "installment",
        )
    return months


def choose(
    member: Member,
    order_id: str,
    installment: int | None,
    use_card_point: bool,
    receipt: CashReceiptChoice | None,
) -> Order:
    """Store the member's options on their unpaid order (before the SDK call)."""
    order = orders.get_for_member(member, order_id)
    months = check_installment(order.amount, installment)
    if not order.is_payable:
        raise ConflictError(_("This order can no longer be paid."))
    # Only while still PENDING: a confirm that claimed the order meanwhile keeps the
    # options it was sent with.
    changed = db.session.execute(
        update(Order)
        .where(Order.id == order.id, Order.status == PENDING)
        .values(
            installment_months=months,
            use_card_point=bool(use_card_point),
            cash_receipt_type=receipt.type if receipt else None,
            cash_receipt_number_type=receipt.number_type if receipt else None,
            cash_receipt_number_last4=receipt.number[-4:] if receipt else None,
        )
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:
        db.session.rollback()
        raise ConflictError(_("This order can no longer be paid."))
    db.session.commit()
    db.session.refresh(order)
    return order


def sdk_options(
    order: Order, receipt: CashReceiptChoice | None = None
) -> dict[str, dict[str, Any]]:
    """What requestPayment gets, per way: {"brandpay": {...}, "card": {...}}."""
    card = {
        "cardInstallmentPlan": order.installment_months or 0,
        "useCardPoint": bool(order.use_card_point),
    }
    brandpay: dict[str, Any] = {"card": dict(card)}
    if receipt is not None and receipt.type == order.cash_receipt_type:
        brandpay["transfer"] = {"cashReceipt": receipt.to_json()}
    return {"brandpay": brandpay, "card": {"card": card}, "foreign": {}}


def expected_months(order: Order) -> int | None:
    """The installment plan Toss must report for the way that paid the order; None
    when the member chose none here (a guest, an older order): Toss's window let
    them pick, and its answer stands."""
    if order.installment_months is None:
        return None
    if order.pay_way not in (PAY_BRANDPAY, PAY_CARD, PAY_AUTOPAY):
        return 0  # the international window offers no installments
    return order.installment_months


def mismatch(order: Order, truth: TossPayment) -> str | None:
    """Why Toss's paid Payment does not match the stored options; None if it does.

    Card points are not compared: with `useCardPoint` false (or absent) Toss lets the
    buyer tick the box in its own window, and true only pre-ticks it (v2 typings), so
    Toss's answer is the member's last word and is recorded as reported.
    """
    card = truth.card_details
    if card is not None:
        months = card.installment_plan_months
        if months and order.amount < INSTALLMENT_MINIMUM:
            return f"installment of {months} months under {INSTALLMENT_MINIMUM} KRW"
        expected = expected_months(order)
        if expected is not None and months != expected:
            return f"installment {months} months, asked {expected}"
    if truth.transfer is not None and order.cash_receipt_type:
        issued = truth.cash_receipt.type if truth.cash_receipt else None
        if issued != order.cash_receipt_type:
            return f"cash receipt {issued or 'none'}, asked {order.cash_receipt_type}"
    return None


def reported(truth: TossPayment) -> dict[str, object]:
    """The options Toss reports, as the payments row keeps them."""
    card, receipt = truth.card_details, truth.cash_receipt
    url = receipt.receipt_url if receipt else None
    return {
        "installment_months": card.installment_plan_months if card else None,
        "use_card_point": card.use_card_point if card else None,
        "cash_receipt_type": (receipt.type or "")[:8] or None if receipt else None,
        "cash_receipt_url": url
        if url and url.startswith(("https://", "http://")) and len(url) <= 500
        else None,
    }


def api_json(order: Order) -> dict[str, Any]:
    """The options the member chose for an order (merchant API `Order.options`)."""
    return {
        "installment_months": order.installment_months,
        "use_card_point": order.use_card_point,
        "cash_receipt_type": order.cash_receipt_type,
    }


def payment_api_json(payment: Payment) -> dict[str, Any]:
    """The options Toss reports for a payment (merchant API and webhooks)."""
    receipt = None
    if payment.cash_receipt_type:
        receipt = {"type": payment.cash_receipt_type, "url": payment.cash_receipt_url}
    return {
        "installment_months": payment.installment_months,
        "use_card_point": payment.use_card_point,
        "cash_receipt": receipt,
    }
