"""Payments as Toss reports them, their cancels (refunds), and received Toss webhooks."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wallet.extensions import db
from wallet.models._types import UTCDateTime, utcnow

if TYPE_CHECKING:
    from wallet.models.order import Order

CANCEL_PENDING = "PENDING"  # reserved and sent (or about to be); outcome not known
CANCEL_DONE = "DONE"
CANCEL_FAILED = "FAILED"
CANCEL_STATUSES = (CANCEL_PENDING, CANCEL_DONE, CANCEL_FAILED)


class Amounts:
    """What a payment's amounts say; shared by `Payment` and the list pages' rows
    (services/order_list.py, issue 16)."""

    __slots__ = ()
    total_amount: int
    balance_amount: int
    refund_reserved: int

    @property
    def refundable(self) -> int:
        """What may still be refunded: the balance minus refunds in flight."""
        return self.balance_amount - self.refund_reserved

    @property
    def canceled_amount(self) -> int:
        """Refunded so far, per Toss."""
        return self.total_amount - self.balance_amount


class Payment(Amounts, db.Model):  # type: ignore[name-defined,misc]
    """One confirmed Toss payment, 1:1 with its order; mirrors Toss's truth (§4)."""

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("total_amount > 0", name="total_positive"),
        CheckConstraint(
            "balance_amount >= 0 AND balance_amount <= total_amount", name="balance"
        ),
        # Refunds in flight are reserved out of the balance: the database itself
        # refuses a state in which more is being refunded than remains.
        CheckConstraint(
            "refund_reserved >= 0 AND refund_reserved <= balance_amount",
            name="refund_reserved",
        ),
        # The admin CSV export streams a date range in this order (migration 0005).
        Index("ix_payments_created_at_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_pk: Mapped[int] = mapped_column(ForeignKey("orders.id"), unique=True)
    payment_key: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(20))  # Toss's status, as reported
    method: Mapped[str | None] = mapped_column(String(32))
    card_number: Mapped[str | None] = mapped_column(String(32))  # masked by Toss
    # What the receipt shows (revision 0008, contract §4): the card company's approval
    # number, 신용/체크/기프트, the issuer's and the bank's codes, supplied amount + VAT.
    approve_no: Mapped[str | None] = mapped_column(String(32))
    card_type: Mapped[str | None] = mapped_column(String(10))
    issuer_code: Mapped[str | None] = mapped_column(String(8))
    bank_code: Mapped[str | None] = mapped_column(String(8))
    supplied_amount: Mapped[int | None] = mapped_column(Integer)
    vat: Mapped[int | None] = mapped_column(Integer)
    # Checkout options as Toss reports them (revision 0010): card.installmentPlanMonths
    # and card.useCardPoint of a card payment, cashReceipt.type/receiptUrl of an
    # account payment.
    installment_months: Mapped[int | None] = mapped_column(Integer)
    use_card_point: Mapped[bool | None] = mapped_column(Boolean)
    cash_receipt_type: Mapped[str | None] = mapped_column(String(8))
    cash_receipt_url: Mapped[str | None] = mapped_column(String(500))
    total_amount: Mapped[int] = mapped_column(Integer)
    balance_amount: Mapped[int] = mapped_column(Integer)
    refund_reserved: Mapped[int] = mapped_column(Integer, default=0)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    receipt_url: Mapped[str | None] = mapped_column(String(500))
    last_transaction_key: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow
    )

    order: Mapped[Order] = relationship(back_populates="payment")
    cancels: Mapped[list[PaymentCancel]] = relationship(
        back_populates="payment", order_by="PaymentCancel.id", lazy="selectin"
    )

    def __repr__(self) -> str:
        return f"<Payment {self.id} {self.status} {self.balance_amount}/{self.total_amount}>"


class PaymentCancel(db.Model):  # type: ignore[name-defined,misc]
    """One refund (Toss calls it a cancel): requested here, or seen in Toss's truth."""

    __tablename__ = "payment_cancels"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in CANCEL_STATUSES) + ")",
            name="status",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True)
    amount: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(200))
    actor: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(10), default=CANCEL_PENDING)
    # contract §4: one Idempotency-Key per refund request; retries reuse it.
    idempotency_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    transaction_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    failure_code: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    canceled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    payment: Mapped[Payment] = relationship(back_populates="cancels")

    def __repr__(self) -> str:
        return f"<PaymentCancel {self.id} {self.status} {self.amount}>"


class TossWebhookEvent(db.Model):  # type: ignore[name-defined,misc]
    """A received Toss webhook (contract §7), deduplicated by its transmission id."""

    __tablename__ = "toss_webhook_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    transmission_id: Mapped[str] = mapped_column(String(100), unique=True)
    event_type: Mapped[str] = mapped_column(String(64), index=True)
    # The paymentKey or customerKey the event is about; never the payload itself
    # (a Payment carries `secret`).
    subject: Mapped[str | None] = mapped_column(String(200))
    retried_count: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str | None] = mapped_column(String(40))

    def __repr__(self) -> str:
        return f"<TossWebhookEvent {self.event_type} {self.outcome}>"
