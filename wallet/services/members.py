"""Member accounts: registration, authentication (throttled, never locked), passwords."""

from __future__ import annotations

import secrets
from functools import cache

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from wallet.errors import ConflictError, WalletError
from wallet.extensions import db
from wallet.models import Member
from wallet.models._types import utcnow
from wallet.models.member_token import PASSWORD_RESET
from wallet.services import audit, mail, member_tokens, throttle

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


class PasswordError(WalletError):
    """A new password that cannot be used."""

    code = "INVALID_PASSWORD"


MIN_PASSWORD = 10
MAX_PASSWORD = 256


@cache
def _dummy_hash() -> str:
    """A scrypt hash of nothing anybody knows, with the same cost as real ones: unknown
    emails are checked against it so that they take as long as known ones (L1)."""
    return generate_password_hash(secrets.token_urlsafe(32), method="scrypt")


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
    """Create a member with a fresh customerKey; duplicate email → ConflictError.

    For operators and fixtures (CLI, demo); the public form uses `sign_up`, which
    never says whether an email is taken.
    """
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


def sign_up(email: str, password: str, *, locale: str | None = None) -> Member | None:
    """The public registration: a new member, or None when the email is taken.

    Both cases cost the same (the password is hashed either way) and the caller
    answers both the same way, so the form does not reveal who has an account.
    """
    address = normalize_email(email)
    password_hash = generate_password_hash(password, method="scrypt")
    if find_by_email(address) is None:
        member = Member(email=address, role="member", locale=locale)
        member.password_hash = password_hash
        db.session.add(member)
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()  # registered in parallel: the same as taken
        else:
            audit.record(member.email, "member.registered", f"member:{member.id}")
            return member
    # Only the address's owner learns that it is taken: by mail (issue 13 L1).
    audit.record(address[:120], "member.register_existing", "")
    tell_owner_address_in_use(address, "register")
    return None


def _check(email: str, password: str, address: str | None) -> Member | None:
    """The member if the password is right; throttled, counted and timed the same
    for known and unknown emails."""
    normalized = normalize_email(email)
    wait = throttle.retry_after(normalized, address)
    if wait:
        audit.record(normalized[:120], "login.throttled", "", wait=wait)
        raise throttle.ThrottledError(wait)
    member = find_by_email(normalized)
    if member is not None:
        ok = member.check_password(password)
    else:
        check_password_hash(_dummy_hash(), password)  # the same work, never a match
        ok = False
    if not ok:
        throttle.failed(normalized, address)
        subject = f"member:{member.id}" if member is not None else ""
        audit.record(normalized[:120], "login.failed", subject)
        return None
    throttle.succeeded(normalized, address)
    return member


def authenticate(email: str, password: str, address: str | None = None) -> Member:
    """Check credentials (issue 13 L1: no enumeration, no lockout of the owner)."""
    member = _check(email, password, address)
    if member is None:
        raise LoginError(_("Wrong email or password."))
    audit.record(member.email, "login.succeeded", f"member:{member.id}")
    return member


def reauthenticate(member: Member, password: str, address: str | None = None) -> None:
    """Check a logged-in member's password again (the login throttle applies)."""
    if _check(member.email, password, address) is None:
        raise LoginError(_("That password is not right. Try again."))
    audit.record(member.email, "reauth.succeeded", f"member:{member.id}")


def password_changed(member: Member) -> None:
    """Everything that must follow a new password, in the caller's transaction.

    Open reset links stop working and the member is told by mail. The caller ends
    the sessions that must end (a reset: all of them; a change on the account page:
    the others), since only it knows which one to keep.
    """
    member_tokens.revoke_all(member, PASSWORD_RESET)
    mail.enqueue(member, PASSWORD_CHANGED.name, changed_at=utcnow())


def change_password(
    member: Member,
    current: str,
    new: str,
    *,
    address: str | None = None,
    keep_session: str | None = None,
) -> None:
    """Set a new password after checking the current one; ends every other session."""
    from wallet.services import sessions

    if _check(member.email, current, address) is None:
        raise LoginError(_("Your current password is not right."))
    if not MIN_PASSWORD <= len(new) <= MAX_PASSWORD:
        raise PasswordError(_("Use 10 to 256 characters."))
    if member.check_password(new):
        raise PasswordError(_("Choose a password different from the current one."))
    member.set_password(new)
    password_changed(member)
    db.session.commit()
    audit.record(member.email, "member.password_changed", f"member:{member.id}")
    sessions.end_others(member, keep_session, "password changed")


def set_locale(member: Member, locale: str) -> None:
    """Remember the member's language."""
    member.locale = locale
    db.session.commit()


def count_members() -> int:
    """How many members exist."""
    return int(db.session.scalar(select(func.count(Member.id))) or 0)
