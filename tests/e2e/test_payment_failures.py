"""A declined card and a closed payment window, on a phone-sized screen, by keyboard.

Both must say clearly what happened and leave the order payable: the same order is paid
at the end with a good card. Before that, a cancelled card registration must leave the
member on the portal, not in a loop. On a phone the BrandPay payment window takes the
whole page (redirect mode), the promise-only windows cover it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from tests.e2e import steps

pytestmark = pytest.mark.e2e

EMAIL = "phone@example.com"
PASSWORD = "phone-pass-12"
PHONE = {"width": 390, "height": 844}


def test_checkout_declined_and_canceled_window_keeps_order_payable(
    page: Any,
    app: Flask,
    live_portal: str,
    sandbox: Any,
    shot: Callable[[str], Any],
    assert_accessible: Callable[[str], None],
    js_errors: list[str],
) -> None:
    page.set_viewport_size(PHONE)
    steps.register(page, live_portal, EMAIL, PASSWORD)
    page.get_by_role("link", name="Link BrandPay").click()
    page.get_by_role("button", name="Link BrandPay").click()
    steps.hosted_register(page, steps.GOOD_CARD)
    page.wait_for_url(f"{live_portal}/wallet/methods")

    # Adding a card, the member cancels in BrandPay's window (on a phone it covers the
    # page): the portal says so and waits; it must not reopen BrandPay by itself.
    page.get_by_role("button", name="Add a payment method").click()
    page.wait_for_url(f"{live_portal}/wallet/connect?mode=add")
    frame = steps.toss_window(page)
    frame.get_by_role("button", name="취소").click()
    steps.window_closed(page)
    status = page.get_by_role("status").filter(has_text="You closed the window")
    assert status.inner_text() == (
        "You closed the window before finishing. Nothing was changed."
    )
    assert page.get_by_text("Waiting for BrandPay…").is_hidden()
    shot("connect-canceled")
    assert_accessible("connect, canceled")
    open_brandpay = page.get_by_role("button", name="Open BrandPay")
    assert open_brandpay.is_enabled()
    assert open_brandpay.get_attribute("aria-disabled") is None
    open_brandpay.click()
    steps.hosted_register(page, steps.DECLINED_CARD)
    page.wait_for_url(f"{live_portal}/wallet/methods")
    steps.methods_loaded(page)
    shot("methods")
    assert_accessible("methods, phone")

    # The new-payment form and the pay button, with the keyboard only.
    page.goto(f"{live_portal}/pay/new")
    skip = steps.tab_to(page, "a", "Skip to content")
    assert skip["outline"] != "none"
    assert skip["in_view"], "the skip link must appear on screen when it has focus"
    steps.tab_to(page, "input", name="order_name")
    page.keyboard.type("Phone case")
    page.keyboard.press("Tab")
    page.keyboard.type("15000")
    shot("new-by-keyboard")
    page.keyboard.press("Enter")
    page.wait_for_url(steps.ORDER_URL)
    order_id = steps.order_id_of(page.url)
    focused = steps.tab_to(page, "button", "Pay ₩15,000 with BrandPay")
    assert focused["outline"] != "none"
    assert focused["outline_width"] >= 2
    shot("checkout-focus")
    page.keyboard.press("Enter")

    # Declined by the card company: a clear message; the order is still payable.
    steps.hosted_pay(page, steps.DECLINED_CARD)
    page.wait_for_url(f"{live_portal}/pay/orders/{order_id}/fail?**")
    alert = page.get_by_role("alert")
    assert "Your card company declined the payment." in alert.inner_text()
    assert steps.pay_button(page).is_enabled()
    assert steps.order_state(app, order_id)["status"] == "PENDING"
    assert sandbox.payment_by_order(order_id)["status"] == "ABORTED"
    shot("declined")
    assert_accessible("checkout, declined")

    # The member closes the payment window: nothing charged, still payable.
    steps.pay_button(page).click()
    steps.hosted_cancel(page)
    page.wait_for_url(f"{live_portal}/pay/orders/{order_id}/fail?**")
    assert "code=PAY_PROCESS_CANCELED" in page.url
    assert "You closed the payment window. Nothing was charged." in (
        page.get_by_role("alert").inner_text()
    )
    assert steps.order_state(app, order_id)["status"] == "PENDING"
    shot("canceled-window")
    assert_accessible("checkout, window closed")

    # The same order, paid with the good card.
    steps.pay_button(page).click()
    steps.hosted_pay(page, steps.GOOD_CARD)
    page.wait_for_url(f"{live_portal}/pay/orders/{order_id}/receipt")
    state = steps.order_state(app, order_id)
    assert (state["status"], state["paid"]) == ("DONE", 15000)
    assert sandbox.payment_by_order(order_id)["status"] == "DONE"
    shot("receipt")
    assert_accessible("receipt, phone")
    page.goto(f"{live_portal}/pay/history")
    shot("history")
    assert js_errors == []
