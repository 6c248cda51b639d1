"""The portal on Toss's SDK v2 (issue 12), in Chromium against the sandbox's scripts.

The portal's pages load `<sandbox>/v2/standard` with a script tag, as Toss's v2 guide
does; Toss's windows open over the page (an iframe) and the portal confirms on the
server. Journeys: one-flow BrandPay onboarding (fetch and navigate redirect modes),
the standard card window, the international window (a domestic card refused there),
a closed window, and the BrandPay settings (password, one-touch).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from tests.e2e import steps

pytestmark = pytest.mark.e2e

PASSWORD = "v2-journey-pass-1"
VISA = "4242424242424242"


def _new_member(page: Any, portal: str, email: str) -> None:
    steps.register(page, portal, email, PASSWORD)


def test_one_flow_onboarding_agrees_registers_and_pays_in_one_window(
    page: Any,
    app: Flask,
    live_portal: str,
    sandbox: Any,
    shot: Callable[[str], Any],
    assert_accessible: Callable[[str], None],
    js_errors: list[str],
) -> None:
    email = "oneflow@example.com"
    _new_member(page, live_portal, email)
    member = steps.member(app, email)
    checkout = steps.new_order(page, live_portal, "Oolong tea", 23000)
    order_id = steps.order_id_of(checkout)
    assert page.get_by_text("No BrandPay wallet yet?").is_visible()
    shot("checkout-unlinked")
    assert_accessible("checkout, unlinked")

    steps.pay_button(page).click()
    steps.register_inside_payment(page)
    # The redirect handler was fetched with the cookies; the same window goes on to
    # the payment, now with the new card.
    shot("window-after-registration")
    steps.hosted_pay(page)
    page.wait_for_url(f"{live_portal}/pay/orders/{order_id}/receipt")
    assert page.get_by_text("Payment complete.").is_visible()
    assert page.get_by_text("Your BrandPay wallet is now linked.").is_visible()
    state = steps.order_state(app, order_id)
    assert (state["status"], state["paid"]) == ("DONE", 23000)
    assert steps.link_status(app, member.id) == "linked"
    assert sandbox.payment_by_order(order_id)["type"] == "BRANDPAY"
    assert len(sandbox.methods(member.customer_key)["cards"]) == 1
    shot("receipt")
    assert js_errors == []


def test_one_flow_onboarding_navigate_mode_links_then_pays(
    page: Any,
    app: Flask,
    live_portal: str,
    sandbox: Any,
    navigate_mode: None,
    js_errors: list[str],
) -> None:
    email = "oneflow-nav@example.com"
    _new_member(page, live_portal, email)
    member = steps.member(app, email)
    checkout = steps.new_order(page, live_portal, "Barley tea", 5000)
    order_id = steps.order_id_of(checkout)
    steps.pay_button(page).click()
    steps.register_inside_payment(page)
    # navigate: the page went to the redirect handler, which linked and sent the
    # member back to the same checkout; the order is still there to pay.
    page.get_by_text("BrandPay is linked. You can pay now.").wait_for()
    assert page.url == checkout
    assert steps.link_status(app, member.id) == "linked"
    assert steps.order_state(app, order_id)["status"] == "PENDING"
    steps.pay_button(page).click()
    steps.hosted_pay(page)
    page.wait_for_url(f"{live_portal}/pay/orders/{order_id}/receipt")
    assert steps.order_state(app, order_id)["status"] == "DONE"
    assert js_errors == []


def test_link_and_add_navigate_mode_land_on_methods(
    page: Any,
    app: Flask,
    live_portal: str,
    sandbox: Any,
    navigate_mode: None,
    js_errors: list[str],
) -> None:
    email = "link-nav@example.com"
    _new_member(page, live_portal, email)
    page.goto(f"{live_portal}/wallet/link")
    page.get_by_role("button", name="Link BrandPay").click()
    steps.hosted_register(page, steps.GOOD_CARD)
    page.wait_for_url(f"{live_portal}/wallet/methods")
    assert page.get_by_text(
        "BrandPay is linked. Your payment methods are below."
    ).is_visible()
    page.get_by_role("button", name="Add a payment method").click()
    steps.hosted_register(page, steps.SECOND_CARD)
    page.get_by_text("The payment method was added.").wait_for()
    assert page.url == f"{live_portal}/wallet/methods"
    page.get_by_role("list", name="Cards").get_by_role("listitem").nth(1).wait_for()
    assert steps.link_status(app, steps.member(app, email).id) == "linked"
    assert js_errors == []


def test_standard_card_window_pays_and_records_the_way(
    page: Any,
    app: Flask,
    live_portal: str,
    sandbox: Any,
    shot: Callable[[str], Any],
    assert_accessible: Callable[[str], None],
    js_errors: list[str],
) -> None:
    _new_member(page, live_portal, "card@example.com")
    checkout = steps.new_order(page, live_portal, "Teapot", 41000)
    order_id = steps.order_id_of(checkout)
    steps.card_button(page).click()
    steps.toss_window(page)
    shot("card-window")
    steps.card_window_pay(page, steps.GOOD_CARD)
    page.wait_for_url(f"{live_portal}/pay/orders/{order_id}/receipt")
    assert page.get_by_text("Payment complete.").is_visible()
    assert page.get_by_text("Card (payment window)").first.is_visible()
    shot("card-receipt")
    assert_accessible("receipt, card")
    state = steps.order_state(app, order_id)
    assert (state["status"], state["paid"]) == ("DONE", 41000)
    assert _pay_way(app, order_id) == "CARD"
    toss = sandbox.payment_by_order(order_id)
    assert (toss["type"], toss["method"], toss["status"]) == ("NORMAL", "카드", "DONE")
    assert js_errors == []


def test_international_window_refuses_domestic_card_then_pays_with_visa(
    page: Any,
    app: Flask,
    live_portal: str,
    sandbox: Any,
    shot: Callable[[str], Any],
    js_errors: list[str],
) -> None:
    _new_member(page, live_portal, "intl@example.com")
    checkout = steps.new_order(page, live_portal, "Tea set", 27000)
    order_id = steps.order_id_of(checkout)
    steps.foreign_card_button(page).click()
    frame = steps.toss_window(page)
    frame.get_by_role("heading", name="Pay by card").wait_for()
    assert frame.get_by_text("USD").first.is_visible()  # the estimated amount
    # A Korean card is refused by the international window, which stays open.
    frame.get_by_label("Card number").fill(steps.GOOD_CARD)
    frame.get_by_role("button", name="Pay", exact=True).click()
    frame.get_by_text("NOT_SUPPORTED_CARD_TYPE").wait_for()
    shot("intl-domestic-refused")
    assert steps.order_state(app, order_id)["status"] == "PENDING"
    steps.intl_window_pay(page, VISA)
    page.wait_for_url(f"{live_portal}/pay/orders/{order_id}/receipt")
    assert page.get_by_text("Foreign card").first.is_visible()
    assert steps.order_state(app, order_id)["status"] == "DONE"
    assert _pay_way(app, order_id) == "FOREIGN_CARD"
    toss = sandbox.payment_by_order(order_id)
    assert (toss["type"], toss["country"]) == ("NORMAL", "US")
    shot("intl-receipt")
    # The window answered the refused card with 422 (its own page, not the portal's).
    assert [e for e in js_errors if "422" not in e or "/_hosted/card" not in e] == []


def test_closed_window_user_cancel_keeps_order_payable(
    page: Any,
    app: Flask,
    live_portal: str,
    sandbox: Any,
    shot: Callable[[str], Any],
    js_errors: list[str],
) -> None:
    _new_member(page, live_portal, "closer@example.com")
    checkout = steps.new_order(page, live_portal, "Matcha", 9000)
    order_id = steps.order_id_of(checkout)
    for button in (steps.card_button, steps.pay_button):
        button(page).click()
        steps.toss_window(page)
        steps.close_window(page)  # the overlay's ×: USER_CANCEL, the page stays
        assert page.url == checkout
        status = page.locator("#pay-error")
        status.wait_for()
        assert status.inner_text() == (
            "You closed the window before finishing. Nothing was changed."
        )
        assert button(page).is_enabled()
    shot("closed")
    assert steps.order_state(app, order_id)["status"] == "PENDING"
    assert sandbox.payment_by_order(order_id) is None
    assert js_errors == []


def test_declined_card_in_standard_window_says_so(
    page: Any, app: Flask, live_portal: str, sandbox: Any, js_errors: list[str]
) -> None:
    _new_member(page, live_portal, "declined@example.com")
    checkout = steps.new_order(page, live_portal, "Kettle", 30000)
    order_id = steps.order_id_of(checkout)
    steps.card_button(page).click()
    steps.card_window_pay(page, steps.DECLINED_CARD)
    page.wait_for_url(f"{live_portal}/pay/orders/{order_id}/fail?**")
    assert "Your card company declined the payment." in (
        page.get_by_role("alert").inner_text()
    )
    assert steps.order_state(app, order_id)["status"] == "PENDING"
    assert js_errors == []


def test_methods_page_settings_password_and_one_touch(
    page: Any,
    app: Flask,
    live_portal: str,
    sandbox: Any,
    shot: Callable[[str], Any],
    assert_accessible: Callable[[str], None],
    js_errors: list[str],
) -> None:
    _new_member(page, live_portal, "settings@example.com")
    page.goto(f"{live_portal}/wallet/link")
    page.get_by_role("button", name="Link BrandPay").click()
    steps.hosted_register(page, steps.GOOD_CARD)
    page.wait_for_url(f"{live_portal}/wallet/methods")
    steps.methods_loaded(page)
    # Names from Toss's code tables, not codes; what "Selected" means is said.
    cards = page.get_by_role("list", name="Cards")
    assert "Hyundai Card" in cards.inner_text()
    assert "issuer" not in cards.inner_text()
    assert page.get_by_text(
        "“Selected” is the method BrandPay offers first"
    ).is_visible()
    state = page.locator("#onetouch-state")
    page.wait_for_function(
        "() => document.getElementById('onetouch-state').textContent.startsWith('O')"
    )
    before = state.inner_text()
    shot("methods-settings")
    assert_accessible("methods with settings")

    # One-touch: on/off in Toss's window, with the PIN; the page shows the new state.
    page.get_by_role("button", name="Change one-touch payment").click()
    frame = steps.toss_window(page)
    frame.get_by_role("heading", name="원터치 결제 설정").wait_for()
    frame.get_by_label("결제 비밀번호 (테스트: 123456)").fill(steps.PIN)
    frame.get_by_role("button", name="원터치 결제").click()
    steps.window_closed(page)
    page.get_by_text("Your one-touch payment setting was saved.").wait_for()
    page.wait_for_function(
        "(b) => document.getElementById('onetouch-state').textContent !== b",
        arg=before,
    )
    assert {before, state.inner_text()} == {
        "On: you pay without the PIN on this device",
        "Off: you confirm each payment with your PIN",
    }

    # The payment password: the new PIN is the one a payment then needs.
    page.get_by_role("button", name="Change payment password").click()
    frame = steps.toss_window(page)
    frame.get_by_role("heading", name="브랜드페이 결제 비밀번호 변경").wait_for()
    frame.get_by_label("현재 비밀번호 (처음에는 123456)").fill(steps.PIN)
    frame.get_by_label("새 비밀번호 (숫자 6자리)").fill("654321")
    frame.get_by_label("새 비밀번호 확인").fill("654321")
    frame.get_by_role("button", name="변경하기").click()
    steps.window_closed(page)
    page.get_by_text("Your BrandPay payment password was changed.").wait_for()
    checkout = steps.new_order(page, live_portal, "PIN check", 1000)
    order_id = steps.order_id_of(checkout)
    steps.pay_button(page).click()
    steps.hosted_pay(page, pin="654321")
    page.wait_for_url(f"{live_portal}/pay/orders/{order_id}/receipt")

    # BrandPay's own settings window; "완료" brings the member back to the list.
    page.goto(f"{live_portal}/wallet/methods")
    page.get_by_role("button", name="Open BrandPay settings").click()
    frame = steps.toss_window(page)
    frame.get_by_role("heading", name="브랜드페이 설정").wait_for()
    frame.get_by_role("button", name="완료").click()
    page.wait_for_url(f"{live_portal}/wallet/methods")
    assert js_errors == []


def _pay_way(app: Flask, order_id: str) -> str | None:
    from sqlalchemy import select

    from wallet.extensions import db
    from wallet.models.order import Order

    with app.app_context():
        return db.session.scalars(
            select(Order.pay_way).filter_by(order_id=order_id)
        ).one()


def test_bad_request_refused_by_portal_before_any_window_opens(
    page: Any, app: Flask, live_portal: str, sandbox: Any, js_errors: list[str]
) -> None:
    """Issue 12 "Bad input": values the typings refuse never reach Toss's window."""
    _new_member(page, live_portal, "badinput@example.com")
    customer_key = steps.member(app, "badinput@example.com").customer_key
    steps.new_order(page, live_portal, "Guarded", 5000)
    before = len(sandbox.windows(customer_key))
    box = page.locator("#pay-buttons")
    cases = [
        ("data-amount", "99", "The amount must be a whole number of at least 100 won."),
        (
            "data-amount",
            "1.5",
            "The amount must be a whole number of at least 100 won.",
        ),
        ("data-order-name", "x" * 101, "The order name must be 1 to 100 characters."),
        ("data-order-id", "bad id!", "This order number cannot be sent to Toss."),
    ]
    for attr, value, message in cases:
        page.reload()
        box.evaluate(f"(el, v) => el.setAttribute('{attr}', v)", value)
        steps.card_button(page).click()
        error = page.locator("#pay-error")
        error.wait_for()
        assert message in error.inner_text()
        assert page.locator(steps.TOSS_FRAME).count() == 0
        assert steps.card_button(page).is_enabled()
    assert len(sandbox.windows(customer_key)) == before  # nothing reached the sandbox
    assert js_errors == []


def test_methods_page_renders_at_once_while_toss_is_slow(
    page: Any, app: Flask, live_portal: str, sandbox: Any, shot: Callable[[str], Any]
) -> None:
    """Issue 14: a hanging methods call shows a loading state, not a blank page."""
    _new_member(page, live_portal, "slowlist@example.com")
    page.goto(f"{live_portal}/wallet/link")
    page.get_by_role("button", name="Link BrandPay").click()
    steps.hosted_register(page, steps.GOOD_CARD)
    page.wait_for_url(f"{live_portal}/wallet/methods")
    sandbox.set_fault("/v1/brandpay/payments/methods", method="GET", latency=30)
    started = time.monotonic()
    page.goto(f"{live_portal}/wallet/methods")
    assert time.monotonic() - started < 5
    loading = page.get_by_text("Loading your payment methods from Toss Payments…")
    assert loading.is_visible()
    assert page.get_by_role("heading", name="BrandPay settings").is_visible()
    shot("methods-loading")
    sandbox.clear_faults()  # Toss answers: the list replaces the loading state
    page.get_by_role("list", name="Cards").wait_for()
    assert loading.count() == 0


def test_slow_confirm_shows_processing_screen_then_receipt(
    page: Any, app: Flask, live_portal: str, sandbox: Any, shot: Callable[[str], Any]
) -> None:
    """Issue 14: Toss's confirm takes seconds; the member sees it being confirmed."""
    _new_member(page, live_portal, "slowconfirm@example.com")
    checkout = steps.new_order(page, live_portal, "Slow tea", 7000)
    order_id = steps.order_id_of(checkout)
    answers: list[tuple[float, str, int]] = []

    def record(resp: Any) -> None:
        if "/success?" in resp.url:
            answers.append((time.monotonic(), resp.url, resp.status))

    page.on("response", record)
    steps.card_button(page).click()
    sandbox.set_fault("/v1/payments/confirm", latency=3)
    steps.card_window_pay(page, steps.GOOD_CARD)
    clicked = time.monotonic()
    page.wait_for_url(f"{live_portal}/pay/orders/{order_id}/receipt")
    shot("receipt-after-slow-confirm")
    # The successUrl answered at once with the processing screen (no script needed:
    # the browser keeps it on screen while the same URL with sync=1 confirms; its
    # content is checked in tests/integration/payments/test_card_confirm.py).
    assert len(answers) == 2, answers
    first, second = answers
    assert first[2] == 200
    assert "sync=1" not in first[1]
    assert first[0] - clicked < 2.5
    assert "sync=1" in second[1]
    assert second[2] == 303
    assert second[0] - first[0] >= 2.5  # the confirm's latency was spent there
    assert steps.order_state(app, order_id)["status"] == "DONE"
    calls = [
        c
        for c in sandbox.calls("/v1/payments/confirm")
        if (c.get("idempotencyKey") or "").startswith(f"confirm-{order_id}-")
    ]
    assert len(calls) == 1  # the processing page never confirms a second time


def test_card_window_on_a_phone_takes_the_whole_page(
    page: Any, app: Flask, live_portal: str, sandbox: Any, js_errors: list[str]
) -> None:
    """On a phone the standard window is a full page (redirect mode), then back."""
    page.set_viewport_size({"width": 390, "height": 844})
    _new_member(page, live_portal, "phonecard@example.com")
    checkout = steps.new_order(page, live_portal, "Phone tea", 8000)
    order_id = steps.order_id_of(checkout)
    steps.card_button(page).click()
    window = steps.toss_window(page)
    assert window is page  # no overlay: the page itself went to Toss's window
    steps.card_window_pay(page, steps.GOOD_CARD)
    page.wait_for_url(f"{live_portal}/pay/orders/{order_id}/receipt")
    assert steps.order_state(app, order_id)["status"] == "DONE"
    assert js_errors == []
