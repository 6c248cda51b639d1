"""The v1 BrandPay SDK (`loadBrandPay(..., {src})`) on the same transport as v2."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from wallet.sandbox.testing import SandboxServer

from .helpers import new_key, outcome, pay_with_pin, register_card, window_frame
from .site import MerchantSite


def test_v1_add_payment_method_resolves_methods_result(
    shop: Callable[..., Any], site: MerchantSite, toss: SandboxServer
) -> None:
    customer = new_key()
    page = shop("v1", None, customer, {"redirectUrl": site.redirect_url})
    page.evaluate("() => harness.track(bp.addPaymentMethod('카드'))")
    register_card(window_frame(page))
    got = outcome(page)
    assert got["ok"], got
    result = got["value"]  # AddPaymentMethodResult of @tosspayments/brandpay__types
    assert set(result) == {"selectedMethodId", "cards", "accounts"}
    [card] = result["cards"]
    assert result["selectedMethodId"] == card["id"]
    assert (card["cardCompany"], card["isAvailable"]) == ("현대", True)
    assert "methodKey" not in card  # the SDK exposes ids only (contract §3)
    assert result["accounts"] == []
    assert [h.had_cookie for h in site.hits] == [True]


def test_v1_request_payment_promise_mode_resolves_with_method_id(
    shop: Callable[..., Any], site: MerchantSite, toss: SandboxServer
) -> None:
    customer = new_key()
    toss.link_customer(customer, site.redirect_url)
    method_id = toss.methods(customer)["selectedMethodId"]
    page = shop("v1", None, customer, {"redirectUrl": site.redirect_url})
    order_id = new_key("order")
    page.evaluate(
        "(o) => harness.track(bp.requestPayment({amount: 5000, orderId: o, orderName: 'v1'}))",
        order_id,
    )
    pay_with_pin(window_frame(page))
    got = outcome(page)
    assert got["ok"], got
    value = got["value"]
    assert (value["orderId"], value["amount"], value["methodId"]) == (
        order_id,
        5000,
        method_id,
    )
    assert value["paymentKey"].startswith("tbp")


def test_v1_request_payment_redirect_mode_and_agreement(
    shop: Callable[..., Any], site: MerchantSite, toss: SandboxServer
) -> None:
    customer = new_key()
    page = shop("v1", None, customer, {"redirectUrl": site.redirect_url})
    page.evaluate("() => harness.track(bp.requestAgreement('회원가입'))")
    frame = window_frame(page)
    frame.get_by_role("heading", name="브랜드페이 약관 동의").wait_for()
    for box in frame.get_by_role("checkbox").all():
        box.check()
    frame.get_by_role("button", name="동의하기").click()
    assert outcome(page) == {"ok": True, "value": None}
    toss.add_card(customer, site.redirect_url)
    order_id = new_key("order")
    page.evaluate(
        "(a) => { bp.requestPayment({amount: 1000, orderId: a.o, orderName: 'v1', successUrl: a.s, failUrl: a.f}); }",
        {"o": order_id, "s": site.success_url, "f": site.fail_url},
    )
    pay_with_pin(window_frame(page))
    page.wait_for_url(site.success_url + "?**")
    assert re.search(rf"amount=1000&orderId={order_id}&paymentKey=\w+$", page.url)


def test_v1_v2_only_methods_throw_v1_method_not_supported(
    shop: Callable[..., Any], site: MerchantSite
) -> None:
    page = shop("v1", None, new_key(), {"redirectUrl": site.redirect_url})
    codes = page.evaluate(
        "() => ['changePassword', 'changeOneTouchPay'].map(m => { try { bp[m](); } catch (e) { return e.code; } })"
    )
    assert codes == ["V1_METHOD_NOT_SUPPORTED", "V1_METHOD_NOT_SUPPORTED"]
