"""failUrl handling: a clear message per code, nothing echoed, the order stays payable."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from tests.integration.payments.conftest import Payer, path_of
from wallet.sandbox.catalog import DECLINED_TEST_CARD


def test_fail_url_window_closed_shows_message_order_payable(
    payer: Callable[..., Payer],
) -> None:
    p = payer()
    order_id = p.new_order(15000)
    location = p.authorize(order_id, cancel=True)
    assert "code=PAY_PROCESS_CANCELED" in location
    resp = p.client.get(path_of(location))
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    assert "You closed the payment window. Nothing was charged." in page
    assert 'data-pay-way="brandpay"' in page  # still payable from the same page
    assert p.order(order_id).status == "PENDING"
    # And it really is: paying it now works.
    done = p.client.get(path_of(p.authorize(order_id)))
    assert done.status_code == 303
    assert p.order(order_id).status == "DONE"


def test_fail_url_declined_card_shows_card_company_message(
    payer: Callable[..., Payer],
) -> None:
    p = payer(card=DECLINED_TEST_CARD)
    order_id = p.new_order(15000)
    location = p.authorize(order_id)
    assert "code=REJECT_CARD_COMPANY" in location
    page = p.client.get(path_of(location)).get_data(as_text=True)
    assert "Your card company declined the payment." in page
    assert p.order(order_id).status == "PENDING"


def test_fail_url_wrong_pin_shows_password_message(
    payer: Callable[..., Payer],
) -> None:
    p = payer()
    order_id = p.new_order(15000)
    location = p.authorize(order_id, pin="000000")
    assert "code=INVALID_PASSWORD" in location
    page = p.client.get(path_of(location)).get_data(as_text=True)
    assert "The payment password was wrong." in page
    assert p.order(order_id).status == "PENDING"


def test_fail_url_unknown_code_generic_message_nothing_echoed(
    payer: Callable[..., Payer],
) -> None:
    p = payer()
    order_id = p.new_order(15000)
    query = urlencode(
        {
            "code": "<script>alert(1)</script>",
            "message": '<img src=x onerror="alert(1)">',
            "orderId": order_id,
        }
    )
    resp = p.client.get(f"/pay/orders/{order_id}/fail?{query}")
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    assert "The payment did not go through. Nothing was charged." in page
    assert "<script>alert(1)" not in page
    assert "<img src=x" not in page  # (the language form keeps the URL-encoded query)
    assert p.order(order_id).status == "PENDING"


def test_fail_url_someone_elses_order_not_found(
    payer: Callable[..., Payer],
) -> None:
    owner, other = payer(), payer()
    order_id = owner.new_order(15000)
    resp = other.client.get(f"/pay/orders/{order_id}/fail?code=PAY_PROCESS_CANCELED")
    assert resp.status_code == 404
    assert other.client.get(f"/pay/orders/{order_id}").status_code == 404
