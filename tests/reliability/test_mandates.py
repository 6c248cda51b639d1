"""Mandate charges under load and under a crash (issue 15).

- 50 concurrent charges over real HTTP on a mandate allowing 3 per period: exactly 3
  reach Toss (the sandbox records 3 autopay calls), 47 are refused with
  MANDATE_PERIOD_LIMIT_REACHED. Runs on SQLite, and on PostgreSQL with
  WALLET_TEST_DATABASE_URL.
- The portal (a real gunicorn process) is SIGKILLed while charges wait at Toss; after
  `flask wallet reconcile` the portal has exactly the charges Toss made, none twice.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import suppress
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import func, select

from bench.servers import GUNICORN, Gunicorn
from tests.integration.mandates.conftest import (  # noqa: F401 - fixtures
    Shop,
    autopay_calls,
    browser,
    link,
    linked,
    load,
    make_mandate,
    new_order_id,
    shop,
    shop_factory,
)
from tests.reliability.conftest import mismatches, order_statuses, reconcile
from wallet.extensions import db
from wallet.models.order import Order
from wallet.models.payment import Payment

CONCURRENT = 50
ALLOWED = 3


def _charge(base: str, shop: Shop, mandate_id: str, order_id: str) -> requests.Response:  # noqa: F811
    return requests.post(
        f"{base}/api/v1/mandates/{mandate_id}/charges",
        json={"amount": 4900, "order_id": order_id, "order_name": "Tea box"},
        headers=shop.headers(f"race-{order_id}"),
        timeout=60,
    )


def test_race_50_concurrent_charges_3_allowed_exactly_3_at_toss(
    app: Flask,
    sandbox: Any,
    shop: Shop,  # noqa: F811
    make_mandate: Callable[..., str],  # noqa: F811
    request: pytest.FixtureRequest,
) -> None:
    mandate_id = make_mandate(max_charges=ALLOWED, period="month")
    # Served over real HTTP only now: the member linked through the test client.
    live_portal = request.getfixturevalue("live_portal")
    order_ids = [new_order_id() for _ in range(CONCURRENT)]
    answers: dict[str, tuple[int, str]] = {}
    start = threading.Barrier(CONCURRENT)
    lock = threading.Lock()

    def run(order_id: str) -> None:
        start.wait()
        resp = _charge(live_portal, shop, mandate_id, order_id)
        body = resp.json()
        code = body["status"] if resp.status_code < 300 else body["error"]["code"]
        with lock:
            answers[order_id] = (resp.status_code, code)

    threads = [threading.Thread(target=run, args=(o,)) for o in order_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    outcomes = sorted(answers.values())
    assert outcomes.count((201, "DONE")) == ALLOWED, outcomes
    assert outcomes.count((409, "MANDATE_PERIOD_LIMIT_REACHED")) == (
        CONCURRENT - ALLOWED
    ), outcomes
    # What Toss saw: exactly 3 charges, one per charged order.
    charged = [o for o, (status, _c) in answers.items() if status == 201]
    assert len(autopay_calls(sandbox, *order_ids)) == ALLOWED
    assert all(sandbox.payment_by_order(o)["status"] == "DONE" for o in charged)
    assert sum(sandbox.payment_by_order(o) is not None for o in order_ids) == ALLOWED
    with app.app_context():
        stored = db.session.scalars(
            select(Order.order_id).where(Order.order_id.in_(order_ids))
        ).all()
        db.session.remove()
    assert sorted(stored) == sorted(charged)  # the 47 refused wrote nothing
    assert load(app, mandate_id).period_count == ALLOWED


# -- crash ----------------------------------------------------------------------------

pytestmark_crash = pytest.mark.skipif(
    not GUNICORN.exists(), reason="gunicorn not installed"
)
CHARGES = 4
NEVER_APPLIED = 2  # the first two held charges hang: Toss never makes them


@pytestmark_crash
def test_crash_portal_killed_mid_charge_reconcile_leaves_what_toss_made(
    app: Flask,
    sandbox: Any,
    shop: Shop,  # noqa: F811
    make_mandate: Callable[..., str],  # noqa: F811
    start_portal: Callable[[], Gunicorn],
) -> None:
    mandate_id = make_mandate(max_charges=CHARGES + 1)
    order_ids = [new_order_id() for _ in range(CHARGES)]
    portal = start_portal()
    # Held at Toss: the first two hang up with no effect, the rest are made late.
    sandbox.set_fault("/v1/brandpay/payments", hang=2.0, times=NEVER_APPLIED)
    sandbox.set_fault("/v1/brandpay/payments", latency=2.0)

    def send(order_id: str) -> None:
        with suppress(requests.RequestException):  # the portal dies under it
            _charge(portal.url, shop, mandate_id, order_id)

    threads = [threading.Thread(target=send, args=(o,)) for o in order_ids]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 15
    while order_statuses(app, order_ids).count("CONFIRMING") < CHARGES:
        assert time.monotonic() < deadline, order_statuses(app, order_ids)
        time.sleep(0.05)
    time.sleep(0.3)  # the autopay requests are out, waiting at the sandbox
    portal.kill()
    for thread in threads:
        thread.join(timeout=15)
    time.sleep(2.2)  # the held charges finish (or hang up) at the sandbox
    sandbox.clear_faults()

    assert order_statuses(app, order_ids) == ["CONFIRMING"] * CHARGES
    made = [o for o in order_ids if sandbox.payment_by_order(o) is not None]
    assert len(made) == CHARGES - NEVER_APPLIED

    out = reconcile(app)
    assert f"orders checked: {CHARGES}" in out, out
    assert mismatches(app, sandbox, order_ids) == []
    assert sorted(order_statuses(app, order_ids)) == sorted(
        ["DONE"] * len(made) + ["FAILED"] * NEVER_APPLIED
    )
    with app.app_context():
        paid = db.session.scalar(
            select(func.count(Payment.id))
            .join(Order, Order.id == Payment.order_pk)
            .where(Order.order_id.in_(order_ids))
        )
    assert paid == len(made)  # exactly the charges Toss made, none twice
    # One autopay call per order, each under the order's one key; none re-sent.
    assert len(autopay_calls(sandbox, *order_ids)) == CHARGES
    assert load(app, mandate_id).period_count == len(made)  # failed ones given back
    assert "orders checked: 0" in reconcile(app)
