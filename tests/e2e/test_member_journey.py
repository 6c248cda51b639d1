"""A member's whole life with BrandPay, in a real browser against the portal + sandbox.

register → link BrandPay on the sandbox's hosted pages → add a second card → pay an
order with the PIN → see it in history → cancel (refund) it → remove a card → withdraw.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from tests.e2e import steps

pytestmark = pytest.mark.e2e

EMAIL = "journey@example.com"
PASSWORD = "journey-pass-1"


def test_member_journey_link_pay_refund_remove_withdraw_completes(
    page: Any,
    app: Flask,
    live_portal: str,
    sandbox: Any,
    shot: Callable[[str], Any],
    assert_accessible: Callable[[str], None],
    js_errors: list[str],
) -> None:
    page.on("dialog", lambda dialog: dialog.accept())  # data-confirm questions

    # Register: lands on an unlinked wallet.
    steps.register(page, live_portal, EMAIL, PASSWORD)
    customer_key = steps.member(app, EMAIL).customer_key
    assert page.get_by_text("Not linked").is_visible()
    shot("wallet-new")
    assert_accessible("wallet home, not linked")

    # An order made before linking: its checkout offers BrandPay's one-flow sign-up.
    checkout = steps.new_order(page, live_portal, "Green tea, 100 g", 12300)
    order_id = steps.order_id_of(checkout)
    assert page.get_by_text("No BrandPay wallet yet?").is_visible()
    shot("checkout-not-linked")
    assert_accessible("checkout, not linked")

    # Link: the portal's page → SDK v2 → Toss's consent + card window over the page
    # → the redirect handler (fetched with the browser's cookies) → methods.
    page.goto(f"{live_portal}/wallet/link")
    shot("link")
    assert_accessible("link")
    page.get_by_role("button", name="Link BrandPay").click()
    page.wait_for_url(f"{live_portal}/wallet/connect?**")
    steps.toss_window(page)
    shot("hosted-register")
    steps.hosted_register(page, steps.GOOD_CARD)
    page.wait_for_url(f"{live_portal}/wallet/methods")
    steps.methods_loaded(page)
    assert page.get_by_text(
        "BrandPay is linked. Your payment methods are below."
    ).is_visible()
    assert steps.link_status(app, steps.member(app, EMAIL).id) == "linked"
    assert len(sandbox.methods(customer_key)["cards"]) == 1
    shot("methods-one-card")
    assert_accessible("methods")

    # A second card through "Add a payment method": says the method was added.
    page.get_by_role("button", name="Add a payment method").click()
    steps.hosted_register(page, steps.SECOND_CARD)
    page.wait_for_url(f"{live_portal}/wallet/methods")
    steps.methods_loaded(page)
    assert page.get_by_text("The payment method was added.").is_visible()
    assert page.get_by_text("BrandPay is linked").count() == 0
    cards = page.get_by_role("list", name="Cards").get_by_role("listitem")
    assert cards.count() == 2
    assert len(sandbox.methods(customer_key)["cards"]) == 2
    shot("methods-two-cards")

    # Back to the order (as the browser's history would): now it can be paid.
    page.goto(checkout)
    assert page.get_by_text("No BrandPay wallet yet?").count() == 0
    shot("checkout")
    assert_accessible("checkout")
    steps.pay_button(page).click()
    steps.toss_window(page)
    shot("hosted-pay")
    steps.hosted_pay(page, steps.SECOND_CARD)
    page.wait_for_url(f"{live_portal}/pay/orders/{order_id}/receipt")
    assert page.get_by_text("Payment complete.").is_visible()
    assert page.get_by_text("Paid", exact=True).is_visible()
    state = steps.order_state(app, order_id)
    assert state["status"] == "DONE"
    assert state["paid"] == 12300
    assert sandbox.payment_by_order(order_id)["status"] == "DONE"
    shot("receipt")
    assert_accessible("receipt")

    # History lists it; the wallet home shows it under recent payments.
    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Payments", exact=True
    ).click()
    row = page.get_by_role("row").filter(has_text="Green tea, 100 g")
    assert row.count() == 1
    assert "₩12,300" in row.inner_text()
    assert "Paid" in row.inner_text()
    shot("history")
    assert_accessible("history")

    # Refund: the member cancels their own payment (the confirm dialog is accepted).
    row.get_by_role("link", name="Green tea, 100 g").click()
    page.get_by_role("button", name="Cancel payment").click()
    page.wait_for_url(f"{live_portal}/pay/orders/{order_id}/receipt")
    assert page.get_by_text(
        "The payment was canceled and will be refunded."
    ).is_visible()
    assert page.get_by_role("table", name="Refunds").is_visible()
    state = steps.order_state(app, order_id)
    assert state["status"] == "CANCELED"
    assert state["balance"] == 0
    assert sandbox.payment_by_order(order_id)["status"] == "CANCELED"
    assert page.get_by_role("button", name="Cancel payment").count() == 0
    shot("refunded")
    assert_accessible("receipt, refunded")

    # Remove the second card.
    page.goto(f"{live_portal}/wallet/methods")
    steps.methods_loaded(page)
    second = cards.filter(has_text=steps.masked(steps.SECOND_CARD))
    second.get_by_role("button", name="Remove").click()
    page.wait_for_url(f"{live_portal}/wallet/methods")
    steps.methods_loaded(page)
    assert page.get_by_text("was removed.").is_visible()
    assert cards.count() == 1
    remaining = sandbox.methods(customer_key)["cards"]
    assert [c["cardNumber"][:8] for c in remaining] == [steps.masked(steps.GOOD_CARD)]
    shot("methods-removed")

    # Withdraw: Toss forgets the customer, the portal its tokens; history stays.
    page.get_by_role("link", name="Leave BrandPay").click()
    shot("withdraw")
    assert_accessible("withdraw")
    page.get_by_role("button", name="Leave BrandPay").click()
    page.wait_for_url(f"{live_portal}/wallet")
    assert page.get_by_text("You have left BrandPay.").is_visible()
    assert steps.link_status(app, steps.member(app, EMAIL).id) == "withdrawn"
    assert sandbox.methods(customer_key)["cards"] == []
    assert page.get_by_role("link", name="Green tea, 100 g").is_visible()
    shot("wallet-withdrawn")
    assert js_errors == []
