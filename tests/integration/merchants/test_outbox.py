"""Merchant webhooks: written in the order's transaction, delivered signed by workers
that lease rows, retried with backoff, every attempt recorded, exactly one delivery per
success even when a worker dies mid-run or two workers race (PostgreSQL)."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, select, update

from examples.merchant_shop import ResultError, verify_webhook
from tests.integration.merchants.conftest import Receiver, Shop, load_order
from wallet.extensions import db
from wallet.models._types import utcnow
from wallet.models.order import EXPIRED
from wallet.models.outbox import OutboxEvent, WebhookDelivery
from wallet.services import merchants, orders, outbox

MakeEvents = Callable[..., list[str]]


@pytest.fixture
def hooked(shop_factory: Callable[..., Shop], receiver: Receiver) -> Shop:
    """A merchant whose webhooks go to the test receiver."""
    return shop_factory(name="Hooked", webhook_url=receiver.url)


@pytest.fixture
def make_events(app: Flask, hooked: Shop) -> MakeEvents:
    """n merchant orders moved to EXPIRED through the orders service (one event each)."""

    def _make(n: int = 1) -> list[str]:
        ids = []
        with app.app_context():
            for i in range(n):
                order = merchants.create_order(
                    merchants.get(hooked.id), 1000 + i, f"order {i}", None
                )
                assert orders.move(order, EXPIRED)
                db.session.commit()
                ids.append(order.order_id)
        return ids

    return _make


def _events(app: Flask) -> list[OutboxEvent]:
    with app.app_context():
        rows = db.session.scalars(select(OutboxEvent).order_by(OutboxEvent.id)).all()
        db.session.expunge_all()
        return list(rows)


def _attempts(app: Flask) -> list[WebhookDelivery]:
    with app.app_context():
        rows = db.session.scalars(
            select(WebhookDelivery).order_by(WebhookDelivery.id)
        ).all()
        db.session.expunge_all()
        return list(rows)


def _run(app: Flask, worker: str = "w1") -> int:
    with app.app_context():
        return outbox.run_once(worker)


def _make_due(app: Flask) -> None:
    """Jump over the backoff: every pending row is due now."""
    with app.app_context():
        db.session.execute(
            update(OutboxEvent).values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()


def test_outbox_written_with_the_state_change_or_not_at_all(
    app: Flask, hooked: Shop
) -> None:
    with app.app_context():
        merchant = merchants.get(hooked.id)
        order = merchants.create_order(merchant, 5000, "tea", None)
        assert orders.move(order, EXPIRED)
        db.session.rollback()  # the state change fails → no event either
        assert db.session.scalars(select(OutboxEvent)).all() == []
        assert orders.move(order, EXPIRED)
        db.session.commit()
        order_id = order.order_id
    assert load_order(app, order_id).status == EXPIRED
    (event,) = _events(app)
    body = json.loads(event.payload)
    assert body["type"] == "order.expired"
    assert body["data"] == {
        "order_id": order_id,
        "status": "EXPIRED",
        "amount": 5000,
        "currency": "KRW",
        "refunded_amount": 0,
    }
    assert event.status == "pending"


def test_outbox_no_event_without_merchant_or_webhook_url(
    app: Flask, shop: Shop
) -> None:
    with app.app_context():
        plain = orders.create_order(5000, "no merchant")
        assert orders.move(plain, EXPIRED)
        quiet = merchants.create_order(merchants.get(shop.id), 5000, "no hook", None)
        assert orders.move(quiet, EXPIRED)
        db.session.commit()
    assert _events(app) == []


def test_outbox_worker_delivers_signed_once(
    app: Flask, hooked: Shop, receiver: Receiver, make_events: MakeEvents
) -> None:
    (order_id,) = make_events(1)
    assert _run(app) == 1
    assert _run(app) == 0  # delivered: never again
    (got,) = receiver.received
    (event,) = _events(app)
    assert got["headers"]["Webhook-Id"] == event.message_id
    assert (
        verify_webhook([hooked.secret], got["headers"], got["body"]) == event.message_id
    )
    assert json.loads(got["body"])["data"]["order_id"] == order_id
    assert event.status == "delivered"
    assert event.attempts == 1
    (attempt,) = _attempts(app)
    assert attempt.succeeded
    assert attempt.status_code == 204
    assert attempt.duration_ms >= 0
    with pytest.raises(ResultError):
        verify_webhook([hooked.secret], got["headers"], got["body"] + b" ")


def test_outbox_retries_with_backoff_until_2xx_every_attempt_recorded(
    app: Flask, receiver: Receiver, make_events: MakeEvents
) -> None:
    receiver.statuses = [500, 302, 404]
    make_events(1)
    before = utcnow()
    assert _run(app) == 1
    (event,) = _events(app)
    assert event.status == "pending"
    assert event.attempts == 1
    base = app.config["OUTBOX_BACKOFF"][0]
    assert event.next_attempt_at >= before + timedelta(seconds=base / 2)
    assert _run(app) == 0  # not due yet
    for _ in range(3):
        _make_due(app)
        assert _run(app) == 1
    (event,) = _events(app)
    assert event.status == "delivered"
    assert event.attempts == 4
    rows = _attempts(app)
    assert [(a.attempt, a.status_code, a.succeeded) for a in rows] == [
        (1, 500, False),
        (2, 302, False),  # a redirect is not an acknowledgement
        (3, 404, False),
        (4, 204, True),
    ]
    assert [a.error for a in rows[:3]] == ["HTTP 500", "HTTP 302", "HTTP 404"]
    ids = {r["headers"]["Webhook-Id"] for r in receiver.received}
    assert ids == {event.message_id}  # the same id on every retry: receivers dedupe


def test_outbox_unreachable_and_slow_receivers_recorded_as_errors(
    app: Flask, hooked: Shop, receiver: Receiver, make_events: MakeEvents
) -> None:
    app.config["WEBHOOK_TIMEOUT"] = (0.5, 0.3)
    receiver.delay = 1.0
    make_events(1)
    assert _run(app) == 1
    with app.app_context():
        merchant = merchants.get(hooked.id)
        merchant.webhook_url = "http://127.0.0.1:9/closed"  # discard port: refused
        db.session.commit()
    _make_due(app)
    assert _run(app) == 1
    errors = [a.error for a in _attempts(app)]
    assert errors == ["ReadTimeout", "ConnectionError"]
    assert _events(app)[0].status == "pending"


def test_outbox_gives_up_after_max_attempts(
    app: Flask, receiver: Receiver, make_events: MakeEvents
) -> None:
    app.config["OUTBOX_MAX_ATTEMPTS"] = 2
    receiver.statuses = [500, 500, 500]
    make_events(1)
    _run(app)
    _make_due(app)
    _run(app)
    _make_due(app)
    assert _run(app) == 0
    assert _events(app)[0].status == "failed"
    assert len(receiver.received) == 2


def test_outbox_backoff_doubles_with_jitter_and_cap(app: Flask) -> None:
    app.config["OUTBOX_BACKOFF"] = (10.0, 60.0)
    with app.app_context():
        for attempt, full in [(1, 10.0), (2, 20.0), (3, 40.0), (4, 60.0), (9, 60.0)]:
            delays = {outbox.backoff_delay(attempt) for _ in range(20)}
            assert all(full / 2 <= d <= full for d in delays)
            assert len(delays) > 1  # jittered, not fixed


def test_outbox_worker_killed_mid_run_lease_expires_delivered_exactly_once(
    app: Flask, receiver: Receiver, make_events: MakeEvents
) -> None:
    make_events(2)
    with app.app_context():
        claimed = outbox.claim_due("dead-worker")  # claims, then "dies"
    assert len(claimed) == 2
    assert _run(app, "alive") == 0  # leased rows are not taken while the lease runs
    assert receiver.received == []
    with app.app_context():  # time passes: the dead worker's lease runs out
        db.session.execute(
            update(OutboxEvent).values(lease_until=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
    assert _run(app, "alive") == 2
    with app.app_context():  # the dead worker wakes up: the rows are not its any more
        assert [outbox.deliver(i, "dead-worker") for i in claimed] == [None, None]
    assert _run(app, "alive") == 0
    counts = Counter(r["headers"]["Webhook-Id"] for r in receiver.received)
    assert sorted(counts.values()) == [1, 1]
    assert [e.status for e in _events(app)] == ["delivered", "delivered"]
    assert [a.worker for a in _attempts(app)] == ["alive", "alive"]


def test_outbox_rotated_secret_signs_with_both(
    app: Flask, hooked: Shop, receiver: Receiver, make_events: MakeEvents
) -> None:
    with app.app_context():
        new = merchants.rotate_link_secret(merchants.get(hooked.id), "test")
    make_events(1)
    _run(app)
    (got,) = receiver.received
    assert len(got["headers"]["Webhook-Signature"].split()) == 2
    assert verify_webhook([hooked.secret], got["headers"], got["body"])
    assert verify_webhook([new.secret], got["headers"], got["body"])


def test_outbox_cli_worker_once(
    app: Flask, receiver: Receiver, make_events: MakeEvents
) -> None:
    make_events(2)
    result = app.test_cli_runner().invoke(args=["wallet", "worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "2 delivery attempts" in result.output
    assert len(receiver.received) == 2


def test_outbox_worker_thread_delivers_and_stops(
    app: Flask, receiver: Receiver, make_events: MakeEvents
) -> None:
    app.config["OUTBOX_POLL_SECONDS"] = 0.05
    make_events(3)
    thread, stop = outbox.start_worker_thread(app)
    try:
        for _ in range(100):
            if len(receiver.received) == 3:
                break
            threading.Event().wait(0.05)
    finally:
        stop.set()
        thread.join(timeout=5)
    assert not thread.is_alive()
    assert len(receiver.received) == 3


def test_outbox_two_workers_never_deliver_one_event_twice(
    app: Flask, receiver: Receiver, make_events: MakeEvents
) -> None:
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip(
                "needs PostgreSQL: FOR UPDATE SKIP LOCKED between two connections; "
                "SQLite allows one writer at a time (set WALLET_TEST_DATABASE_URL)"
            )
    make_events(30)
    receiver.delay = 0.05  # deliveries overlap with the other worker's claims
    start = threading.Barrier(2)

    def slow_claim(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        # Widen the race: w1 pauses right after selecting its rows, still inside the
        # claim transaction, while w2 claims. Without row locks both get the same rows.
        if threading.current_thread().name == "w1" and statement.lstrip().startswith(
            "SELECT outbox_events.id"
        ):
            time.sleep(0.3)

    def work(name: str) -> None:
        with app.app_context():
            start.wait()
            while outbox.run_once(name, limit=5):
                pass
            db.session.remove()

    with app.app_context():
        engine = db.engine
    event.listen(engine, "after_cursor_execute", slow_claim)
    try:
        threads = [
            threading.Thread(target=work, args=(f"w{i}",), name=f"w{i}") for i in (1, 2)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    finally:
        event.remove(engine, "after_cursor_execute", slow_claim)
    counts = Counter(r["headers"]["Webhook-Id"] for r in receiver.received)
    assert len(counts) == 30
    assert set(counts.values()) == {1}
    workers = Counter(a.worker for a in _attempts(app))
    assert sum(workers.values()) == 30
    assert set(workers) == {"w1", "w2"}  # both really worked
    assert all(e.status == "delivered" for e in _events(app))
