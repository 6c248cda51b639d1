"""Member accounts: registration, authentication with lockout, roles, and what must
follow a new password."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from wallet.errors import ConflictError, WalletError
from wallet.extensions import db
from wallet.models import Member
from wallet.models._types import utcnow
from wallet.models.member_token import PASSWORD_RESET
from wallet.services import audit, mail, member_tokens

# Someone used this member's address to sign up (or to move another account to it).
ADDRESS_IN_USE = mail.register_kind(
    "address_in_use", _l("Someone tried to use your email address at BrandPay Wallet")
)
PASSWORD_CHANGED = mail.register_kind(
    "password_changed", _l("Your BrandPay Wallet password was changed")
)


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
        if role == "member":  # a public sign-up, not an operator's CLI typo
            tell_owner_address_in_use(email, "register")
        raise ConflictError(_("An account with this email already exists.")) from exc
    audit.record(member.email, "member.registered", f"member:{member.id}", role=role)
    return member


def tell_owner_address_in_use(email: str, reason: str) -> None:
    """Mail the owner of `email` that someone tried to use it (sign-up or email change),
    with a login and a password-reset link; capped per hour, silent past the cap.

    The page that caused it answers as if the address were new (issue 13 L1): only
    the address's owner learns that it is taken.
    """
    from wallet.services.password_reset import RESET_LINK_KINDS, new_reset_link

    owner = find_by_email(email)
    if owner is None or not mail.within_hourly_cap(owner, RESET_LINK_KINDS):
        return
    token, minutes = new_reset_link(owner)
    mail.enqueue(
        owner, ADDRESS_IN_USE.name, reason=reason, token=token, minutes=minutes
    )
    db.session.commit()
    audit.record(
        owner.email, "mail.address_in_use", f"member:{owner.id}", reason=reason
    )


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


def password_changed(member: Member) -> None:
    """Everything that must follow a new password, in the caller's transaction.

    Open reset links stop working and the member is told by mail. This is also the
    one place to end the account's other sessions (server-side sessions, issue 13
    M2): revoke them here, so a reset, a change on the account page or an admin's
    reset all do it.
    """
    member_tokens.revoke_all(member, PASSWORD_RESET)
    mail.enqueue(member, PASSWORD_CHANGED.name, changed_at=utcnow())


def set_locale(member: Member, locale: str) -> None:
    """Remember the member's language."""
    member.locale = locale
    db.session.commit()


def count_members() -> int:
    """How many members exist."""
    return int(db.session.scalar(select(func.count(Member.id))) or 0)
