"""Every SDK error code the typings name, thrown like the real SDK (in Chromium).

Refusals come before any window opens: no overlay appears and the sandbox stores
no window for the call. Calls with both modes are tried in both (promise: no URLs;
redirect: successUrl and failUrl).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from wallet.sandbox.testing import SandboxServer

from .helpers import (
    OVERLAY,
    escape_in_window,
    new_key,
    outcome,
    overlay_open,
    track,
    window_frame,
)
from .site import MerchantSite

SECRET = "test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R"  # contract §9 doc secret key
WIDGET_KEY = "test_gck_docs_Ovk5rk1EwkEbP0W43n07xlzm"

BRANDPAY = "tp.brandpay({customerKey: a.ck, redirectUrl: a.redirect})"
PAYMENT = "tp.payment({customerKey: a.ck})"


def request(**over: Any) -> dict[str, Any]:
    """A valid payment request; `over` breaks one thing (None deletes a field)."""
    body: dict[str, Any] = {
        "amount": {"currency": "KRW", "value": 15000},
        "orderId": new_key("order"),
        "orderName": "errors",
    }
    body |= over
    return {k: v for k, v in body.items() if v is not None}


# (id, SDK object, request, code) for requestPayment refusals in both modes.
BOTH_MODES = [
    ("bp-amount-string", BRANDPAY, request(amount={"currency": "KRW", "value": "15000"}), "INVALID_AMOUNT_VALUE"),
    ("bp-amount-fraction", BRANDPAY, request(amount={"currency": "KRW", "value": 1.5}), "INVALID_AMOUNT_VALUE"),
    ("bp-amount-missing", BRANDPAY, request(amount=None), "INVALID_AMOUNT_VALUE"),
    ("bp-below-zero", BRANDPAY, request(amount={"currency": "KRW", "value": -100}), "BELOW_ZERO_AMOUNT"),
    ("bp-metadata-keys", BRANDPAY, request(metadata={f"k{i}": "v" for i in range(6)}), "INVALID_METADATA"),
    ("bp-metadata-bracket", BRANDPAY, request(metadata={"a]": "v"}), "INVALID_METADATA"),
    ("bp-order-id", BRANDPAY, request(orderId="abc"), "INVALID_PARAMETERS"),
    ("bp-order-name", BRANDPAY, request(orderName="x" * 101), "INVALID_PARAMETERS"),
    ("bp-unknown-name", BRANDPAY, request(orderNmae="typo"), "INVALID_PARAMETERS"),
    ("pay-amount-string", PAYMENT, request(method="CARD", amount={"currency": "KRW", "value": "1"}), "INVALID_AMOUNT_VALUE"),
    ("pay-below-zero", PAYMENT, request(method="CARD", amount={"currency": "KRW", "value": -1}), "BELOW_ZERO_AMOUNT"),
    ("pay-currency", PAYMENT, request(method="CARD", amount={"currency": "USD", "value": 10}), "INVALID_AMOUNT_CURRENCY"),
    ("pay-metadata-long", PAYMENT, request(method="CARD", metadata={"k": "v" * 2001}), "INVALID_METADATA"),
    ("pay-order-id", PAYMENT, request(method="CARD", orderId="has space!"), "INVALID_PARAMETERS"),
    ("pay-method", PAYMENT, request(method="VIRTUAL_ACCOUNT"), "NOT_SUPPORTED_METHOD"),
]  # fmt: skip


def _refused_before_window(page: Any, toss: SandboxServer, customer: str) -> None:
    assert not overlay_open(page)
    assert toss.windows(customer) == []


@pytest.mark.parametrize("mode", ["promise", "redirect"])
@pytest.mark.parametrize(
    ("sdk", "body", "code"), [c[1:] for c in BOTH_MODES], ids=[c[0] for c in BOTH_MODES]
)
def test_request_payment_refused_before_window_both_modes(
    shop: Callable[..., Any],
    site: MerchantSite,
    toss: SandboxServer,
    sdk: str,
    body: dict[str, Any],
    code: str,
    mode: str,
) -> None:
    page = shop("v2")
    customer = new_key()
    if mode == "redirect":
        body = body | {"successUrl": site.success_url, "failUrl": site.fail_url}
    arg = {"ck": customer, "redirect": site.redirect_url, "body": body}
    track(page, f"{sdk}.requestPayment(a.body)", arg)
    got = outcome(page)
    assert (got["ok"], got["code"]) == (False, code)
    _refused_before_window(page, toss, customer)


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"successUrl": "/relative/success"}, "INCORRECT_SUCCESS_URL_FORMAT"),
        ({"failUrl": "javascript:alert(1)"}, "INCORRECT_FAIL_URL_FORMAT"),
        ({"failUrl": None}, "INVALID_PARAMETERS"),  # one URL: neither mode
    ],
)
@pytest.mark.parametrize("sdk", [BRANDPAY, PAYMENT], ids=["brandpay", "payment"])
def test_request_payment_bad_redirect_urls_refused(
    shop: Callable[..., Any],
    site: MerchantSite,
    toss: SandboxServer,
    sdk: str,
    change: dict[str, Any],
    code: str,
) -> None:
    page = shop("v2")
    customer = new_key()
    body = request(successUrl=site.success_url, failUrl=site.fail_url) | change
    if sdk == PAYMENT:
        body["method"] = "CARD"
    body = {k: v for k, v in body.items() if v is not None}
    track(
        page,
        f"{sdk}.requestPayment(a.body)",
        {"ck": customer, "redirect": site.redirect_url, "body": body},
    )
    assert outcome(page)["code"] == code
    _refused_before_window(page, toss, customer)


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (
            "TossPayments('nonsense').brandpay({customerKey: a.ck})",
            "INVALID_CLIENT_KEY",
        ),
        ("TossPayments('nonsense').payment({customerKey: a.ck})", "INVALID_CLIENT_KEY"),
        (
            "TossPayments(a.widget).brandpay({customerKey: a.ck})",
            "NOT_SUPPORTED_WIDGET_KEY",
        ),
        (
            "TossPayments(a.widget).payment({customerKey: a.ck})",
            "NOT_SUPPORTED_WIDGET_KEY",
        ),
        ("tp.widgets({customerKey: a.ck})", "NOT_SUPPORTED_API_INDIVIDUAL_KEY"),
        ("tp.brandpay({customerKey: 'x'})", "INVALID_CUSTOMER_KEY"),
        ("tp.brandpay({customerKey: 'k'.repeat(51)})", "INVALID_CUSTOMER_KEY"),
        ("tp.payment({customerKey: 'has space'})", "INVALID_CUSTOMER_KEY"),
        ("tp.brandpay({customerKey: TossPayments.ANONYMOUS})", "INVALID_CUSTOMER_KEY"),
        ("tp.brandpay({customerKey: a.secret})", "INSECURE_KEY_USAGE"),
        ("tp.payment({customerKey: a.secret})", "INSECURE_KEY_USAGE"),
        ("TossPayments(a.secret).payment({customerKey: a.ck})", "INSECURE_KEY_USAGE"),
    ],
)
def test_init_refusals_thrown_synchronously_as_typed_errors(
    shop: Callable[..., Any], make: str, code: str
) -> None:
    page = shop("v2")
    thrown = page.evaluate(
        f"""(a) => {{
          try {{ {make}; return null; }}
          catch (e) {{ return {{code: e.code, name: e.name, isError: e instanceof Error}}; }}
        }}""",
        {"ck": new_key(), "secret": SECRET, "widget": WIDGET_KEY},
    )
    pascal = "".join(w.capitalize() for w in code.split("_")) + "Error"
    assert thrown == {"code": code, "name": pascal, "isError": True}


def test_unknown_client_key_refused_before_window(
    shop: Callable[..., Any], site: MerchantSite, toss: SandboxServer
) -> None:
    page = shop("v2", "test_ck_noSuchMerchant0000")
    customer = new_key()
    track(
        page,
        f"{BRANDPAY}.addPaymentMethod()",
        {"ck": customer, "redirect": site.redirect_url},
    )
    assert outcome(page)["code"] == "INVALID_CLIENT_KEY"
    _refused_before_window(page, toss, customer)


@pytest.mark.parametrize(
    "method",
    ["addPaymentMethod", "openSettings", "changePassword", "requestBillingAuth"],
)
def test_unregistered_redirect_url_refused(
    shop: Callable[..., Any], toss: SandboxServer, method: str
) -> None:
    page = shop("v2")
    customer = new_key()
    arg = {"ck": customer, "redirect": "https://evil.example/callback"}
    track(page, f"{BRANDPAY}.{method}()", arg)
    assert outcome(page)["code"] == "NOT_REGISTERED_REDIRECT_URL"
    _refused_before_window(page, toss, customer)


@pytest.mark.parametrize("sdk", [BRANDPAY, PAYMENT], ids=["brandpay", "payment"])
def test_second_call_while_window_open_invalid_method_transaction(
    shop: Callable[..., Any], site: MerchantSite, sdk: str
) -> None:
    page = shop("v2")
    body = request(method="CARD") if sdk == PAYMENT else request()
    arg = {"ck": new_key(), "redirect": site.redirect_url, "body": body}
    page.evaluate(
        f"(a) => {{ {sdk}.requestPayment(a.body).catch(e => {{ window.first = e.code; }}); }}",
        arg,
    )
    frame = window_frame(page)
    frame.get_by_role("button", name=re.compile("취소")).wait_for()  # the window is up
    track(page, f"{sdk}.requestPayment(a.body)", arg)
    assert outcome(page)["code"] == "INVALID_METHOD_TRANSACTION"
    assert overlay_open(page)  # the first window is untouched
    page.get_by_role("button", name="닫기").click()
    page.wait_for_function("() => window.first !== undefined")
    assert page.evaluate("() => window.first") == "USER_CANCEL"


def test_promise_mode_with_full_page_window_not_supported_promise(
    shop: Callable[..., Any], site: MerchantSite, toss: SandboxServer
) -> None:
    page = shop("v2")
    customer = new_key()
    body = request(method="CARD", windowTarget="self")
    track(page, f"{PAYMENT}.requestPayment(a.body)", {"ck": customer, "body": body})
    assert outcome(page)["code"] == "NOT_SUPPORTED_PROMISE"
    _refused_before_window(page, toss, customer)


def test_one_touch_without_merchant_setting_need_merchant_one_touch_setting(
    shop: Callable[..., Any], site: MerchantSite, toss: SandboxServer
) -> None:
    client_key, _ = toss.create_merchant(one_touch=False)
    customer = new_key()
    toss.link_customer(customer, site.redirect_url, client_key=client_key)
    opened = len(toss.windows(customer))  # the registration's own window
    page = shop("v2", client_key)
    arg = {"ck": customer, "redirect": site.redirect_url}
    for method in ("changeOneTouchPay", "isOneTouchPayEnabled"):
        track(page, f"{BRANDPAY}.{method}()", arg)
        assert outcome(page)["code"] == "NEED_MERCHANT_ONE_TOUCH_SETTING", method
    assert not overlay_open(page)
    assert len(toss.windows(customer)) == opened


def test_is_one_touch_enabled_never_agreed_need_agreement_with_terms(
    shop: Callable[..., Any], site: MerchantSite
) -> None:
    page = shop("v2")
    track(
        page,
        f"{BRANDPAY}.isOneTouchPayEnabled()",
        {"ck": new_key(), "redirect": site.redirect_url},
    )
    assert outcome(page)["code"] == "NEED_AGREEMENT_WITH_TERMS"


@pytest.mark.parametrize("how", ["close button", "escape on page", "escape in window"])
@pytest.mark.parametrize("mode", ["promise", "redirect"])
def test_closing_the_window_user_cancel(
    shop: Callable[..., Any], site: MerchantSite, how: str, mode: str
) -> None:
    page = shop("v2")
    body = request()
    if mode == "redirect":
        body |= {"successUrl": site.success_url, "failUrl": site.fail_url}
    track(
        page,
        f"{BRANDPAY}.requestPayment(a.body)",
        {"ck": new_key(), "redirect": site.redirect_url, "body": body},
    )
    frame = window_frame(page)
    frame.get_by_role("button", name="결제 취소").wait_for()
    if how == "close button":
        page.get_by_role("button", name="닫기").click()
    elif how == "escape on page":
        page.get_by_role("button", name="닫기").focus()
        page.keyboard.press("Escape")
    else:
        escape_in_window(page, frame)
    got = outcome(page)
    assert (got["code"], got["name"]) == ("USER_CANCEL", "UserCancelError")
    assert not overlay_open(page)
    assert page.url == site.url + "/"  # the merchant's page stayed
    assert site.landed == []


def test_in_window_cancel_promise_mode_user_cancel(
    shop: Callable[..., Any], site: MerchantSite
) -> None:
    page = shop("v2")
    track(
        page,
        f"{BRANDPAY}.requestPayment(a.body)",
        {"ck": new_key(), "redirect": site.redirect_url, "body": request()},
    )
    window_frame(page).get_by_role("button", name="결제 취소").click()
    assert outcome(page)["code"] == "USER_CANCEL"


def test_destroy_aborts_open_window_payment_request_aborted(
    shop: Callable[..., Any], site: MerchantSite
) -> None:
    page = shop("v2")
    page.evaluate(
        "(a) => { window.pay = tp.payment({customerKey: a.ck}); harness.track(pay.requestPayment(a.body)); }",
        {"ck": new_key(), "body": request(method="CARD")},
    )
    page.wait_for_selector(OVERLAY)
    page.evaluate("() => pay.destroy()")
    got = outcome(page)
    assert (got["code"], got["name"]) == (
        "PAYMENT_REQUEST_ABORTED",
        "PaymentRequestAbortedError",
    )
    assert not overlay_open(page)
    # Nothing open: destroy() is safe (TossPaymentsPayment.destroy's own words).
    assert page.evaluate("() => pay.destroy().then(() => 'ok')") == "ok"


def test_redirect_url_failure_unknown(
    shop: Callable[..., Any], site: MerchantSite
) -> None:
    page = shop("v2")
    site.redirect_status = 500
    track(
        page,
        f"{BRANDPAY}.addPaymentMethod()",
        {"ck": new_key(), "redirect": site.redirect_url},
    )
    from .helpers import register_card

    register_card(window_frame(page))
    got = outcome(page)
    assert got["code"] == "UNKNOWN"
    assert "500" in got["message"]
    assert not overlay_open(page)


def test_below_minimum_amount_ends_on_fail_url_or_rejects(
    shop: Callable[..., Any], site: MerchantSite, toss: SandboxServer
) -> None:
    from .helpers import pay_with_pin

    customer = new_key()
    toss.link_customer(customer, site.redirect_url)
    page = shop("v2")
    low = request(amount={"currency": "KRW", "value": 99})
    arg = {"ck": customer, "redirect": site.redirect_url, "body": low}
    track(page, f"{BRANDPAY}.requestPayment(a.body)", arg)
    pay_with_pin(window_frame(page))
    assert outcome(page)["code"] == "BELOW_MINIMUM_AMOUNT"
    redirect = low | {
        "orderId": new_key("order"),
        "successUrl": site.success_url,
        "failUrl": site.fail_url,
    }
    page.evaluate(
        f"(a) => {{ {BRANDPAY}.requestPayment(a.body); }}", arg | {"body": redirect}
    )
    pay_with_pin(window_frame(page))
    page.wait_for_url(site.fail_url + "?**")
    assert "code=BELOW_MINIMUM_AMOUNT" in page.url
    assert f"orderId={redirect['orderId']}" in page.url


def test_widgets_exist_and_reject_not_emulated(shop: Callable[..., Any]) -> None:
    page = shop("v2")
    codes = page.evaluate(
        """async (key) => {
          const w = TossPayments(key).widgets({customerKey: TossPayments.ANONYMOUS});
          const out = {};
          for (const m of Object.keys(w)) { out[m] = await w[m]({}).catch(e => e.code); }
          return out;
        }""",
        WIDGET_KEY,
    )
    assert set(codes.values()) == {"SANDBOX_NOT_EMULATED"}
    assert len(codes) == 6
