"""Members' signed-in sessions: open, touch, close, and end them all (issue 13, M2).

Ending sessions works through `Member.session_epoch`: every session remembers the epoch
it was opened in (Flask-Login's user id is "id:epoch", checked by the user loader), so
bumping the epoch ends every session of the member at once, whichever backend holds
them and however many processes serve them. The `member_sessions` rows only describe
the devices for the account page.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, select, update

from wallet.extensions import db
from wallet.models import Member
from wallet.models._types import utcnow
from wallet.models.security import MemberSession
from wallet.services import audit

_MAX_USER_AGENT = 200


def opened(member: Member, user_agent: str | None) -> str:
    """Record a new signed-in session; returns its handle (kept in the session data)."""
    handle = secrets.token_urlsafe(24)
    db.session.add(
        MemberSession(
            member_id=member.id,
            handle=handle,
            user_agent=(user_agent or "")[:_MAX_USER_AGENT],
        )
    )
    db.session.commit()
    return handle


def touch(handle: str) -> None:
    """Note that the session was used now (callers do this at most every few minutes)."""
    db.session.execute(
        update(MemberSession)
        .where(MemberSession.handle == handle)
        .values(last_seen_at=utcnow())
    )
    db.session.commit()


def closed(handle: str | None) -> None:
    """Forget a session that was logged out."""
    if handle:
        db.session.execute(delete(MemberSession).where(MemberSession.handle == handle))
        db.session.commit()


def _bump_epoch(member_id: int) -> None:
    db.session.execute(
        update(Member)
        .where(Member.id == member_id)
        .values(session_epoch=Member.session_epoch + 1)
        .execution_options(synchronize_session=False)
    )


def end_all(member_id: int, actor: str, reason: str) -> None:
    """End every session of the member, on every device; audited with the reason."""
    _bump_epoch(member_id)
    db.session.execute(
        delete(MemberSession).where(MemberSession.member_id == member_id)
    )
    db.session.commit()
    db.session.expire_all()  # a loaded Member must not keep the old epoch
    audit.record(actor, "sessions.ended", f"member:{member_id}", reason=reason)


def end_others(member: Member, keep: str | None, reason: str) -> None:
    """End every session of the member except the one with handle `keep`.

    The caller must log the kept session in again (its epoch is now old too): the
    epoch cannot tell sessions apart, the new login in the same request can.
    """
    _bump_epoch(member.id)
    db.session.execute(
        delete(MemberSession).where(
            MemberSession.member_id == member.id, MemberSession.handle != (keep or "")
        )
    )
    db.session.commit()
    db.session.refresh(member)
    audit.record(member.email, "sessions.ended", f"member:{member.id}", reason=reason)


def active(member: Member) -> list[MemberSession]:
    """The member's sessions used within the session lifetime, latest use first."""
    lifetime = current_app.permanent_session_lifetime
    since = utcnow() - (
        lifetime if isinstance(lifetime, timedelta) else timedelta(seconds=lifetime)
    )
    return list(
        db.session.scalars(
            select(MemberSession)
            .where(
                MemberSession.member_id == member.id,
                MemberSession.last_seen_at >= since,
            )
            .order_by(MemberSession.last_seen_at.desc(), MemberSession.id.desc())
        )
    )
