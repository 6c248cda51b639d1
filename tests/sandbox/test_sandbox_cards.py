"""The standard/international card windows and `POST /v1/payments/confirm` (§6.1)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from wallet.sandbox.catalog import (
    DECLINED_FOREIGN_CARD,
    DECLINED_TEST_CARD,
    FOREIGN_CARDS,
    USD_RATE,
)
from wallet.sandbox.testing import ANONYMOUS, SandboxServer, WindowRefused, query_of

from .helpers import FAIL, SUCCESS, Api, Customer, confirm_body, new_key, wait_in_flight

CORE = "/v1/payments/confirm"
BRANDPAY = "/v1/brandpay/payments/confirm"


def card_window(
    toss: SandboxServer, amount: int = 15000, customer: str = ANONYMOUS, **kw: Any
) -> dict[str, str]:
    """Pay in the card window; returns the successUrl query."""
    order_id = kw.pop("order_id", None) or new_key("card")
    location = toss.authorize_card_payment(
        customer, order_id, amount, "샌드박스 머그컵", SUCCESS, FAIL, **kw
    )
    assert location.startswith(SUCCESS), location
    return query_of(location)


def core_body(q: dict[str, str], **over: Any) -> dict[str, Any]:
    """Core confirm body from a successUrl query: {paymentKey, orderId, amount}."""
    body = {"paymentKey": q["paymentKey"], "orderId": q["orderId"]}
    return body | {"amount": int(q["amount"])} | over


def test_card_window_success_redirect_exact_params_and_session(
    toss: SandboxServer,
) -> None:
    order_id = new_key("card")
    location = toss.authorize_card_payment(
        ANONYMOUS, order_id, 15000, "머그컵", SUCCESS + "?shop=1", FAIL
    )
    parts = urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == SUCCESS
    q = query_of(location)
    assert set(q) == {"shop", "amount", "orderId", "paymentKey"}
    assert (q["orderId"], q["amount"]) == (order_id, "15000")
    session = toss.payment(q["paymentKey"])
    assert session is not None
    assert (session["status"], session["type"]) == ("IN_PROGRESS", "NORMAL")


def test_core_confirm_done_normal_card_payment_fields(
    toss: SandboxServer, api: Api
) -> None:
    q = card_window(toss, metadata={"cart": "c-17", "channel": "web"})
    resp = api.post(CORE, core_body(q))
    assert resp.status_code == 200, resp.text
    p = resp.json()
    assert (p["status"], p["type"], p["method"]) == ("DONE", "NORMAL", "카드")
    assert p["country"] == "KR"
    assert p["metadata"] == {"cart": "c-17", "channel": "web"}
    card = p["card"]
    assert card["number"] == "43301234****123*"
    assert (card["cardType"], card["ownerType"]) == ("신용", "개인")
    assert (card["issuerCode"], card["acquirerCode"]) == ("61", "61")
    assert (card["installmentPlanMonths"], card["isInterestFree"]) == (0, False)
    assert card["useCardPoint"] is False
    assert len(card["approveNo"]) == 8
    assert card["approveNo"].isdigit()
    assert p["receipt"]["url"].startswith(toss.base_url)
    assert p["easyPay"] is None


@pytest.mark.parametrize("card", FOREIGN_CARDS[:4], ids=lambda c: c.card_name)
def test_international_window_foreign_card_country_and_issuer(
    toss: SandboxServer, api: Api, card: Any
) -> None:
    q = card_window(toss, international=True, card_number=card.number)
    p = api.post(CORE, core_body(q)).json()
    assert p["status"] == "DONE"
    assert (p["country"], p["card"]["issuerCode"]) == (card.country, card.issuer_code)
    assert p["currency"] == "KRW"  # contract §6.1: the currency stays KRW


def test_international_window_refuses_domestic_card_not_supported_card_type(
    toss: SandboxServer,
) -> None:
    order_id = new_key("card")
    with pytest.raises(WindowRefused) as info:
        toss.authorize_card_payment(
            ANONYMOUS,
            order_id,
            15000,
            "x",
            SUCCESS,
            FAIL,
            "4330123412341234",
            international=True,
        )
    assert info.value.code == "NOT_SUPPORTED_CARD_TYPE"
    assert toss.payment_by_order(order_id) is None


def test_domestic_window_refuses_foreign_and_unknown_cards(
    toss: SandboxServer,
) -> None:
    for number, code in (
        (FOREIGN_CARDS[0].number, "NOT_SUPPORTED_CARD_TYPE"),
        ("1111222233334444", "INVALID_CARD_NUMBER"),
    ):
        with pytest.raises(WindowRefused) as info:
            toss.authorize_card_payment(
                ANONYMOUS, new_key("card"), 1000, "x", SUCCESS, FAIL, number
            )
        assert info.value.code == code


@pytest.mark.parametrize(
    ("number", "international"),
    [(DECLINED_TEST_CARD, False), (DECLINED_FOREIGN_CARD, True)],
)
def test_card_window_declined_card_fail_url_and_aborted(
    toss: SandboxServer, number: str, international: bool
) -> None:
    order_id = new_key("card")
    location = toss.authorize_card_payment(
        ANONYMOUS, order_id, 1000, "x", SUCCESS, FAIL, number,
        international=international,
    )  # fmt: skip
    q = query_of(location)
    assert location.startswith(FAIL)
    assert set(q) == {"code", "message", "orderId"}
    assert (q["code"], q["orderId"]) == ("REJECT_CARD_COMPANY", order_id)
    assert toss.payment_by_order(order_id)["status"] == "ABORTED"  # type: ignore[index]


def test_card_window_cancel_fail_url_without_order_id(toss: SandboxServer) -> None:
    location = toss.authorize_card_payment(
        ANONYMOUS, new_key("card"), 1000, "x", SUCCESS, FAIL, cancel=True
    )
    q = query_of(location)
    assert set(q) == {"code", "message"}
    assert q["code"] == "PAY_PROCESS_CANCELED"


def test_card_window_below_100_below_minimum_amount(toss: SandboxServer) -> None:
    low = toss.authorize_card_payment(ANONYMOUS, new_key("c"), 99, "x", SUCCESS, FAIL)
    assert query_of(low)["code"] == "BELOW_MINIMUM_AMOUNT"
    assert card_window(toss, amount=100)["amount"] == "100"


def test_card_window_installments_points_and_escrow_reach_payment(
    toss: SandboxServer, api: Api
) -> None:
    chosen = card_window(
        toss, amount=60000, installment=3, use_card_point=True, card={"useEscrow": True}
    )
    p = api.post(CORE, core_body(chosen)).json()
    assert p["card"]["installmentPlanMonths"] == 3
    assert p["card"]["useCardPoint"] is True
    assert p["useEscrow"] is True
    toss.advance_clock(1.1)
    fixed = card_window(toss, amount=60000, card={"cardInstallmentPlan": 6})
    assert api.post(CORE, core_body(fixed)).json()["card"]["installmentPlanMonths"] == 6
    toss.advance_clock(1.1)
    # v2 typings: installments apply only from 50,000 KRW; below, a lump sum.
    small = card_window(toss, amount=49000, card={"cardInstallmentPlan": 6})
    assert api.post(CORE, core_body(small)).json()["card"]["installmentPlanMonths"] == 0


def test_card_window_escrow_without_consent_refused(toss: SandboxServer) -> None:
    window = toss.open_window(
        "payment.requestPayment",
        ANONYMOUS,
        {
            "method": "CARD",
            "amount": {"currency": "KRW", "value": 1000},
            "orderId": new_key("card"),
            "orderName": "x",
            "successUrl": SUCCESS,
            "failUrl": FAIL,
            "card": {"useEscrow": True},
        },
    )
    resp = requests.post(
        window["url"].split("?")[0],
        data={
            "window": window["id"],
            "cardNumber": "4330123412341234",
            "action": "pay",
        },
        allow_redirects=False,
        timeout=5,
    )
    assert resp.status_code == 422
    assert "NEED_AGREEMENT_WITH_TERMS" in resp.text


def test_international_window_english_default_usd_estimate_and_language_switch(
    toss: SandboxServer,
) -> None:
    window = _intl_window(toss, 27000)
    page = requests.get(window["url"], timeout=5).text
    assert '<html lang="en">' in page
    assert "KRW 27,000" in page
    assert f"USD {27000 / USD_RATE:,.2f}" in page  # ≈ USD 20.00
    assert f"1 USD = {USD_RATE:,} KRW" in page
    for lang, word in (("ko", "결제하기"), ("zh", "支付"), ("ja", "支払う")):
        switched = requests.get(window["url"] + f"&lang={lang}", timeout=5).text
        assert f'<html lang="{lang}">' in switched
        assert word in switched
    hidden = _intl_window(toss, 27000, showEstimatedAmount=False, language="JA")
    page = requests.get(hidden["url"], timeout=5).text
    assert '<html lang="ja">' in page
    assert "USD" not in page.split("<form")[0]


def _intl_window(toss: SandboxServer, amount: int, **card: Any) -> dict[str, Any]:
    return toss.open_window(
        "payment.requestPayment",
        ANONYMOUS,
        {
            "method": "CARD",
            "amount": {"currency": "KRW", "value": amount},
            "orderId": new_key("intl"),
            "orderName": "Souvenir",
            "successUrl": SUCCESS,
            "failUrl": FAIL,
            "card": {"useInternationalCardOnly": True, **card},
        },
    )


def test_core_confirm_after_10_minutes_404_session_and_expired(
    toss: SandboxServer, api: Api
) -> None:
    q = card_window(toss)
    toss.advance_clock(601)
    resp = api.post(CORE, core_body(q))
    assert (resp.status_code, resp.json()["code"]) == (404, "NOT_FOUND_PAYMENT_SESSION")
    assert api.get(f"/v1/payments/{q['paymentKey']}").json()["status"] == "EXPIRED"


def test_core_confirm_other_order_or_merchant_403_forbidden_request(
    toss: SandboxServer, api: Api
) -> None:
    q = card_window(toss)
    resp = api.post(CORE, core_body(q, orderId=new_key("other")))
    assert (resp.status_code, resp.json()["code"]) == (403, "FORBIDDEN_REQUEST")
    toss.advance_clock(1.1)
    _, other_secret = toss.create_merchant()
    resp = api.post(CORE, core_body(q), secret=other_secret)
    assert (resp.status_code, resp.json()["code"]) == (403, "FORBIDDEN_REQUEST")
    assert toss.payment(q["paymentKey"])["status"] == "IN_PROGRESS"  # type: ignore[index]


def test_core_confirm_bad_key_401_and_amount_mismatch_400(
    toss: SandboxServer, api: Api
) -> None:
    q = card_window(toss)
    bad = api.post(CORE, core_body(q), secret="test_sk_unknown")
    assert (bad.status_code, bad.json()["code"]) == (401, "UNAUTHORIZED_KEY")
    wrong = api.post(CORE, core_body(q, amount=14000))
    assert (wrong.status_code, wrong.json()["code"]) == (400, "INVALID_REQUEST")
    unknown = api.post(CORE, core_body(q, paymentKey="tnp_nope"))
    assert unknown.json()["code"] == "NOT_FOUND_PAYMENT_SESSION"


def test_core_confirm_repeat_already_processed_and_throttle(
    toss: SandboxServer, api: Api
) -> None:
    q = card_window(toss)
    assert api.post(CORE, core_body(q)).status_code == 200
    throttled = api.post(CORE, core_body(q))
    assert (throttled.status_code, throttled.json()["code"]) == (
        403,
        "FORBIDDEN_CONSECUTIVE_REQUEST",
    )
    toss.advance_clock(1.1)
    again = api.post(CORE, core_body(q))
    assert again.json()["code"] == "ALREADY_PROCESSED_PAYMENT"


def test_core_confirm_idempotency_key_replays_and_in_flight_409(
    toss: SandboxServer, api: Api
) -> None:
    q = card_window(toss)
    headers = {"Idempotency-Key": new_key("idem")}
    toss.set_fault(CORE, latency=30, times=1)
    results: list[requests.Response] = []
    first = threading.Thread(
        target=lambda: results.append(
            Api(toss).post(CORE, core_body(q), headers=headers)
        )
    )
    first.start()
    wait_in_flight(toss)
    dup = api.post(CORE, core_body(q), headers=headers)
    toss.clear_faults()
    first.join()
    assert (dup.status_code, dup.json()["code"]) == (
        409,
        "IDEMPOTENT_REQUEST_PROCESSING",
    )
    replay = api.post(CORE, core_body(q), headers=headers)
    assert replay.json() == results[0].json()
    assert results[0].json()["status"] == "DONE"


def test_core_confirm_test_code_forces_error_without_effect(
    toss: SandboxServer, api: Api
) -> None:
    q = card_window(toss)
    headers = {"TossPayments-Test-Code": "REJECT_CARD_COMPANY"}
    resp = api.post(CORE, core_body(q), headers=headers)
    assert (resp.status_code, resp.json()["code"]) == (403, "REJECT_CARD_COMPANY")
    assert toss.payment(q["paymentKey"])["status"] == "IN_PROGRESS"  # type: ignore[index]


@pytest.mark.parametrize(
    ("fault", "status", "effect"),
    [({"status": 503}, 503, False), ({"drop": "500"}, 500, True)],
)
def test_core_confirm_faults_5xx_without_and_with_effect(
    toss: SandboxServer, api: Api, fault: dict[str, Any], status: int, effect: bool
) -> None:
    q = card_window(toss)
    toss.set_fault(CORE, times=1, **fault)
    assert api.post(CORE, core_body(q)).status_code == status
    stored = toss.payment(q["paymentKey"])["status"]  # type: ignore[index]
    assert stored == ("DONE" if effect else "IN_PROGRESS")


def test_core_confirm_drop_close_then_lookup_done(
    toss: SandboxServer, api: Api
) -> None:
    q = card_window(toss)
    toss.set_fault(CORE, drop="close", times=1)
    with pytest.raises(requests.ConnectionError):
        api.post(CORE, core_body(q))
    assert api.get(f"/v1/payments/orders/{q['orderId']}").json()["status"] == "DONE"


def test_core_confirm_hang_times_out_without_effect(
    toss: SandboxServer, api: Api
) -> None:
    q = card_window(toss)
    toss.set_fault(CORE, hang=5, times=1)
    with pytest.raises(requests.RequestException):
        api.post(CORE, core_body(q), timeout=0.5)
    toss.clear_faults()
    assert toss.payment(q["paymentKey"])["status"] == "IN_PROGRESS"  # type: ignore[index]


def test_confirm_apis_do_not_cross_normal_and_brandpay_sessions(
    toss: SandboxServer,
    api: Api,
    link: Callable[..., Customer],
    authorize: Callable[..., dict[str, str]],
) -> None:
    card = card_window(toss)
    customer = link()
    brandpay = authorize(customer)
    as_brandpay = api.post(BRANDPAY, confirm_body(card, customer))
    assert as_brandpay.json()["code"] == "NOT_FOUND_PAYMENT_SESSION"
    as_core = api.post(CORE, core_body(brandpay))
    assert as_core.json()["code"] == "NOT_FOUND_PAYMENT_SESSION"


def test_normal_payment_lookup_cancel_and_webhooks_like_brandpay(
    toss: SandboxServer, api: Api, receiver: Any
) -> None:
    q = card_window(toss, customer="ck_member0001")
    done = api.post(CORE, core_body(q)).json()
    toss.advance_clock(1.1)
    assert api.get(f"/v1/payments/{q['paymentKey']}").json() == done
    partial = api.post(
        f"/v1/payments/{q['paymentKey']}/cancel",
        {"cancelReason": "부분 환불", "cancelAmount": 5000},
    ).json()
    assert (partial["status"], partial["balanceAmount"]) == ("PARTIAL_CANCELED", 10000)
    assert partial["card"]["approveNo"] == done["card"]["approveNo"]  # stable
    got = receiver.wait_for(
        lambda r: (
            len([x for x in r if x.body["data"].get("orderId") == q["orderId"]]) >= 2
        )
    )
    statuses = [
        x.body["data"]["status"]
        for x in got
        if x.body["data"].get("orderId") == q["orderId"]
    ]
    assert statuses == ["DONE", "PARTIAL_CANCELED"]


def test_card_billing_auth_success_url_auth_key_and_customer_key(
    toss: SandboxServer,
) -> None:
    window = toss.open_window(
        "payment.requestBillingAuth",
        "ck_billing0001",
        {"method": "CARD", "successUrl": SUCCESS, "failUrl": FAIL},
    )
    location = toss.submit_window(  # the same step a person does on the page
        window, {"cardNumber": "4330123412341234", "action": "submit"}
    )
    q = query_of(location)
    assert location.startswith(SUCCESS)
    assert set(q) == {"authKey", "customerKey"}
    assert q["customerKey"] == "ck_billing0001"


@pytest.mark.parametrize(
    ("customer", "params", "code"),
    [
        (ANONYMOUS, {"method": "CARD"}, "INVALID_CUSTOMER_KEY"),
        ("ck_billing0002", {"method": "TRANSFER"}, "NOT_SUPPORTED_METHOD"),
        (
            "ck_billing0003",
            {"method": "CARD", "successUrl": SUCCESS},
            "INCORRECT_FAIL_URL_FORMAT",
        ),
    ],
)
def test_card_billing_auth_refusals(
    toss: SandboxServer, customer: str, params: dict[str, Any], code: str
) -> None:
    full = {"successUrl": SUCCESS, "failUrl": FAIL} | params
    if code == "INCORRECT_FAIL_URL_FORMAT":
        full.pop("failUrl")
    with pytest.raises(WindowRefused) as info:
        toss.open_window("payment.requestBillingAuth", customer, full)
    assert info.value.code == code
