"""The SDK's window API (`POST /_hosted/api/windows`) and the v2 BrandPay windows.

The shims send every call here; these tests check the same rules without a browser
(tests/sdk drives them through Toss's loaders in Chromium).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests

from wallet.sandbox.catalog import TEST_PIN
from wallet.sandbox.testing import ANONYMOUS, SandboxServer, WindowRefused, query_of

from .helpers import FAIL, REDIRECT, SUCCESS, Api, Customer, first_method, new_key

AMOUNT = {"currency": "KRW", "value": 15000}


def brandpay_request(**over: Any) -> dict[str, Any]:
    """A valid BrandpayPaymentRequest (promise mode)."""
    return {"amount": AMOUNT, "orderId": new_key("order"), "orderName": "티셔츠"} | over


def card_request(**over: Any) -> dict[str, Any]:
    """A valid CardPaymentRequest (promise mode)."""
    return {"method": "CARD"} | brandpay_request() | over


def refused(toss: SandboxServer, method: str, params: Any, **kw: Any) -> str:
    """The code the SDK throws for this call (the window never opens)."""
    kw.setdefault("redirect_url", REDIRECT)
    customer = kw.pop("customer", "ck_window0001")
    with pytest.raises(WindowRefused) as info:
        toss.open_window(method, customer, params, **kw)
    return info.value.code


@pytest.mark.parametrize(
    ("params", "code"),
    [
        (brandpay_request(amount=15000), "INVALID_AMOUNT_VALUE"),
        (
            brandpay_request(amount={"currency": "KRW", "value": "15000"}),
            "INVALID_AMOUNT_VALUE",
        ),
        (
            brandpay_request(amount={"currency": "KRW", "value": 1.5}),
            "INVALID_AMOUNT_VALUE",
        ),
        (
            brandpay_request(amount={"currency": "KRW", "value": None}),
            "INVALID_AMOUNT_VALUE",
        ),
        (
            brandpay_request(amount={"currency": "KRW", "value": -1}),
            "BELOW_ZERO_AMOUNT",
        ),
        (
            brandpay_request(amount={"currency": "USD", "value": 10}),
            "INVALID_PARAMETERS",
        ),
        (
            brandpay_request(successUrl="/relative", failUrl=FAIL),
            "INCORRECT_SUCCESS_URL_FORMAT",
        ),
        (
            brandpay_request(successUrl=SUCCESS, failUrl="ftp://x/f"),
            "INCORRECT_FAIL_URL_FORMAT",
        ),
        (brandpay_request(successUrl=SUCCESS), "INVALID_PARAMETERS"),
        (brandpay_request(orderId="short"), "INVALID_PARAMETERS"),
        (brandpay_request(orderId="x" * 65), "INVALID_PARAMETERS"),
        (brandpay_request(orderId="order/slash"), "INVALID_PARAMETERS"),
        (brandpay_request(orderName=""), "INVALID_PARAMETERS"),
        (brandpay_request(orderName="x" * 101), "INVALID_PARAMETERS"),
        (brandpay_request(orderIdd="typo"), "INVALID_PARAMETERS"),
        (brandpay_request(card={"cardInstallmentPlan": 1}), "INVALID_PARAMETERS"),
        (brandpay_request(card={"useEscrow": True}), "INVALID_PARAMETERS"),
        (
            brandpay_request(transfer={"cashReceipt": {"type": "소득공제"}}),
            "INVALID_PARAMETERS",
        ),
        (
            brandpay_request(metadata={str(i): "v" for i in range(6)}),
            "INVALID_METADATA",
        ),
        (brandpay_request(metadata={"k" * 41: "v"}), "INVALID_METADATA"),
        (brandpay_request(metadata={"a[0]": "v"}), "INVALID_METADATA"),
        (brandpay_request(metadata={"k": "v" * 2001}), "INVALID_METADATA"),
        (brandpay_request(metadata={"k": {"nested": 1}}), "INVALID_METADATA"),
        (brandpay_request(taxFreeAmount=20000), "INVALID_PARAMETERS"),
    ],
)
def test_brandpay_request_payment_refused_with_typed_code(
    toss: SandboxServer, params: dict[str, Any], code: str
) -> None:
    assert refused(toss, "brandpay.requestPayment", params) == code
    assert toss.payment_by_order(params.get("orderId", "-")) is None


@pytest.mark.parametrize(
    ("params", "code"),
    [
        (
            card_request(amount={"currency": "USD", "value": 10}),
            "INVALID_AMOUNT_CURRENCY",
        ),
        (card_request(method="VIRTUAL_ACCOUNT"), "NOT_SUPPORTED_METHOD"),
        (card_request(method=None), "INVALID_PARAMETERS"),
        (card_request(customerMobilePhone="010-1234-5678"), "INVALID_PARAMETERS"),
        (card_request(windowTarget="popup"), "INVALID_PARAMETERS"),
        (
            card_request(card={"cardInstallmentPlan": 3, "maxCardInstallmentPlan": 6}),
            "INVALID_PARAMETERS",
        ),
        (card_request(card={"language": "FR"}), "INVALID_PARAMETERS"),
        (card_request(windowTarget="self"), "NOT_SUPPORTED_PROMISE"),
    ],
)
def test_payment_request_payment_refused_with_typed_code(
    toss: SandboxServer, params: dict[str, Any], code: str
) -> None:
    if code == "NOT_SUPPORTED_PROMISE":  # through the shim's own transport choice
        resp = _create(toss, "payment.requestPayment", ANONYMOUS, params)
        assert resp.json()["code"] == code
        return
    assert refused(toss, "payment.requestPayment", params, customer=ANONYMOUS) == code


def _create(
    toss: SandboxServer, sdk_method: str, customer: str, params: Any, **call: Any
) -> requests.Response:
    """POST the call as the shim does (origin, viewport), not as the test steps do."""
    body = {
        "method": sdk_method,
        "clientKey": toss.client_key,
        "customerKey": customer,
        "redirectUrl": REDIRECT,
        "params": params,
        "origin": "http://localhost:5999",
        "viewport": "wide",
    } | call
    return requests.post(toss.base_url + "/_hosted/api/windows", json=body, timeout=5)


@pytest.mark.parametrize(
    ("call", "code"),
    [
        ({"clientKey": "test_ck_unknownMerchant"}, "INVALID_CLIENT_KEY"),
        ({"clientKey": "not a key"}, "INVALID_CLIENT_KEY"),
        (
            {"clientKey": "test_gck_docs_Ovk5rk1EwkEbP0W43n07xlzm"},
            "NOT_SUPPORTED_WIDGET_KEY",
        ),
        ({"clientKey": "test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R"}, "INSECURE_KEY_USAGE"),
        ({"customerKey": "test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R"}, "INSECURE_KEY_USAGE"),
        ({"customerKey": "x"}, "INVALID_CUSTOMER_KEY"),
        ({"customerKey": "has space"}, "INVALID_CUSTOMER_KEY"),
        ({"customerKey": ANONYMOUS}, "INVALID_CUSTOMER_KEY"),
        ({"redirectUrl": "https://evil.example/cb"}, "NOT_REGISTERED_REDIRECT_URL"),
        ({"method": "brandpay.nope"}, "INVALID_PARAMETERS"),
        ({"viewport": "wide", "origin": "not an origin"}, "INVALID_PARAMETERS"),
    ],
)
def test_window_keys_redirect_url_and_origin_refused(
    toss: SandboxServer, call: dict[str, Any], code: str
) -> None:
    resp = _create(toss, "brandpay.addPaymentMethod", "ck_window0002", None, **call)
    assert (resp.status_code, resp.json()["code"]) == (400, code)
    assert resp.headers["Access-Control-Allow-Origin"] == "*"


def test_window_api_preflight_allows_json_from_any_origin(toss: SandboxServer) -> None:
    resp = requests.options(
        toss.base_url + "/_hosted/api/windows",
        headers={
            "Origin": "http://localhost:5999",
            "Access-Control-Request-Method": "POST",
        },
        timeout=5,
    )
    assert resp.status_code == 204
    assert resp.headers["Access-Control-Allow-Headers"] == "Content-Type"


def test_window_transport_overlay_wide_page_narrow_or_self(toss: SandboxServer) -> None:
    redirect = {"successUrl": SUCCESS, "failUrl": FAIL}
    cases = [
        ("brandpay.requestPayment", brandpay_request(**redirect), "wide", "overlay"),
        ("brandpay.requestPayment", brandpay_request(**redirect), "narrow", "page"),
        ("brandpay.requestPayment", brandpay_request(), "narrow", "overlay"),
        ("brandpay.openSettings", None, "narrow", "overlay"),
        ("payment.requestPayment", card_request(**redirect), "wide", "overlay"),
        ("payment.requestPayment", card_request(**redirect), "narrow", "page"),
        (
            "payment.requestPayment",
            card_request(windowTarget="self", **redirect),
            "wide",
            "page",
        ),
    ]
    for method, params, viewport, transport in cases:
        customer = ANONYMOUS if method.startswith("payment.") else "ck_window0003"
        resp = _create(toss, method, customer, params, viewport=viewport)
        assert resp.status_code == 201, resp.text
        assert resp.json()["transport"] == transport, (method, viewport)
    narrow_promise = _create(
        toss, "payment.requestPayment", ANONYMOUS, card_request(), viewport="narrow"
    )
    assert narrow_promise.json()["code"] == "NOT_SUPPORTED_PROMISE"


def test_window_keeps_request_parameters_for_the_control_api(
    toss: SandboxServer,
) -> None:
    customer = new_key()
    params = brandpay_request(
        successUrl=SUCCESS,
        failUrl=FAIL,
        customerEmail="member@example.com",
        customerName="김토스",
        metadata={"cart": "c-9", "n": 3},
        card={"cardInstallmentPlan": 3, "useCardPoint": True, "discountCode": "D1"},
        transfer={"isCulturalExpenses": True},
    )
    toss.open_window("brandpay.requestPayment", customer, params, redirect_url=REDIRECT)
    [window] = toss.windows(customer)
    kept = window["params"]
    assert (kept["customerEmail"], kept["customerName"]) == (
        "member@example.com",
        "김토스",
    )
    assert kept["metadata"] == {"cart": "c-9", "n": "3"}  # values are strings
    assert (kept["cardInstallmentPlan"], kept["useCardPoint"]) == (3, True)
    assert (kept["discountCode"], kept["cultureExpense"]) == ("D1", True)
    assert window["request"] == params  # as the merchant sent it
    assert "nonce" not in window


def test_window_expires_after_30_minutes(toss: SandboxServer) -> None:
    window = toss.open_window(
        "brandpay.requestPayment",
        new_key(),
        brandpay_request(successUrl=SUCCESS, failUrl=FAIL),
        redirect_url=REDIRECT,
    )
    toss.advance_clock(1801)
    page = requests.get(window["url"], timeout=5)
    assert page.status_code == 404
    assert "NOT_FOUND_PAYMENT_SESSION" in page.text


def test_hosted_pages_frameable_by_any_http_origin(toss: SandboxServer) -> None:
    window = toss.open_window("brandpay.openSettings", new_key(), redirect_url=REDIRECT)
    page = requests.get(window["url"], timeout=5)
    assert "frame-ancestors http: https:" in page.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in page.headers


def test_brandpay_pay_window_options_reach_payment(
    toss: SandboxServer, api: Api, link: Callable[..., Customer]
) -> None:
    customer = link()
    params = brandpay_request(
        amount={"currency": "KRW", "value": 60000},
        successUrl=SUCCESS,
        failUrl=FAIL,
        taxFreeAmount=5000,
        metadata={"plan": "pro"},
        card={"cardInstallmentPlan": 4, "useCardPoint": True},
    )
    window = toss.open_window(
        "brandpay.requestPayment", customer.key, params, redirect_url=REDIRECT
    )
    page = requests.get(window["url"], timeout=5).text
    assert "할부 4개월" in page
    assert 'id="useCardPoint" name="useCardPoint" checked' in page
    location = toss.submit_window(
        window,
        {"pin": TEST_PIN, "pointShown": "1", "useCardPoint": "on", "action": "pay"},
    )
    q = query_of(location)
    assert set(q) == {"amount", "orderId", "paymentKey"}
    body = {**q, "amount": 60000, "customerKey": customer.key}
    p = api.post("/v1/brandpay/payments/confirm", body).json()
    assert p["status"] == "DONE"
    assert p["metadata"] == {"plan": "pro"}
    assert p["taxFreeAmount"] == 5000
    assert (p["card"]["installmentPlanMonths"], p["card"]["useCardPoint"]) == (4, True)
    assert len(p["card"]["approveNo"]) == 8


def test_brandpay_account_cash_receipt_and_culture_expense_reach_payment(
    toss: SandboxServer, api: Api, link: Callable[..., Customer]
) -> None:
    customer = link()
    toss.add_account(customer.key, REDIRECT)
    account_id = first_method(api, customer.key, "accounts")["id"]
    receipt = {
        "type": "지출증빙",
        "registrationNumber": "1234567890",
        "registrationNumberType": "BUSINESS_REGISTRATION",
    }
    params = brandpay_request(
        successUrl=SUCCESS,
        failUrl=FAIL,
        methodId=account_id,
        transfer={"cashReceipt": receipt, "isCulturalExpenses": True},
    )
    window = toss.open_window(
        "brandpay.requestPayment", customer.key, params, redirect_url=REDIRECT
    )
    assert "현금영수증: 지출증빙" in requests.get(window["url"], timeout=5).text
    q = query_of(toss.submit_window(window, {"pin": TEST_PIN, "action": "pay"}))
    body = {**q, "amount": 15000, "customerKey": customer.key}
    p = api.post("/v1/brandpay/payments/confirm", body).json()
    assert (p["method"], p["cultureExpense"]) == ("계좌이체", True)
    assert p["cashReceipt"]["type"] == "지출증빙"


def test_billing_auth_window_agrees_billing_then_autopay_allowed(
    toss: SandboxServer, api: Api, link: Callable[..., Customer]
) -> None:
    customer = link()
    location = toss.billing_auth(customer.key, REDIRECT)
    assert set(query_of(location)) == {"code", "customerKey"}
    terms = api.get(f"/v1/brandpay/terms?customerKey={customer.key}&scope=BILLING")
    assert [t["agreed"] for t in terms.json()] == [True]
    method_key = first_method(api, customer.key)["methodKey"]
    charge = {
        "customerKey": customer.key,
        "methodKey": method_key,
        "amount": 5000,
        "orderId": new_key("sub"),
        "orderName": "구독",
    }
    assert api.post("/v1/brandpay/payments", charge).json()["status"] == "DONE"


def test_billing_auth_wrong_pin_or_unticked_terms_422(
    toss: SandboxServer, api: Api, link: Callable[..., Customer]
) -> None:
    customer = link()
    with pytest.raises(WindowRefused) as info:
        toss.billing_auth(customer.key, REDIRECT, pin="000000")
    assert info.value.code == "INVALID_PASSWORD"
    window = toss.open_window(
        "brandpay.requestBillingAuth", customer.key, redirect_url=REDIRECT
    )
    with pytest.raises(WindowRefused) as unticked:
        toss.submit_window(window, {"pin": TEST_PIN, "action": "submit"})
    assert unticked.value.code == "NEED_AGREEMENT_WITH_TERMS"
    terms = api.get(f"/v1/brandpay/terms?customerKey={customer.key}&scope=BILLING")
    assert [t["agreed"] for t in terms.json()] == [False]


def test_change_password_window_new_pin_required_afterwards(
    toss: SandboxServer, link: Callable[..., Customer], receiver: Any
) -> None:
    customer = link()
    window = toss.open_window(
        "brandpay.changePassword",
        customer.key,
        redirect_url=REDIRECT,
        return_url=SUCCESS,
    )
    wrong = {"pin": "000000", "newPin": "654321", "newPinAgain": "654321"}
    with pytest.raises(WindowRefused, match="INVALID_PASSWORD"):
        toss.submit_window(window, wrong | {"action": "change"})
    toss.submit_window(window, wrong | {"pin": TEST_PIN, "action": "change"})
    order = new_key("order")
    old = toss.authorize_payment(customer.key, order, 1000, "x", SUCCESS, FAIL)
    assert query_of(old)["code"] == "INVALID_PASSWORD"
    new = toss.authorize_payment(
        customer.key, order, 1000, "x", SUCCESS, FAIL, pin="654321"
    )
    assert new.startswith(SUCCESS)
    changed = receiver.wait_for(
        lambda got: any(r.body["data"].get("status") == "PASSWORD_CHANGED" for r in got)
    )
    assert any(r.body["data"]["customerKey"] == customer.key for r in changed)


def test_change_one_touch_window_and_is_enabled_codes(
    toss: SandboxServer, link: Callable[..., Customer]
) -> None:
    customer = link()
    state_url = toss.base_url + "/_hosted/api/one-touch"
    args = {
        "sdk": "v2",
        "clientKey": toss.client_key,
        "customerKey": customer.key,
        "redirectUrl": REDIRECT,
    }
    assert requests.get(state_url, params=args, timeout=5).json() == {
        "isEnabled": False
    }
    window = toss.open_window(
        "brandpay.changeOneTouchPay",
        customer.key,
        redirect_url=REDIRECT,
        return_url=SUCCESS,
    )
    done = toss.submit_window(
        window, {"pin": TEST_PIN, "enable": "1", "action": "change"}
    )
    assert done == SUCCESS  # a full-page window goes back to the calling page
    assert requests.get(state_url, params=args, timeout=5).json() == {"isEnabled": True}
    never = requests.get(state_url, params=args | {"customerKey": new_key()}, timeout=5)
    assert never.json()["code"] == "NEED_AGREEMENT_WITH_TERMS"
    client_key, _ = toss.create_merchant(one_touch=False)
    off = requests.get(state_url, params=args | {"clientKey": client_key}, timeout=5)
    assert off.json()["code"] == "NEED_MERCHANT_ONE_TOUCH_SETTING"
    assert (
        refused(toss, "brandpay.changeOneTouchPay", None, client_key=client_key)
        == "NEED_MERCHANT_ONE_TOUCH_SETTING"
    )


@pytest.mark.parametrize(("plan", "picked", "months"), [(0, "3", 0), (None, "3", 3)])
def test_brandpay_pay_window_plan_zero_fixes_lump_sum_absent_lets_buyer_pick(
    toss: SandboxServer,
    api: Api,
    link: Callable[..., Customer],
    plan: int | None,
    picked: str,
    months: int,
) -> None:
    """v2 typings: `cardInstallmentPlan: 0` pays in one go (fixed); without it the
    buyer picks the months in the window (from 50,000 KRW)."""
    customer = link()
    card = {} if plan is None else {"card": {"cardInstallmentPlan": plan}}
    params = brandpay_request(
        amount={"currency": "KRW", "value": 60000},
        successUrl=SUCCESS,
        failUrl=FAIL,
        **card,
    )
    window = toss.open_window(
        "brandpay.requestPayment", customer.key, params, redirect_url=REDIRECT
    )
    page = requests.get(window["url"], timeout=5).text
    assert ("할부 일시불 (가맹점 지정)" in page) == (plan == 0)
    assert ('<select id="installment"' in page) == (plan is None)
    location = toss.submit_window(
        window, {"pin": TEST_PIN, "installment": picked, "action": "pay"}
    )
    body = {**query_of(location), "amount": 60000, "customerKey": customer.key}
    p = api.post("/v1/brandpay/payments/confirm", body).json()
    assert p["card"]["installmentPlanMonths"] == months
