"""Kill the portal process while confirms are in flight, restart it, reconcile.

The portal runs as a real gunicorn process (bench/servers.py) on 127.0.0.1 against the test database and
the test sandbox. Confirms are held at the sandbox (some will be applied after the
hold, some never), the portal is SIGKILLed while they wait, then started again and
`flask wallet reconcile` runs: every order must end as Toss has it, none lost.
"""

from __future__ import annotations

import re
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
from tests.conftest import csrf_token
from tests.reliability.conftest import (
    PASSWORD,
    mismatches,
    order_statuses,
    reconcile,
)
from wallet.extensions import db
from wallet.models import Member
from wallet.models.order import Order
from wallet.models.payment import Payment

# The BrandPay window's confirm, and the core confirm of the card windows (issue 12).
CONFIRMS = {"brandpay": "/v1/brandpay/payments/confirm", "card": "/v1/payments/confirm"}
ORDERS = 4
NEVER_APPLIED = 2  # the first two held confirms hang: Toss never acts on them
_ORDER_PATH = re.compile(r"/pay/orders/([A-Za-z0-9_-]+)$")
_FAIL_RE = re.compile(r'data-fail-url="([^"]+)"')

pytestmark = pytest.mark.skipif(not GUNICORN.exists(), reason="gunicorn not installed")


def _browser(portal: Gunicorn, email: str) -> requests.Session:
    """A logged-in browser session on the portal process."""
    http = requests.Session()
    page = http.get(f"{portal.url}/auth/login", timeout=10)
    resp = http.post(
        f"{portal.url}/auth/login",
        data={
            "email": email,
            "password": PASSWORD,
            "csrf_token": csrf_token(page.text),
        },
        allow_redirects=False,
        timeout=10,
    )
    assert resp.status_code == 302, resp.status_code
    return http


def _order(
    portal: Gunicorn, http: requests.Session, amount: int, way: str
) -> tuple[str, str, str]:
    """A new order through the form: (orderId, successUrl, failUrl)."""
    page = http.get(f"{portal.url}/pay/new", timeout=10)
    resp = http.post(
        f"{portal.url}/pay/new",
        data={
            "order_name": "Crash test",
            "amount": str(amount),
            "csrf_token": csrf_token(page.text),
        },
        allow_redirects=False,
        timeout=10,
    )
    assert resp.status_code == 303, resp.text[:500]
    match = _ORDER_PATH.search(resp.headers["Location"])
    assert match
    checkout = http.get(f"{portal.url}/pay/orders/{match.group(1)}", timeout=10).text
    success = re.search(rf'data-pay-way="{way}"\s+data-success-url="([^"]+)"', checkout)
    fail = _FAIL_RE.search(checkout)
    assert success
    assert fail
    return match.group(1), success.group(1).replace("&amp;", "&"), fail.group(1)


@pytest.mark.parametrize("way", ["brandpay", "card"])
def test_crash_portal_killed_mid_confirm_reconcile_restores_truth(
    app: Flask,
    sandbox: Any,
    make_member: Callable[..., Any],
    start_portal: Callable[[], Gunicorn],
    way: str,
) -> None:
    confirm = CONFIRMS[way]
    member_id = make_member("crash@example.com", PASSWORD)
    with app.app_context():
        customer_key = db.session.get(Member, member_id).customer_key
    sandbox.link_customer(customer_key, "http://127.0.0.1/brandpay/callback")

    first = start_portal()
    http = _browser(first, "crash@example.com")
    redirects: list[str] = []
    order_ids: list[str] = []
    for i in range(ORDERS):
        order_id, success, fail = _order(first, http, 20_000 + i, way)
        authorize = (
            sandbox.authorize_payment
            if way == "brandpay"
            else sandbox.authorize_card_payment
        )
        location = authorize(
            customer_key, order_id, 20_000 + i, "Crash test", success, fail
        )
        order_ids.append(order_id)
        redirects.append(location)

    # Held at Toss: the first two hang (closed with no effect), the rest are applied
    # after a delay. The portal dies while every one of them is waiting.
    sandbox.set_fault(confirm, hang=2.0, times=NEVER_APPLIED)
    sandbox.set_fault(confirm, latency=2.0)

    def follow(location: str) -> None:
        # The portal is killed under this request: that is the test.
        with suppress(requests.RequestException):
            http.get(location, timeout=15)

    threads = [threading.Thread(target=follow, args=(loc,)) for loc in redirects]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 10
    while order_statuses(app, order_ids).count("CONFIRMING") < ORDERS:
        assert time.monotonic() < deadline, order_statuses(app, order_ids)
        time.sleep(0.05)
    time.sleep(0.3)  # the confirm requests are out, waiting at the sandbox
    first.kill()
    for thread in threads:
        thread.join(timeout=15)
    time.sleep(2.2)  # let the held confirms finish (or hang up) at the sandbox
    sandbox.clear_faults()

    # The crash left every order CONFIRMING; Toss applied only some confirms.
    assert order_statuses(app, order_ids) == ["CONFIRMING"] * ORDERS
    truth = [sandbox.payment_by_order(o)["status"] for o in order_ids]
    assert truth.count("DONE") == ORDERS - NEVER_APPLIED, truth

    second = start_portal()
    http = _browser(second, "crash@example.com")
    sandbox.advance_clock(2)  # past Toss's 1 s window for repeating a confirm
    out = reconcile(app)
    assert f"orders checked: {ORDERS}" in out, out
    assert mismatches(app, sandbox, order_ids) == []
    assert (
        order_statuses(app, order_ids) == ["DONE"] * ORDERS
    )  # the hung ones re-confirmed
    with app.app_context():
        payments = db.session.scalar(
            select(func.count(Payment.id))
            .join(Order, Order.id == Payment.order_pk)
            .where(Order.order_id.in_(order_ids))
        )
    assert payments == ORDERS  # nothing lost, nothing twice
    for order_id in order_ids:
        receipt = http.get(f"{second.url}/pay/orders/{order_id}/receipt", timeout=10)
        assert receipt.status_code == 200
        # Every confirm went out under the order's one Idempotency-Key.
        keys = {
            c["idempotencyKey"]
            for c in sandbox.calls(confirm)
            if (c.get("idempotencyKey") or "").startswith(f"confirm-{order_id}-")
        }
        assert keys == {f"confirm-{order_id}-1"}
    assert "orders checked: 0" in reconcile(app)
