"""Issue 13 I1: answers that revealed what exists. The Toss webhook endpoint says the
same whatever it did; a merchant's order looks exactly like a nonexistent one to
anybody who may not see it (no frame-ancestors naming the merchant's origins)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask import Flask

from tests.integration.security.conftest import Shop


def _webhook(app: Flask, body: dict[str, Any], transmission_id: str) -> Any:
    return app.test_client().post(
        "/webhooks/toss",
        data=json.dumps(body),
        content_type="application/json",
        headers={"tosspayments-webhook-transmission-id": transmission_id},
    )


def test_webhook_answer_is_the_same_for_every_outcome(app: Flask) -> None:
    # Attack (I1): the answer named the outcome (unknown_payment, no_change, handled).
    envelope = {"createdAt": "2026-01-01T00:00:00.000000"}
    answers = [
        _webhook(
            app,
            envelope
            | {"eventType": "PAYMENT_STATUS_CHANGED", "data": {"paymentKey": "tbp_x"}},
            "whtrans_i1_a",
        ),
        _webhook(
            app, envelope | {"eventType": "PAYMENT_STATUS_CHANGED", "data": {}}, "b"
        ),
        _webhook(app, envelope | {"eventType": "payout.changed", "data": {}}, "c"),
        _webhook(
            app,
            envelope
            | {"eventType": "METHOD_UPDATED", "data": {"customerKey": "cus_nobody"}},
            "d",
        ),
        _webhook(app, envelope | {"eventType": "payout.changed", "data": {}}, "c"),
    ]
    assert {(a.status_code, a.get_data()) for a in answers} == {
        (200, b'{"status":"ok"}\n')
    }


def _framed_order(app: Flask, shop_factory: Callable[..., Shop]) -> tuple[Shop, str]:
    framed = shop_factory(name="Framed", allow_framing=True)
    created = app.test_client().post(
        "/api/v1/orders",
        json={"amount": 5000, "order_name": "Tea"},
        headers=framed.headers("i1-order"),
    )
    return framed, created.get_json()["order_id"]


def _shape(resp: Any, order_id: str) -> tuple[Any, ...]:
    headers = {
        k: v.replace(order_id, "ID")
        for k, v in resp.headers.items()
        if k not in ("Content-Length", "Set-Cookie", "Vary")
    }
    return resp.status_code, headers, resp.get_data().replace(order_id.encode(), b"ID")


def test_anonymous_merchant_order_looks_like_no_order(
    app: Flask, shop_factory: Callable[..., Shop]
) -> None:
    # Attack (I1): an anonymous GET of a merchant's order answered differently from a
    # nonexistent one: its CSP frame-ancestors listed the merchant's origins.
    _shop, order_id = _framed_order(app, shop_factory)
    missing = "ord_" + "Z" * 24
    real = app.test_client().get(f"/pay/orders/{order_id}")
    fake = app.test_client().get(f"/pay/orders/{missing}")
    assert real.status_code == 302
    assert "https://shop.example" not in real.headers["Content-Security-Policy"]
    assert _shape(real, order_id) == _shape(fake, missing)


def test_other_members_see_a_merchant_order_as_no_order(
    app: Flask,
    shop_factory: Callable[..., Shop],
    member_client: Callable[..., Any],
) -> None:
    _shop, order_id = _framed_order(app, shop_factory)
    missing = "ord_" + "Z" * 24
    client, _ = member_client()
    real = client.get(f"/pay/orders/{order_id}")
    fake = client.get(f"/pay/orders/{missing}")
    assert real.status_code == 404
    assert "frame-ancestors 'none'" in real.headers["Content-Security-Policy"]
    assert _shape(real, order_id) == _shape(fake, missing)
