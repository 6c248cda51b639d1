"""Emailed single-use links: issue, look up, spend, revoke (no commits here).

The raw token goes only into the mail; the database keeps its SHA-256. Lookups take
either the raw token (from the link) or its hash (what a session keeps after the link
was opened, so the token itself never has to travel again).
"""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from wallet.errors import WalletError
from wallet.extensions import db
from wallet.models import Member
from wallet.models._types import utcnow
from wallet.models.member_token import MemberToken, token_hash

_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{32,64}\Z")
_HASH_RE = re.compile(r"^[0-9a-f]{64}\Z")


class InvalidLinkError(WalletError):
    """The link is unknown, expired or already used (deliberately not saying which)."""

    status = 400
    code = "INVALID_LINK"
    default_message = _l(
        "This link is no longer valid: it has expired or was already used."
    )


def issue(
    member: Member, purpose: str, ttl_seconds: int, *, new_email: str | None = None
) -> str:
    """A new link for `member` in the current session; returns the raw token."""
    raw = secrets.token_urlsafe(32)  # 256 bits
    now = utcnow()
    db.session.add(
        MemberToken(
            member_id=member.id,
            purpose=purpose,
            token_hash=token_hash(raw),
            new_email=new_email,
            created_at=now,
            expires_at=now + timedelta(seconds=ttl_seconds),
        )
    )
    return raw


def hash_of(raw: str) -> str:
    """The stored hash of a raw token from a link; InvalidLinkError if malformed."""
    if not isinstance(raw, str) or not _TOKEN_RE.match(raw):
        raise InvalidLinkError()
    return token_hash(raw)


def check(purpose: str, raw: str) -> str:
    """A mailed link was opened: its token's hash if it is usable (nothing written)."""
    hashed = hash_of(raw)
    find_usable(purpose, hashed)
    return hashed


def find_usable(purpose: str, hashed: str | None) -> MemberToken:
    """The unspent, unexpired token with this hash and purpose; else InvalidLinkError."""
    if not isinstance(hashed, str) or not _HASH_RE.match(hashed):
        raise InvalidLinkError()  # also: no link was opened in this session
    token = db.session.scalar(
        select(MemberToken).where(
            MemberToken.token_hash == hashed, MemberToken.purpose == purpose
        )
    )
    if token is None or not token.is_usable():
        raise InvalidLinkError()
    return token


def spend(token: MemberToken) -> None:
    """Mark the token used, in the current transaction; InvalidLinkError if another
    request spent it first (the guarded UPDATE lets exactly one win)."""
    now = utcnow()
    result = db.session.execute(
        update(MemberToken)
        .where(
            MemberToken.id == token.id,
            MemberToken.used_at.is_(None),
            MemberToken.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        raise InvalidLinkError()


def revoke_all(member: Member, purpose: str) -> int:
    """Spend every open link of this purpose (a newer link or a new password ends
    them); returns how many, in the current transaction."""
    result = db.session.execute(
        update(MemberToken)
        .where(
            MemberToken.member_id == member.id,
            MemberToken.purpose == purpose,
            MemberToken.used_at.is_(None),
        )
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)
