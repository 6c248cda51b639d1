"""`tossPayments.brandpay(...)` end to end in Chromium: the transport and every window."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.sandbox.helpers import basic
from wallet.sandbox.testing import SandboxServer

from .helpers import (
    FRAME,
    OVERLAY,
    escape_in_window,
    fits_width,
    new_key,
    outcome,
    overlay_open,
    pay_with_pin,
    register_card,
    sized_page,
    start,
    track,
    window_frame,
)
from .site import MerchantSite

BRANDPAY = "tp.brandpay({customerKey: a.ck, redirectUrl: a.redirect})"


@pytest.fixture
def member(toss: SandboxServer, site: MerchantSite) -> str:
    """A customer already registered at the sandbox with a test card."""
    customer = new_key()
    toss.link_customer(customer, site.redirect_url)
    return customer


def pay_request(**over: Any) -> dict[str, Any]:
    """A BrandpayPaymentRequest for 15,000 KRW."""
    body = {
        "amount": {"currency": "KRW", "value": 15000},
        "orderId": new_key("order"),
        "orderName": "브랜드페이 티셔츠",
    }
    return body | over


def arg(site: MerchantSite, customer: str, **extra: Any) -> dict[str, Any]:
    """The `a` of the JS calls: customerKey, redirectUrl and extras."""
    return {"ck": customer, "redirect": site.redirect_url} | extra


def query(url: str) -> dict[str, str]:
    """A URL's query as a flat dict."""
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_new_customer_agrees_registers_and_pays_in_one_window(
    shop: Callable[..., Any], site: MerchantSite, toss: SandboxServer
) -> None:
    page = shop("v2")
    customer = new_key()
    body = pay_request(metadata={"cart": "c-42"})
    frame = start(
        page, f"{BRANDPAY}.requestPayment(a.body)", arg(site, customer, body=body)
    )
    frame.get_by_role("link", name="결제수단 등록").click()
    register_card(frame)
    pay_with_pin(frame)  # the same window goes on to the payment
    got = outcome(page)
    assert got["ok"], got
    result = got["value"]
    assert set(result) == {"paymentKey", "orderId", "amount"}
    assert result["amount"] == {"currency": "KRW", "value": 15000}
    assert result["orderId"] == body["orderId"]
    # redirectUrl?code&customerKey was called once, with the browser's cookies.
    [hit] = site.hits
    assert set(hit.query) == {"code", "customerKey"}
    assert (hit.query["customerKey"], hit.had_cookie) == (customer, True)
    assert page.url == site.url + "/"  # the merchant's page never left
    confirm = requests.post(
        toss.base_url + "/v1/brandpay/payments/confirm",
        json={**result, "amount": 15000, "customerKey": customer},
        headers=basic(toss.secret_key),
        timeout=5,
    ).json()
    assert (confirm["status"], confirm["metadata"]) == ("DONE", {"cart": "c-42"})


def test_redirect_mode_lands_on_success_url_with_toss_parameters(
    shop: Callable[..., Any], site: MerchantSite, toss: SandboxServer, member: str
) -> None:
    customer = member
    page = shop("v2")
    body = pay_request(successUrl=site.success_url + "?ref=1", failUrl=site.fail_url)
    track(page, f"{BRANDPAY}.requestPayment(a.body)", arg(site, customer, body=body))
    pay_with_pin(window_frame(page))
    page.wait_for_url(site.success_url + "?**")
    q = query(page.url)
    assert set(q) == {"ref", "amount", "orderId", "paymentKey"}
    assert (q["amount"], q["orderId"]) == ("15000", body["orderId"])
    assert toss.payment(q["paymentKey"])["status"] == "IN_PROGRESS"  # type: ignore[index]


def test_redirect_mode_failures_land_on_fail_url(
    shop: Callable[..., Any], site: MerchantSite, toss: SandboxServer, member: str
) -> None:
    customer = member
    page = shop("v2")
    body = pay_request(successUrl=site.success_url, failUrl=site.fail_url)
    track(page, f"{BRANDPAY}.requestPayment(a.body)", arg(site, customer, body=body))
    pay_with_pin(window_frame(page), pin="000000")
    page.wait_for_url(site.fail_url + "?**")
    q = query(page.url)
    assert set(q) == {"code", "message", "orderId"}
    assert (q["code"], q["orderId"]) == ("INVALID_PASSWORD", body["orderId"])
    page = shop("v2")
    track(page, f"{BRANDPAY}.requestPayment(a.body)", arg(site, customer, body=body))
    window_frame(page).get_by_role("button", name="결제 취소").click()
    page.wait_for_url(site.fail_url + "?**")
    q = query(page.url)
    assert set(q) == {"code", "message"}  # contract §4: no orderId for this one
    assert q["code"] == "PAY_PROCESS_CANCELED"


def test_overlay_is_a_modal_over_the_page_with_focus_inside(
    shop: Callable[..., Any], site: MerchantSite, toss: SandboxServer, member: str
) -> None:
    customer = member
    page = shop("v2")
    page.get_by_role("button", name="Pay").focus()
    track(
        page,
        f"{BRANDPAY}.requestPayment(a.body)",
        arg(site, customer, body=pay_request()),
    )
    frame = window_frame(page)
    frame.get_by_label(re.compile("결제 비밀번호")).wait_for()
    dialog = page.get_by_role("dialog")
    assert dialog.get_attribute("aria-modal") == "true"
    assert page.evaluate("() => document.activeElement.tagName") == "IFRAME"
    # The merchant's page is still there, under a dimmed backdrop.
    assert page.get_by_role("heading", name="Test shop checkout").is_visible()
    backdrop = page.evaluate(
        f"() => getComputedStyle(document.querySelector('{OVERLAY}')).backgroundColor"
    )
    assert backdrop == "rgba(0, 0, 0, 0.55)"
    box = page.locator(FRAME).bounding_box()
    assert box is not None
    assert box["width"] < 1100  # a window over the page, not the whole page
    # Focus stays in the dialog: Tab from the close button goes into the window.
    page.get_by_role("button", name="닫기").focus()
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("() => document.activeElement.tagName") == "IFRAME"
    escape_in_window(page, frame)
    assert outcome(page)["code"] == "USER_CANCEL"
    # Closed: the button that opened it has focus again.
    assert page.evaluate("() => document.activeElement.id") == "pay"


def test_phone_width_redirect_mode_takes_the_whole_page(
    browser: Any,
    site: MerchantSite,
    toss: SandboxServer,
    assert_accessible: Any,
    member: str,
) -> None:
    customer = member
    with sized_page(browser, site.url, toss.client_key, 390) as page:
        body = pay_request(successUrl=site.success_url, failUrl=site.fail_url)
        page.evaluate(
            f"(a) => {{ {BRANDPAY}.requestPayment(a.body); }}",
            arg(site, customer, body=body),
        )
        page.wait_for_url(re.compile(r".*/_hosted/pay\?window=.*"))
        assert page.url.startswith(toss.base_url)  # top-level, no iframe
        assert fits_width(page)  # no horizontal overflow at 390 px
        assert_accessible("BrandPay window at 390 px", on=page)
        pay_with_pin(page)
        page.wait_for_url(site.success_url + "?**")
        assert set(query(page.url)) == {"amount", "orderId", "paymentKey"}


def test_add_payment_method_resolves_after_cookie_redirect(
    shop: Callable[..., Any], site: MerchantSite, toss: SandboxServer
) -> None:
    page = shop("v2")
    customer = new_key()
    track(page, f"{BRANDPAY}.addPaymentMethod()", arg(site, customer))
    register_card(window_frame(page), "5310123412341234")
    assert outcome(page) == {"ok": True, "value": None}  # Promise<void>
    assert [h.had_cookie for h in site.hits] == [True]
    assert [c["cardNumber"][:8] for c in toss.methods(customer)["cards"]] == [
        "53101234"
    ]
    assert not overlay_open(page)


def test_open_settings_resolves_on_done_after_removing_a_method(
    shop: Callable[..., Any], site: MerchantSite, toss: SandboxServer, member: str
) -> None:
    customer = member
    page = shop("v2")
    frame = start(page, f"{BRANDPAY}.openSettings()", arg(site, customer))
    frame.get_by_role("button", name=re.compile("삭제$")).click()
    frame.get_by_text("등록된 결제수단이 없습니다.").wait_for()
    frame.get_by_role("button", name="완료").click()
    assert outcome(page) == {"ok": True, "value": None}
    assert toss.methods(customer)["cards"] == []


def test_change_password_then_new_pin_pays(
    shop: Callable[..., Any], site: MerchantSite, toss: SandboxServer, member: str
) -> None:
    customer = member
    page = shop("v2")
    frame = start(page, f"{BRANDPAY}.changePassword()", arg(site, customer))
    frame.get_by_label(re.compile("현재 비밀번호")).fill("123456")
    frame.get_by_label("새 비밀번호 (숫자 6자리)").fill("246810")
    frame.get_by_label("새 비밀번호 확인").fill("246810")
    frame.get_by_role("button", name="변경하기").click()
    assert outcome(page) == {"ok": True, "value": None}
    track(
        page,
        f"{BRANDPAY}.requestPayment(a.body)",
        arg(site, customer, body=pay_request()),
    )
    pay_with_pin(window_frame(page), pin="246810")
    assert outcome(page)["ok"] is True


def test_change_one_touch_pay_and_is_enabled(
    shop: Callable[..., Any], site: MerchantSite, toss: SandboxServer, member: str
) -> None:
    customer = member
    page = shop("v2")
    a = arg(site, customer)
    track(page, f"{BRANDPAY}.isOneTouchPayEnabled()", a)
    assert outcome(page) == {"ok": True, "value": {"isEnabled": False}}
    frame = start(page, f"{BRANDPAY}.changeOneTouchPay()", a)
    frame.get_by_label(re.compile("결제 비밀번호")).fill("123456")
    frame.get_by_role("button", name="원터치 결제 켜기").click()
    assert outcome(page) == {"ok": True, "value": None}
    track(page, f"{BRANDPAY}.isOneTouchPayEnabled()", a)
    assert outcome(page) == {"ok": True, "value": {"isEnabled": True}}


def test_request_billing_auth_agrees_billing_terms(
    shop: Callable[..., Any], site: MerchantSite, toss: SandboxServer, member: str
) -> None:
    customer = member
    page = shop("v2")
    frame = start(page, f"{BRANDPAY}.requestBillingAuth()", arg(site, customer))
    frame.get_by_role("heading", name=re.compile("자동결제")).wait_for()
    for box in frame.get_by_role("checkbox").all():
        box.check()
    frame.get_by_label(re.compile("결제 비밀번호")).fill("123456")
    frame.get_by_role("button", name="동의하기").click()
    assert outcome(page) == {"ok": True, "value": None}
    assert [h.had_cookie for h in site.hits] == [True]
    terms = requests.get(
        toss.base_url + "/v1/brandpay/terms",
        params={"customerKey": customer, "scope": "BILLING"},
        headers=basic(toss.secret_key),
        timeout=5,
    ).json()
    assert [t["agreed"] for t in terms] == [True]


def test_hosted_windows_accessible_at_top_level(
    page: Any,
    site: MerchantSite,
    toss: SandboxServer,
    assert_accessible: Any,
    member: str,
) -> None:
    customer = member
    for method in (
        "brandpay.requestBillingAuth",
        "brandpay.changePassword",
        "brandpay.changeOneTouchPay",
        "brandpay.openSettings",
        "brandpay.addPaymentMethod",
    ):
        window = toss.open_window(method, customer, redirect_url=site.redirect_url)
        page.goto(window["url"])
        assert_accessible(method, on=page)


def test_messages_from_other_sources_or_nonces_are_ignored(
    shop: Callable[..., Any], site: MerchantSite, toss: SandboxServer, member: str
) -> None:
    customer = member
    page = shop("v2")
    track(
        page,
        f"{BRANDPAY}.requestPayment(a.body)",
        arg(site, customer, body=pay_request()),
    )
    frame = window_frame(page)
    frame.get_by_label(re.compile("결제 비밀번호")).wait_for()
    # A forged "resolve" from the merchant's own page (wrong origin, source, nonce).
    page.evaluate(
        "() => window.postMessage({source: 'toss-sandbox', type: 'resolve', nonce: 'guess', value: {paymentKey: 'forged'}}, '*')"
    )
    escape_in_window(page, frame)  # handled after the forged message
    assert outcome(page)["code"] == "USER_CANCEL"
