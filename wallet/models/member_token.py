"""Single-use, expiring links mailed to a member: password reset and email change.

Only the SHA-256 of a token is stored; the token itself exists in the mail (and, until
it is sent, encrypted in the outbox). A token is spent by a guarded UPDATE that sets
`used_at`, so of two requests racing with one link exactly one succeeds.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from wallet.extensions import db
from wallet.models._types import UTCDateTime, utcnow

PASSWORD_RESET = "password_reset"  # noqa: S105 - a purpose name, not a secret
EMAIL_CHANGE = "email_change"
PURPOSES = (PASSWORD_RESET, EMAIL_CHANGE)


def token_hash(token: str) -> str:
    """The stored form of a token: hex SHA-256 (the token has 256 random bits)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class MemberToken(db.Model):  # type: ignore[name-defined,misc]
    """One emailed link; `new_email` is the address an email change confirms."""

    __tablename__ = "member_tokens"
    __table_args__ = (
        CheckConstraint(
            "purpose IN (" + ", ".join(f"'{p}'" for p in PURPOSES) + ")",
            name="purpose",
        ),
        Index("ix_member_tokens_member_purpose", "member_id", "purpose"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    new_email: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def __repr__(self) -> str:  # never the hash: it names a live link
        return f"<MemberToken {self.id} {self.purpose} member:{self.member_id}>"

    def is_usable(self, now: datetime | None = None) -> bool:
        """Not spent and not expired."""
        return self.used_at is None and (now or utcnow()) < self.expires_at
