"""Sandbox faults during pay, refund, token refresh and withdrawal: after `reconcile`
(or, for the member-driven calls, one retry) every order and link agrees with Toss.

Each scenario runs under one fault (latency, a 5xx, a hang past the client's read
timeout, an answer dropped after the effect, a closed connection), sometimes with the
lookup failing too. Faults are cleared, `flask wallet reconcile` runs, and then the
sandbox's truth is compared with every order: status, payment, balance, cancels.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import suppress
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import update

from tests.integration.brandpay.conftest import (  # noqa: F401 (fixtures)
    Browser,
    browser,
    link,
    link_row,
    linked,
)
from tests.integration.payments.conftest import (  # noqa: F401 (fixture)
    Payer,
    path_of,
    payer,
)
from tests.reliability.conftest import mismatches, reconcile
from wallet.extensions import db
from wallet.models import BrandPayLink
from wallet.models._types import utcnow
from wallet.services import orders, payments

CONFIRM = "/v1/brandpay/payments/confirm"
LOOKUP = "/v1/payments/*"
CANCEL = "/v1/payments/*/cancel"
ACCESS_TOKEN = "/v1/brandpay/authorizations/access-token"
WITHDRAW = "/v1/brandpay/customers/remove"
HANG = 2.0  # longer than the read timeout below: the portal sees a timeout

Fault = tuple[str, dict[str, Any]]

PAY_FAULTS: list[tuple[str, list[Fault]]] = [
    ("none", []),
    ("latency", [(CONFIRM, {"latency": 0.3})]),
    ("5xx", [(CONFIRM, {"status": 500, "times": 1})]),
    ("dropped-500", [(CONFIRM, {"drop": "500", "times": 1})]),
    ("dropped-close", [(CONFIRM, {"drop": "close", "times": 1})]),
    ("timeout", [(CONFIRM, {"hang": HANG, "times": 1})]),
    (
        "dropped+lookup-5xx",
        [
            (CONFIRM, {"drop": "500", "times": 1}),
            (LOOKUP, {"method": "GET", "status": 503}),
        ],
    ),
    (
        "timeout+lookup-timeout",
        [
            (CONFIRM, {"hang": HANG, "times": 1}),
            (LOOKUP, {"method": "GET", "hang": HANG}),
        ],
    ),
    (
        "5xx+lookup-5xx",
        [
            (CONFIRM, {"status": 503, "times": 1}),
            (LOOKUP, {"method": "GET", "status": 500}),
        ],
    ),
]
# (label, faults, refund amount or None for the member's own full cancel)
REFUND_FAULTS: list[tuple[str, list[Fault], int | None]] = [
    ("5xx", [(CANCEL, {"status": 500, "times": 1})], None),
    ("dropped-500", [(CANCEL, {"drop": "500", "times": 1})], 1500),
    ("dropped-close", [(CANCEL, {"drop": "close", "times": 1})], 2500),
    ("timeout", [(CANCEL, {"hang": HANG, "times": 1})], None),
    ("latency", [(CANCEL, {"latency": 0.3})], 700),
    ("5xx-partial", [(CANCEL, {"status": 502, "times": 1})], 1000),
]
TOKEN_FAULTS: list[tuple[str, list[Fault]]] = [
    ("5xx", [(ACCESS_TOKEN, {"status": 500, "times": 1})]),
    ("dropped-500", [(ACCESS_TOKEN, {"drop": "500", "times": 1})]),
    ("dropped-close", [(ACCESS_TOKEN, {"drop": "close", "times": 1})]),
    ("timeout", [(ACCESS_TOKEN, {"hang": HANG, "times": 1})]),
    ("latency", [(ACCESS_TOKEN, {"latency": 0.3})]),
]
WITHDRAW_FAULTS: list[tuple[str, list[Fault]]] = [
    ("5xx", [(WITHDRAW, {"status": 500, "times": 1})]),
    ("dropped-500", [(WITHDRAW, {"drop": "500", "times": 1})]),
    ("dropped-close", [(WITHDRAW, {"drop": "close", "times": 1})]),
    ("timeout", [(WITHDRAW, {"hang": HANG, "times": 1})]),
]


@pytest.fixture
def app_overrides() -> dict[str, Any]:
    """Short client timeouts keep the hangs cheap; no rate limit on retries."""
    return {"TOSS_TIMEOUT": (1.0, 0.8), "RATELIMIT_ENABLED": False}


def _apply(sandbox: Any, faults: list[Fault]) -> None:
    sandbox.clear_faults()
    for route, spec in faults:
        sandbox.set_fault(route, **spec)


def _no_open_work(app: Flask) -> None:
    """A second reconcile finds nothing left: it settled everything the first time."""
    out = reconcile(app)
    assert "orders checked: 0" in out, out
    assert "refunds checked: 0" in out, out


def test_faults_pay_and_refund_consistent_with_sandbox_after_reconcile(
    app: Flask,
    payer: Callable[..., Payer],  # noqa: F811
    sandbox: Any,
) -> None:
    p = payer()
    placed: list[str] = []
    outcomes: dict[str, int] = {}
    for i, (label, faults) in enumerate(PAY_FAULTS):
        order_id = p.new_order(10_000 + i * 100)
        location = p.authorize(order_id)
        _apply(sandbox, faults)
        resp = p.client.get(path_of(location))
        sandbox.clear_faults()
        outcomes[label] = resp.status_code
        assert resp.status_code in (200, 202, 303), (label, resp.status_code)
        placed.append(order_id)
    # Some answers were lost for good: those orders wait for reconcile, as UNKNOWN.
    assert outcomes["timeout+lookup-timeout"] == 202
    assert p.order(placed[-2]).status == "UNKNOWN"
    sandbox.advance_clock(2)  # past Toss's 1 s FORBIDDEN_CONSECUTIVE_REQUEST window
    reconcile(app)
    assert mismatches(app, sandbox, placed) == []
    done = [o for o in placed if p.order(o).status == "DONE"]
    assert len(done) == len(PAY_FAULTS)  # every authorized payment got confirmed

    # Refunds under faults, on the paid orders (full ones by the member's own button).
    for order_id, (label, faults, amount) in zip(done, REFUND_FAULTS, strict=False):
        _apply(sandbox, faults)
        if amount is None:
            resp = p.post_form(
                f"/pay/orders/{order_id}/receipt", f"/pay/orders/{order_id}/cancel", {}
            )
            assert resp.status_code == 303, label
        else:
            # RefundPendingError: Toss's answer was lost; reconcile finishes it.
            with app.test_request_context(), suppress(payments.RefundPendingError):
                payments.refund(orders.find(order_id), amount, label, "reliability")
        sandbox.clear_faults()
    sandbox.advance_clock(2)
    reconcile(app)
    assert mismatches(app, sandbox, placed) == []
    refunded = [o for o in done[: len(REFUND_FAULTS)] if p.order(o).payment.cancels]
    assert len(refunded) == len(REFUND_FAULTS)
    _no_open_work(app)


CARD_CONFIRM = "/v1/payments/confirm"  # the standard/international windows' confirm


def test_faults_card_window_confirm_consistent_with_sandbox_after_reconcile(
    app: Flask,
    payer: Callable[..., Payer],  # noqa: F811
    sandbox: Any,
) -> None:
    """Issue 12: the core confirm of standard and international window payments under
    every fault the BrandPay confirm is tested with (the same list, its route)."""
    p = payer()
    placed: list[str] = []
    for i, (label, faults) in enumerate(PAY_FAULTS):
        card_faults = [
            (CARD_CONFIRM if route == CONFIRM else route, spec)
            for route, spec in faults
        ]
        way = "foreign" if i % 2 else "card"
        order_id = p.new_order(20_000 + i * 100)
        location = p.authorize_card(order_id, way)
        _apply(sandbox, card_faults)
        resp = p.client.get(path_of(location))
        sandbox.clear_faults()
        assert resp.status_code in (200, 202, 303), (label, resp.status_code)
        placed.append(order_id)
    assert p.order(placed[-2]).status == "UNKNOWN"  # timeout + lookup timeout
    sandbox.advance_clock(2)
    reconcile(app)
    assert mismatches(app, sandbox, placed) == []
    for i, order_id in enumerate(placed):
        order = p.order(order_id)
        assert order.status == "DONE", order_id
        assert order.pay_way == ("FOREIGN_CARD" if i % 2 else "CARD")
        assert sandbox.payment_by_order(order_id)["type"] == "NORMAL"
    _no_open_work(app)


def _expire_tokens(app: Flask) -> None:
    with app.app_context():
        db.session.execute(
            update(BrandPayLink).values(access_expires_at=utcnow() - timedelta(hours=1))
        )
        db.session.commit()


@pytest.mark.parametrize(
    ("label", "faults"), TOKEN_FAULTS, ids=[f[0] for f in TOKEN_FAULTS]
)
def test_faults_token_refresh_converges_one_rotation(
    app: Flask,
    sandbox: Any,
    linked: Browser,  # noqa: F811
    label: str,
    faults: list[Fault],
) -> None:
    who = linked
    _expire_tokens(app)
    _apply(sandbox, faults)
    first = who.client.get("/wallet/methods")
    sandbox.clear_faults()
    # Either it worked, or the page says Toss is unavailable: never an error page.
    assert first.status_code in (200, 503), first.status_code
    # A hung refresh may still be in flight at Toss when the member retries (its
    # Idempotency-Key is then busy): the page may say "unavailable" once more, never an
    # error, and converges within the hang's length.
    deadline = time.monotonic() + 2 * HANG
    again = who.client.get("/wallet/methods")
    while again.status_code == 503 and time.monotonic() < deadline:
        time.sleep(0.5)
        again = who.client.get("/wallet/methods")
    assert again.status_code == 200, label
    assert "4330" in again.get_data(as_text=True)  # the card, listed with a live token
    row = link_row(app, who.member_id)
    assert row.status == "linked"
    # Toss rotated the pair exactly once, however the first answer was lost.
    assert sandbox.tokens_issued(who.customer_key, "RefreshToken") == 1


@pytest.mark.parametrize(
    ("label", "faults"), WITHDRAW_FAULTS, ids=[f[0] for f in WITHDRAW_FAULTS]
)
def test_faults_withdraw_retry_converges_with_sandbox(
    app: Flask,
    sandbox: Any,
    linked: Browser,  # noqa: F811
    label: str,
    faults: list[Fault],
) -> None:
    who = linked
    _apply(sandbox, faults)
    first = who.post_form("/wallet/withdraw", "/wallet/withdraw")
    sandbox.clear_faults()
    assert first.status_code == 303, first.status_code
    gone_at_toss = not sandbox.methods(who.customer_key)["cards"]
    row = link_row(app, who.member_id)
    # Never "withdrawn here" while Toss still has the customer.
    assert not (row.status == "withdrawn" and not gone_at_toss), label
    if row.status != "withdrawn":
        retry = who.post_form("/wallet/withdraw", "/wallet/withdraw")
        assert retry.status_code == 303
    row = link_row(app, who.member_id)
    assert row.status == "withdrawn", label
    assert row.access_token_enc is None
    assert sandbox.methods(who.customer_key)["cards"] == []
