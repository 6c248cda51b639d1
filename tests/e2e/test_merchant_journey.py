"""A shopper at the example shop: its embedded wallet button opens the portal in a popup,
they log in, pay with BrandPay, and return to the shop with a result it verifies."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from flask import Flask

from tests.e2e import steps
from tests.e2e.conftest import ShopSite
from wallet.services import demo, outbox

pytestmark = pytest.mark.e2e

EMAIL = "shopper@example.com"
PASSWORD = "shopper-pass-1"


def test_merchant_journey_shop_button_to_verified_return_completes(
    page: Any,
    app: Flask,
    live_portal: str,
    sandbox: Any,
    example_shop: ShopSite,
    make_member: Callable[..., Any],
    shot: Callable[..., Any],
    assert_accessible: Callable[..., None],
    js_errors: list[str],
) -> None:
    make_member(EMAIL, PASSWORD)
    with app.test_request_context("/", base_url=live_portal):
        shopper = steps.member(app, EMAIL)
        demo.link_member(shopper, sandbox.base_url, live_portal, sandbox.client_key)

    page.goto(example_shop.url)
    shot("shop")
    with page.expect_popup() as opened:
        page.get_by_role("link", name="Pay with BrandPay Wallet").click()
    wallet = opened.value
    # Not logged in: the link's page offers BrandPay (log in) or a card as a guest.
    wallet.wait_for_url(re.compile(rf"{live_portal}/l/[^/]+$"))
    wallet.get_by_role("link", name="Log in to pay with BrandPay").click()
    wallet.wait_for_url(re.compile(rf"{live_portal}/auth/login\?next=.*"))
    shot("popup-login", on=wallet)
    steps.log_in(wallet, live_portal, EMAIL, PASSWORD)
    wallet.wait_for_url(re.compile(rf"{live_portal}/l/[^/]+$"))
    assert wallet.get_by_role("heading", level=1).inner_text() == (
        f"Pay {demo.DEMO_MERCHANT_NAME}"
    )
    shot("landing", on=wallet)
    assert_accessible("wallet-link landing", on=wallet)

    wallet.get_by_role("button", name="Continue to payment").click()
    wallet.wait_for_url(steps.ORDER_URL)
    order_id = steps.order_id_of(wallet.url)
    steps.pay_button(wallet).click()
    steps.hosted_pay(wallet)
    wallet.wait_for_url(f"{live_portal}/pay/orders/{order_id}/receipt")
    assert steps.order_state(app, order_id)["status"] == "DONE"
    shot("receipt", on=wallet)
    assert_accessible("merchant receipt", on=wallet)

    wallet.get_by_role("link", name="Return to the shop").click()
    wallet.wait_for_url(f"{example_shop.url}/return?**")
    heading = wallet.get_by_role("heading", level=1).inner_text()
    assert heading == f"Order {order_id}: DONE"
    assert wallet.get_by_text("12,300 won").is_visible()
    shot("shop-verified", on=wallet)
    assert js_errors == []

    # The shop believes only what verifies: the same result with a changed byte fails
    # (with a 400, which the browser reports on the console: checked before this).
    token = parse_qs(urlsplit(wallet.url).query)["wallet_result"][0]
    forged = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    wallet.goto(f"{example_shop.url}/return?" + urlencode({"wallet_result": forged}))
    assert wallet.get_by_role("heading", level=1).inner_text() == (
        "We could not verify this payment"
    )

    # And the signed webhook reaches the shop through the outbox.
    with app.app_context():
        assert outbox.run_once("e2e") == 1
    assert len(example_shop.app.extensions["shop_webhooks"]) == 1


def test_merchant_journey_guest_pays_by_card_without_account(
    page: Any,
    app: Flask,
    live_portal: str,
    sandbox: Any,
    example_shop: ShopSite,
    shot: Callable[..., Any],
    assert_accessible: Callable[..., None],
    js_errors: list[str],
) -> None:
    """Issue 12: a merchant's signed link sends a guest to the card window."""
    page.goto(example_shop.url)
    with page.expect_popup() as opened:
        page.get_by_role("link", name="Pay with BrandPay Wallet").click()
    wallet = opened.value
    wallet.wait_for_url(re.compile(rf"{live_portal}/l/[^/]+$"))
    shot("guest-landing", on=wallet)
    assert_accessible("wallet-link landing, guest", on=wallet)
    wallet.get_by_role("button", name="Pay by card as a guest").click()
    wallet.wait_for_url(re.compile(rf"{live_portal}/pay/guest/ord_[^/]+$"))
    order_id = steps.order_id_of(wallet.url.replace("/pay/guest/", "/pay/orders/"))
    assert steps.pay_button(wallet).count() == 0  # BrandPay needs an account
    shot("guest-checkout", on=wallet)
    assert_accessible("guest checkout", on=wallet)
    steps.card_button(wallet).click()
    steps.card_window_pay(wallet, steps.GOOD_CARD)
    wallet.wait_for_url(f"{live_portal}/pay/guest/{order_id}/receipt")
    assert wallet.get_by_text("Payment complete.").is_visible()
    state = steps.order_state(app, order_id)
    assert (state["status"], state["paid"]) == ("DONE", 12300)
    assert sandbox.payment_by_order(order_id)["type"] == "NORMAL"
    shot("guest-receipt", on=wallet)
    wallet.get_by_role("link", name="Back to the shop").click()
    wallet.wait_for_url(f"{example_shop.url}/return?**")
    assert wallet.get_by_role("heading", level=1).inner_text() == (
        f"Order {order_id}: DONE"
    )
    with app.app_context():
        assert outbox.run_once("e2e") == 1  # the shop's signed webhook, as for members
    assert len(example_shop.app.extensions["shop_webhooks"]) == 1
    assert js_errors == []
