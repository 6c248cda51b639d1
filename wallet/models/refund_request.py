"""A member's request that a merchant refund one of its orders (issue 13, M1).

Merchant orders are refunded by the merchant (or an admin), never by the buyer alone;
the buyer asks, with a reason, and the merchant approves (the refund core then runs)
or declines with a reason. One open request per order, enforced by the database.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wallet.extensions import db
from wallet.models._types import UTCDateTime, utcnow

if TYPE_CHECKING:
    from wallet.models.order import Order

REQUEST_OPEN = "OPEN"
REQUEST_APPROVED = "APPROVED"
REQUEST_DECLINED = "DECLINED"
REQUEST_STATUSES = (REQUEST_OPEN, REQUEST_APPROVED, REQUEST_DECLINED)
MAX_REASON = 200  # the same bound as a refund's own reason (contract §4 cancelReason)


def new_request_id() -> str:
    """The id merchants see and use in the API; random, not the primary key."""
    return "rfq_" + secrets.token_urlsafe(12)


class RefundRequest(db.Model):  # type: ignore[name-defined,misc]
    """One refund request and the merchant's decision on it."""

    __tablename__ = "refund_requests"
    __table_args__ = (
        CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in REQUEST_STATUSES) + ")",
            name="status",
        ),
        # At most one OPEN request per order (a partial unique index on both backends).
        Index(
            "uq_refund_requests_open_order",
            "order_pk",
            unique=True,
            sqlite_where=text("status = 'OPEN'"),
            postgresql_where=text("status = 'OPEN'"),
        ),
        # The dashboard and the API list a merchant's requests, newest first.
        Index("ix_refund_requests_merchant_status", "merchant_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(
        String(40), unique=True, default=new_request_id
    )
    order_pk: Mapped[int] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    merchant_id: Mapped[int] = mapped_column(
        ForeignKey("merchants.id", ondelete="CASCADE")
    )
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(MAX_REASON))
    status: Mapped[str] = mapped_column(String(12), default=REQUEST_OPEN)
    decision_reason: Mapped[str | None] = mapped_column(String(MAX_REASON))
    decided_by: Mapped[str | None] = mapped_column(String(120))
    refunded_amount: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    order: Mapped[Order] = relationship()

    def __repr__(self) -> str:
        return f"<RefundRequest {self.public_id} {self.status}>"

    @property
    def is_open(self) -> bool:
        """Whether the merchant has not decided yet."""
        return self.status == REQUEST_OPEN
