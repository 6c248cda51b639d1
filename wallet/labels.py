"""What people read instead of raw values: order statuses, audit actions, payment
methods and the portal's own refund reasons, in the reader's language.

Raw values stay what they are in the database, in Toss's API and in CSV exports; only
pages and mails show these labels. An unknown value is shown as it is (as a code).
"""

from __future__ import annotations

from typing import Any

import flask_babel
from flask_babel import LazyString, get_locale
from flask_babel import lazy_gettext as _l


def krw(amount: int | None) -> str:
    """`12,300원` in Korean, `₩12,300` in English: the one way every page, mail and
    message writes money (KRW has no minor unit, so amounts are whole integers)."""
    if amount is None:
        return "—"
    sign = "-" if amount < 0 else ""
    digits = f"{abs(int(amount)):,}"
    if language().startswith("ko"):
        return f"{sign}{digits}원"
    return f"{sign}₩{digits}"


ORDER_STATUS: dict[str, LazyString] = {
    "PENDING": _l("Awaiting payment"),
    "CONFIRMING": _l("Confirming"),
    "DONE": _l("Paid"),
    "PARTIAL_CANCELED": _l("Partly refunded"),
    "CANCELED": _l("Refunded"),
    "FAILED": _l("Stopped"),
    "EXPIRED": _l("Expired"),
    "UNKNOWN": _l("Being checked"),
    # History only: a PENDING order whose last attempt Toss declined (failUrl).
    "DECLINED": _l("Declined"),
}

# contract §4: Toss reports `method` in Korean whatever the request's language.
PAYMENT_METHOD: dict[str, LazyString] = {
    "카드": _l("Card"),
    "계좌이체": _l("Bank transfer"),
    "간편결제": _l("Easy pay"),
    "가상계좌": _l("Virtual account"),
    "휴대폰": _l("Mobile phone"),
    "CARD": _l("Card"),
    "TRANSFER": _l("Bank transfer"),
}

# Toss's cardType / ownerType values (contract §4), also in Korean.
CARD_TYPE: dict[str, LazyString] = {
    "신용": _l("Credit"),
    "체크": _l("Debit"),
    "기프트": _l("Gift"),
    "개인": _l("Personal"),
    "법인": _l("Corporate"),
}

# Reasons the portal itself writes on a refund; what a person typed is shown as typed.
MEMBER_CANCEL_REASON = "Canceled by the member"
CANCEL_REASON: dict[str, LazyString] = {
    MEMBER_CANCEL_REASON: _l("Canceled by the member"),
}

AUDIT_ACTION: dict[str, LazyString] = {
    "admin.member_viewed": _l("Admin viewed a member"),
    "admin.payments_exported": _l("Admin exported payments"),
    "admin.relink_forced": _l("Admin asked for a new link"),
    "brandpay.callback_refused": _l("BrandPay callback refused"),
    "brandpay.link_failed": _l("BrandPay link failed"),
    "brandpay.link_renewed": _l("BrandPay link renewed"),
    "brandpay.link_started": _l("BrandPay link started"),
    "brandpay.linked": _l("BrandPay linked"),
    "brandpay.method_removed": _l("Payment method removed"),
    "brandpay.needs_relink": _l("BrandPay needs a new link"),
    "brandpay.refresh_failed": _l("BrandPay token refresh failed"),
    "brandpay.revoked": _l("BrandPay token revoked"),
    "brandpay.withdrawn": _l("Left BrandPay"),
    "brandpay.withdrawn_upstream": _l("Left BrandPay at Toss"),
    "email_change.confirmed": _l("Email address changed"),
    "email_change.requested": _l("Email change requested"),
    "login.failed": _l("Login failed"),
    "login.succeeded": _l("Logged in"),
    "login.throttled": _l("Login slowed down"),
    "mail.address_in_use": _l("Address already in use (mailed)"),
    "mandate.approved": _l("Mandate approved"),
    "mandate.charge_started": _l("Charge under a mandate started"),
    "mandate.requested": _l("Mandate requested"),
    "mandate.revoked": _l("Mandate revoked"),
    "member.password_changed": _l("Password changed"),
    "member.register_existing": _l("Sign-up with an existing address"),
    "member.registered": _l("Member registered"),
    "merchant.api_key_issued": _l("API key issued"),
    "merchant.api_key_revoked": _l("API key revoked"),
    "merchant.confirm_url_changed": _l("Pre-approval URL changed"),
    "merchant.created": _l("Merchant created"),
    "merchant.refund_policy_changed": _l("Refund policy changed"),
    "merchant.secret_retired": _l("Old signing secret retired"),
    "merchant.secret_rotated": _l("Signing secret rotated"),
    "merchant.staff_added": _l("Merchant staff added"),
    "merchant.updated": _l("Merchant updated"),
    "merchant.webhook_resent": _l("Webhook resent"),
    "merchant.webhook_test_sent": _l("Test webhook sent"),
    "password_reset.completed": _l("Password reset"),
    "password_reset.requested": _l("Password reset requested"),
    "password_reset.throttled": _l("Password reset slowed down"),
    "payment.confirmed": _l("Payment confirmed"),
    "payment.declined": _l("Payment declined"),
    "payment.mismatch": _l("Payment did not match its order"),
    "payment.net_cancel": _l("Canceled after the shop declined (network cancel)"),
    "payment.options_mismatch": _l("Payment options did not match the checkout"),
    "payment.pre_approval": _l("Shop answered the pre-approval"),
    "payment.pre_approval_withdrawn": _l("Shop withdrew its approval"),
    "payment.refund_failed": _l("Refund failed"),
    "payment.refunded": _l("Refunded"),
    "reauth.succeeded": _l("Password confirmed again"),
    "refund_request.approved": _l("Refund request approved"),
    "refund_request.created": _l("Refund requested"),
    "refund_request.declined": _l("Refund request declined"),
    "sessions.ended": _l("Logged out everywhere"),
    "vault.keys_rotated": _l("Vault keys rotated"),
    "wallet_link.redeemed": _l("Wallet link used"),
    "wallet_link.redeemed_by_guest": _l("Wallet link used by a guest"),
    "wallet_link.refused": _l("Wallet link refused"),
}


def language() -> str:
    """This request's language, from the state `wallet.templating` keeps per request
    (Flask-Babel's `get_locale()` looks it up again on every call: issue 16)."""
    state = _request_babel()()
    return state.language if state is not None else str(get_locale() or "ko")


def _request_babel() -> Any:
    """`wallet.templating.request_babel` (it imports this module: imported on first
    use, then kept; an import statement per call cost more than the label)."""
    global _REQUEST_BABEL
    if _REQUEST_BABEL is None:
        from wallet.templating import request_babel

        _REQUEST_BABEL = request_babel
    return _REQUEST_BABEL


_REQUEST_BABEL: Any = None


def say(text: LazyString) -> str:
    """`str(text)` for a `lazy_gettext` label, with this request's catalogue looked
    up once (`wallet.templating.request_babel`) instead of on every label."""
    if text._func is not flask_babel.gettext or text._kwargs or len(text._args) != 1:
        return str(text)
    state = _request_babel()()
    if state is None:
        return str(text)
    return str(state.translations.ugettext(text._args[0]))


def label(table: dict[str, LazyString], value: str | None) -> str:
    """The translated label of `value`, or the value itself when it has none."""
    if value is None:
        return "—"
    found = table.get(value)
    return say(found) if found is not None else value
