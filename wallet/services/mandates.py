"""Mandates and the charges merchants make under them (autopay, contract §4).

A merchant asks for a mandate through a signed wallet link (action `mandate`); the
member approves it after BrandPay's billing agreement (`requestBillingAuth()`,
contract §5/§6.1) and may revoke it at any time, as may the merchant and an admin.

A charge (`POST /api/v1/mandates/{id}/charges`) checks every rule of the mandate
BEFORE Toss is called, each with its own error code, and a refused charge writes
nothing. The period counter is taken with one guarded UPDATE on the mandate row (the
same compare-and-set brandpay_tokens.py uses for its single-flight refresh), in the
same transaction that inserts the charge's order, so 50 concurrent charges on a mandate
allowing 3 give exactly 3 calls to Toss. The order is then charged through the autopay
API with an Idempotency-Key derived from the order; an unknown outcome leaves the
order UNKNOWN, looked up by orderId now and by `flask wallet reconcile` later
(services/payments.py), exactly like every other payment.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, case, or_, select, update
from sqlalchemy.exc import IntegrityError

from wallet.errors import ConflictError, NotFoundError, UpstreamError, WalletError
from wallet.extensions import db
from wallet.labels import krw
from wallet.models import Member
from wallet.models._types import utcnow
from wallet.models.brandpay_link import LINKED, NEEDS_RELINK
from wallet.models.mandate import (
    MANDATE_ACTIVE,
    MANDATE_EXPIRED,
    MANDATE_PENDING,
    MANDATE_REVOKED,
    MAX_CHARGES_PER_PERIOD,
    MAX_DESCRIPTION,
    PERIODS,
    Mandate,
    period_start,
)
from wallet.models.merchant import Merchant
from wallet.models.order import (
    CONFIRMING,
    DONE,
    FAILED,
    MAX_AMOUNT,
    MIN_AMOUNT,
    ORDER_ID_RE,
    PAY_AUTOPAY,
    UNKNOWN,
    Order,
)
from wallet.services import (
    audit,
    brandpay,
    checkout_options,
    events,
    orders,
    payments,
    toss,
)
from wallet.toss import TossApiError, TossError
from wallet.toss.types import BrandPayCard

log = logging.getLogger(__name__)

# contract §9: the autopay minimums by method kind (card 100, account 200 KRW).
_MINIMUM = {"card": 100, "account": 200}
_WITHDRAWN_CODES = frozenset(
    {"NOT_FOUND_CUSTOMER", "FORBIDDEN_DORMANT_OR_WITHDRAWAL_CUSTOMER"}
)
_METHOD_CODES = frozenset({"NOT_FOUND_METHOD", "NOT_FOUND_METHOD_OWNERSHIP"})
MAX_VALID_DAYS = 3660
_IN_FLIGHT_SECONDS = 60  # a CONFIRMING charge younger than this may still be in flight  # how far ahead a mandate may expire (about ten years)


# -- errors: each rule its own code ---------------------------------------------------


class MandateNotFoundError(NotFoundError):
    code = "MANDATE_NOT_FOUND"
    default_message = _l("No such mandate.")


class MandateNotActiveError(ConflictError):
    code = "MANDATE_NOT_ACTIVE"
    default_message = _l("The member has not approved this mandate.")


class MandateRevokedError(ConflictError):
    code = "MANDATE_REVOKED"
    default_message = _l("This mandate was revoked; it allows no more charges.")


class MandateExpiredError(ConflictError):
    code = "MANDATE_EXPIRED"
    default_message = _l("This mandate has expired; it allows no more charges.")


class MandateAmountOverLimitError(WalletError):
    status = 422
    code = "MANDATE_AMOUNT_OVER_LIMIT"


class MandateAmountBelowMinimumError(WalletError):
    status = 422
    code = "MANDATE_AMOUNT_BELOW_MINIMUM"


class MandatePeriodLimitError(ConflictError):
    code = "MANDATE_PERIOD_LIMIT_REACHED"
    default_message = _l("This mandate allows no more charges in the current period.")


class MandateMethodRemovedError(ConflictError):
    code = "MANDATE_METHOD_REMOVED"
    default_message = _l(
        "The member's payment method for this mandate is no longer registered."
    )


class MandateMemberWithdrawnError(ConflictError):
    code = "MANDATE_MEMBER_WITHDRAWN"
    default_message = _l("The member has left BrandPay; nothing can be charged.")


class MandateNoAgreementError(ConflictError):
    code = "MANDATE_BILLING_AGREEMENT_MISSING"
    default_message = _l(
        "The member has not agreed to BrandPay's automatic payments terms."
    )


class DuplicateOrderIdError(ConflictError):
    code = "DUPLICATED_ORDER_ID"
    default_message = _l("This orderId is already used by another order.")


class ChargeDeclinedError(WalletError):
    """Toss refused the charge (the order is kept as FAILED, with Toss's code)."""

    status = 402
    code = "CHARGE_DECLINED"


class InvalidMandateError(WalletError):
    code = "INVALID_MANDATE"


# -- lookups ---------------------------------------------------------------------------


def _by_public_id(public_id: str) -> Mandate | None:
    if not isinstance(public_id, str) or len(public_id) > 40:
        return None
    return db.session.scalar(select(Mandate).where(Mandate.public_id == public_id))


def by_id(public_id: str) -> Mandate:
    """Any mandate by its public id (the admin's pages)."""
    mandate = _by_public_id(public_id)
    if mandate is None:
        raise MandateNotFoundError()
    return mandate


def of_merchant(merchant: Merchant, public_id: str) -> Mandate:
    """The merchant's own mandate; anyone else's is 'not found'."""
    mandate = _by_public_id(public_id)
    if mandate is None or mandate.merchant_id != merchant.id:
        raise MandateNotFoundError()
    return mandate


def of_member(member: Member, public_id: str) -> Mandate:
    """The member's own mandate; anyone else's is 'not found'."""
    mandate = _by_public_id(public_id)
    if mandate is None or mandate.member_id != member.id:
        raise MandateNotFoundError()
    return mandate


# The dashboard's mandates table and the API's list, built once (issue 16).
_MERCHANTS_MANDATES = (
    select(Mandate)
    .where(Mandate.merchant_id == bindparam("merchant_id"))
    .order_by(Mandate.id.desc())
    .limit(bindparam("limit"))
)
_MERCHANTS_MANDATES_BEFORE = _MERCHANTS_MANDATES.where(Mandate.id < bindparam("before"))


def list_for_merchant(
    merchant: Merchant, before: int | None = None, limit: int = 20
) -> tuple[list[Mandate], int | None]:
    """The merchant's mandates, newest first; (rows, cursor of the next page)."""
    statement = _MERCHANTS_MANDATES if before is None else _MERCHANTS_MANDATES_BEFORE
    values = {"merchant_id": merchant.id, "before": before, "limit": limit + 1}
    rows = list(db.session.scalars(statement, values))
    more = rows[limit].id + 1 if len(rows) > limit else None
    return rows[:limit], more


def list_for_member(member: Member) -> list[Mandate]:
    """The member's mandates (pending ones they never approved are left out)."""
    return list(
        db.session.scalars(
            select(Mandate)
            .where(Mandate.member_id == member.id, Mandate.status != MANDATE_PENDING)
            .order_by(Mandate.id.desc())
        )
    )


def list_all(limit: int = 200) -> list[Mandate]:
    """Every mandate, newest first (the admin's list)."""
    return list(
        db.session.scalars(select(Mandate).order_by(Mandate.id.desc()).limit(limit))
    )


# -- asking, approving, revoking ------------------------------------------------------


@dataclass(frozen=True)
class Terms:
    """What a merchant asks a member to agree to."""

    description: str
    max_amount: int
    max_charges: int
    period: str
    expires_at: datetime

    def check(self) -> Terms:
        """Raise InvalidMandateError unless the terms are acceptable."""
        text = (self.description or "").strip()
        if not text or len(text) > MAX_DESCRIPTION or not text.isprintable():
            raise InvalidMandateError(
                _("Give a description of 1 to %(n)d characters.", n=MAX_DESCRIPTION)
            )
        for value in (self.max_amount, self.max_charges):
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidMandateError(_("The limits must be whole numbers."))
        if not MIN_AMOUNT <= self.max_amount <= MAX_AMOUNT:
            raise InvalidMandateError(
                _(
                    "The amount per charge must be between %(low)s and %(high)s.",
                    low=krw(MIN_AMOUNT),
                    high=krw(MAX_AMOUNT),
                )
            )
        if not 1 <= self.max_charges <= MAX_CHARGES_PER_PERIOD:
            raise InvalidMandateError(
                _(
                    "The charges per period must be between 1 and %(n)d.",
                    n=MAX_CHARGES_PER_PERIOD,
                )
            )
        if self.period not in PERIODS:
            raise InvalidMandateError(_("The period must be day, week or month."))
        now = utcnow()
        if not now < self.expires_at <= now + timedelta(days=MAX_VALID_DAYS):
            raise InvalidMandateError(
                _(
                    "The mandate must expire in the future, within %(n)d days.",
                    n=MAX_VALID_DAYS,
                )
            )
        return Terms(
            text, self.max_amount, self.max_charges, self.period, self.expires_at
        )


def request_mandate(
    merchant: Merchant,
    member: Member,
    terms: Terms,
    *,
    link_jti: str | None = None,
    return_url: str | None = None,
    reference: str | None = None,
) -> Mandate:
    """A pending mandate the member is about to review (one per signed link)."""
    terms = terms.check()
    if link_jti is not None:
        existing = db.session.scalar(
            select(Mandate).where(Mandate.link_jti == link_jti)
        )
        if existing is not None:
            if existing.member_id != member.id:
                raise ConflictError(_("This link was already used by someone else."))
            return existing
    mandate = Mandate(
        merchant_id=merchant.id,
        member_id=member.id,
        description=terms.description,
        reference=reference,
        max_amount=terms.max_amount,
        max_charges=terms.max_charges,
        period=terms.period,
        expires_at=terms.expires_at,
        status=MANDATE_PENDING,
        link_jti=link_jti,
        return_url=return_url,
        period_count=0,
    )
    db.session.add(mandate)
    try:
        db.session.commit()
    except IntegrityError:  # the same link opened twice at once
        db.session.rollback()
        raise ConflictError(_("This link is already being used.")) from None
    audit.record(
        member.email,
        "mandate.requested",
        f"mandate:{mandate.public_id}",
        merchant=merchant.public_id,
        max_amount=mandate.max_amount,
        max_charges=mandate.max_charges,
        period=mandate.period,
    )
    return mandate


def has_agreement(member: Member) -> bool:
    """Whether the member already has BrandPay's billing agreement (best effort: False
    when Toss cannot say now; `approve` asks again and decides)."""
    try:
        return bool(toss().has_billing_agreement(member.customer_key))
    except (TossError, ValueError):
        return False


def approve(member: Member, public_id: str, method_key: str | None) -> Mandate:
    """Activate the member's pending mandate after BrandPay's billing agreement.

    `method_key`: one of the member's methods, or None for "my selected method".
    The agreement is checked at Toss (has_billing_agreement), never taken from the
    browser's word.
    """
    mandate = of_member(member, public_id)
    if mandate.status != MANDATE_PENDING:
        raise ConflictError(_("This mandate was already answered."))
    if mandate.is_past_expiry():
        raise MandateExpiredError()
    _require_linked(member)
    if method_key is not None:
        _find_method(member, method_key)  # MandateMethodRemovedError if not theirs
    try:
        agreed = toss().has_billing_agreement(member.customer_key)
    except TossError as exc:
        log.warning("mandate %s: agreement check failed: %r", public_id, exc)
        raise UpstreamError() from None
    if not agreed:
        raise MandateNoAgreementError()
    now = utcnow()
    moved = db.session.execute(
        update(Mandate)
        .where(Mandate.id == mandate.id, Mandate.status == MANDATE_PENDING)
        .values(status=MANDATE_ACTIVE, approved_at=now, method_key=method_key)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    db.session.refresh(mandate)
    if moved.rowcount != 1:
        raise ConflictError(_("This mandate was already answered."))
    audit.record(
        member.email,
        "mandate.approved",
        f"mandate:{mandate.public_id}",
        method="selected" if method_key is None else "chosen",
    )
    return mandate


REVOKERS = ("member", "merchant", "admin")


def approve_link(member: Member, link: Any, method_key: str | None) -> Mandate:
    """The member approves what a signed `mandate` link asked (wallet_links.verify_link
    checked it): the link's pending mandate, made once per link, then `approve`."""
    mandate = request_mandate(
        link.merchant,
        member,
        link.terms,
        link_jti=link.jti,
        return_url=link.return_url,
        reference=link.reference,
    )
    return approve(member, mandate.public_id, method_key)


def revoke(mandate: Mandate, actor: str, by: str, reason: str | None = None) -> Mandate:
    """End the mandate at once (pending or active); revoking twice is a no-op.

    `actor` is who, for the audit log; `by` which side (REVOKERS), as shown.
    """
    if by not in REVOKERS:
        raise ValueError(f"unknown revoker {by!r}")
    moved = db.session.execute(
        update(Mandate)
        .where(
            Mandate.id == mandate.id,
            Mandate.status.in_((MANDATE_PENDING, MANDATE_ACTIVE)),
        )
        .values(status=MANDATE_REVOKED, revoked_at=utcnow(), revoked_by=by)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    db.session.refresh(mandate)
    if moved.rowcount == 1:
        audit.record(
            actor, "mandate.revoked", f"mandate:{mandate.public_id}", reason=reason
        )
    return mandate


# -- charging ---------------------------------------------------------------------------


def charge(
    merchant: Merchant,
    public_id: str,
    amount: int,
    order_id: str,
    order_name: str,
    *,
    installment_months: int | None = None,
    use_card_point: bool | None = None,
) -> Order:
    """Charge the member's method under the mandate; returns the order (DONE, or
    UNKNOWN/CONFIRMING while Toss's answer is being settled).

    `installment_months` (0, or 2-12 from 50,000 KRW) and `use_card_point` are for a
    card method, as for a checkout (issue 15); Toss's answer is re-checked against
    them like any other payment's (checkout_options.mismatch).

    Raises a Mandate*Error or CheckoutOptionsError (nothing written, Toss not called)
    when a rule refuses, ChargeDeclinedError when Toss refused (the order is kept
    FAILED).
    """
    mandate = of_merchant(merchant, public_id)
    existing = orders.find(order_id)
    if existing is not None:
        return _again(mandate, existing, amount)
    _check_usable(mandate)
    if amount > mandate.max_amount:
        raise MandateAmountOverLimitError(
            _(
                "The amount is over this mandate's limit of %(limit)s per charge.",
                limit=krw(mandate.max_amount),
            )
        )
    member = db.session.get(Member, mandate.member_id)
    assert member is not None  # noqa: S101 - a foreign key
    _require_linked(member)
    if not ORDER_ID_RE.match(order_id):
        raise InvalidMandateError(_("order_id is not valid."))
    months = (
        None
        if installment_months is None
        else checkout_options.check_installment(amount, installment_months)
    )
    if mandate.charges_in_period() >= mandate.max_charges:
        raise MandatePeriodLimitError()  # a cheap early answer; _reserve decides
    method_key, kind = _method_for(mandate, member)
    if amount < _MINIMUM[kind]:
        raise MandateAmountBelowMinimumError(
            payments.fail_message("BELOW_MINIMUM_AMOUNT")
        )
    if kind != "card" and (months or use_card_point):
        raise checkout_options.CheckoutOptionsError(
            _(
                "Installments and card points are for cards; this mandate's method is an account."
            ),
            "installment_months" if months else "use_card_point",
        )
    card = {"installment_months": months, "use_card_point": use_card_point}
    order = _reserve(
        mandate, member, amount, order_id, order_name, card if kind == "card" else {}
    )
    return _autopay(order, member.customer_key, method_key)


def _again(mandate: Mandate, order: Order, amount: int) -> Order:
    """The same charge asked again (a retry after a lost answer or a crash, even under
    another Idempotency-Key): its outcome, settled from Toss's truth if need be, never
    a second charge. Another order with this orderId is a conflict."""
    if order.mandate_id != mandate.id or order.amount != amount:
        raise DuplicateOrderIdError()
    stale = utcnow() - timedelta(seconds=_IN_FLIGHT_SECONDS)
    started = order.confirm_started_at
    if order.status == UNKNOWN or (
        order.status == CONFIRMING and started is not None and started <= stale
    ):
        # The first request is over (or died): settle from Toss's truth. One still
        # in flight is left alone, as reconcile leaves it (its min_age).
        payments.reconcile_order(order)
    if order.status == FAILED:
        raise _refusal(order.failure_code)
    return order


def _refusal(code: str | None) -> WalletError:
    """The API error for Toss's refusal of a charge."""
    if code in _METHOD_CODES:
        return MandateMethodRemovedError()
    if code in _WITHDRAWN_CODES:
        return MandateMemberWithdrawnError()
    if code == "NEED_AGREEMENT_WITH_TERMS":
        return MandateNoAgreementError()
    return ChargeDeclinedError(payments.fail_message(code))


def _check_usable(mandate: Mandate) -> None:
    if mandate.status == MANDATE_REVOKED:
        raise MandateRevokedError()
    if mandate.status == MANDATE_EXPIRED or mandate.is_past_expiry():
        raise MandateExpiredError()
    if mandate.status != MANDATE_ACTIVE:
        raise MandateNotActiveError()


def _require_linked(member: Member) -> None:
    """Autopay needs the member's BrandPay customer, not their tokens: a link that
    only needs re-linking still charges; a withdrawn or revoked one does not."""
    link = brandpay.link_of(member)
    if link is None or link.status not in (LINKED, NEEDS_RELINK):
        raise MandateMemberWithdrawnError()


def _find_method(member: Member, method_key: str | None) -> tuple[str, str]:
    """(methodKey, "card"|"account") of the member's method, or their selected one."""
    try:
        methods = toss().get_methods_by_customer(member.customer_key)
    except TossApiError as exc:
        if exc.code in _WITHDRAWN_CODES:
            raise MandateMemberWithdrawnError() from None
        log.warning("methods of member %s unavailable: %r", member.id, exc)
        raise UpstreamError() from None
    except (TossError, ValueError) as exc:
        log.warning("methods of member %s unavailable: %r", member.id, exc)
        raise UpstreamError() from None
    chosen = (
        methods.selected
        if method_key is None
        else next((m for m in methods.all() if m.method_key == method_key), None)
    )
    if chosen is None or chosen.status not in ("ENABLED", None):
        raise MandateMethodRemovedError()
    return chosen.method_key, "card" if isinstance(chosen, BrandPayCard) else "account"


def _method_for(mandate: Mandate, member: Member) -> tuple[str, str]:
    return _find_method(member, mandate.method_key)


def _reserve(
    mandate: Mandate,
    member: Member,
    amount: int,
    order_id: str,
    order_name: str,
    card: dict[str, Any],
) -> Order:
    """Take one charge of the period and insert the charge's order, in one commit.

    The guarded UPDATE is the first write of a fresh transaction: PostgreSQL re-checks
    its WHERE after waiting for a concurrent writer's row lock, SQLite runs writers one
    at a time, so `period_count` can never pass `max_charges`.
    """
    db.session.rollback()  # end the read snapshot: the UPDATE below must see the latest
    now = utcnow()
    start = period_start(mandate.period, now)
    taken = db.session.execute(
        update(Mandate)
        .where(
            Mandate.id == mandate.id,
            Mandate.status == MANDATE_ACTIVE,
            Mandate.expires_at > now,
            or_(
                Mandate.period_start.is_(None),
                Mandate.period_start != start,
                Mandate.period_count < Mandate.max_charges,
            ),
        )
        .values(
            # SET reads the row's old values: a new period starts counting at 1.
            period_count=case(
                (Mandate.period_start == start, Mandate.period_count + 1), else_=1
            ),
            period_start=start,
        )
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:
        db.session.rollback()
        db.session.refresh(mandate)
        _check_usable(mandate)  # revoked or expired meanwhile
        raise MandatePeriodLimitError()
    order = Order(
        order_id=order_id,
        order_name=order_name,
        amount=amount,
        currency="KRW",
        member_id=member.id,
        merchant_id=mandate.merchant_id,
        mandate_id=mandate.id,
        status=CONFIRMING,
        pay_way=PAY_AUTOPAY,
        created_at=now,
        updated_at=now,
        # Never payable in a window; expiry only bounds how long it may stay unsettled.
        expires_at=now + timedelta(seconds=current_app.config["ORDER_TTL"]),
        confirm_attempts=1,
        confirm_started_at=now,
        **card,  # installment_months, use_card_point: a card method's options
    )
    db.session.add(order)
    try:
        db.session.flush()
    except IntegrityError:  # the same orderId, inserted a moment ago
        db.session.rollback()
        raise DuplicateOrderIdError() from None
    events.order_changed(order)
    db.session.commit()
    audit.record(
        f"merchant:{mandate.merchant.public_id}",
        "mandate.charge_started",
        f"mandate:{mandate.public_id}",
        order=order.order_id,
        amount=amount,
    )
    return order


def _autopay(order: Order, customer_key: str, method_key: str) -> Order:
    """POST /v1/brandpay/payments once under the order's key, then settle."""
    try:
        truth = toss().brandpay_autopay(
            customer_key,
            method_key,
            order.amount,
            order.order_id,
            order.order_name,
            idempotency_key=order.autopay_idempotency_key(),
            card_installment_plan=order.installment_months,
            use_card_point=order.use_card_point,
        )
    except (TossError, ValueError) as exc:
        return _after_autopay_error(order, exc)
    return payments.settle(order, truth)


def _after_autopay_error(order: Order, exc: Exception) -> Order:
    unknown = isinstance(exc, TossError) and exc.outcome_unknown
    code = exc.code if isinstance(exc, TossApiError) else "UPSTREAM_UNAVAILABLE"
    log.warning("autopay of %s failed: %r", order.order_id, exc)
    found, truth = payments.lookup(order)
    if truth is not None and truth.status in payments.PAID_TOSS_STATUSES:
        return payments.settle(order, truth)  # the answer was lost, the charge made
    if unknown or not found:
        payments.finish(order, UNKNOWN)  # reconcile settles it from Toss's truth
        return order
    fail_charge(order, code)
    raise _refusal(code)


def fail_charge(order: Order, code: str | None) -> None:
    """Toss made no charge: the order FAILED, and its period charge is given back."""
    moved = orders.move(order, FAILED, failure_code=payments.safe_code(code))
    mandate = db.session.get(Mandate, order.mandate_id) if order.mandate_id else None
    if moved and mandate is not None:
        start = period_start(mandate.period, order.created_at)
        db.session.execute(
            update(Mandate)
            .where(
                Mandate.id == mandate.id,
                Mandate.period_start == start,
                Mandate.period_count > 0,
            )
            .values(period_count=Mandate.period_count - 1)
            .execution_options(synchronize_session=False)
        )
    db.session.commit()
    db.session.refresh(order)


def charges_of(mandate: Mandate, limit: int = 50) -> list[Order]:
    """The mandate's charges, newest first."""
    return list(
        db.session.scalars(
            select(Order)
            .where(Order.mandate_id == mandate.id)
            .order_by(Order.id.desc())
            .limit(limit)
        )
    )


def is_settled(order: Order) -> bool:
    """Whether the charge has its final answer (DONE or later, or FAILED)."""
    return order.status not in (CONFIRMING, UNKNOWN) and (
        order.status != DONE or order.payment is not None
    )
