"""Orders: what a member is asked to pay, created server-side before requestPayment."""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wallet.extensions import db
from wallet.models._types import UTCDateTime, utcnow

if TYPE_CHECKING:
    from wallet.models.member import Member
    from wallet.models.merchant import Merchant
    from wallet.models.payment import Payment

# contract §10: 6-64 chars; confirm only accepts [A-Za-z0-9_-], so that is all we make.
# \Z, not "$": "$" also matches before a trailing newline.
ORDER_ID_RE = re.compile(r"^[A-Za-z0-9_-]{6,64}\Z")
MIN_AMOUNT = 100  # contract §9: the lowest method minimum (card 100, account 200 KRW)
MAX_AMOUNT = 100_000_000  # a sanity cap for test orders; not a Toss rule
MAX_ORDER_NAME = 100  # what the hosted pay page accepts

PENDING = "PENDING"
CONFIRMING = "CONFIRMING"
DONE = "DONE"
PARTIAL_CANCELED = "PARTIAL_CANCELED"
CANCELED = "CANCELED"
FAILED = "FAILED"
EXPIRED = "EXPIRED"
UNKNOWN = "UNKNOWN"  # a confirm went out but its outcome is not known: reconcile
DECLINED = "DECLINED"  # never stored: how history shows a PENDING order with a failure
# contract §8: the member closed Toss's window; an attempt, but nobody declined it.
STOPPED_BY_MEMBER = ("PAY_PROCESS_CANCELED",)
STATUSES = (
    PENDING,
    CONFIRMING,
    DONE,
    PARTIAL_CANCELED,
    CANCELED,
    FAILED,
    EXPIRED,
    UNKNOWN,
)
PAID = (DONE, PARTIAL_CANCELED, CANCELED)

# Which way an order was paid (the confirm attempt that claimed it): the BrandPay
# window, the standard card window, or the international card window (contract §6.1).
PAY_BRANDPAY = "BRANDPAY"
PAY_CARD = "CARD"
PAY_FOREIGN_CARD = "FOREIGN_CARD"
PAY_WAYS = (PAY_BRANDPAY, PAY_CARD, PAY_FOREIGN_CARD)
# A merchant's charge under a member's mandate, through the autopay API (contract §4,
# services/mandates.py): no window, so never a successUrl's `way`.
PAY_AUTOPAY = "AUTOPAY"
ORDER_PAY_WAYS = (*PAY_WAYS, PAY_AUTOPAY)
CARD_WAYS = (PAY_CARD, PAY_FOREIGN_CARD)  # confirmed with POST /v1/payments/confirm
# Checkout options (v2 typings `card.cardInstallmentPlan`: 0 or 2-12, installments only
# from 50,000 KRW; `transfer.cashReceipt.type`), chosen on the checkout (issue 15).
INSTALLMENT_MINIMUM = 50_000
INSTALLMENT_MONTHS = (0, *range(2, 13))  # 0 = lump sum
RECEIPT_INCOME = "소득공제"  # income deduction: a phone or cash-receipt card number
RECEIPT_EXPENSE = "지출증빙"  # expense proof: a business number (or a receipt card)
RECEIPT_TYPES = (RECEIPT_INCOME, RECEIPT_EXPENSE)
# The merchant's pre-approval hook, per confirm attempt (issue 15): asked and waiting,
# said yes, the confirm went out after a yes, said no, did not answer, or said no
# after the yes (a late "no": before the confirm it stops it, after it 망취소).
HOOK_ASKED = "ASKED"
HOOK_APPROVED = "APPROVED"
HOOK_CONFIRM_SENT = "CONFIRM_SENT"
HOOK_DECLINED = "DECLINED"
HOOK_NO_ANSWER = "NO_ANSWER"
HOOK_WITHDRAWN = "WITHDRAWN"
HOOK_STATES = (
    HOOK_ASKED,
    HOOK_APPROVED,
    HOOK_CONFIRM_SENT,
    HOOK_DECLINED,
    HOOK_NO_ANSWER,
    HOOK_WITHDRAWN,
)
# Allowed moves. Money states only go forward; unsettled states may go back to
# PENDING when Toss's truth says nothing was charged, so the order stays payable.
TRANSITIONS: dict[str, frozenset[str]] = {
    PENDING: frozenset({CONFIRMING, DONE, FAILED, EXPIRED}),
    CONFIRMING: frozenset({DONE, PENDING, UNKNOWN, FAILED, EXPIRED}),
    UNKNOWN: frozenset({DONE, PENDING, FAILED, EXPIRED}),
    DONE: frozenset({PARTIAL_CANCELED, CANCELED}),
    PARTIAL_CANCELED: frozenset({CANCELED}),
    CANCELED: frozenset(),
    FAILED: frozenset(),
    EXPIRED: frozenset(),
}


def new_order_id() -> str:
    """A random, unguessable orderId inside the contract's alphabet."""
    return "ord_" + secrets.token_urlsafe(18)  # 24 chars of [A-Za-z0-9_-]


def shown_status(status: str, failure_code: str | None) -> str:
    """`Order.shown_status` of these columns (also the list pages' rows, issue 16)."""
    if status == PENDING and failure_code not in (None, *STOPPED_BY_MEMBER):
        return DECLINED
    return status


class InvalidTransitionError(ValueError):
    """An order was asked to move to a state it cannot reach from where it is."""


class Order(db.Model):  # type: ignore[name-defined,misc]
    """One order; `status` follows TRANSITIONS, money is integer KRW."""

    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(f"amount >= {MIN_AMOUNT}", name="amount_minimum"),
        CheckConstraint("currency = 'KRW'", name="currency_krw"),
        CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in STATUSES) + ")",
            name="status",
        ),
        # History is keyset-paginated on (created_at, id) per member; the admin's and
        # a merchant's lists too, over every order or one merchant's (revision 0005).
        CheckConstraint(
            "pay_way IS NULL OR pay_way IN ("
            + ", ".join(f"'{w}'" for w in ORDER_PAY_WAYS)
            + ")",
            name="pay_way",
        ),
        CheckConstraint(
            "installment_months IS NULL OR installment_months = 0 OR "
            f"(installment_months BETWEEN 2 AND 12 AND amount >= {INSTALLMENT_MINIMUM})",
            name="installment_months",
        ),
        Index("ix_orders_member_created", "member_id", "created_at", "id"),
        Index("ix_orders_created_at_id", "created_at", "id"),
        Index("ix_orders_status_created", "status", "created_at", "id"),
        Index("ix_orders_merchant_created", "merchant_id", "created_at", "id"),
        # "Has this member ordered from this shop?" in one probe: the history's shop
        # filter (revision 0011, issue 16).
        Index("ix_orders_member_merchant", "member_id", "merchant_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[str] = mapped_column(String(64), unique=True, default=new_order_id)
    order_name: Mapped[str] = mapped_column(String(MAX_ORDER_NAME))
    amount: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3), default="KRW")
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    # No FK here on purpose: revision 0004 (merchants) adds it.
    merchant_id: Mapped[int | None] = mapped_column(Integer, index=True)
    status: Mapped[str] = mapped_column(String(20), default=PENDING, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow
    )
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The confirm attempt marker: which attempt (its Idempotency-Key), when it
    # started and with which paymentKey, so reconcile can look the outcome up.
    confirm_attempts: Mapped[int] = mapped_column(Integer, default=0)
    confirm_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    confirm_payment_key: Mapped[str | None] = mapped_column(String(200))
    failure_code: Mapped[str | None] = mapped_column(String(64))
    # ORDER_PAY_WAYS; set when a confirm claims the order (None: never claimed).
    pay_way: Mapped[str | None] = mapped_column(String(16))
    # The member's checkout options, stored before the SDK call and re-checked against
    # Toss's Payment at confirm (revision 0010). None: never chosen (lump sum, no
    # points, no receipt). The registration number itself is not kept: only its kind
    # and last four digits, for the receipt.
    installment_months: Mapped[int | None] = mapped_column(Integer)
    use_card_point: Mapped[bool | None] = mapped_column(Boolean)
    cash_receipt_type: Mapped[str | None] = mapped_column(String(8))
    cash_receipt_number_type: Mapped[str | None] = mapped_column(String(24))
    cash_receipt_number_last4: Mapped[str | None] = mapped_column(String(4))
    # HOOK_STATES of the current confirm attempt (None: the merchant has no hook, or
    # it was not asked yet) and the merchant's reason when it said no.
    preapproval: Mapped[str | None] = mapped_column(String(16))
    preapproval_reason: Mapped[str | None] = mapped_column(String(200))
    # The mandate a merchant charged under (pay_way AUTOPAY; revision 0012).
    mandate_id: Mapped[int | None] = mapped_column(
        ForeignKey("mandates.id"), index=True
    )

    member: Mapped[Member | None] = relationship()
    # Read-only: merchant_id's FK lives in revision 0004, not on this column.
    merchant: Mapped[Merchant | None] = relationship(
        primaryjoin="Order.merchant_id == Merchant.id",
        foreign_keys="Order.merchant_id",
        viewonly=True,
        lazy="select",
    )
    payment: Mapped[Payment | None] = relationship(
        back_populates="order", uselist=False, lazy="select"
    )

    def __repr__(self) -> str:
        return f"<Order {self.order_id} {self.status} {self.amount}>"

    @property
    def is_payable(self) -> bool:
        """Whether requestPayment may be started for this order now."""
        return self.status == PENDING and not self.is_past_expiry()

    @property
    def shown_status(self) -> str:
        """The status a person reads: an unpaid order whose last attempt Toss
        declined (a failUrl with a code, or a failed confirm) says DECLINED."""
        return shown_status(self.status, self.failure_code)

    def is_past_expiry(self, now: datetime | None = None) -> bool:
        """Whether the unpaid order's time ran out."""
        return (now or utcnow()) >= self.expires_at

    def confirm_idempotency_key(self) -> str:
        """contract §4: one key per confirm attempt, so retries of it replay safely."""
        return f"confirm-{self.order_id}-{self.confirm_attempts}"

    def autopay_idempotency_key(self) -> str:
        """contract §4: the autopay POST's key, derived from the order: a retry or a
        reconcile of the same charge can never charge twice."""
        return f"autopay-{self.order_id}"

    def can_move_to(self, status: str) -> bool:
        """Whether TRANSITIONS allow this move."""
        return status in TRANSITIONS[self.status]

    def move_to(self, status: str) -> bool:
        """Change status when allowed; False when already there; raise otherwise."""
        if status == self.status:
            return False
        if not self.can_move_to(status):
            raise InvalidTransitionError(f"{self.status} -> {status}")
        self.status = status
        return True
