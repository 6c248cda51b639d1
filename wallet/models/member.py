"""Members: portal accounts, each mapped to one opaque BrandPay customerKey."""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from typing import Any

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, Exists, Index, Integer, String, exists, select
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from wallet.extensions import db
from wallet.models._types import UTCDateTime, utcnow

# contract §10: the SDK's own rule for customerKey (\Z: "$" would let a trailing
# newline through `.match`).
CUSTOMER_KEY_RE = re.compile(r"^[A-Za-z0-9\-_=.@]{2,50}\Z")
ROLES = ("member", "admin")
_STAFF_FLAG = "_wallet_is_staff"  # a plain attribute, not a column


def is_staff_of_any(member_id: Any) -> Exists:
    """EXISTS (a merchant_members row for this member): the Merchant nav item."""
    from wallet.models.merchant import merchant_members

    return exists().where(merchant_members.c.member_id == member_id)


def new_customer_key() -> str:
    """A fresh opaque customerKey: 192 random bits, never derived from id or email."""
    # token_urlsafe uses [A-Za-z0-9_-] only, inside the contract's alphabet.
    return "cus_" + secrets.token_urlsafe(24)


class Member(UserMixin, db.Model):  # type: ignore[name-defined,misc]
    """A portal account."""

    __tablename__ = "members"
    __table_args__ = (
        CheckConstraint("role IN ('member', 'admin')", name="role"),
        # Admin search by email prefix (LIKE 'abc%'): PostgreSQL only uses a btree for
        # LIKE with pattern ops under a non-C collation (migration 0005).
        Index(
            "ix_members_email_pattern",
            "email",
            postgresql_ops={"email": "varchar_pattern_ops"},
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    customer_key: Mapped[str] = mapped_column(
        String(50), unique=True, default=new_customer_key
    )
    role: Mapped[str] = mapped_column(String(16), default="member")
    locale: Mapped[str | None] = mapped_column(String(8))
    # Every session of this member carries the epoch it was opened in (Flask-Login's
    # user id is "id:epoch"); bumping it ends them all, on every backend and process,
    # at the cost of no query beyond the user loader's own.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def __repr__(self) -> str:
        return f"<Member {self.id} {self.role}>"

    def get_id(self) -> str:
        """Flask-Login's session value: the id and the session epoch it belongs to."""
        return f"{self.id}:{self.session_epoch}"

    @property
    def is_admin(self) -> bool:
        """Whether the member may use the admin console."""
        return self.role == "admin"

    @property
    def is_merchant(self) -> bool:
        """Whether the member is staff of any merchant (shows the Merchant nav item).

        The user loader reads it with the member in one statement (`is_staff_of_any`,
        security.py) and leaves it on the instance for this request; otherwise (or
        after `forget_staff`) it is asked here.
        """
        known = self.__dict__.get(_STAFF_FLAG)
        if known is not None:
            return bool(known)
        found = db.session.scalar(select(is_staff_of_any(self.id)))
        self.__dict__[_STAFF_FLAG] = bool(found)
        return bool(found)

    def remember_staff(self, is_staff: bool) -> None:
        """Record what the user loader read (nothing is written)."""
        self.__dict__[_STAFF_FLAG] = bool(is_staff)

    def forget_staff(self) -> None:
        """Staff rows changed in this request: ask again when next needed."""
        self.__dict__.pop(_STAFF_FLAG, None)

    def set_password(self, password: str) -> None:
        """Hash with scrypt (werkzeug's default KDF)."""
        self.password_hash = generate_password_hash(password, method="scrypt")

    def check_password(self, password: str) -> bool:
        """Constant-time comparison against the stored hash."""
        return check_password_hash(self.password_hash, password)
