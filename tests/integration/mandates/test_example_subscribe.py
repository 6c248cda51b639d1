"""The example shop's subscribe flow over real HTTP: it asks for a mandate through the
API, the member approves it after BrandPay's billing agreement, the shop verifies the
signed result, charges the month's box, and reads the period limit's code after."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Flask

from tests.conftest import csrf_token
from tests.integration.merchants.test_example_shop import (  # noqa: F401 - fixtures
    shop_server,
    wired,
)

from .conftest import Browser, Shop, autopay_calls, load, new_order_id

REDIRECT = "http://127.0.0.1/brandpay/callback"


def test_example_shop_subscribes_and_charges_under_the_mandate(
    app: Flask,
    sandbox: Any,
    linked: Browser,
    wired: tuple[Shop, Flask],  # noqa: F811
) -> None:
    _shop, shop_app = wired
    shop = shop_app.test_client()
    page = shop.get("/subscribe").get_data(as_text=True)
    assert "15,000 won a month" in page
    link = page.split('<a href="', 1)[1].split('"', 1)[0]

    sandbox.billing_auth(linked.customer_key, REDIRECT)  # requestBillingAuth()
    landing = linked.client.get(urlsplit(link).path)
    assert landing.status_code == 200
    approved = linked.client.post(
        urlsplit(link).path + "/mandate",
        data={
            "csrf_token": csrf_token(landing.get_data(as_text=True)),
            "method": "selected",
        },
    )
    assert approved.status_code == 303
    back = urlsplit(approved.headers["Location"])
    assert back.path == "/subscribed"
    verified = shop.get(f"/subscribed?{back.query}")
    assert verified.status_code == 200, verified.get_data(as_text=True)
    [(mandate_id, status)] = shop_app.extensions["shop_mandates"].items()
    assert status == "active"
    assert load(app, mandate_id).max_amount == 15000

    first, second = new_order_id(), new_order_id()
    charged = shop.post(f"/subscriptions/{mandate_id}/charge?order_id={first}")
    assert charged.status_code == 201, charged.get_data(as_text=True)
    assert sandbox.payment_by_order(first)["totalAmount"] == 15000
    again = shop.post(f"/subscriptions/{mandate_id}/charge?order_id={second}")
    assert again.status_code == 409
    assert "MANDATE_PERIOD_LIMIT_REACHED" in again.get_data(as_text=True)
    assert autopay_calls(sandbox, second) == []

    # A tampered result is not believed.
    forged = shop.get(f"/subscribed?{back.query[:-4]}AAAA")
    assert forged.status_code == 400
