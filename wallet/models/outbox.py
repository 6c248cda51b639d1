"""The transactional outbox (merchant webhooks and member mail), and every attempt.

One table, one leasing worker: `channel` says how a row is delivered ("webhook": a
signed POST to the merchant; "mail": an email to a member, wallet/services/mail.py).
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from wallet.extensions import db
from wallet.models._types import UTCDateTime, utcnow

OUTBOX_STATUSES = ("pending", "delivered", "failed")
WEBHOOK = "webhook"
MAIL = "mail"
CHANNELS = (WEBHOOK, MAIL)


def new_message_id() -> str:
    """The webhook-id a receiver dedupes on; stable across retries of one event."""
    return "msg_" + secrets.token_urlsafe(18)


class OutboxEvent(db.Model):  # type: ignore[name-defined,misc]
    """One webhook or mail to deliver; written in the state change's transaction."""

    __tablename__ = "outbox_events"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="status"),
        # A webhook goes to a merchant, a mail to a member (revision 0007_mail).
        CheckConstraint(
            "(channel = 'webhook' AND merchant_id IS NOT NULL) OR "
            "(channel = 'mail' AND member_id IS NOT NULL)",
            name="channel_target",
        ),
        Index("ix_outbox_events_due", "status", "next_attempt_at"),
        # "Was this already announced?" and "how many reset mails this hour?"
        Index("ix_outbox_events_dedupe_key", "dedupe_key"),
        Index("ix_outbox_events_member_kind", "member_id", "event_type", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(
        String(40), unique=True, default=new_message_id
    )
    channel: Mapped[str] = mapped_column(
        String(16), default=WEBHOOK, server_default=WEBHOOK
    )
    merchant_id: Mapped[int | None] = mapped_column(
        ForeignKey("merchants.id", ondelete="CASCADE"), index=True
    )
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE")
    )
    event_type: Mapped[str] = mapped_column(String(64))  # a mail's kind, for mail
    # Webhook: the exact JSON body that is signed. Mail: a TokenVault ciphertext of
    # the recipient and the template's values (a reset link is a bearer token).
    payload: Mapped[str] = mapped_column(Text)
    # Set when one business fact must be announced once (e.g. "refund_done:<id>").
    dedupe_key: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # A worker's claim; when it expires (the worker died) another worker may take over.
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def __repr__(self) -> str:
        return f"<OutboxEvent {self.id} {self.channel} {self.event_type} {self.status}>"

    def mark_delivered(self, when: datetime) -> None:
        """Delivered: only a 2xx answer gets here; no more attempts."""
        self.status = "delivered"
        self.delivered_at = when
        self.lease_owner = self.lease_until = None

    def schedule_retry(self, when: datetime, *, give_up: bool) -> None:
        """Failed attempt: try again at `when`, or stop for good."""
        self.status = "failed" if give_up else "pending"
        self.next_attempt_at = when
        self.lease_owner = self.lease_until = None


class WebhookDelivery(db.Model):  # type: ignore[name-defined,misc]
    """One attempt to deliver an outbox event: an HTTP POST, or an SMTP send for mail."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(
        ForeignKey("outbox_events.id", ondelete="CASCADE"), index=True
    )
    attempt: Mapped[int] = mapped_column(Integer)
    worker: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    status_code: Mapped[int | None] = mapped_column(Integer)  # HTTP, or SMTP reply
    error: Mapped[str | None] = mapped_column(String(200))
    succeeded: Mapped[bool] = mapped_column(Boolean, default=False)
