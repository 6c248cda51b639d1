"""Changing a member's email: password first, a link to the new address, a notice to
the old one; the address changes only when the link is confirmed.

Asking for an address that another account already uses answers exactly like any
other request (no enumeration through the account page): that address's owner gets
the "someone tried to use your address" mail instead of a link.
"""

from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from wallet.errors import ConflictError, WalletError
from wallet.extensions import db
from wallet.models import Member
from wallet.models._types import utcnow
from wallet.models.member_token import EMAIL_CHANGE, PASSWORD_RESET
from wallet.services import audit, mail, member_tokens, members

CONFIRM_MAIL = mail.register_kind(
    "email_change_confirm", _l("Confirm your new email address")
)
REQUESTED_MAIL = mail.register_kind(
    "email_change_requested", _l("Someone asked to change your account's email")
)
CHANGED_MAIL = mail.register_kind(
    "email_changed", _l("Your BrandPay Wallet email was changed")
)


def mask_email(email: str) -> str:
    """k***@example.com: enough to recognise an address, not to harvest it."""
    local, _sep, domain = email.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def request_change(member: Member, new_email: str, password: str) -> str:
    """Check the password, then mail a confirmation link to `new_email` and a notice to
    the current address. Returns the normalised new address."""
    new = members.normalize_email(new_email or "")
    if "@" not in new or len(new) > 254:
        raise WalletError(_("Enter a valid email address."))
    if new == member.email:
        raise WalletError(_("That is already your email address."))
    members.reauthenticate(member, password)  # LoginError / ThrottledError
    if not mail.within_hourly_cap(member, (CONFIRM_MAIL.name,)):
        # Links to addresses the member types: capped, so nobody floods a stranger.
        raise WalletError(
            _("You asked for several links in the last hour. Try again later."),
            status=429,
        )
    # The current address hears of every request, so what reaches the requester's own
    # inbox does not tell whether the new address is taken either.
    mail.enqueue(member, REQUESTED_MAIL.name, new_email=mask_email(new))
    if members.find_by_email(new) is not None:
        db.session.commit()
        members.tell_owner_address_in_use(new, "email_change")
        audit.record(member.email, "email_change.requested", f"member:{member.id}")
        return new
    member_tokens.revoke_all(member, EMAIL_CHANGE)  # only the newest link works
    ttl = int(current_app.config["EMAIL_CHANGE_TTL"])
    token = member_tokens.issue(member, EMAIL_CHANGE, ttl, new_email=new)
    mail.enqueue(
        member,
        CONFIRM_MAIL.name,
        to=new,
        token=token,
        new_email=new,
        hours=ttl // 3600,
    )
    db.session.commit()
    audit.record(member.email, "email_change.requested", f"member:{member.id}")
    return new


def _address_taken() -> ConflictError:
    return ConflictError(
        _("This address now belongs to another account, so your email was not changed.")
    )


def confirm(hashed: str | None) -> Member:
    """Spend the link and move the account to its new address, if still free; a
    refused confirmation writes nothing."""
    token = member_tokens.find_usable(EMAIL_CHANGE, hashed)
    member = db.session.get(Member, token.member_id)
    if member is None or not token.new_email:  # pragma: no cover - FK cascades
        raise member_tokens.InvalidLinkError()
    new = token.new_email
    if members.find_by_email(new) is not None:  # uniqueness, checked again now
        db.session.rollback()
        raise _address_taken()
    old = member.email
    member_tokens.spend(token)
    member.email = new
    # Open links were sent to the old address: they must not outlive it.
    member_tokens.revoke_all(member, EMAIL_CHANGE)
    member_tokens.revoke_all(member, PASSWORD_RESET)
    mail.enqueue(
        member,
        CHANGED_MAIL.name,
        to=old,
        new_email=mask_email(new),
        changed_at=utcnow(),
    )
    try:
        db.session.commit()
    except IntegrityError:  # someone registered it between the check and now
        db.session.rollback()
        raise _address_taken() from None
    audit.record(new, "email_change.confirmed", f"member:{member.id}", old=old)
    return member
