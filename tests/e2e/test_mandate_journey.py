"""Mandates end to end (issue 15), in Chromium against the live portal and sandbox:
the merchant asks (API) → the member reviews it and approves with BrandPay's billing
agreement (`brandpay.requestBillingAuth()` in the Toss window) → the merchant charges
(API) → the member sees the charge in their history → revokes → the next charge is
refused with MANDATE_REVOKED, before Toss is asked."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask

from tests.e2e import steps
from tests.integration.merchants.conftest import make_shop

pytestmark = pytest.mark.e2e

PASSWORD = "mandate-journey-1"


def _charge(app: Flask, shop: Any, mandate_id: str, order_id: str) -> Any:
    return app.test_client().post(
        f"/api/v1/mandates/{mandate_id}/charges",
        json={"amount": 12900, "order_id": order_id, "order_name": "Tea box, March"},
        headers=shop.headers(f"charge-{order_id}"),
    )


def _asked(
    page: Any, app: Flask, portal: str, email: str, description: str, period: str
) -> Any:
    """A new member links BrandPay in the browser; a shop asks them for a mandate of
    at most 15,000 won, once per `period`, and the browser opens the link. Returns the
    shop."""
    steps.register(page, portal, email, PASSWORD)
    page.goto(f"{portal}/wallet/link")
    page.get_by_role("button", name="Link BrandPay").click()
    steps.hosted_register(page, steps.GOOD_CARD)
    page.wait_for_url(f"{portal}/wallet/methods")
    with app.app_context():
        shop = make_shop("Tea club", origins=(portal,))
    asked = app.test_client().post(
        "/api/v1/mandate-links",
        json={
            "description": description,
            "max_amount": 15000,
            "max_charges": 1,
            "period": period,
            "valid_days": 365,
            "return_url": f"{portal}/wallet",
        },
        headers=shop.headers(f"ask-{email}"),
    )
    assert asked.status_code == 201, asked.get_json()
    page.goto(portal + urlsplit(asked.get_json()["url"]).path)
    return shop


def _agree_billing(page: Any, shot: Callable[[str], Any] | None = None) -> None:
    """In BrandPay's billing window (requestBillingAuth): tick the terms, the PIN."""
    frame = steps.toss_window(page)
    frame.get_by_role("heading", name=re.compile("자동결제")).wait_for()
    for box in frame.get_by_role("checkbox").all():
        box.check()
    frame.get_by_label(re.compile("결제 비밀번호")).fill(steps.PIN)
    if shot is not None:
        shot("billing-agreement")
    frame.get_by_role("button", name="동의하기").click()


def test_mandate_journey_ask_approve_charge_see_revoke_refused(
    page: Any,
    app: Flask,
    live_portal: str,
    sandbox: Any,
    shot: Callable[[str], Any],
    assert_accessible: Callable[[str], None],
    js_errors: list[str],
) -> None:
    # The merchant asks for a mandate and sends the member to the link.
    shop = _asked(
        page,
        app,
        live_portal,
        "subscriber@example.com",
        "Monthly tea box, up to 15,000 won",
        "month",
    )
    page.get_by_role(
        "heading", name="Allow Tea club to charge you automatically"
    ).wait_for()
    assert page.get_by_text("Monthly tea box, up to 15,000 won").is_visible()
    assert page.get_by_text("₩15,000").is_visible()
    shot("mandate-review")
    assert_accessible("mandate review")

    page.get_by_role("button", name="Approve").click()
    _agree_billing(page, shot)
    page.wait_for_url(
        re.compile(re.escape(f"{live_portal}/wallet") + r"\?wallet_result=")
    )

    mandates = (
        app.test_client().get("/api/v1/mandates", headers=shop.headers()).get_json()
    )
    [mandate] = mandates["data"]
    assert (mandate["status"], mandate["method"]) == ("active", "selected")

    # The merchant charges; the member sees it in their history.
    order_id = f"tea-{uuid.uuid4().hex[:10]}"
    charged = _charge(app, shop, mandate["mandate_id"], order_id)
    assert charged.status_code == 201, charged.get_json()
    assert sandbox.payment_by_order(order_id)["status"] == "DONE"
    page.goto(f"{live_portal}/pay/history")
    page.get_by_text("Tea box, March").first.wait_for()
    shot("history-with-charge")

    # The member revokes; it takes effect at once.
    page.goto(f"{live_portal}/wallet/mandates")
    assert page.get_by_text("Monthly tea box, up to 15,000 won").is_visible()
    assert_accessible("mandates")
    page.get_by_role("button", name="Revoke").click()
    page.get_by_text(
        "Revoked: Tea club can no longer charge you automatically."
    ).wait_for()
    shot("mandate-revoked")

    calls = len(sandbox.calls("/v1/brandpay/payments"))
    refused = _charge(app, shop, mandate["mandate_id"], f"tea-{uuid.uuid4().hex[:10]}")
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "MANDATE_REVOKED"
    assert len(sandbox.calls("/v1/brandpay/payments")) == calls  # Toss never asked
    assert js_errors == []


def test_mandate_page_at_phone_width(
    page: Any,
    app: Flask,
    live_portal: str,
    sandbox: Any,
    shot: Callable[[str], Any],
    assert_accessible: Callable[[str], None],
) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    steps.register(page, live_portal, "phone-mandates@example.com", PASSWORD)
    page.goto(f"{live_portal}/wallet/mandates")
    page.get_by_role("heading", name="Automatic payments", exact=True).wait_for()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, width
    assert_accessible("mandates, empty, phone")
    shot("mandates-phone")


def test_closing_the_billing_window_approves_nothing(
    page: Any,
    app: Flask,
    live_portal: str,
    sandbox: Any,
    js_errors: list[str],
) -> None:
    shop = _asked(page, app, live_portal, "undecided@example.com", "Weekly tea", "week")
    page.get_by_role("button", name="Approve").click()
    steps.toss_window(page)
    steps.close_window(page)
    page.get_by_role("status").get_by_text("You closed the window").wait_for()
    assert page.url.startswith(live_portal + "/l/")
    listed = (
        app.test_client().get("/api/v1/mandates", headers=shop.headers()).get_json()
    )
    assert [
        m["status"] for m in listed["data"]
    ] == []  # the form was never sent: no mandate
    assert js_errors == []


def test_billing_agreement_as_a_whole_page_comes_back_and_approves(
    page: Any,
    app: Flask,
    live_portal: str,
    sandbox: Any,
    navigate_mode: None,
    js_errors: list[str],
) -> None:
    _asked(page, app, live_portal, "phone-sub@example.com", "Tea every day", "day")
    landing = page.url
    page.get_by_role("button", name="Approve").click()
    _agree_billing(page)
    # Back on the approval page, agreed: Approve now finishes without a second window.
    page.wait_for_url(landing)
    page.get_by_text("You agreed to BrandPay's automatic payment terms.").wait_for()
    assert page.get_by_text("You have already agreed").is_visible()
    page.get_by_role("button", name="Approve").click()
    page.wait_for_url(
        re.compile(re.escape(f"{live_portal}/wallet") + r"\?wallet_result=")
    )
    assert js_errors == []
