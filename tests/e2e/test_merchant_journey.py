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
    # Issue 14: back to the shop by itself. The wallet tells its opener (the shop's
    # tab) the signed result and closes; the shop's tab shows the verified result.
    with wallet.expect_event("close", timeout=15_000):
        page.wait_for_url(f"{example_shop.url}/return?**", timeout=15_000)
    assert steps.order_state(app, order_id)["status"] == "DONE"
    heading = page.get_by_role("heading", level=1).inner_text()
    assert heading == f"Order {order_id}: DONE"
    assert page.get_by_text("12,300 won").is_visible()
    shot("shop-verified")
    assert js_errors == []
    token = parse_qs(urlsplit(page.url).query)["wallet_result"][0]

    # The receipt keeps the way back as a link (the fallback when scripts are off).
    page.goto(f"{live_portal}/pay/orders/{order_id}/receipt")
    shot("receipt")
    assert_accessible("merchant receipt")
    assert page.get_by_role("button", name="Cancel payment").count() == 0
    page.get_by_role("link", name=f"Back to {demo.DEMO_MERCHANT_NAME}").click()
    page.wait_for_url(f"{example_shop.url}/return?**")
    assert page.get_by_role("heading", level=1).inner_text() == (
        f"Order {order_id}: DONE"
    )

    # The shop believes only what verifies: the same result with a changed byte fails
    # (with a 400, which the browser reports on the console: checked before this).
    forged = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    page.goto(f"{example_shop.url}/return?" + urlencode({"wallet_result": forged}))
    assert page.get_by_role("heading", level=1).inner_text() == (
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


def test_merchant_journey_same_tab_link_returns_to_shop_by_itself(
    page: Any,
    app: Flask,
    live_portal: str,
    sandbox: Any,
    example_shop: ShopSite,
    make_member: Callable[..., Any],
    js_errors: list[str],
) -> None:
    """Redirect mode (no opener: the link opened in this tab): after paying, the
    wallet navigates to the shop's return URL with the signed result."""
    make_member(EMAIL, PASSWORD)
    with app.test_request_context("/", base_url=live_portal):
        shopper = steps.member(app, EMAIL)
        demo.link_member(shopper, sandbox.base_url, live_portal, sandbox.client_key)
    page.goto(example_shop.url)
    href = page.get_by_role("link", name="Pay with BrandPay Wallet").get_attribute(
        "href"
    )
    page.goto(href)
    # Not logged in: the link's landing offers BrandPay (log in) or a guest's card.
    page.get_by_role("link", name="Log in to pay with BrandPay").click()
    steps.log_in(page, live_portal, EMAIL, PASSWORD)
    page.wait_for_url(re.compile(rf"{live_portal}/l/[^/]+$"))
    page.get_by_role("button", name="Continue to payment").click()
    page.wait_for_url(steps.ORDER_URL)
    order_id = steps.order_id_of(page.url)
    steps.pay_button(page).click()
    steps.hosted_pay(page)
    page.wait_for_url(f"{example_shop.url}/return?**", timeout=15_000)
    assert page.get_by_role("heading", level=1).inner_text() == (
        f"Order {order_id}: DONE"
    )
    assert js_errors == []


def test_merchant_journey_new_shopper_signs_up_and_keeps_the_order(
    page: Any, live_portal: str, example_shop: ShopSite, js_errors: list[str]
) -> None:
    """Issue 14: signing up from the login page a shop's link led to keeps the link:
    after registering and logging in, the member is on the shop's order, not /wallet."""
    page.goto(example_shop.url)
    with page.expect_popup() as opened:
        page.get_by_role("link", name="Pay with BrandPay Wallet").click()
    wallet = opened.value
    wallet.wait_for_url(re.compile(rf"{live_portal}/l/[^/]+$"))
    wallet.get_by_role("link", name="Log in to pay with BrandPay").click()
    wallet.wait_for_url(re.compile(rf"{live_portal}/auth/login\?next=.*"))
    wallet.get_by_role("link", name="Create an account").click()
    wallet.wait_for_url(re.compile(rf"{live_portal}/auth/register\?next=.*"))
    wallet.get_by_label("Email").fill("newcomer@example.com")
    wallet.get_by_label("Password", exact=True).fill("newcomer-pass-1")
    wallet.get_by_label("Repeat password").fill("newcomer-pass-1")
    wallet.get_by_role("button", name="Create account").click()
    wallet.wait_for_url(re.compile(rf"{live_portal}/auth/login\?next=.*"))
    steps.log_in(wallet, live_portal, "newcomer@example.com", "newcomer-pass-1")
    wallet.wait_for_url(re.compile(rf"{live_portal}/l/[^/]+$"))
    assert wallet.get_by_role("heading", level=1).inner_text() == (
        f"Pay {demo.DEMO_MERCHANT_NAME}"
    )
    assert js_errors == []
