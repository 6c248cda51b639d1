"""Notices for a member: shown on their wallet home until they dismiss them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from wallet.extensions import db
from wallet.models._types import UTCDateTime, utcnow

LINK_REVOKED = "link_revoked"
RELINK_REQUIRED = "relink_required"
NOTICE_KINDS = (LINK_REVOKED, RELINK_REQUIRED)


class MemberNotice(db.Model):  # type: ignore[name-defined,misc]
    """Something an admin did to the member's account that the member must learn of.

    Only a kind is stored: the text is the template's (translated at display time), and
    the admin's reason stays in the audit log, not in front of the member.
    """

    __tablename__ = "member_notices"
    __table_args__ = (
        CheckConstraint(
            "kind IN (" + ", ".join(f"'{k}'" for k in NOTICE_KINDS) + ")", name="kind"
        ),
        # The wallet home asks "this member's undismissed notices" on every visit.
        Index("ix_member_notices_member_dismissed", "member_id", "dismissed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    dismissed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def __repr__(self) -> str:
        return f"<MemberNotice {self.id} member={self.member_id} {self.kind}>"

    def dismiss(self, now: datetime) -> None:
        """The member has read it; dismissing twice keeps the first time."""
        if self.dismissed_at is None:
            self.dismissed_at = now
