"""Checkout in a real browser: checkout.js opens the (sandbox) BrandPay SDK with the
order's data-* settings, the member approves on the hosted page, Toss's redirect
comes back and the order is confirmed. Skipped without chromium (see tests/e2e)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.conftest import assert_accessible, browser, page  # noqa: F401 - fixtures
from tests.integration.payments.conftest import PASSWORD, Payer
from wallet.sandbox.testing import TEST_PIN

pytestmark = pytest.mark.e2e


def _log_in(page: Any, live_portal: str, email: str) -> None:  # noqa: F811
    page.goto(f"{live_portal}/auth/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_portal}/wallet")


def test_checkout_browser_pay_with_pin_ends_on_receipt(
    page: Any,  # noqa: F811
    live_portal: str,
    payer: Callable[..., Payer],
    assert_accessible: Callable[[str], None],  # noqa: F811
) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    p = payer()
    _log_in(page, live_portal, p.email)
    page.goto(f"{live_portal}/pay/new")
    assert_accessible("new payment")
    page.get_by_label("What is it for?").fill("Browser order")
    page.get_by_label("Amount (won)").fill("4500")
    page.get_by_role("button", name="Continue to payment").click()
    page.wait_for_url(f"{live_portal}/pay/orders/*")
    order_id = page.url.rsplit("/", 1)[1]
    assert_accessible("checkout")
    page.get_by_role("button", name="Pay ₩4,500 with BrandPay").click()
    page.wait_for_url("**/_hosted/pay**")  # the SDK navigated to Toss's page
    page.locator("#pin").fill(TEST_PIN)
    page.locator("button[name=action][value=pay]").click()
    page.wait_for_url(f"{live_portal}/pay/orders/{order_id}/receipt")
    assert page.get_by_text("Payment complete.").is_visible()
    assert_accessible("receipt")
    assert p.order(order_id).status == "DONE"
    assert errors == []


def test_checkout_browser_window_canceled_shows_message_and_retry(
    page: Any,  # noqa: F811
    live_portal: str,
    payer: Callable[..., Payer],
) -> None:
    p = payer()
    order_id = p.new_order(3000, "Cancel me")
    _log_in(page, live_portal, p.email)
    page.goto(f"{live_portal}/pay/orders/{order_id}")
    page.get_by_role("button", name="Pay ₩3,000 with BrandPay").click()
    page.wait_for_url("**/_hosted/pay**")
    page.locator("button[name=action][value=cancel]").click()
    page.wait_for_url(f"{live_portal}/pay/orders/{order_id}/fail**")
    assert page.get_by_role("alert").inner_text().startswith("You closed the payment")
    assert page.get_by_role("button", name="Pay ₩3,000 with BrandPay").is_enabled()
    assert p.order(order_id).status == "PENDING"
