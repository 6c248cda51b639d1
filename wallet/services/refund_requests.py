"""Refund requests: a member asks, the merchant decides (issue 13, M1).

A merchant's orders are refunded only by the merchant (API or dashboard) or an admin;
a member who paid one may ask, with a reason. The merchant hears of the request and of
its decision through the outbox (same transaction as the change), sees it on the
dashboard and over the API, and approves (the refund core refunds) or declines with a
reason. At most one request per order is open (a partial unique index).
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from wallet.errors import ConflictError, NotFoundError, WalletError
from wallet.extensions import db
from wallet.models import Member
from wallet.models._types import iso_z, utcnow
from wallet.models.merchant import Merchant
from wallet.models.order import DONE, PARTIAL_CANCELED, Order
from wallet.models.payment import Payment
from wallet.models.refund_request import (
    MAX_REASON,
    REQUEST_APPROVED,
    REQUEST_DECLINED,
    REQUEST_OPEN,
    RefundRequest,
)
from wallet.services import audit, merchants, orders, outbox, payments

PAGE_LIMIT = 100


class RefundRequestError(WalletError):
    """The request cannot be made or decided as asked."""

    code = "REFUND_REQUEST_REFUSED"


def _reason(text: str | None, message: str) -> str:
    reason = (text or "").strip()
    if not reason or len(reason) > MAX_REASON or not reason.isprintable():
        raise RefundRequestError(message)
    return reason


def as_json(request: RefundRequest) -> dict[str, Any]:
    """What the merchant sees of a request (API and webhooks)."""
    order = request.order
    payment = order.payment
    return {
        "request_id": request.public_id,
        "order_id": order.order_id,
        "status": request.status,
        "reason": request.reason,
        "amount": order.amount,
        "refundable_amount": payment.refundable if payment is not None else 0,
        "decision_reason": request.decision_reason,
        "refunded_amount": request.refunded_amount,
        "created_at": iso_z(request.created_at),
        "decided_at": iso_z(request.decided_at),
    }


def _notify(merchant: Merchant, event: str, request: RefundRequest) -> None:
    """Queue the webhook in the caller's transaction (transactional outbox)."""
    if merchant.webhook_url:
        outbox.enqueue(merchant, event, as_json(request))


def can_request(order: Order) -> bool:
    """Whether a member may ask the merchant to refund this order now."""
    payment = order.payment
    return (
        order.merchant_id is not None
        and order.status in (DONE, PARTIAL_CANCELED)
        and payment is not None
        and payment.refundable > 0
        and not payments.can_member_cancel(order)
    )


def request_refund(member: Member, order_id: str, reason: str) -> RefundRequest:
    """The member asks the merchant to refund their paid order (one open at a time)."""
    order = orders.get_for_member(member, order_id)
    text = _reason(reason, _("Say why you want a refund (up to 200 characters)."))
    if not can_request(order):
        raise ConflictError(_("A refund cannot be requested for this payment."))
    merchant = db.session.get(Merchant, order.merchant_id)
    if merchant is None:  # pragma: no cover - the foreign key keeps it
        raise NotFoundError()
    request = RefundRequest(
        order_pk=order.id, merchant_id=merchant.id, member_id=member.id, reason=text
    )
    db.session.add(request)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise ConflictError(
            _("You already asked for a refund; the shop has not answered yet.")
        ) from None
    _notify(merchant, "refund_request.created", request)
    db.session.commit()
    audit.record(
        member.email,
        "refund_request.created",
        f"order:{order.order_id}",
        request=request.public_id,
    )
    return request


def latest_for_order(order: Order) -> RefundRequest | None:
    """The order's newest refund request, whatever its state."""
    return db.session.scalars(
        select(RefundRequest)
        .where(RefundRequest.order_pk == order.id)
        .order_by(RefundRequest.id.desc())
        .limit(1)
    ).first()


def for_order(order: Order) -> list[RefundRequest]:
    """Every refund request of one order, newest first (the merchant's order page)."""
    return list(
        db.session.scalars(
            select(RefundRequest)
            .where(RefundRequest.order_pk == order.id)
            .order_by(RefundRequest.id.desc())
        )
    )


def _listing(by_status: bool, before: bool) -> Select[tuple[RefundRequest]]:
    query = (
        select(RefundRequest)
        .options(
            joinedload(RefundRequest.order)
            .joinedload(Order.payment)
            .lazyload(Payment.cancels)
        )
        .where(RefundRequest.merchant_id == bindparam("merchant_id"))
    )
    if by_status:
        query = query.where(RefundRequest.status == bindparam("status"))
    if before:
        query = query.where(RefundRequest.id < bindparam("before"))
    return query.order_by(RefundRequest.id.desc()).limit(bindparam("limit"))


# The four shapes of list_for_merchant, built once (issue 16: building the select
# with its loader options cost more than running it; the dashboard lists on every
# view). Keyed by (status given, cursor given).
_LISTINGS = {(s, b): _listing(s, b) for s in (False, True) for b in (False, True)}


def list_for_merchant(
    merchant: Merchant,
    *,
    status: str | None = REQUEST_OPEN,
    before: int | None = None,
    limit: int = 50,
) -> tuple[list[RefundRequest], int | None]:
    """The merchant's requests newest first (keyset by id); (rows, next cursor).

    Each with its order and payment in the same statement: the dashboard and the API
    show the order and what is left to refund of every request (issue 16: was an
    order, a payment and its cancels per request). The cancels stay unloaded."""
    statement = _LISTINGS[(status is not None, before is not None)]
    values = {
        "merchant_id": merchant.id,
        "status": status,
        "before": before,
        "limit": limit + 1,
    }
    rows = list(db.session.scalars(statement, values))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, rows[-1].id if more and rows else None


def get_for_merchant(merchant: Merchant, public_id: str) -> RefundRequest:
    """One of the merchant's requests; anyone else's is 'not found'."""
    request = (
        db.session.scalar(
            select(RefundRequest).where(RefundRequest.public_id == public_id)
        )
        if isinstance(public_id, str) and len(public_id) <= 40
        else None
    )
    if request is None or request.merchant_id != merchant.id:
        raise NotFoundError(_("No such refund request."))
    return request


def _decide(request: RefundRequest, status: str, actor: str, **values: Any) -> None:
    """OPEN → status, exactly once (a guarded update); ConflictError otherwise."""
    decided = db.session.execute(
        update(RefundRequest)
        .where(RefundRequest.id == request.id, RefundRequest.status == REQUEST_OPEN)
        .values(status=status, decided_at=utcnow(), decided_by=actor[:120], **values)
        .execution_options(synchronize_session=False)
    )
    if decided.rowcount != 1:
        db.session.rollback()
        raise ConflictError(_("This refund request was already decided."))


def approve(
    merchant: Merchant, public_id: str, amount: int | None, actor: str
) -> tuple[RefundRequest, bool]:
    """Approve: refund `amount` (None = all that remains) through the refund core.

    Returns (request, pending): pending when Toss's answer was lost and reconcile
    finishes the refund. A refund Toss refuses re-opens the request.
    """
    request = get_for_merchant(merchant, public_id)
    order = request.order
    refundable = order.payment.refundable if order.payment is not None else 0
    _decide(request, REQUEST_APPROVED, actor)
    db.session.commit()
    try:
        order, pending = merchants.refund(
            merchant,
            order,
            amount,
            f"Refund request {request.public_id}: {request.reason}"[:MAX_REASON],
            actor=actor,
        )
    except (payments.RefundRefusedError, ConflictError):
        db.session.execute(
            update(RefundRequest)
            .where(
                RefundRequest.id == request.id,
                RefundRequest.status == REQUEST_APPROVED,
            )
            .values(status=REQUEST_OPEN, decided_at=None, decided_by=None)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        raise
    request = db.session.get(RefundRequest, request.id, populate_existing=True)
    assert request is not None  # noqa: S101 - it was read a moment ago
    request.refunded_amount = amount if amount is not None else refundable
    _notify(merchant, "refund_request.approved", request)
    db.session.commit()
    audit.record(
        actor,
        "refund_request.approved",
        f"order:{order.order_id}",
        request=request.public_id,
        amount=request.refunded_amount,
    )
    return request, pending


def decline(
    merchant: Merchant, public_id: str, reason: str, actor: str
) -> RefundRequest:
    """Decline with a reason the member sees on their receipt."""
    request = get_for_merchant(merchant, public_id)
    text = _reason(reason, _("Say why you decline (up to 200 characters)."))
    _decide(request, REQUEST_DECLINED, actor, decision_reason=text)
    db.session.refresh(request)
    _notify(merchant, "refund_request.declined", request)
    db.session.commit()
    audit.record(
        actor,
        "refund_request.declined",
        f"order:{request.order.order_id}",
        request=request.public_id,
    )
    return request
