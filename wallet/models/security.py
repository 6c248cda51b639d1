"""Server-side sessions, each member's signed-in devices, and login throttles (issue 13).

Nothing here holds a usable secret: a web session is stored under a SHA-256 of the id
its cookie carries, a device row knows only a random handle kept inside the session's
server-side data, and a throttle row is keyed by an HMAC of the email (and address).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from wallet.extensions import db
from wallet.models._types import UTCDateTime, utcnow

THROTTLE_PAIR = "pair"  # one account from one client address
THROTTLE_ACCOUNT = "account"  # one account from anywhere
THROTTLE_SCOPES = (THROTTLE_PAIR, THROTTLE_ACCOUNT)


class WebSession(db.Model):  # type: ignore[name-defined,misc]
    """One Flask-Session session (wallet/sessions.py is the storage that uses it)."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Key prefix + SHA-256 hex of the cookie's session id: a copy of this table does
    # not let anybody present a session.
    session_id: Mapped[str] = mapped_column(String(100), unique=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    expiry: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    # The logged-in member's id, written with the data: the session read joins the
    # member row (issue 16). A hint only; the user loader checks the data's own id.
    member_id: Mapped[int | None] = mapped_column(Integer)

    def __repr__(self) -> str:
        return f"<WebSession {self.id}>"


class MemberSession(db.Model):  # type: ignore[name-defined,misc]
    """A device a member is signed in on, for the account page's list.

    Revocation does not depend on these rows (the member's session epoch does); they
    say where and when, and are deleted when those sessions end.
    """

    __tablename__ = "member_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), index=True
    )
    # Random; lives in the session's server-side data, never in a cookie or a URL.
    handle: Mapped[str] = mapped_column(String(64), unique=True)
    user_agent: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def __repr__(self) -> str:
        return f"<MemberSession {self.id} member={self.member_id}>"


class LoginThrottle(db.Model):  # type: ignore[name-defined,misc]
    """Failed password entries for one key: (email, address) or the email alone.

    Keyed by the email whether or not an account has it, so that unknown emails are
    throttled exactly like real ones (no enumeration through the throttle).
    """

    __tablename__ = "login_throttles"

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(64), unique=True)  # HMAC-SHA256 hex
    failures: Mapped[int] = mapped_column(Integer, default=0)
    first_failure_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def __repr__(self) -> str:
        return f"<LoginThrottle {self.scope} {self.failures}>"
