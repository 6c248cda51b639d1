"""The transactional outbox: merchant webhooks and member mail, delivered by a leasing
worker.

A state change and its OutboxEvent commit in one transaction (listeners only add rows
to the caller's session). Workers claim due rows with a lease — `FOR UPDATE SKIP
LOCKED` on PostgreSQL, a guarded UPDATE on SQLite — deliver them outside any
transaction, record every attempt, and release the row as delivered or rescheduled
with exponential backoff and jitter. A worker that dies mid-delivery leaves a lease
that expires; the row is then claimed again.

How a row is delivered depends on its channel: "webhook" (here: a POST signed
Standard-Webhooks style, delivered on a 2xx only) or "mail" (wallet/services/mail.py
registers it). A channel is a `Channel`: `prepare` reads what it needs while the row is
ours, `send` then runs with no transaction open.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import requests
from flask import Flask, current_app
from flask_babel import gettext as _
from sqlalchemy import bindparam, or_, select, update

from wallet import outbound
from wallet.errors import ConflictError, NotFoundError
from wallet.extensions import db
from wallet.models._types import utcnow
from wallet.models.mandate import Mandate
from wallet.models.merchant import Merchant
from wallet.models.outbox import (
    WEBHOOK,
    OutboxEvent,
    WebhookDelivery,
    new_message_id,
)
from wallet.services import audit, checkout_options, events, merchants

log = logging.getLogger(__name__)
_jitter = secrets.SystemRandom()
_USER_AGENT = "brandpay-wallet-webhooks/0.1"
# Order states a merchant hears about: outcomes, not the portal's internal steps
# (CONFIRMING/UNKNOWN settle into one of these; a reopened PENDING is no news).
PUBLISHED = frozenset({"DONE", "PARTIAL_CANCELED", "CANCELED", "FAILED", "EXPIRED"})


def default_worker_id() -> str:
    """host:pid:random, so leases name who holds them."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{secrets.token_hex(3)}"


# -- writing (inside the caller's transaction) ---------------------------------------


def add(
    channel: str,
    event_type: str,
    payload: str,
    *,
    merchant_id: int | None = None,
    member_id: int | None = None,
    dedupe_key: str | None = None,
    message_id: str | None = None,
) -> OutboxEvent:
    """Add a row of any channel to the current session; the caller's commit makes it
    real. Due at once."""
    now = utcnow()
    event = OutboxEvent(
        message_id=message_id or new_message_id(),
        channel=channel,
        merchant_id=merchant_id,
        member_id=member_id,
        event_type=event_type,
        payload=payload,
        dedupe_key=dedupe_key,
        next_attempt_at=now,
        created_at=now,
    )
    db.session.add(event)
    return event


def enqueue(merchant: Merchant, event_type: str, data: dict[str, Any]) -> OutboxEvent:
    """Add a merchant webhook to the current session; the caller's commit makes it real."""
    body = {
        "type": event_type,
        "timestamp": utcnow().isoformat().replace("+00:00", "Z"),
        "data": data,
    }
    return add(
        WEBHOOK,
        event_type,
        json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        merchant_id=merchant.id,
    )


@events.on_order_changed
def record_order_change(order: Any) -> None:
    """Listener: a merchant order reached an outcome → one outbox row, same transaction."""
    if getattr(order, "merchant_id", None) is None or order.status not in PUBLISHED:
        return
    merchant = db.session.get(Merchant, order.merchant_id)
    if merchant is None or not merchant.webhook_url:
        return
    payment = getattr(order, "payment", None)
    data = {
        "order_id": order.order_id,
        "status": order.status,
        "amount": order.amount,
        "currency": getattr(order, "currency", "KRW"),
        "refunded_amount": payment.canceled_amount if payment is not None else 0,
    }
    if payment is not None:
        # Issue 15: installments, card points, cash receipt, as Toss reported them.
        data["payment"] = checkout_options.payment_api_json(payment)
    if getattr(order, "mandate_id", None) is not None:  # a charge under a mandate
        data["mandate_id"] = db.session.scalar(
            select(Mandate.public_id).where(Mandate.id == order.mandate_id)
        )
    enqueue(merchant, f"order.{str(order.status).lower()}", data)


# -- signing ------------------------------------------------------------------------


def signature(key: bytes, message_id: str, timestamp: int, body: str) -> str:
    """`v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` (Standard Webhooks)."""
    signed = f"{message_id}.{timestamp}.{body}".encode()
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signed_headers(
    keys: Iterable[bytes], message_id: str, timestamp: int, body: str
) -> dict[str, str]:
    """The three webhook-* headers; one signature per live secret during rotations."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(
            signature(k, message_id, timestamp, body) for k in keys
        ),
        "content-type": "application/json",
        "user-agent": _USER_AGENT,
    }


# -- channels -------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What one delivery attempt achieved; `permanent` failures are not retried."""

    ok: bool
    status_code: int | None = None
    error: str | None = None
    permanent: bool = False


Send = Callable[[], Outcome]


@dataclass(frozen=True)
class Channel:
    """How rows of one channel are delivered.

    `prepare(event)` runs while the worker holds the row (it may read the database)
    and returns the `send` step, which runs after the transaction has ended.
    `enabled(app)` says whether this deployment delivers the channel at all; rows of
    a disabled channel wait.
    """

    name: str
    prepare: Callable[[OutboxEvent], Send]
    enabled: Callable[[Flask], bool] = lambda _app: True


_channels: dict[str, Channel] = {}


def register_channel(channel: Channel) -> Channel:
    """Make a channel deliverable (registering the same name again replaces it)."""
    _channels[channel.name] = channel
    return channel


def enabled_channels() -> list[str]:
    """The channels this app delivers, by name."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    return [name for name, ch in _channels.items() if ch.enabled(app)]


# -- claiming -------------------------------------------------------------------------


def _due(now: datetime, channels: Sequence[str]) -> Any:
    return (
        (OutboxEvent.status == "pending")
        & OutboxEvent.channel.in_(list(channels))
        & (OutboxEvent.next_attempt_at <= now)
        & or_(OutboxEvent.lease_until.is_(None), OutboxEvent.lease_until < now)
    )


def claim_due(
    worker: str,
    *,
    limit: int = 10,
    now: datetime | None = None,
    channels: Sequence[str] | None = None,
) -> list[int]:
    """Lease up to `limit` due events to `worker`; returns their ids (committed).

    Only rows of `channels` (default: every enabled channel) are claimed.
    """
    now = now or utcnow()
    lease = now + timedelta(seconds=current_app.config["OUTBOX_LEASE_SECONDS"])
    channels = enabled_channels() if channels is None else list(channels)
    if not channels:
        db.session.rollback()
        return []
    query = (
        select(OutboxEvent.id)
        .where(_due(now, channels))
        .order_by(OutboxEvent.next_attempt_at, OutboxEvent.id)
        .limit(limit)
    )
    claimed: list[int] = []
    if db.engine.dialect.name == "postgresql":
        # Row locks skip what another worker is claiming right now; the lease then
        # keeps the row ours after this short transaction ends.
        claimed = list(db.session.scalars(query.with_for_update(skip_locked=True)))
        if claimed:
            db.session.execute(
                update(OutboxEvent)
                .where(OutboxEvent.id.in_(claimed))
                .values(lease_owner=worker, lease_until=lease)
                .execution_options(synchronize_session=False)
            )
    else:
        # SQLite has no row locks: claim each candidate with an UPDATE that re-checks
        # it is still due, so of two racing workers exactly one changes the row.
        for event_id in list(db.session.scalars(query)):
            result = db.session.execute(
                update(OutboxEvent)
                .where(OutboxEvent.id == event_id, _due(now, channels))
                .values(lease_owner=worker, lease_until=lease)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount == 1:
                claimed.append(event_id)
    db.session.commit()
    return claimed


# -- delivering -----------------------------------------------------------------------


def backoff_delay(attempt: int) -> float:
    """Seconds before retry `attempt + 1`: base·2^(attempt-1), capped, equal jitter."""
    base, cap = current_app.config["OUTBOX_BACKOFF"]
    delay = min(float(cap), float(base) * 2 ** max(attempt - 1, 0))
    return _jitter.uniform(delay / 2, delay)


def _prepare_webhook(event: OutboxEvent) -> Send:
    """The signed POST of one webhook row (the merchant's URL and secrets read now)."""
    merchant = db.session.get(Merchant, event.merchant_id)
    url = merchant.webhook_url if merchant is not None else None
    keys = list(merchants.link_keys(merchant).values()) if merchant else []
    message_id, body = event.message_id, event.payload
    timeout = tuple(current_app.config["WEBHOOK_TIMEOUT"])

    def send() -> Outcome:
        if not url:
            return Outcome(False, error="no webhook URL configured")
        headers = signed_headers(keys, message_id, int(time.time()), body)
        try:
            # The SSRF guard (issue 13 I2): public addresses only, checked after DNS
            # and pinned for the connection; never a redirect (not an acknowledgement).
            response = outbound.post(
                url,
                data=body.encode("utf-8"),
                headers=headers,
                timeout=timeout,
            )
            response.close()
        except outbound.UnsafeURLError as exc:
            return Outcome(False, error=f"refused: {exc.message}")
        except requests.RequestException as exc:
            error = type(exc).__name__
            if outbound.was_blocked(exc):
                error = "refused: the connected address is not public"
            return Outcome(False, error=error)
        ok = 200 <= response.status_code < 300
        error = None if ok else f"HTTP {response.status_code}"
        return Outcome(ok, response.status_code, error)

    return send


register_channel(Channel(WEBHOOK, _prepare_webhook))


def deliver(event_id: int, worker: str) -> bool | None:
    """Deliver one leased event; True delivered, False failed (rescheduled), None not
    ours."""
    event = db.session.get(OutboxEvent, event_id)
    if event is None or event.lease_owner != worker or event.status != "pending":
        db.session.rollback()
        return None
    attempt = event.attempts + 1
    channel = _channels.get(event.channel)
    send: Send | None = None
    outcome = Outcome(False, error=f"no channel {event.channel!r}")
    if channel is not None:
        try:
            send = channel.prepare(event)
        except (
            Exception
        ) as exc:  # a row that cannot be prepared must not stop the worker
            log.exception("outbox: cannot prepare event %s", event_id)
            outcome = Outcome(False, error=f"prepare: {type(exc).__name__}")
    db.session.rollback()  # no transaction (no SQLite lock) held across the send

    started, clock = utcnow(), time.monotonic()
    if send is not None:
        try:
            outcome = send()
        except Exception as exc:  # recorded as a failed attempt, retried with backoff
            log.exception("outbox: sending event %s failed", event_id)
            outcome = Outcome(False, error=type(exc).__name__)
    duration_ms = int((time.monotonic() - clock) * 1000)
    return _record(event_id, worker, attempt, started, duration_ms, outcome)


def _record(
    event_id: int,
    worker: str,
    attempt: int,
    started: datetime,
    duration_ms: int,
    outcome: Outcome,
) -> bool:
    now = utcnow()
    ok, status_code, error = outcome.ok, outcome.status_code, outcome.error
    give_up = outcome.permanent or attempt >= current_app.config["OUTBOX_MAX_ATTEMPTS"]
    values: dict[str, Any] = {
        "attempts": attempt,
        "lease_owner": None,
        "lease_until": None,
    }
    if ok:
        values.update(status="delivered", delivered_at=now)
    else:
        values.update(
            status="failed" if give_up else "pending",
            next_attempt_at=now + timedelta(seconds=backoff_delay(attempt)),
        )
    # Only the lease holder may settle the row; a worker that lost its lease (it was
    # too slow) still records its attempt but changes nothing else.
    db.session.execute(
        update(OutboxEvent)
        .where(
            OutboxEvent.id == event_id,
            OutboxEvent.lease_owner == worker,
            OutboxEvent.status == "pending",
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    db.session.add(
        WebhookDelivery(
            event_id=event_id,
            attempt=attempt,
            worker=worker[:64],
            started_at=started,
            duration_ms=duration_ms,
            status_code=status_code,
            error=(error or None) and error[:200],
            succeeded=ok,
        )
    )
    db.session.commit()
    return ok


def run_once(
    worker: str | None = None,
    *,
    limit: int = 10,
    channels: Sequence[str] | None = None,
) -> int:
    """Claim and deliver one batch; returns how many attempts were made."""
    worker = worker or default_worker_id()
    attempts = 0
    for event_id in claim_due(worker, limit=limit, channels=channels):
        if deliver(event_id, worker) is not None:
            attempts += 1
    return attempts


def run_worker(app: Flask, stop: threading.Event, worker: str | None = None) -> None:
    """Deliver until `stop` is set; sleeps between empty polls. For threads and the CLI."""
    worker = worker or default_worker_id()
    poll = float(app.config["OUTBOX_POLL_SECONDS"])
    while not stop.is_set():
        with app.app_context():
            try:
                busy = run_once(worker)
            except Exception:  # keep the worker alive through a DB hiccup
                log.exception("outbox worker %s: batch failed", worker)
                db.session.rollback()
                busy = 0
            finally:
                db.session.remove()
        if not busy:
            stop.wait(poll)


def start_worker_thread(app: Flask) -> tuple[threading.Thread, threading.Event]:
    """Run a worker in a daemon thread (used by `make run`); set the event to stop it."""
    stop = threading.Event()
    thread = threading.Thread(
        target=run_worker, args=(app, stop), name="outbox-worker", daemon=True
    )
    thread.start()
    return thread, stop


# -- the dashboard's delivery log: resend, send a test event ------------------------------

TEST_EVENT = "webhook.test"


def resend(merchant: Merchant, event_id: int, actor: str) -> OutboxEvent:
    """Deliver one of the merchant's webhooks again, now: the same body and webhook-id
    (a receiver that already has it dedupes), counted on from its attempts so far."""
    event = db.session.scalar(
        select(OutboxEvent).where(
            OutboxEvent.id == event_id,
            OutboxEvent.merchant_id == merchant.id,
            OutboxEvent.channel == WEBHOOK,
        )
    )
    if event is None:
        raise NotFoundError(_("We could not find that webhook."))
    now = utcnow()
    if event.status == "pending" and event.lease_until and event.lease_until > now:
        raise ConflictError(_("This webhook is being delivered right now."))
    if not merchant.webhook_url:
        raise ConflictError(_("No webhook URL is set; ask an admin to add one."))
    event.status = "pending"
    event.next_attempt_at = now
    event.delivered_at = None
    db.session.commit()
    audit.record(actor, "merchant.webhook_resent", event.message_id)
    return event


def send_test(merchant: Merchant, actor: str) -> OutboxEvent:
    """Queue a `webhook.test` event to the merchant's webhook URL: signed like every
    other, about no order, so a shop can check its receiver end to end."""
    if not merchant.webhook_url:
        raise ConflictError(_("No webhook URL is set; ask an admin to add one."))
    event = enqueue(
        merchant, TEST_EVENT, {"test": True, "merchant": merchant.public_id}
    )
    db.session.commit()
    audit.record(actor, "merchant.webhook_test_sent", event.message_id)
    return event


# -- reading (dashboard) -----------------------------------------------------------------


# The dashboard's webhook log, built once (issue 16).
_RECENT_WEBHOOKS = (
    select(OutboxEvent)
    .where(
        OutboxEvent.merchant_id == bindparam("merchant_id"),
        OutboxEvent.channel == WEBHOOK,
    )
    .order_by(OutboxEvent.id.desc())
    .limit(bindparam("limit"))
)


def recent_events(
    merchant: Merchant, limit: int = 50, *, order_id: str | None = None
) -> list[OutboxEvent]:
    """The merchant's latest webhook events, newest first; with `order_id`, only those
    about that order (the order's page)."""
    if order_id is None:  # the dashboard, on every view
        values = {"merchant_id": merchant.id, "limit": limit}
        return list(db.session.scalars(_RECENT_WEBHOOKS, values))
    # The signed body is compact JSON ('"order_id":"…"', see enqueue).
    needle = json.dumps({"order_id": order_id}, separators=(",", ":"))[1:-1]
    query = _RECENT_WEBHOOKS.where(OutboxEvent.payload.contains(needle))
    values = {"merchant_id": merchant.id, "limit": limit}
    return list(db.session.scalars(query, values))


def attempts_for(event_ids: list[int]) -> dict[int, list[WebhookDelivery]]:
    """Delivery attempts grouped by event id, in order."""
    grouped: dict[int, list[WebhookDelivery]] = {i: [] for i in event_ids}
    if event_ids:
        rows = db.session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.event_id.in_(event_ids))
            .order_by(
                WebhookDelivery.event_id, WebhookDelivery.attempt, WebhookDelivery.id
            )
        )
        for row in rows:
            grouped[row.event_id].append(row)
    return grouped
