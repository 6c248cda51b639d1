"""Mandates: a member's standing consent that a merchant may charge a saved BrandPay
method without them (autopay, contract §4), within limits the member approved.

A charge under a mandate is an ordinary Order + Payment (`pay_way` AUTOPAY,
`orders.mandate_id`), so history, receipts, refunds, webhooks and reconcile treat it
like every other payment.

Periods are calendar periods in Korea Standard Time (Asia/Seoul, UTC+9, no DST):
`day` (00:00 KST), `week` (Monday 00:00 KST) and `month` (the 1st, 00:00 KST). The
period counter lives on the mandate row (`period_start`, `period_count`) and is only
ever moved by one guarded UPDATE (services/mandates.py), so concurrent charges can
never together exceed `max_charges` on SQLite or PostgreSQL.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wallet.extensions import db
from wallet.models._types import UTCDateTime, utcnow
from wallet.models.member import Member
from wallet.models.merchant import Merchant

MANDATE_PENDING = "pending"  # asked for; the member has not approved it (yet)
MANDATE_ACTIVE = "active"
MANDATE_REVOKED = "revoked"
MANDATE_EXPIRED = "expired"
MANDATE_STATUSES = (MANDATE_PENDING, MANDATE_ACTIVE, MANDATE_REVOKED, MANDATE_EXPIRED)

PERIODS = ("day", "week", "month")
KST = timezone(timedelta(hours=9), "KST")
MAX_DESCRIPTION = 200
MAX_CHARGES_PER_PERIOD = 1000  # a sanity cap, not a Toss rule
MAX_METHOD_KEY = 300


def new_mandate_id() -> str:
    """An opaque, unguessable public id."""
    return "mdt_" + secrets.token_urlsafe(12)


def period_start(period: str, now: datetime | None = None) -> datetime:
    """The UTC instant the KST calendar period containing `now` began."""
    local = (now or utcnow()).astimezone(KST)
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "day":
        start = day
    elif period == "week":
        start = day - timedelta(days=day.weekday())
    elif period == "month":
        start = day.replace(day=1)
    else:
        raise ValueError(f"unknown period {period!r}")
    return start.astimezone(UTC)


def next_period_start(period: str, now: datetime | None = None) -> datetime:
    """When the period after the one containing `now` begins (UTC)."""
    local = period_start(period, now).astimezone(KST)
    if period == "day":
        nxt = local + timedelta(days=1)
    elif period == "week":
        nxt = local + timedelta(days=7)
    else:
        nxt = (local.replace(day=28) + timedelta(days=4)).replace(day=1)
    return nxt.astimezone(UTC)


class Mandate(db.Model):  # type: ignore[name-defined,misc]
    """One merchant's mandate from one member; money is integer KRW."""

    __tablename__ = "mandates"
    __table_args__ = (
        CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in MANDATE_STATUSES) + ")",
            name="status",
        ),
        CheckConstraint(
            "period IN (" + ", ".join(f"'{p}'" for p in PERIODS) + ")", name="period"
        ),
        CheckConstraint("max_amount > 0", name="max_amount_positive"),
        CheckConstraint("max_charges > 0", name="max_charges_positive"),
        CheckConstraint("period_count >= 0", name="period_count"),
        Index("ix_mandates_merchant_id_id", "merchant_id", "id"),
        Index("ix_mandates_member_id_id", "member_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(
        String(40), unique=True, default=new_mandate_id
    )
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    # What the member read and agreed to, and the merchant's own reference for it.
    description: Mapped[str] = mapped_column(String(MAX_DESCRIPTION))
    reference: Mapped[str | None] = mapped_column(String(100))
    max_amount: Mapped[int] = mapped_column(Integer)  # per charge, KRW
    max_charges: Mapped[int] = mapped_column(Integer)  # per period
    period: Mapped[str] = mapped_column(String(8))  # PERIODS, KST calendar periods
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The methodKey the member chose; None: "my selected method", resolved at charge
    # time from Toss's selectedMethodId (contract §3).
    method_key: Mapped[str | None] = mapped_column(String(MAX_METHOD_KEY))
    status: Mapped[str] = mapped_column(String(10), default=MANDATE_PENDING)
    # The signed link that asked for it (its jti): one link, one mandate.
    link_jti: Mapped[str | None] = mapped_column(String(200), unique=True)
    return_url: Mapped[str | None] = mapped_column(String(2000))
    # The race-safe period counter (services/mandates.reserve_charge).
    period_start: Mapped[datetime | None] = mapped_column(UTCDateTime())
    period_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by: Mapped[str | None] = mapped_column(String(120))

    member: Mapped[Member] = relationship(lazy="select")
    merchant: Mapped[Merchant] = relationship(lazy="select")

    def __repr__(self) -> str:
        return f"<Mandate {self.public_id} {self.status}>"

    def is_past_expiry(self, now: datetime | None = None) -> bool:
        """Whether the mandate's time ran out."""
        return (now or utcnow()) >= self.expires_at

    @property
    def shown_status(self) -> str:
        """The status as of now: an active mandate past its expiry reads expired."""
        if self.status == MANDATE_ACTIVE and self.is_past_expiry():
            return MANDATE_EXPIRED
        return self.status

    def charges_in_period(self, now: datetime | None = None) -> int:
        """Charges counted in the current period."""
        if self.period_start is None:
            return 0
        current = period_start(self.period, now)
        return self.period_count if self.period_start == current else 0
