"""The SDK shim (contract §6) and hosted pages' redirects (§2, §4), over real HTTP."""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
import requests

from wallet.sandbox.catalog import DECLINED_TEST_CARD, TEST_PIN
from wallet.sandbox.testing import SandboxServer, query_of

from .helpers import FAIL, REDIRECT, SUCCESS, Api, Customer, new_key

SDK_METHODS = (
    "requestPayment",
    "addPaymentMethod",
    "openSettings",
    "getPaymentMethods",
    "requestAgreement",
    "isOneTouchPayEnabled",
    "toggleOneTouchPay",
    "authenticate",
    "requestPaymentAuth",
    "requestPasswordAuth",
    "setupPassword",
    "setupOneTouchPay",
    "createPaymentMethodsWidget",
    "setupCashReceipt",
    "getPaymentParams",
    "changePassword",
    "changeOneTouchPay",
)


def _session(customer_key: str, **extra: str) -> dict[str, str]:
    params = {
        "clientKey": SandboxServer.client_key,
        "customerKey": customer_key,
        "redirectUrl": REDIRECT,
    }
    return params | extra


def _pay_query(customer_key: str, **extra: str) -> dict[str, str]:
    """Query of the hosted pay page as the shim builds it."""
    return (
        _session(customer_key)
        | {
            "amount": "1000",
            "orderId": new_key("o"),
            "orderName": "x",
            "successUrl": SUCCESS,
            "failUrl": FAIL,
        }
        | extra
    )


def test_shim_served_at_sdk_path_with_v1_interface(toss: SandboxServer) -> None:
    resp = requests.get(toss.base_url + "/v1/brandpay", timeout=5)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("application/javascript")
    js = resp.text
    assert "global.BrandPay = BrandPay" in js
    assert "global.Brandpay = BrandPay" in js
    for name in SDK_METHODS:
        assert name in js, name
    assert f'var SANDBOX = "{toss.base_url}"' in js


def test_link_redirect_exact_code_and_customer_key(toss: SandboxServer) -> None:
    key = new_key()
    location = toss.link_customer(key, REDIRECT + "?next=%2Fwallet")
    parts = urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == REDIRECT
    q = query_of(location)
    assert set(q) == {"next", "code", "customerKey"}
    assert (q["customerKey"], q["next"]) == (key, "/wallet")
    assert len(toss.methods(key)["cards"]) == 1


def test_register_page_unregistered_redirect_url_400_not_registered() -> None:
    config = {
        "SANDBOX_REDIRECT_URLS": "https://shop.example/cb,https://shop.example/cb2"
    }
    with SandboxServer(config) as toss:
        params = _session(new_key(), redirectUrl="https://evil.example/cb")
        page = requests.get(
            toss.base_url + "/_hosted/register", params=params, timeout=5
        )
        assert page.status_code == 400
        assert "NOT_REGISTERED_REDIRECT_URL" in page.text
        api = requests.get(
            toss.base_url + "/_hosted/api/session", params=params, timeout=5
        )
        assert api.json()["code"] == "NOT_REGISTERED_REDIRECT_URL"
        assert api.headers["Access-Control-Allow-Origin"] == "*"
        good = toss.link_customer(new_key(), "https://shop.example/cb2")
        assert good.startswith("https://shop.example/cb2?code=")


def test_register_page_non_loopback_without_registered_urls_400(
    toss: SandboxServer,
) -> None:
    params = _session(new_key(), redirectUrl="http://shop.example/cb")
    page = requests.get(toss.base_url + "/_hosted/register", params=params, timeout=5)
    assert page.status_code == 400
    assert "NOT_REGISTERED_REDIRECT_URL" in page.text


def test_register_page_secret_key_as_client_key_400_insecure(
    toss: SandboxServer,
) -> None:
    params = _session(new_key(), clientKey=toss.secret_key)
    page = requests.get(toss.base_url + "/_hosted/register", params=params, timeout=5)
    assert page.status_code == 400
    assert "INSECURE_KEY_USAGE" in page.text


def test_register_page_unknown_card_422_invalid_card_number(
    toss: SandboxServer,
) -> None:
    key = new_key()
    with pytest.raises(RuntimeError, match="INVALID_CARD_NUMBER"):
        toss.add_card(key, REDIRECT, "1111222233334444")
    assert toss.methods(key)["cards"] == []


def test_register_page_terms_unticked_422_need_agreement(toss: SandboxServer) -> None:
    data = _session(new_key(), methodType="카드") | {
        "cardNumber": "4330123412341234",
        "action": "submit",
    }
    resp = requests.post(
        toss.base_url + "/_hosted/register", data=data, allow_redirects=False, timeout=5
    )
    assert resp.status_code == 422
    assert "NEED_AGREEMENT_WITH_TERMS" in resp.text


def test_register_page_cancel_returns_to_calling_page(toss: SandboxServer) -> None:
    data = _session(new_key(), returnUrl="http://127.0.0.1:5999/wallet") | {
        "action": "cancel"
    }
    resp = requests.post(
        toss.base_url + "/_hosted/register", data=data, allow_redirects=False, timeout=5
    )
    assert resp.headers["Location"] == "http://127.0.0.1:5999/wallet"


def test_register_page_labels_every_input_and_no_external_assets(
    toss: SandboxServer,
) -> None:
    page = requests.get(
        toss.base_url + "/_hosted/register",
        params=_session(new_key()),
        timeout=5,
    ).text
    ids = re.findall(
        r'<(?:input|select)(?![^>]*type="hidden")[^>]*\bid="([^"]+)"', page
    )
    assert ids
    for ident in ids:
        assert f'for="{ident}"' in page, ident
    for url in re.findall(r'(?:src|href)="([^"]+)"', page):
        assert not url.startswith(("http:", "https:", "//")), url
    assert DECLINED_TEST_CARD in page  # test cards are listed on the page


def test_agreement_mode_redirects_with_code_and_records_terms(
    toss: SandboxServer, api: Api
) -> None:
    key = new_key()
    data = _session(key, mode="agreement", scope="회원가입") | {
        "termsId": ["1", "2", "3", "4"],
        "action": "submit",
    }
    resp = requests.post(
        toss.base_url + "/_hosted/register", data=data, allow_redirects=False, timeout=5
    )
    assert resp.status_code == 302
    assert set(query_of(resp.headers["Location"])) == {"code", "customerKey"}
    terms = api.get(f"/v1/brandpay/terms?customerKey={key}&scope=REGISTER").json()
    assert all(t["agreed"] for t in terms)


def test_pay_page_success_redirect_exact_params(
    toss: SandboxServer, link: Callable[..., Customer]
) -> None:
    customer = link()
    order_id = new_key("order")
    location = toss.authorize_payment(
        customer.key, order_id, 15000, "티셔츠", SUCCESS + "?ck=x", FAIL
    )
    parts = urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == SUCCESS
    q = query_of(location)
    assert set(q) == {"ck", "paymentKey", "orderId", "amount"}
    assert (q["orderId"], q["amount"]) == (order_id, "15000")
    assert toss.payment(q["paymentKey"])["status"] == "IN_PROGRESS"  # type: ignore[index]


def test_pay_page_cancel_fail_redirect_without_order_id(
    toss: SandboxServer, link: Callable[..., Customer]
) -> None:
    customer = link()
    location = toss.authorize_payment(
        customer.key, new_key("order"), 1000, "x", SUCCESS, FAIL, cancel=True
    )
    assert location.startswith(FAIL + "?")
    q = query_of(location)
    assert set(q) == {"code", "message"}  # contract §4: no orderId here
    assert q["code"] == "PAY_PROCESS_CANCELED"


def test_pay_page_wrong_pin_fail_redirect_invalid_password(
    toss: SandboxServer, link: Callable[..., Customer]
) -> None:
    customer = link()
    order_id = new_key("order")
    location = toss.authorize_payment(
        customer.key, order_id, 1000, "x", SUCCESS, FAIL, pin="000000"
    )
    q = query_of(location)
    assert set(q) == {"code", "message", "orderId"}
    assert (q["code"], q["orderId"]) == ("INVALID_PASSWORD", order_id)
    assert toss.payment_by_order(order_id) is None


def test_pay_page_declined_card_reject_card_company_and_aborted(
    toss: SandboxServer, link: Callable[..., Customer]
) -> None:
    customer = link(card=DECLINED_TEST_CARD)
    order_id = new_key("order")
    location = toss.authorize_payment(customer.key, order_id, 1000, "x", SUCCESS, FAIL)
    q = query_of(location)
    assert (q["code"], q["orderId"]) == ("REJECT_CARD_COMPANY", order_id)
    payment = toss.payment_by_order(order_id)
    assert payment is not None
    assert payment["status"] == "ABORTED"
    assert payment["failure"]["code"] == "REJECT_CARD_COMPANY"


def test_pay_page_card_below_100_below_minimum_amount(
    toss: SandboxServer, link: Callable[..., Customer]
) -> None:
    customer = link()
    q = query_of(
        toss.authorize_payment(customer.key, new_key("o"), 99, "x", SUCCESS, FAIL)
    )
    assert q["code"] == "BELOW_MINIMUM_AMOUNT"
    ok = toss.authorize_payment(customer.key, new_key("o"), 100, "x", SUCCESS, FAIL)
    assert ok.startswith(SUCCESS)


def test_pay_page_account_below_200_below_minimum_amount(
    toss: SandboxServer, link: Callable[..., Customer]
) -> None:
    customer = link()
    toss.add_account(customer.key, REDIRECT)
    account_id = toss.methods(customer.key)["accounts"][0]["id"]
    low = toss.authorize_payment(
        customer.key, new_key("o"), 199, "x", SUCCESS, FAIL, method_id=account_id
    )
    assert query_of(low)["code"] == "BELOW_MINIMUM_AMOUNT"
    ok = toss.authorize_payment(
        customer.key, new_key("o"), 200, "x", SUCCESS, FAIL, method_id=account_id
    )
    assert ok.startswith(SUCCESS)


def test_pay_page_non_krw_currency_400_invalid_parameters(
    toss: SandboxServer, link: Callable[..., Customer]
) -> None:
    customer = link()
    params = _pay_query(customer.key, currency="USD")
    page = requests.get(toss.base_url + "/_hosted/pay", params=params, timeout=5)
    assert page.status_code == 400
    assert "INVALID_PARAMETERS" in page.text


def test_pay_page_done_order_again_duplicated_order_id(
    toss: SandboxServer, link: Callable[..., Customer], paid: Callable[..., dict]
) -> None:
    customer = link()
    done = paid(customer)
    location = toss.authorize_payment(
        customer.key, done["orderId"], 15000, "x", SUCCESS, FAIL
    )
    assert query_of(location)["code"] == "DUPLICATED_ORDER_ID"


def test_pay_page_lists_methods_with_pin_field(
    toss: SandboxServer, link: Callable[..., Customer]
) -> None:
    customer = link()
    params = _pay_query(customer.key)
    page = requests.get(toss.base_url + "/_hosted/pay", params=params, timeout=5).text
    assert f'value="{customer.method_id}" checked' in page
    assert '<label for="pin">' in page
    assert TEST_PIN in page


def test_sdk_methods_endpoint_v1_shape_with_cors(
    toss: SandboxServer, link: Callable[..., Customer]
) -> None:
    customer = link()
    resp = requests.get(
        toss.base_url + "/_hosted/api/methods",
        params={"clientKey": toss.client_key, "customerKey": customer.key},
        timeout=5,
    )
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    body = resp.json()
    (card,) = body["cards"]
    assert card["isAvailable"] is True
    assert "methodKey" not in card  # the SDK exposes ids only (contract §3)
    assert set(card["icons"]) == {"normal", "fill", "square"}
    assert body["selectedMethodId"] == customer.method_id


def test_sdk_one_touch_toggle_flips_state(
    toss: SandboxServer, link: Callable[..., Customer]
) -> None:
    customer = link()
    params = {"clientKey": toss.client_key, "customerKey": customer.key}
    url = toss.base_url + "/_hosted/api/one-touch"
    assert requests.get(url, params=params, timeout=5).json() == {"isEnabled": False}
    assert requests.post(url, params=params, timeout=5).json() == {"isEnabled": True}
    assert requests.get(url, params=params, timeout=5).json() == {"isEnabled": True}


def test_settings_page_remove_disables_method(
    toss: SandboxServer, link: Callable[..., Customer]
) -> None:
    customer = link()
    page = requests.get(
        toss.base_url + "/_hosted/settings", params=_session(customer.key), timeout=5
    )
    assert customer.method_id in page.text
    resp = requests.post(
        toss.base_url + "/_hosted/settings",
        data=_session(customer.key, methodId=customer.method_id, action="remove"),
        allow_redirects=False,
        timeout=5,
    )
    assert resp.status_code == 302
    assert toss.methods(customer.key)["cards"] == []
