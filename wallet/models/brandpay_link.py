"""A member's BrandPay link: encrypted tokens, their expiry, and the link's status."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from wallet.extensions import db
from wallet.models._types import UTCDateTime, utcnow

LINKED = "linked"
NEEDS_RELINK = "needs_relink"
WITHDRAWN = "withdrawn"
REVOKED = "revoked"
LINK_STATUSES = (LINKED, NEEDS_RELINK, WITHDRAWN, REVOKED)

# Which status may follow which. A new authorization code always (re)links; tokens can
# only go bad, be withdrawn or be revoked while the link holds them.
_TRANSITIONS: dict[str, frozenset[str]] = {
    LINKED: frozenset({LINKED, NEEDS_RELINK, WITHDRAWN, REVOKED}),
    NEEDS_RELINK: frozenset({LINKED, NEEDS_RELINK, WITHDRAWN, REVOKED}),
    WITHDRAWN: frozenset({LINKED}),
    REVOKED: frozenset({LINKED}),
}


class LinkStateError(ValueError):
    """A status change the link's life cycle does not allow."""


def token_aad(customer_key: str, purpose: str) -> str:
    """Vault associated data: a ciphertext only opens on its own row and purpose."""
    return f"{customer_key}:{purpose}"


class BrandPayLink(db.Model):  # type: ignore[name-defined,misc]
    """One per member: tokens only as vault ciphertexts, never plaintext."""

    __tablename__ = "brandpay_links"
    __table_args__ = (
        CheckConstraint(
            "status IN ('linked', 'needs_relink', 'withdrawn', 'revoked')",
            name="status",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), unique=True
    )
    status: Mapped[str] = mapped_column(String(16), default=LINKED)
    # Vault ciphertexts (AAD = token_aad(customerKey, "access"/"refresh")).
    access_token_enc: Mapped[str | None] = mapped_column(Text)
    refresh_token_enc: Mapped[str | None] = mapped_column(Text)
    access_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Single-flight refresh: every token write bumps `version`; on SQLite a refresher
    # claims the row by setting `refresh_lock_until` with a compare-and-set.
    version: Mapped[int] = mapped_column(Integer, default=0)
    refresh_lock_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When a refresh last failed transiently: requests that waited for it give up too
    # instead of each trying Toss again.
    refresh_failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A cached summary for the wallet home (Toss stays the truth for the list itself).
    method_count: Mapped[int | None] = mapped_column(Integer)
    methods_synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    relink_reason: Mapped[str | None] = mapped_column(String(64))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by: Mapped[str | None] = mapped_column(String(254))
    revoked_reason: Mapped[str | None] = mapped_column(String(200))

    def __repr__(self) -> str:
        # Never the ciphertexts: they are useless without the key, but still secrets.
        return f"<BrandPayLink {self.id} member={self.member_id} {self.status}>"

    @property
    def has_tokens(self) -> bool:
        """Whether both token ciphertexts are present."""
        return bool(self.access_token_enc and self.refresh_token_enc)

    def access_expired(self, now: datetime, margin: timedelta) -> bool:
        """Whether the access token is (about to be) expired."""
        return self.access_expires_at is None or self.access_expires_at <= now + margin

    def _bump_version(self) -> None:
        # `version + 1` in SQL, not in Python: a stale in-memory copy can never move the
        # counter backwards over a concurrent refresh (the column is then reloaded).
        if self.id is None:
            self.version = 1
        else:
            self.version = type(self).version + 1  # type: ignore[assignment]

    def _move_to(self, status: str) -> None:
        if status not in _TRANSITIONS.get(self.status, frozenset()):
            raise LinkStateError(f"link cannot go from {self.status} to {status}")
        self.status = status

    def set_tokens(
        self, access_enc: str, refresh_enc: str, expires_at: datetime, now: datetime
    ) -> None:
        """Store freshly issued ciphertexts; the link is (again) usable."""
        if self.status != LINKED:
            self._move_to(LINKED)
            self.linked_at = now
        self.access_token_enc = access_enc
        self.refresh_token_enc = refresh_enc
        self.access_expires_at = expires_at
        self.relink_reason = None
        self.refresh_lock_until = None
        self._bump_version()

    def destroy_tokens(self) -> None:
        """Crypto-shred: without the ciphertexts the tokens are gone for good."""
        self.access_token_enc = None
        self.refresh_token_enc = None
        self.access_expires_at = None
        self.refresh_lock_until = None
        self.method_count = None
        self._bump_version()

    def mark_needs_relink(self, reason: str) -> None:
        """The stored tokens no longer work; the member must link again."""
        self._move_to(NEEDS_RELINK)
        self.relink_reason = reason[:64]
        self.destroy_tokens()

    def mark_withdrawn(self, now: datetime) -> None:
        """The member left BrandPay (contract §5)."""
        self._move_to(WITHDRAWN)
        self.withdrawn_at = now
        self.destroy_tokens()

    def mark_revoked(self, by: str, reason: str, now: datetime) -> None:
        """An admin revoked the link: tokens destroyed, who and why kept."""
        self._move_to(REVOKED)
        self.revoked_at = now
        self.revoked_by = by[:254]
        self.revoked_reason = reason[:200]
        self.destroy_tokens()


class LinkAttempt(db.Model):  # type: ignore[name-defined,misc]
    """A link started on our page; the redirect handler needs a fresh, unused one."""

    __tablename__ = "link_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # SHA-256 of the authorization code that used this attempt: a code is single-use.
    code_hash: Mapped[str | None] = mapped_column(String(64), unique=True)

    def __repr__(self) -> str:
        return f"<LinkAttempt {self.id} member={self.member_id}>"
