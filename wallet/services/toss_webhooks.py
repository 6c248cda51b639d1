"""Toss webhooks (contract §7): record, deduplicate, re-fetch the truth, then act.

BrandPay webhooks are unsigned, so a body is only a hint: payment events are applied
from `GET /v1/payments/{paymentKey}`, never from the payload itself.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from wallet.errors import UpstreamError, WalletError
from wallet.extensions import db
from wallet.models._types import utcnow
from wallet.models.order import Order
from wallet.models.payment import Payment, TossWebhookEvent
from wallet.services import checkout_options, payments, preapproval, toss
from wallet.toss import TossError, TossNotFoundError

log = logging.getLogger(__name__)

PAYMENT_STATUS_CHANGED = "PAYMENT_STATUS_CHANGED"
METHOD_UPDATED = "METHOD_UPDATED"
CUSTOMER_STATUS_CHANGED = "CUSTOMER_STATUS_CHANGED"
# Handlers of the linking capability, by event type (module, function).
_BRANDPAY_HANDLERS = {
    METHOD_UPDATED: "handle_method_updated",
    CUSTOMER_STATUS_CHANGED: "handle_customer_status_changed",
}
_MAX_ID = 100
_COUNT_RE = re.compile(r"[0-9]{1,6}")  # ASCII only: str.isdigit() also takes "²"
_TOKEN_RE = re.compile(r"[\x21-\x7e]+")


class WebhookPayloadError(WalletError):
    """The body is not a contract §7 envelope."""

    status = 400
    code = "INVALID_WEBHOOK"


def parse_envelope(body: bytes) -> tuple[str, dict[str, Any]]:
    """(eventType, data) of `{"eventType", "createdAt", "data"}`; 400 otherwise."""
    try:
        envelope = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise WebhookPayloadError(_("The body is not valid JSON.")) from None
    if not isinstance(envelope, dict):
        raise WebhookPayloadError(_("The body must be a JSON object."))
    event_type = envelope.get("eventType")
    if not isinstance(event_type, str) or header_token(event_type, 64) is None:
        raise WebhookPayloadError(_("eventType is missing."))
    data = envelope.get("data")
    return event_type, data if isinstance(data, dict) else {}


def receive(transmission_id: str | None, retried_count: str | None, body: bytes) -> str:
    """Record and process one delivery; returns its outcome ("duplicate" on replay).

    A delivery whose re-fetch fails stays unprocessed and raises UpstreamError, so
    Toss retries it (contract §7) and the retry, same transmission id, processes it.
    """
    event_type, data = parse_envelope(body)
    transmission_id = header_token(transmission_id)
    if transmission_id is None:
        # No usable id: the body's hash still makes exact replays collapse.
        transmission_id = "sha256:" + hashlib.sha256(body).hexdigest()[:64]
    event = _record(transmission_id, event_type, data, parse_count(retried_count))
    if event is None:
        return "duplicate"
    try:
        outcome = _dispatch(event_type, data)
    except TossError as exc:
        log.warning("webhook %s: re-fetch failed: %r", event_type, exc)
        event.outcome = "refetch_failed"
        db.session.commit()
        raise UpstreamError() from None
    event.processed_at = utcnow()
    event.outcome = outcome
    db.session.commit()
    return outcome


def parse_count(value: str | None) -> int:
    """The retried-count header as a small int; anything odd counts as 0 (issue 13 L3).

    Unauthenticated input: "99999999999999999999999" overflowed the column, "9"*5000
    broke int() and "²" passed str.isdigit(); only ASCII digits, and at most six.
    """
    if value is None or not _COUNT_RE.fullmatch(value):
        return 0
    return int(value)


def header_token(value: str | None, limit: int = _MAX_ID) -> str | None:
    """A header value fit to store: visible ASCII only, at most `limit` characters."""
    if value is None or not _TOKEN_RE.fullmatch(value) or len(value) > limit:
        return None
    return value


def _record(
    transmission_id: str,
    event_type: str,
    data: Mapping[str, Any],
    retried_count: int,
) -> TossWebhookEvent | None:
    """Insert the event; None when this transmission was already processed."""
    subject = data.get("paymentKey") or data.get("customerKey")
    event = TossWebhookEvent(
        transmission_id=transmission_id,
        event_type=event_type,
        subject=header_token(subject, 200) if isinstance(subject, str) else None,
        retried_count=retried_count,
        received_at=utcnow(),
    )
    db.session.add(event)
    try:
        db.session.commit()
        return event
    except IntegrityError:
        db.session.rollback()
    existing = db.session.scalar(
        select(TossWebhookEvent).where(
            TossWebhookEvent.transmission_id == transmission_id
        )
    )
    if existing is None or existing.processed_at is not None:
        return None
    return existing  # seen before but never finished: process it now


def _dispatch(event_type: str, data: Mapping[str, Any]) -> str:
    if event_type == PAYMENT_STATUS_CHANGED:
        return _payment_status_changed(data)
    if event_type in _BRANDPAY_HANDLERS:
        return _brandpay_event(event_type, data)
    return "ignored_unknown_type"  # recorded, answered 200: not an error (§7)


def _payment_status_changed(data: Mapping[str, Any]) -> str:
    key = data.get("paymentKey")
    if not isinstance(key, str) or not 0 < len(key) <= 200:
        return "ignored_no_payment_key"
    try:
        truth = toss().get_payment(key)  # the truth, not the unsigned payload
    except TossNotFoundError:
        return "unknown_payment"
    order = db.session.scalar(
        select(Order).join(Payment).where(Payment.payment_key == truth.payment_key)
    ) or db.session.scalar(select(Order).where(Order.order_id == truth.order_id))
    if order is None:
        return "unknown_order"
    if truth.status not in payments.PAID_TOSS_STATUSES:
        if order.status == "UNKNOWN" and order.confirm_payment_key == truth.payment_key:
            return "reconciled:" + payments.reconcile_order(order)
        return "no_change"
    if order.payment is None and order.confirm_payment_key != truth.payment_key:
        return "no_change"  # not the session this order confirmed
    if truth.total_amount != order.amount:
        return "no_change"  # never book an amount that differs from the order
    if order.payment is None and checkout_options.mismatch(order, truth):
        return "no_change"  # issue 15: the confirm's own answer cancels it (_settle)
    changed = payments.apply_truth(order, truth)
    db.session.commit()
    preapproval.after_recorded(order)  # a late "no" while the confirm was in flight
    return "applied" if changed else "no_change"


def _brandpay_event(event_type: str, data: Mapping[str, Any]) -> str:
    customer_key = data.get("customerKey")
    if not isinstance(customer_key, str) or not customer_key:
        return "ignored_no_customer_key"
    handler = _brandpay_handler(_BRANDPAY_HANDLERS[event_type])
    if handler is None:
        return "no_handler"
    handler(customer_key)  # it re-fetches methods/status from Toss itself
    return "handled"


def _brandpay_handler(name: str) -> Callable[[str], Any] | None:
    # Imported lazily: the linking capability owns wallet.services.brandpay.
    try:
        module = importlib.import_module("wallet.services.brandpay")
    except ImportError:
        return None
    handler = getattr(module, name, None)
    return handler if callable(handler) else None
