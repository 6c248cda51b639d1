"""`tossPayments.payment(...)`: the standard and international card windows in Chromium."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import requests

from tests.sandbox.helpers import basic
from wallet.sandbox.catalog import USD_RATE
from wallet.sandbox.testing import SandboxServer

from .helpers import (
    FRAME,
    escape_in_window,
    fits_width,
    new_key,
    outcome,
    overlay_open,
    sized_page,
    start,
    track,
    window_frame,
)
from .site import MerchantSite

PAYMENT = "tp.payment({customerKey: a.ck})"


def card_request(**over: Any) -> dict[str, Any]:
    """A CardPaymentRequest for 27,000 KRW (promise mode)."""
    body = {
        "method": "CARD",
        "amount": {"currency": "KRW", "value": 27000},
        "orderId": new_key("card"),
        "orderName": "Card window test",
    }
    return body | over


def enter_card(frame: Any, number: str, pay: str = "결제하기") -> None:
    """Type a test card in the card window and pay."""
    frame.get_by_role(
        "textbox", name=re.compile("^(카드번호|Card number|卡号|カード番号)$")
    ).fill(number)
    frame.get_by_role("button", name=re.compile(pay)).click()


def test_standard_window_anonymous_promise_resolves_then_core_confirm(
    shop: Callable[..., Any], site: MerchantSite, toss: SandboxServer
) -> None:
    page = shop("v2")
    body = card_request(metadata={"guest": "yes"})
    page.evaluate(
        "(a) => harness.track(tp.payment({customerKey: TossPayments.ANONYMOUS}).requestPayment(a.body))",
        {"body": body},
    )
    enter_card(window_frame(page), "4330123412341234")
    got = outcome(page)
    assert got["ok"], got
    assert got["value"] == {
        "paymentKey": got["value"]["paymentKey"],
        "orderId": body["orderId"],
        "amount": {"currency": "KRW", "value": 27000},
    }
    p = requests.post(
        toss.base_url + "/v1/payments/confirm",
        json={
            "paymentKey": got["value"]["paymentKey"],
            "orderId": body["orderId"],
            "amount": 27000,
        },
        headers=basic(toss.secret_key),
        timeout=5,
    ).json()
    assert (p["status"], p["type"], p["method"], p["country"]) == (
        "DONE",
        "NORMAL",
        "카드",
        "KR",
    )
    assert p["metadata"] == {"guest": "yes"}


def test_standard_window_redirect_mode_lands_on_success_url(
    shop: Callable[..., Any], site: MerchantSite
) -> None:
    page = shop("v2")
    body = card_request(successUrl=site.success_url, failUrl=site.fail_url)
    page.evaluate(
        f"(a) => {{ {PAYMENT}.requestPayment(a.body); }}",
        {"ck": new_key(), "body": body},
    )
    enter_card(window_frame(page), "5310123412341234")
    page.wait_for_url(site.success_url + "?**")
    assert re.search(
        rf"amount=27000&orderId={body['orderId']}&paymentKey=tnp\w+$", page.url
    )


def test_international_window_english_usd_switch_refuses_domestic_card(
    shop: Callable[..., Any], site: MerchantSite, toss: SandboxServer
) -> None:
    page = shop("v2")
    body = card_request(card={"useInternationalCardOnly": True})
    frame = start(
        page, f"{PAYMENT}.requestPayment(a.body)", {"ck": new_key(), "body": body}
    )
    frame.get_by_role("heading", name="Pay by card").wait_for()
    assert frame.locator("html").get_attribute("lang") == "en"
    assert frame.locator("#krw").inner_text() == "KRW 27,000"
    assert f"USD {27000 / USD_RATE:,.2f}" in frame.locator("#usd").inner_text()
    frame.get_by_role("link", name="日本語").click()
    frame.get_by_role("heading", name="カード決済").wait_for()
    frame.get_by_role("link", name="中文").click()
    frame.get_by_role("heading", name="银行卡支付").wait_for()
    frame.get_by_role("link", name="English").click()
    enter_card(frame, "4330123412341234", pay="^Pay$")  # a Korean card
    frame.get_by_role("alert").wait_for()
    assert "NOT_SUPPORTED_CARD_TYPE" in frame.get_by_role("alert").inner_text()
    assert toss.payment_by_order(body["orderId"]) is None
    enter_card(frame, "3530111333300000", pay="^Pay$")  # JCB
    got = outcome(page)
    assert got["ok"], got
    assert toss.payment(got["value"]["paymentKey"])["country"] == "JP"  # type: ignore[index]


def test_international_window_korean_language_param_and_estimate_hidden(
    shop: Callable[..., Any],
) -> None:
    page = shop("v2")
    card = {
        "useInternationalCardOnly": True,
        "language": "KO",
        "showEstimatedAmount": False,
    }
    track(
        page,
        f"{PAYMENT}.requestPayment(a.body)",
        {"ck": new_key(), "body": card_request(card=card)},
    )
    frame = window_frame(page)
    frame.get_by_role("heading", name="해외 카드 결제").wait_for()
    assert frame.locator("#usd").count() == 0
    escape_in_window(page, frame)
    assert outcome(page)["code"] == "USER_CANCEL"


def test_declined_card_redirect_fail_url_and_promise_reject(
    shop: Callable[..., Any], site: MerchantSite
) -> None:
    page = shop("v2")
    body = card_request()
    track(page, f"{PAYMENT}.requestPayment(a.body)", {"ck": new_key(), "body": body})
    enter_card(window_frame(page), "4000000000000002")
    got = outcome(page)
    assert (got["code"], got["orderId"]) == ("REJECT_CARD_COMPANY", body["orderId"])
    redirect = card_request(successUrl=site.success_url, failUrl=site.fail_url)
    page.evaluate(
        f"(a) => {{ {PAYMENT}.requestPayment(a.body); }}",
        {"ck": new_key(), "body": redirect},
    )
    enter_card(window_frame(page), "4000000000000002")
    page.wait_for_url(site.fail_url + "?**")
    assert "code=REJECT_CARD_COMPANY" in page.url
    assert f"orderId={redirect['orderId']}" in page.url


def test_window_target_self_and_phone_width_take_the_whole_page(
    browser: Any, site: MerchantSite, toss: SandboxServer, assert_accessible: Any
) -> None:
    for width, target in ((1100, "self"), (390, None)):
        with sized_page(browser, site.url, toss.client_key, width) as page:
            body = card_request(successUrl=site.success_url, failUrl=site.fail_url)
            if target:
                body["windowTarget"] = target
            page.evaluate(
                f"(a) => {{ {PAYMENT}.requestPayment(a.body); }}",
                {"ck": new_key(), "body": body},
            )
            page.wait_for_url(re.compile(r".*/_hosted/card\?window=.*"))
            assert page.locator(FRAME).count() == 0
            assert fits_width(page), width
            assert_accessible(f"card window {width} px", on=page)
            enter_card(page, "4330123412341234")
            page.wait_for_url(site.success_url + "?**")


def test_international_window_accessible_and_fits_390_px(
    browser: Any, site: MerchantSite, toss: SandboxServer, assert_accessible: Any
) -> None:
    window = toss.open_window(
        "payment.requestPayment",
        "@@ANONYMOUS",
        card_request(
            successUrl=site.success_url,
            failUrl=site.fail_url,
            card={"useInternationalCardOnly": True},
        ),
    )
    with sized_page(browser, site.url, toss.client_key, 390) as page:
        for lang in ("en", "ko", "zh", "ja"):
            page.goto(window["url"] + f"&lang={lang}")
            assert fits_width(page), lang
            assert_accessible(f"international window ({lang})", on=page)


def test_card_billing_auth_redirects_with_auth_key(
    shop: Callable[..., Any], site: MerchantSite
) -> None:
    page = shop("v2")
    customer = new_key()
    billing = {
        "method": "CARD",
        "successUrl": site.success_url,
        "failUrl": site.fail_url,
    }
    page.evaluate(
        f"(a) => {{ {PAYMENT}.requestBillingAuth(a.body); }}",
        {"ck": customer, "body": billing},
    )
    frame = window_frame(page)
    frame.get_by_label("카드번호").fill("4330123412341234")
    frame.get_by_role("button", name="등록하기").click()
    page.wait_for_url(site.success_url + "?**")
    assert re.search(rf"authKey=bln_\w+&customerKey={customer}$", page.url)
    assert not overlay_open(page)
