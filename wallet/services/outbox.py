"""Merchant webhooks through a transactional outbox, delivered by a leasing worker.

An order's state change and its OutboxEvent commit in one transaction (the listener
below only adds a row to the caller's session). Workers claim due rows with a lease —
`FOR UPDATE SKIP LOCKED` on PostgreSQL, a guarded UPDATE on SQLite — deliver them signed
Standard-Webhooks style outside any transaction, record every attempt, and release the
row as delivered (2xx only) or rescheduled with exponential backoff and jitter. A worker
that dies mid-delivery leaves a lease that expires; the row is then claimed again.
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
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import requests
from flask import Flask, current_app
from sqlalchemy import or_, select, update

from wallet import outbound
from wallet.extensions import db
from wallet.models._types import utcnow
from wallet.models.merchant import Merchant
from wallet.models.outbox import OutboxEvent, WebhookDelivery
from wallet.services import events, merchants

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


def enqueue(merchant: Merchant, event_type: str, data: dict[str, Any]) -> OutboxEvent:
    """Add an event to the current session; the caller's commit makes it real."""
    now = utcnow()
    body = {
        "type": event_type,
        "timestamp": now.isoformat().replace("+00:00", "Z"),
        "data": data,
    }
    event = OutboxEvent(
        merchant_id=merchant.id,
        event_type=event_type,
        payload=json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        next_attempt_at=now,
    )
    db.session.add(event)
    return event


@events.on_order_changed
def record_order_change(order: Any) -> None:
    """Listener: a merchant order reached an outcome → one outbox row, same transaction."""
    if getattr(order, "merchant_id", None) is None or order.status not in PUBLISHED:
        return
    merchant = db.session.get(Merchant, order.merchant_id)
    if merchant is None or not merchant.webhook_url:
        return
    payment = getattr(order, "payment", None)
    enqueue(
        merchant,
        f"order.{str(order.status).lower()}",
        {
            "order_id": order.order_id,
            "status": order.status,
            "amount": order.amount,
            "currency": getattr(order, "currency", "KRW"),
            "refunded_amount": payment.canceled_amount if payment is not None else 0,
        },
    )


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


# -- claiming -------------------------------------------------------------------------


def _due(now: datetime) -> Any:
    return (
        (OutboxEvent.status == "pending")
        & (OutboxEvent.next_attempt_at <= now)
        & or_(OutboxEvent.lease_until.is_(None), OutboxEvent.lease_until < now)
    )


def claim_due(
    worker: str, *, limit: int = 10, now: datetime | None = None
) -> list[int]:
    """Lease up to `limit` due events to `worker`; returns their ids (committed)."""
    now = now or utcnow()
    lease = now + timedelta(seconds=current_app.config["OUTBOX_LEASE_SECONDS"])
    query = (
        select(OutboxEvent.id)
        .where(_due(now))
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
                .where(OutboxEvent.id == event_id, _due(now))
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


def deliver(event_id: int, worker: str) -> bool | None:
    """POST one leased event; True delivered, False failed (rescheduled), None not ours."""
    event = db.session.get(OutboxEvent, event_id)
    if event is None or event.lease_owner != worker or event.status != "pending":
        db.session.rollback()
        return None
    merchant = db.session.get(Merchant, event.merchant_id)
    url = merchant.webhook_url if merchant is not None else None
    keys = list(merchants.link_keys(merchant).values()) if merchant else []
    message_id, body, attempt = event.message_id, event.payload, event.attempts + 1
    db.session.rollback()  # no transaction (no SQLite lock) held across the HTTP call

    started, clock = utcnow(), time.monotonic()
    status_code, error = None, None
    if not url:
        error = "no webhook URL configured"
    else:
        headers = signed_headers(keys, message_id, int(time.time()), body)
        try:
            # The SSRF guard (issue 13 I2): public addresses only, checked after DNS
            # and pinned for the connection; never a redirect (not an acknowledgement).
            response = outbound.post(
                url,
                data=body.encode("utf-8"),
                headers=headers,
                timeout=tuple(current_app.config["WEBHOOK_TIMEOUT"]),
            )
            status_code = response.status_code
            response.close()
        except outbound.UnsafeURLError as exc:
            error = f"refused: {exc.message}"
        except requests.RequestException as exc:
            error = type(exc).__name__
            if outbound.was_blocked(exc):
                error = "refused: the connected address is not public"
    duration_ms = int((time.monotonic() - clock) * 1000)
    ok = status_code is not None and 200 <= status_code < 300
    if status_code is not None and not ok:
        error = f"HTTP {status_code}"
    return _record(
        event_id, worker, attempt, started, duration_ms, status_code, error, ok
    )


def _record(
    event_id: int,
    worker: str,
    attempt: int,
    started: datetime,
    duration_ms: int,
    status_code: int | None,
    error: str | None,
    ok: bool,
) -> bool:
    now = utcnow()
    give_up = attempt >= current_app.config["OUTBOX_MAX_ATTEMPTS"]
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


def run_once(worker: str | None = None, *, limit: int = 10) -> int:
    """Claim and deliver one batch; returns how many attempts were made."""
    worker = worker or default_worker_id()
    attempts = 0
    for event_id in claim_due(worker, limit=limit):
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


# -- reading (dashboard) -----------------------------------------------------------------


def recent_events(merchant: Merchant, limit: int = 50) -> list[OutboxEvent]:
    """The merchant's latest events, newest first."""
    return list(
        db.session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.merchant_id == merchant.id)
            .order_by(OutboxEvent.id.desc())
            .limit(limit)
        )
    )


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
