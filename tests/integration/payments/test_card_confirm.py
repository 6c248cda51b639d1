"""The standard and international card windows (SDK v2 `payment()`, contract §6.1):
the same order and amount checks, exactly one core confirm, lookups after lost
answers, reconcile, refunds and the way each payment was made."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask

from tests.integration.payments.conftest import Payer, path_of, query_of
from wallet.sandbox.testing import WindowRefused

Calls = Callable[[str], list[dict[str, Any]]]
VISA = "4242424242424242"
DOMESTIC = "4330123412341234"
DECLINED = "4000000000000002"


def _reconcile(app: Flask) -> str:
    result = app.test_cli_runner().invoke(
        args=["wallet", "reconcile", "--min-age", "0"]
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_card_window_payment_confirmed_once_with_core_confirm(
    payer: Callable[..., Payer],
    sandbox: Any,
    card_confirm_calls: Calls,
    confirm_calls: Calls,
) -> None:
    p = payer()
    order_id = p.new_order(32000)
    location = p.authorize_card(order_id, "card", DOMESTIC)
    assert "way=card" in location
    resp = p.client.get(path_of(location))
    assert resp.status_code == 303
    assert resp.headers["Location"].endswith(f"/pay/orders/{order_id}/receipt")
    order = p.order(order_id)
    assert (order.status, order.pay_way) == ("DONE", "CARD")
    assert order.payment is not None
    assert order.payment.total_amount == 32000
    assert order.payment.method == "카드"
    truth = sandbox.payment_by_order(order_id)
    assert (truth["type"], truth["status"]) == ("NORMAL", "DONE")
    assert [c["idempotencyKey"] for c in card_confirm_calls(order_id)] == [
        f"confirm-{order_id}-1"
    ]
    assert confirm_calls(order_id) == []  # never the BrandPay confirm
    page = p.client.get(f"/pay/orders/{order_id}/receipt").get_data(as_text=True)
    assert "Card (payment window)" in page
    history = p.client.get("/pay/history").get_data(as_text=True)
    assert "Card (payment window)" in history


def test_card_international_window_visa_recorded_as_foreign_card(
    payer: Callable[..., Payer], sandbox: Any
) -> None:
    p = payer()
    order_id = p.new_order(27000)
    resp = p.client.get(path_of(p.authorize_card(order_id, "foreign", VISA)))
    assert resp.status_code == 303
    order = p.order(order_id)
    assert (order.status, order.pay_way) == ("DONE", "FOREIGN_CARD")
    assert sandbox.payment_by_order(order_id)["country"] == "US"
    page = p.client.get(f"/pay/orders/{order_id}/receipt").get_data(as_text=True)
    assert "Foreign card" in page


def test_card_international_window_refuses_domestic_card_nothing_written(
    payer: Callable[..., Payer], sandbox: Any
) -> None:
    p = payer()
    order_id = p.new_order(27000)
    with pytest.raises(WindowRefused) as refused:
        p.authorize_card(order_id, "foreign", DOMESTIC)
    assert refused.value.code == "NOT_SUPPORTED_CARD_TYPE"
    order = p.order(order_id)
    assert (order.status, order.pay_way, order.payment) == ("PENDING", None, None)


def test_card_tampered_amount_refused_no_confirm(
    payer: Callable[..., Payer], card_confirm_calls: Calls
) -> None:
    p = payer()
    order_id = p.new_order(15000)
    location = p.authorize_card(order_id, "card", DOMESTIC)
    query = query_of(location) | {"amount": "100"}
    resp = p.client.get(path_of(location).split("?")[0] + "?" + urlencode(query))
    assert resp.status_code == 400
    assert p.order(order_id).status == "PENDING"
    assert card_confirm_calls(order_id) == []


def test_card_unknown_way_refused_nothing_changes(
    payer: Callable[..., Payer], card_confirm_calls: Calls
) -> None:
    p = payer()
    order_id = p.new_order(15000)
    location = p.authorize_card(order_id, "card", DOMESTIC)
    query = query_of(location) | {"way": "crypto"}
    resp = p.client.get(path_of(location).split("?")[0] + "?" + urlencode(query))
    assert resp.status_code == 400
    assert p.order(order_id).status == "PENDING"
    assert card_confirm_calls(order_id) == []


def test_card_concurrent_redirects_one_confirm(
    app: Flask, payer: Callable[..., Payer], sandbox: Any, card_confirm_calls: Calls
) -> None:
    p = payer()
    order_id = p.new_order(12000)
    path = path_of(p.authorize_card(order_id, "card", DOMESTIC))
    cookie = p.client.get_cookie("session")
    assert cookie is not None
    sandbox.set_fault("/v1/payments/confirm", latency=0.5)
    barrier = threading.Barrier(5)
    statuses: list[int] = []

    def hit() -> None:
        client = app.test_client()
        client.set_cookie("session", cookie.value)
        barrier.wait(timeout=10)
        statuses.append(client.get(path).status_code)

    threads = [threading.Thread(target=hit) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(statuses) == [303] * 5
    assert p.order(order_id).status == "DONE"
    assert len(card_confirm_calls(order_id)) == 1


def test_card_declined_fail_url_keeps_order_payable(
    payer: Callable[..., Payer], sandbox: Any
) -> None:
    p = payer()
    order_id = p.new_order(15000)
    location = p.authorize_card(order_id, "card", DECLINED)
    assert "code=REJECT_CARD_COMPANY" in location
    page = p.client.get(path_of(location))
    assert page.status_code == 200
    assert "Your card company declined the payment." in page.get_data(as_text=True)
    assert p.order(order_id).status == "PENDING"


def test_card_dropped_answer_looked_up_and_done(
    payer: Callable[..., Payer], sandbox: Any, card_confirm_calls: Calls
) -> None:
    p = payer()
    order_id = p.new_order(18000)
    location = p.authorize_card(order_id, "card", DOMESTIC)
    sandbox.set_fault("/v1/payments/confirm", drop="close", times=1)
    resp = p.client.get(path_of(location))
    assert resp.status_code == 303
    assert p.order(order_id).status == "DONE"
    assert sandbox.payment_by_order(order_id)["status"] == "DONE"


def test_card_5xx_then_reconcile_confirms_under_same_key(
    app: Flask, payer: Callable[..., Payer], sandbox: Any, card_confirm_calls: Calls
) -> None:
    p = payer()
    order_id = p.new_order(19000)
    location = p.authorize_card(order_id, "card", DOMESTIC)
    sandbox.set_fault("/v1/payments/confirm", status=503, times=1)
    sandbox.set_fault("/v1/payments/*", method="GET", status=500, times=1)
    resp = p.client.get(path_of(location))
    assert resp.status_code == 202  # being checked, said so
    assert p.order(order_id).status == "UNKNOWN"
    sandbox.clear_faults()
    sandbox.advance_clock(2)
    _reconcile(app)
    order = p.order(order_id)
    assert (order.status, order.pay_way) == ("DONE", "CARD")
    keys = {c["idempotencyKey"] for c in card_confirm_calls(order_id)}
    assert keys == {f"confirm-{order_id}-1"}


def test_card_payment_refunded_by_member(
    payer: Callable[..., Payer], sandbox: Any
) -> None:
    p = payer()
    order_id = p.new_order(15000)
    p.client.get(path_of(p.authorize_card(order_id, "card", DOMESTIC)))
    resp = p.post_form(
        f"/pay/orders/{order_id}/receipt", f"/pay/orders/{order_id}/cancel", {}
    )
    assert resp.status_code == 303
    assert p.order(order_id).status == "CANCELED"
    assert sandbox.payment_by_order(order_id)["status"] == "CANCELED"


def test_card_success_in_browser_shows_processing_page_first(
    payer: Callable[..., Payer], card_confirm_calls: Calls
) -> None:
    p = payer()
    order_id = p.new_order(15000)
    path = path_of(p.authorize_card(order_id, "card", DOMESTIC))
    page = p.client.get(path, headers={"Sec-Fetch-Mode": "navigate"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Confirming your payment" in html
    assert 'http-equiv="refresh"' in html
    assert "sync=1" in html
    assert card_confirm_calls(order_id) == []  # nothing confirmed by the first answer
    assert p.order(order_id).status == "PENDING"
