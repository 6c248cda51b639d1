"""Merchants: API keys (hashed), link-signing secrets (encrypted), staff, used links."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from wallet.extensions import db
from wallet.models._types import UTCDateTime, utcnow
from wallet.models.order import Order

# Members who may see a merchant's dashboard. The members table's role check stays as it
# is: being merchant staff is a relation, not a role.
merchant_members = db.Table(
    "merchant_members",
    Column(
        "member_id",
        Integer,
        ForeignKey("members.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column(
        "merchant_id",
        Integer,
        ForeignKey("merchants.id", ondelete="CASCADE"),
        primary_key=True,
    ),
)


MAX_MEMBER_CANCEL_DAYS = 90


def new_public_id() -> str:
    """The merchant id shown to merchants and used as a link's `iss`; random, not the pk."""
    return "mch_" + secrets.token_urlsafe(12)


class Merchant(db.Model):  # type: ignore[name-defined,misc]
    """A shop that creates orders through the API and embeds wallet links."""

    __tablename__ = "merchants"
    __table_args__ = (
        CheckConstraint(
            "member_cancel_days IS NULL OR "
            f"(member_cancel_days >= 1 AND member_cancel_days <= {MAX_MEMBER_CANCEL_DAYS})",
            name="member_cancel_days",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(
        String(40), unique=True, default=new_public_id
    )
    name: Mapped[str] = mapped_column(String(120))
    # Exact origins ("https://shop.example:8443"), one per line; no wildcards.
    return_origins: Mapped[str] = mapped_column(Text, default="")
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    # The pre-approval hook (issue 15, like PortOne's confirm_url): asked, signed,
    # before each confirm of one of this merchant's orders; None = no hook.
    confirm_url: Mapped[str | None] = mapped_column(String(500))
    # Whether wallet-link pages may be framed by the return origins (CSP frame-ancestors).
    allow_framing: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Refund policy (issue 13, M1): None = only the merchant (or an admin) refunds its
    # orders and members ask through a refund request; N = a member may also cancel a
    # fully paid order on their own for N days after payment.
    member_cancel_days: Mapped[int | None] = mapped_column(Integer)
    # Link-signing secrets: vault ciphertexts (AAD "merchant:{id}:link"), never plaintext.
    # Two are live during a rotation: the current one signs, both verify.
    link_kid: Mapped[str] = mapped_column(String(16))
    link_secret: Mapped[str] = mapped_column(Text)
    prev_link_kid: Mapped[str | None] = mapped_column(String(16))
    prev_link_secret: Mapped[str | None] = mapped_column(Text)
    secret_rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def __repr__(self) -> str:
        return f"<Merchant {self.id} {self.public_id}>"

    @property
    def origins(self) -> list[str]:
        """The allowed return-URL origins."""
        return [line for line in self.return_origins.splitlines() if line]

    @property
    def link_aad(self) -> str:
        """Associated data binding a secret's ciphertext to this merchant."""
        return f"merchant:{self.id}:link"

    def live_kids(self) -> list[str]:
        """Key ids that currently verify links (current first)."""
        return [k for k in (self.link_kid, self.prev_link_kid) if k]


class MerchantApiKey(db.Model):  # type: ignore[name-defined,misc]
    """An API key: only its SHA-256 is stored; the full key is shown once."""

    __tablename__ = "merchant_api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(
        ForeignKey("merchants.id", ondelete="CASCADE"), index=True
    )
    prefix: Mapped[str] = mapped_column(String(24), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(80), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def __repr__(self) -> str:
        return f"<MerchantApiKey {self.id} {self.prefix}>"

    @property
    def active(self) -> bool:
        """Whether the key still authenticates."""
        return self.revoked_at is None

    def revoke(self) -> None:
        """Revoke once; revoking again keeps the first time."""
        if self.revoked_at is None:
            self.revoked_at = utcnow()


class WalletLinkUse(db.Model):  # type: ignore[name-defined,misc]
    """A redeemed pay link: the unique `jti` is what makes pay links single-use."""

    __tablename__ = "wallet_link_uses"

    id: Mapped[int] = mapped_column(primary_key=True)
    jti: Mapped[str] = mapped_column(String(64), unique=True)
    merchant_id: Mapped[int] = mapped_column(
        ForeignKey("merchants.id", ondelete="CASCADE"), index=True
    )
    order_id: Mapped[str] = mapped_column(String(64))
    # None: redeemed by a guest, who pays by card without an account (issue 12).
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE")
    )
    used_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ApiIdempotencyKey(db.Model):  # type: ignore[name-defined,misc]
    """A merchant's Idempotency-Key and the response it produced (replayed on reuse)."""

    __tablename__ = "api_idempotency_keys"
    __table_args__ = (UniqueConstraint("merchant_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(
        ForeignKey("merchants.id", ondelete="CASCADE")
    )
    key: Mapped[str] = mapped_column(String(255))
    # SHA-256 over method, path and the canonical JSON body.
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)  # None: still running
    response_body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def finished(self) -> bool:
        """Whether a response is stored."""
        return self.status_code is not None


class MerchantOrder(db.Model):  # type: ignore[name-defined,misc]
    """What a merchant attached to one of its orders: where the member returns to."""

    __tablename__ = "merchant_orders"

    order_pk: Mapped[int] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True
    )
    # Checked against the allow-list when stored AND again when the member is sent back.
    return_url: Mapped[str | None] = mapped_column(String(2000))


# Orders carry merchant_id from revision 0003 without a foreign key, because merchants
# did not exist yet; revision 0004 adds it. Declared here so that the models and the
# migrations describe the same schema, without reaching into the order model's module.
Order.__table__.append_constraint(
    ForeignKeyConstraint(
        ["merchant_id"], ["merchants.id"], name="fk_orders_merchant_id_merchants"
    )
)
