"""Orders: created server-side with a valid orderId and amount; unpaid ones expire."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask

from tests.conftest import csrf_token
from tests.integration.payments.conftest import Payer, path_of
from wallet.extensions import db
from wallet.models.order import Order
from wallet.services import events, orders


def test_orders_new_form_creates_pending_order_with_valid_id(
    payer: Callable[..., Payer],
) -> None:
    p = payer()
    order_id = p.new_order(1234, "Coffee beans")
    assert re.fullmatch(r"[A-Za-z0-9_-]{6,64}", order_id)
    order = p.order(order_id)
    assert (order.status, order.amount, order.order_name) == (
        "PENDING",
        1234,
        "Coffee beans",
    )
    assert order.member_id == p.member_id
    assert order.expires_at > order.created_at
    page = p.client.get(f"/pay/orders/{order_id}").get_data(as_text=True)
    assert 'data-amount="1234"' in page
    assert f'data-order-id="{order_id}"' in page
    assert "/pay/orders/" + order_id + "/success" in page


@pytest.mark.parametrize("amount", ["99", "0", "-5", "abc", "1.5", ""])
def test_orders_new_form_bad_amount_refused_400(
    app: Flask, payer: Callable[..., Payer], amount: str
) -> None:
    p = payer()
    resp = p.post_form("/pay/new", "/pay/new", {"order_name": "x", "amount": amount})
    assert resp.status_code == 400
    assert 'aria-invalid="true"' in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(Order).count() == 0


def test_orders_create_order_refuses_bool_and_below_minimum(app: Flask) -> None:
    with app.test_request_context():
        with pytest.raises(orders.InvalidOrderError):
            orders.create_order(True, "x")  # type: ignore[arg-type]
        with pytest.raises(orders.InvalidOrderError):
            orders.create_order(99, "x")
        with pytest.raises(orders.InvalidOrderError):
            orders.create_order(1000, "  ")
        shop = _merchant()
        order = orders.create_order(100, "merchant order", merchant_id=shop)
        assert order.member_id is None
        assert order.merchant_id == shop


def _merchant() -> int:
    from wallet.services import merchants

    merchant, _ = merchants.create_merchant("Shop", ["https://shop.example"], None)
    return int(merchant.id)


def test_orders_unbound_merchant_order_is_not_found_for_members(
    app: Flask, payer: Callable[..., Payer]
) -> None:
    # Only a signed wallet link binds a merchant's order (single use, amount ceiling);
    # opening its checkout URL directly must not hand it to whoever asks first.
    with app.test_request_context():
        order_id = orders.create_order(5000, "shop", merchant_id=_merchant()).order_id
    first, second = payer(), payer()
    assert first.client.get(f"/pay/orders/{order_id}").status_code == 404
    assert second.client.get(f"/pay/orders/{order_id}").status_code == 404
    assert first.order(order_id).member_id is None
    # Bound (as the wallet-link landing does), it is the member's; paid, its receipt
    # offers the way back to the shop.
    with app.app_context():
        order = orders.find(order_id)
        assert order is not None
        order.member_id = first.member_id
        db.session.commit()
    assert second.client.get(f"/pay/orders/{order_id}").status_code == 404
    assert first.client.get(f"/pay/orders/{order_id}").status_code == 200
    assert first.client.get(path_of(first.authorize(order_id))).status_code == 303
    receipt = first.client.get(f"/pay/orders/{order_id}/receipt")
    assert "Return to the shop" in receipt.get_data(as_text=True)


def test_orders_expired_lazily_and_by_cli_events_emitted(
    app: Flask, payer: Callable[..., Payer], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[str, str]] = []
    listener = events.on_order_changed(lambda o: seen.append((o.order_id, o.status)))
    monkeypatch.setattr(events, "_order_listeners", [listener])
    p = payer()
    lazy_id, cron_id = p.new_order(1000), p.new_order(2000)
    with app.app_context():
        for oid in (lazy_id, cron_id):
            order = orders.find(oid)
            assert order is not None
            order.expires_at = order.created_at - timedelta(seconds=1)
        db.session.commit()
    page = p.client.get(f"/pay/orders/{lazy_id}").get_data(as_text=True)
    assert "This order has expired" in page
    assert "data-pay-way=" not in page
    assert p.order(lazy_id).status == "EXPIRED"
    result = app.test_cli_runner().invoke(args=["wallet", "expire-orders"])
    assert "expired 1 orders" in result.output
    assert p.order(cron_id).status == "EXPIRED"
    assert (lazy_id, "EXPIRED") in seen
    assert (cron_id, "EXPIRED") in seen
    again = app.test_cli_runner().invoke(args=["wallet", "expire-orders"])
    assert "expired 0 orders" in again.output


def test_orders_success_redirect_after_expiry_not_confirmed(
    app: Flask, payer: Callable[..., Payer], sandbox: Any
) -> None:
    p = payer()
    order_id = p.new_order(3000)
    location = p.authorize(order_id)
    with app.app_context():
        order = orders.find(order_id)
        assert order is not None
        order.expires_at = order.created_at
        db.session.commit()
    resp = p.client.get(path_of(location))
    assert resp.status_code == 303
    assert p.order(order_id).status == "EXPIRED"
    assert not [
        c
        for c in sandbox.calls("/v1/brandpay/payments/confirm")
        if order_id in (c["idempotencyKey"] or "")
    ]


def test_orders_new_payment_needs_csrf(payer: Callable[..., Payer]) -> None:
    p = payer()
    resp = p.client.post("/pay/new", data={"order_name": "x", "amount": "1000"})
    assert resp.status_code == 400
    token = csrf_token(p.client.get("/pay/new").get_data(as_text=True))
    assert token
