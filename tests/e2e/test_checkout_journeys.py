"""Checkout options and the shop's pre-approval hook (issue 15), in Chromium against
the sandbox's v2 scripts: a member picks 3 months on a 60,000원 order and the receipt
shows it; a shop whose hook says no, and the member sees why."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask

from tests.e2e import steps
from tests.hookserver import Hook, serve_hook
from tests.integration.merchants.conftest import make_shop
from wallet.extensions import db
from wallet.models.merchant import Merchant

pytestmark = pytest.mark.e2e

PASSWORD = "checkout-journey-1"


@pytest.fixture
def hook() -> Iterator[Hook]:
    """The shop's pre-approval endpoint on 127.0.0.1."""
    with serve_hook() as state:
        yield state


def test_checkout_three_month_installment_on_60000_shown_on_receipt(
    page: Any,
    app: Flask,
    live_portal: str,
    sandbox: Any,
    shot: Callable[[str], Any],
    assert_accessible: Callable[[str], None],
    js_errors: list[str],
) -> None:
    steps.register(page, live_portal, "installments@example.com", PASSWORD)
    checkout = steps.new_order(page, live_portal, "Tea cabinet", 60000)
    order_id = steps.order_id_of(checkout)
    page.get_by_label("Installments").select_option(label="3 months")
    page.get_by_label("Use card points").check()
    shot("checkout-options")
    assert_accessible("checkout with options")
    # At phone width (360px) the options fit: nothing scrolls sideways.
    page.set_viewport_size({"width": 360, "height": 740})
    sideways = page.evaluate(
        """() => [document.documentElement, ...document.querySelectorAll(
            'fieldset, form, .card, .actions')]
          .filter(el => el.scrollWidth > el.clientWidth + 1)
          .map(el => `${el.tagName}#${el.id}.${el.className} +${el.scrollWidth - el.clientWidth}`)"""
    )
    assert sideways == []
    shot("checkout-options-phone")
    page.set_viewport_size({"width": 1100, "height": 900})
    steps.pay_button(page).click()
    steps.register_inside_payment(page)
    frame = steps.toss_window(page)
    # Toss's window shows the plan the portal asked for, fixed.
    frame.get_by_text("할부 3개월 (가맹점 지정)").wait_for()
    steps.hosted_pay(page)
    page.wait_for_url(f"{live_portal}/pay/orders/{order_id}/receipt")
    assert page.get_by_text("Payment complete.").is_visible()
    assert page.locator("#receipt-installment").inner_text() == "3 months"
    assert page.locator("#receipt-card-point").inner_text() == "Used"
    truth = sandbox.payment_by_order(order_id)
    assert truth["card"]["installmentPlanMonths"] == 3
    assert truth["card"]["useCardPoint"] is True
    shot("receipt-installments")
    assert js_errors == []


def test_checkout_bad_cash_receipt_number_refused_on_the_page(
    page: Any,
    app: Flask,
    live_portal: str,
    sandbox: Any,
    js_errors: list[str],
) -> None:
    steps.register(page, live_portal, "receipt-bad@example.com", PASSWORD)
    checkout = steps.new_order(page, live_portal, "Tea towels", 30000)
    order_id = steps.order_id_of(checkout)
    assert page.get_by_label("Installments").count() == 0  # under 50,000원
    page.get_by_label("Expense proof, with a business registration number").check()
    page.get_by_label("Number type").select_option("BUSINESS_REGISTRATION")
    page.get_by_label("Number", exact=True).fill("123-45-67890")
    steps.pay_button(page).click()
    error = page.locator("#pay-error")
    error.wait_for()
    assert "10-digit business registration number" in error.inner_text()
    number = page.get_by_label("Number", exact=True)
    assert number.get_attribute("aria-invalid") == "true"
    assert page.evaluate("document.activeElement.id") == "opt-number"
    opened = [w for w in sandbox.windows() if order_id in str(w.get("params"))]
    assert opened == []  # no Toss window was opened for it
    assert steps.order_state(app, order_id)["status"] == "PENDING"
    # The refused POST shows in the console as a 400; nothing else went wrong.
    assert [e for e in js_errors if "400" not in e] == []


def test_checkout_shop_hook_says_no_member_sees_why(
    page: Any,
    app: Flask,
    live_portal: str,
    sandbox: Any,
    hook: Hook,
    shot: Callable[[str], Any],
    assert_accessible: Callable[[str], None],
    js_errors: list[str],
) -> None:
    hook.mode = "no"
    with app.app_context():
        shop = make_shop(name="Careful shop")
        db.session.get(Merchant, shop.id).confirm_url = hook.url
        db.session.commit()
    created = app.test_client().post(
        "/api/v1/orders",
        json={"amount": 18000, "order_name": "Matcha tin"},
        headers=shop.headers("e2e-hook-no"),
    )
    assert created.status_code == 201
    order_id = created.get_json()["order_id"]
    token = shop.sign(shop.pay_claims(order_id, 18000))
    steps.register(page, live_portal, "hook-no@example.com", PASSWORD)
    page.goto(f"{live_portal}/l/{token}")
    page.get_by_role("button", name="Continue to payment").click()
    page.wait_for_url(steps.ORDER_URL)
    steps.pay_button(page).click()
    steps.register_inside_payment(page)
    steps.hosted_pay(page)
    page.wait_for_url(re.compile(rf"{live_portal}/pay/orders/{order_id}/receipt"))
    page.get_by_text("The shop declined this payment").wait_for()
    shot("receipt-shop-declined")
    assert_accessible("receipt, shop declined")
    assert len(hook.received) == 1
    assert [
        c for c in sandbox.calls("/v1/brandpay/payments/confirm") if order_id in str(c)
    ] == []
    assert steps.order_state(app, order_id)["status"] == "FAILED"
    assert js_errors == []
