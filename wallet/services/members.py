"""Member accounts: registration, authentication with lockout, roles."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from wallet.errors import ConflictError, WalletError
from wallet.extensions import db
from wallet.models import Member
from wallet.models._types import utcnow
from wallet.services import audit


class LoginError(WalletError):
    """Wrong email or password (deliberately not saying which)."""

    status = 401
    code = "LOGIN_FAILED"


class LockedOutError(WalletError):
    """Too many failed logins; the account is locked for a while."""

    status = 429
    code = "LOCKED_OUT"


def normalize_email(email: str) -> str:
    """Emails compare case-insensitively and without surrounding space."""
    return email.strip().lower()


def find_by_email(email: str) -> Member | None:
    """The member with this email, if any."""
    return db.session.scalar(
        select(Member).where(Member.email == normalize_email(email))
    )


def register(
    email: str, password: str, *, role: str = "member", locale: str | None = None
) -> Member:
    """Create a member with a fresh customerKey; duplicate email → ConflictError."""
    member = Member(email=normalize_email(email), role=role, locale=locale)
    member.set_password(password)
    db.session.add(member)
    try:
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        raise ConflictError(_("An account with this email already exists.")) from exc
    audit.record(member.email, "member.registered", f"member:{member.id}", role=role)
    return member


def authenticate(email: str, password: str) -> Member:
    """Check credentials, counting failures and locking the account with a growing delay."""
    member = find_by_email(email)
    now = utcnow()
    if member is None:
        audit.record(
            normalize_email(email)[:120], "login.failed", "", reason="unknown email"
        )
        raise LoginError(_("Wrong email or password."))
    if member.locked_until and member.locked_until > now:
        audit.record(member.email, "login.locked", f"member:{member.id}")
        raise LockedOutError(
            _("Too many failed attempts. Try again after a few minutes.")
        )
    if not member.check_password(password):
        member.failed_logins += 1
        threshold = current_app.config["LOGIN_LOCKOUT_THRESHOLD"]
        if member.failed_logins >= threshold:
            # Exponential backoff: 30 s, 60 s, 120 s, ... capped at one hour.
            exponent = min(member.failed_logins - threshold, 7)
            seconds = min(
                current_app.config["LOGIN_LOCKOUT_BASE_SECONDS"] * 2**exponent, 3600
            )
            member.locked_until = now + timedelta(seconds=seconds)
        db.session.commit()
        audit.record(
            member.email,
            "login.failed",
            f"member:{member.id}",
            failures=member.failed_logins,
        )
        raise LoginError(_("Wrong email or password."))
    member.failed_logins = 0
    member.locked_until = None
    db.session.commit()
    audit.record(member.email, "login.succeeded", f"member:{member.id}")
    return member


def reauthenticate(member: Member, password: str) -> None:
    """Check a logged-in member's password again (same lockout rules as login)."""
    authenticate(member.email, password)
    audit.record(member.email, "reauth.succeeded", f"member:{member.id}")


def set_locale(member: Member, locale: str) -> None:
    """Remember the member's language."""
    member.locale = locale
    db.session.commit()


def count_members() -> int:
    """How many members exist."""
    return int(db.session.scalar(select(func.count(Member.id))) or 0)
