"""Password reset by email: a single-use, short-lived link, then a new password.

Asking for a link answers the same whether or not the address has an account (the
view shows one message; here both paths write one audit entry). Links go out through
the mail outbox, at most ACCOUNT_MAILS_PER_HOUR per address and hour: past that the
form stays silent, and the address's owner already has recent working links.
"""

from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from wallet.errors import WalletError
from wallet.extensions import db
from wallet.models import Member
from wallet.models.member_token import PASSWORD_RESET
from wallet.services import audit, mail, member_tokens, members, sessions

PASSWORD_RESET_MAIL = mail.register_kind(
    "password_reset", _l("Reset your BrandPay Wallet password")
)
# Mails that carry a reset link to the member's own address (counted together).
RESET_LINK_KINDS = ("password_reset", "address_in_use")
MIN_PASSWORD, MAX_PASSWORD = 10, 256  # as the registration form


class WeakPasswordError(WalletError):
    """The new password does not meet the rules."""

    status = 400
    code = "WEAK_PASSWORD"


def new_reset_link(member: Member) -> tuple[str, int]:
    """Issue a reset token for `member` (current session); (token, minutes valid)."""
    ttl = int(current_app.config["PASSWORD_RESET_TTL"])
    return member_tokens.issue(member, PASSWORD_RESET, ttl), ttl // 60


def request_reset(email: str) -> None:
    """Mail a reset link if the address has an account; silent either way."""
    member = members.find_by_email(email or "")
    if member is None:
        audit.record(
            members.normalize_email(email or "")[:120],
            "password_reset.requested",
            "",
            known=False,
        )
        return
    if not mail.within_hourly_cap(member, RESET_LINK_KINDS):
        audit.record(member.email, "password_reset.throttled", f"member:{member.id}")
        return
    token, minutes = new_reset_link(member)
    mail.enqueue(member, PASSWORD_RESET_MAIL.name, token=token, minutes=minutes)
    db.session.commit()
    audit.record(member.email, "password_reset.requested", f"member:{member.id}")


def check_password_rules(password: str) -> None:
    """The rules of the registration form, enforced again here."""
    if not isinstance(password, str) or not (
        MIN_PASSWORD <= len(password) <= MAX_PASSWORD
    ):
        raise WeakPasswordError(_("Use 10 to 256 characters."))


def reset_password(hashed: str | None, password: str) -> Member:
    """Spend the link and set the new password; a refused request writes nothing."""
    check_password_rules(password)
    token = member_tokens.find_usable(PASSWORD_RESET, hashed)
    member = db.session.get(Member, token.member_id)
    if member is None:  # pragma: no cover - the FK cascades
        raise member_tokens.InvalidLinkError()
    member_tokens.spend(token)
    member.set_password(password)
    members.password_changed(member)
    db.session.commit()
    audit.record(member.email, "password_reset.completed", f"member:{member.id}")
    # Whoever had the old password (a copied session too) is logged out everywhere.
    sessions.end_all(member.id, member.email, "password reset")
    return member
