"""Autopay `POST /v1/brandpay/payments` (contract §4, issue 15) over real HTTP."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
import requests

from wallet.sandbox.catalog import DECLINED_TEST_CARD
from wallet.sandbox.testing import SandboxServer

from .helpers import REDIRECT, Api, Customer, first_method, new_key, wait_in_flight

AUTOPAY = "/v1/brandpay/payments"
BILLING_TERM = 7  # the BILLING scope's term in the sandbox catalogue


def agree_billing(api: Api, customer_key: str) -> None:
    """The server-side route to a billing agreement (terms/agree, contract §5)."""
    resp = api.post(
        "/v1/brandpay/terms/agree",
        {"customerKey": customer_key, "scope": ["BILLING"], "termsId": [BILLING_TERM]},
    )
    assert resp.status_code == 200, resp.text


def charge_body(customer: Customer, method_key: str, **over: Any) -> dict[str, Any]:
    """A valid autopay request for this customer's method."""
    body = {
        "customerKey": customer.key,
        "methodKey": method_key,
        "amount": 9900,
        "orderId": new_key("sub"),
        "orderName": "월간 구독",
    }
    return body | over


def billed(api: Api, link: Callable[..., Customer], **kw: Any) -> tuple[Customer, str]:
    """A linked customer with a billing agreement and their card's methodKey."""
    customer = link(**kw)
    agree_billing(api, customer.key)
    return customer, first_method(api, customer.key)["methodKey"]


def test_autopay_card_done_brandpay_payment_findable_and_cancellable(
    toss: SandboxServer, api: Api, link: Callable[..., Customer]
) -> None:
    customer, method_key = billed(api, link)
    body = charge_body(customer, method_key, metadata={"plan": "basic"})
    resp = api.post(AUTOPAY, body)
    assert resp.status_code == 200, resp.text
    p = resp.json()
    assert (p["status"], p["type"], p["method"]) == ("DONE", "BRANDPAY", "카드")
    assert (p["orderId"], p["totalAmount"]) == (body["orderId"], 9900)
    assert p["approvedAt"] is not None
    assert len(p["card"]["approveNo"]) == 8
    assert p["card"]["approveNo"].isdigit()
    assert p["country"] == "KR"
    found = api.get(f"/v1/payments/orders/{body['orderId']}").json()
    assert found["paymentKey"] == p["paymentKey"]
    toss.advance_clock(1.1)
    canceled = api.post(
        f"/v1/payments/{p['paymentKey']}/cancel", {"cancelReason": "해지"}
    ).json()
    assert canceled["status"] == "CANCELED"
    assert canceled["card"]["approveNo"] == p["card"]["approveNo"]  # stable


def test_autopay_options_reach_the_payment(
    api: Api, link: Callable[..., Customer]
) -> None:
    customer, method_key = billed(api, link)
    body = charge_body(
        customer,
        method_key,
        amount=60000,
        cardInstallmentPlan=3,
        useCardPoint=True,
        taxFreeAmount=1000,
        customerEmail="member@example.com",
        discountCode="NONE",
        shippingAddress="서울",
    )
    p = api.post(AUTOPAY, body).json()
    assert p["card"]["installmentPlanMonths"] == 3
    assert p["card"]["useCardPoint"] is True
    assert p["taxFreeAmount"] == 1000
    assert p["suppliedAmount"] + p["vat"] == 59000


def test_autopay_account_cash_receipt_and_culture_expense(
    toss: SandboxServer, api: Api, link: Callable[..., Customer]
) -> None:
    customer = link()
    toss.add_account(customer.key, REDIRECT)
    agree_billing(api, customer.key)
    account = first_method(api, customer.key, "accounts")
    body = charge_body(
        customer,
        account["methodKey"],
        cultureExpense=True,
        cashReceipt={
            "type": "소득공제",
            "registrationNumber": "01012345678",
            "registrationNumberType": "MOBILE",
        },
    )
    p = api.post(AUTOPAY, body).json()
    assert (p["method"], p["cultureExpense"]) == ("계좌이체", True)
    assert p["transfer"]["settlementStatus"] == "COMPLETED"
    assert p["cashReceipt"]["type"] == "소득공제"
    assert p["cashReceipt"]["amount"] == 9900


def test_autopay_without_billing_agreement_403_need_agreement(
    toss: SandboxServer, api: Api, link: Callable[..., Customer]
) -> None:
    customer = link()
    method_key = first_method(api, customer.key)["methodKey"]
    body = charge_body(customer, method_key)
    resp = api.post(AUTOPAY, body)
    assert (resp.status_code, resp.json()["code"]) == (403, "NEED_AGREEMENT_WITH_TERMS")
    assert toss.payment_by_order(body["orderId"]) is None


def test_autopay_other_customers_method_404_ownership(
    toss: SandboxServer, api: Api, link: Callable[..., Customer]
) -> None:
    alice, _ = billed(api, link)
    _, bobs_method = billed(api, link)
    body = charge_body(alice, bobs_method)
    resp = api.post(AUTOPAY, body)
    assert (resp.status_code, resp.json()["code"]) == (
        404,
        "NOT_FOUND_METHOD_OWNERSHIP",
    )
    assert toss.payment_by_order(body["orderId"]) is None


def test_autopay_removed_or_unknown_method_404_not_found_method(
    api: Api, link: Callable[..., Customer]
) -> None:
    customer, method_key = billed(api, link)
    unknown = api.post(AUTOPAY, charge_body(customer, "mk_nope"))
    assert (unknown.status_code, unknown.json()["code"]) == (404, "NOT_FOUND_METHOD")
    api.post(
        "/v1/brandpay/payments/methods/card/remove",
        {"methodKey": method_key},
        token=customer.access,
    )
    removed = api.post(AUTOPAY, charge_body(customer, method_key))
    assert (removed.status_code, removed.json()["code"]) == (404, "NOT_FOUND_METHOD")


def test_autopay_other_merchants_method_404_not_found_method(
    toss: SandboxServer, api: Api, link: Callable[..., Customer]
) -> None:
    customer, method_key = billed(api, link)
    _, secret = toss.create_merchant()
    resp = api.post(AUTOPAY, charge_body(customer, method_key), secret=secret)
    # The other merchant has no such customer at all.
    assert resp.json()["code"] == "NOT_FOUND_CUSTOMER"


def test_autopay_withdrawn_customer_404_not_found_customer(
    api: Api, link: Callable[..., Customer]
) -> None:
    customer, method_key = billed(api, link)
    api.post("/v1/brandpay/customers/remove", token=customer.access)
    resp = api.post(AUTOPAY, charge_body(customer, method_key))
    assert (resp.status_code, resp.json()["code"]) == (404, "NOT_FOUND_CUSTOMER")


def test_autopay_minimum_amounts_400_below_minimum(
    toss: SandboxServer, api: Api, link: Callable[..., Customer]
) -> None:
    customer, card_key = billed(api, link)
    toss.add_account(customer.key, REDIRECT)
    account_key = first_method(api, customer.key, "accounts")["methodKey"]
    for method_key, low, ok in ((card_key, 99, 100), (account_key, 199, 200)):
        resp = api.post(AUTOPAY, charge_body(customer, method_key, amount=low))
        assert (resp.status_code, resp.json()["code"]) == (400, "BELOW_MINIMUM_AMOUNT")
        good = api.post(AUTOPAY, charge_body(customer, method_key, amount=ok))
        assert good.status_code == 200, good.text


def test_autopay_installment_rules(api: Api, link: Callable[..., Customer]) -> None:
    customer, method_key = billed(api, link)
    for months in (1, 13, -1):
        resp = api.post(
            AUTOPAY, charge_body(customer, method_key, cardInstallmentPlan=months)
        )
        assert resp.json()["code"] == "INVALID_CARD_INSTALLMENT_PLAN", months
    small = api.post(
        AUTOPAY,
        charge_body(customer, method_key, amount=49999, cardInstallmentPlan=2),
    )
    assert (small.status_code, small.json()["code"]) == (
        400,
        "NOT_SUPPORTED_INSTALLMENT_PLAN_CARD_OR_MERCHANT",
    )
    lump = api.post(
        AUTOPAY, charge_body(customer, method_key, amount=1000, cardInstallmentPlan=0)
    )
    assert lump.status_code == 200


def test_autopay_declined_card_403_reject_and_aborted(
    toss: SandboxServer, api: Api, link: Callable[..., Customer]
) -> None:
    customer, method_key = billed(api, link, card=DECLINED_TEST_CARD)
    body = charge_body(customer, method_key)
    resp = api.post(AUTOPAY, body)
    assert (resp.status_code, resp.json()["code"]) == (403, "REJECT_CARD_COMPANY")
    stored = toss.payment_by_order(body["orderId"])
    assert stored is not None
    assert stored["status"] == "ABORTED"
    assert stored["failure"]["code"] == "REJECT_CARD_COMPANY"


def test_autopay_done_order_again_400_duplicated(
    toss: SandboxServer, api: Api, link: Callable[..., Customer]
) -> None:
    customer, method_key = billed(api, link)
    body = charge_body(customer, method_key)
    assert api.post(AUTOPAY, body).status_code == 200
    toss.advance_clock(1.1)
    again = api.post(AUTOPAY, body)  # no Idempotency-Key: a genuinely new request
    assert (again.status_code, again.json()["code"]) == (400, "DUPLICATED_ORDER_ID")


def test_autopay_same_order_within_1s_403_consecutive(
    api: Api, link: Callable[..., Customer]
) -> None:
    customer, method_key = billed(api, link)
    body = charge_body(customer, method_key, amount=1)  # refused, but counted
    assert api.post(AUTOPAY, body).json()["code"] == "BELOW_MINIMUM_AMOUNT"
    resp = api.post(AUTOPAY, body | {"amount": 1000})
    assert (resp.status_code, resp.json()["code"]) == (
        403,
        "FORBIDDEN_CONSECUTIVE_REQUEST",
    )


def test_autopay_idempotency_key_replays_first_answer(
    toss: SandboxServer, api: Api, link: Callable[..., Customer]
) -> None:
    customer, method_key = billed(api, link)
    key = {"Idempotency-Key": new_key("idem")}
    first = api.post(AUTOPAY, charge_body(customer, method_key), headers=key)
    toss.advance_clock(1.1)
    second = api.post(AUTOPAY, charge_body(customer, method_key), headers=key)
    assert second.json() == first.json()
    calls = [c for c in toss.calls(AUTOPAY) if c["path"] == AUTOPAY]
    assert [c["replay"] for c in calls] == [False, True]


def test_autopay_concurrent_same_idempotency_key_one_charge(
    toss: SandboxServer, api: Api, link: Callable[..., Customer]
) -> None:
    customer, method_key = billed(api, link)
    body = charge_body(customer, method_key)
    # Held until clear_faults(): no race with the second request, however slow.
    toss.set_fault(AUTOPAY, latency=30, times=1)
    headers = {"Idempotency-Key": new_key("idem")}
    results: list[requests.Response] = []
    first = threading.Thread(
        target=lambda: results.append(Api(toss).post(AUTOPAY, body, headers=headers))
    )
    first.start()
    wait_in_flight(toss)
    second = api.post(AUTOPAY, body, headers=headers)
    toss.clear_faults()
    first.join()
    assert (second.status_code, second.json()["code"]) == (
        409,
        "IDEMPOTENT_REQUEST_PROCESSING",
    )
    assert results[0].status_code == 200
    assert toss.payment_by_order(body["orderId"])["status"] == "DONE"  # type: ignore[index]


def test_autopay_drop_after_effect_then_lookup_finds_it(
    toss: SandboxServer, api: Api, link: Callable[..., Customer]
) -> None:
    customer, method_key = billed(api, link)
    body = charge_body(customer, method_key)
    toss.set_fault(AUTOPAY, drop="close", times=1)
    with pytest.raises(requests.ConnectionError):  # the answer is lost...
        api.post(AUTOPAY, body)
    # ...but the charge happened, and a lookup by orderId finds it.
    p = api.get(f"/v1/payments/orders/{body['orderId']}").json()
    assert p["status"] == "DONE"


def test_autopay_forced_5xx_no_effect(
    toss: SandboxServer, api: Api, link: Callable[..., Customer]
) -> None:
    customer, method_key = billed(api, link)
    body = charge_body(customer, method_key)
    toss.set_fault(AUTOPAY, status=503, times=1)
    assert api.post(AUTOPAY, body).status_code == 503
    assert toss.payment_by_order(body["orderId"]) is None


def test_autopay_bad_body_each_field_its_code(
    api: Api, link: Callable[..., Customer]
) -> None:
    customer, method_key = billed(api, link)
    cases = [
        ({"customerKey": "x"}, "INVALID_CUSTOMER_KEY"),
        ({"methodKey": None}, "INVALID_REQUEST"),
        ({"amount": "1000"}, "INVALID_REQUEST"),
        ({"amount": True}, "INVALID_REQUEST"),
        ({"amount": 0}, "BELOW_ZERO_AMOUNT"),
        ({"orderId": "short"}, "INVALID_ORDER_ID"),
        ({"orderName": ""}, "INVALID_ORDER_NAME"),
        ({"taxFreeAmount": 999999}, "INVALID_REQUEST"),
        ({"useCardPoint": "yes"}, "INVALID_REQUEST"),
        ({"cashReceipt": {"type": "소득공제"}}, "INVALID_REQUEST"),
    ]
    for over, code in cases:
        resp = api.post(AUTOPAY, charge_body(customer, method_key, **over))
        assert (resp.status_code, resp.json()["code"]) == (400, code), over


def test_autopay_needs_basic_auth_401(api: Api, link: Callable[..., Customer]) -> None:
    customer, method_key = billed(api, link)
    resp = api.post(AUTOPAY, charge_body(customer, method_key), token=customer.access)
    assert (resp.status_code, resp.json()["code"]) == (401, "UNAUTHORIZED_KEY")


def test_autopay_terms_api_shows_billing_agreed(
    api: Api, link: Callable[..., Customer]
) -> None:
    customer = link()
    before = api.get(f"/v1/brandpay/terms?customerKey={customer.key}&scope=BILLING")
    assert [t["agreed"] for t in before.json()] == [False]
    agree_billing(api, customer.key)
    after = api.get(f"/v1/brandpay/terms?customerKey={customer.key}&scope=BILLING")
    assert [t["agreed"] for t in after.json()] == [True]
