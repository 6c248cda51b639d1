"""Member notices: tell a member, on their wallet home, what an admin did to their link."""

from __future__ import annotations

from sqlalchemy import select

from wallet.errors import NotFoundError
from wallet.extensions import db
from wallet.models import Member
from wallet.models._types import utcnow
from wallet.models.notice import MemberNotice

__all__ = ["add", "dismiss", "pending"]


def add(member_id: int, kind: str) -> MemberNotice:
    """Queue a notice in the caller's transaction (no commit: it lands with the change)."""
    notice = MemberNotice(member_id=member_id, kind=kind, created_at=utcnow())
    db.session.add(notice)
    return notice


def pending(member: Member) -> list[MemberNotice]:
    """The member's notices not yet dismissed, oldest first."""
    return list(
        db.session.scalars(
            select(MemberNotice)
            .where(
                MemberNotice.member_id == member.id,
                MemberNotice.dismissed_at.is_(None),
            )
            .order_by(MemberNotice.id)
        )
    )


def dismiss(member: Member, notice_id: int) -> None:
    """Mark one of the member's own notices read; someone else's is not found."""
    notice = db.session.get(MemberNotice, notice_id)
    if notice is None or notice.member_id != member.id:
        raise NotFoundError()
    notice.dismiss(utcnow())
    db.session.commit()
