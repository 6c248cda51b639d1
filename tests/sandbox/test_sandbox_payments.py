"""Contract §4 payments (confirm, lookup, cancel), idempotency and §9 test codes."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import requests

from wallet.sandbox.testing import SandboxServer

from .helpers import Api, Customer, confirm_body, new_key, wait_in_flight

CONFIRM = "/v1/brandpay/payments/confirm"
PAYMENT_FIELDS = {
    "mId",
    "version",
    "paymentKey",
    "type",
    "orderId",
    "orderName",
    "currency",
    "method",
    "totalAmount",
    "balanceAmount",
    "suppliedAmount",
    "vat",
    "taxFreeAmount",
    "taxExemptionAmount",
    "status",
    "requestedAt",
    "approvedAt",
    "useEscrow",
    "cultureExpense",
    "lastTransactionKey",
    "transactionKey",
    "isPartialCancelable",
    "card",
    "transfer",
    "virtualAccount",
    "mobilePhone",
    "giftCertificate",
    "easyPay",
    "cashReceipt",
    "cashReceipts",
    "discount",
    "cancels",
    "secret",
    "receipt",
    "checkout",
    "country",
    "failure",
    "metadata",
}

Authorize = Callable[..., dict[str, str]]
Paid = Callable[..., dict[str, Any]]


def test_confirm_valid_session_done_with_full_payment_object(
    toss: SandboxServer, api: Api, link: Callable[..., Customer], authorize: Authorize
) -> None:
    customer = link()
    q = authorize(customer, 15000)
    resp = api.post(CONFIRM, confirm_body(q, customer))
    assert resp.status_code == 200
    p = resp.json()
    assert set(p) == PAYMENT_FIELDS
    assert (p["type"], p["method"], p["status"]) == ("BRANDPAY", "카드", "DONE")
    assert (p["totalAmount"], p["balanceAmount"], p["currency"]) == (
        15000,
        15000,
        "KRW",
    )
    assert p["suppliedAmount"] + p["vat"] == 15000
    assert p["card"]["number"] == "43301234****123*"
    assert p["easyPay"] is None
    assert p["approvedAt"].endswith("+09:00")
    receipt = requests.get(p["receipt"]["url"], timeout=5)
    assert receipt.status_code == 200
    assert "DONE" in receipt.text


def test_confirm_amount_mismatch_400_invalid_request(
    api: Api, link: Callable[..., Customer], authorize: Authorize
) -> None:
    customer = link()
    q = authorize(customer, 15000)
    resp = api.post(CONFIRM, confirm_body(q, customer, amount=14000))
    assert (resp.status_code, resp.json()["code"]) == (400, "INVALID_REQUEST")
    assert api.get(f"/v1/payments/{q['paymentKey']}").json()["status"] == "IN_PROGRESS"


def test_confirm_order_id_mismatch_403_forbidden_request(
    toss: SandboxServer, api: Api, link: Callable[..., Customer], authorize: Authorize
) -> None:
    customer = link()
    q = authorize(customer)
    resp = api.post(CONFIRM, confirm_body(q, customer, orderId=new_key("order")))
    # Seed guides: an orderId other than the request's is FORBIDDEN_REQUEST.
    assert (resp.status_code, resp.json()["code"]) == (403, "FORBIDDEN_REQUEST")
    toss.advance_clock(1.1)
    other = api.post(CONFIRM, confirm_body(q, customer, customerKey=new_key()))
    assert (other.status_code, other.json()["code"]) == (400, "INVALID_REQUEST")


def test_confirm_after_10_minutes_404_session_and_expired(
    toss: SandboxServer, api: Api, link: Callable[..., Customer], authorize: Authorize
) -> None:
    customer = link()
    q = authorize(customer)
    toss.advance_clock(601)
    resp = api.post(CONFIRM, confirm_body(q, customer))
    assert (resp.status_code, resp.json()["code"]) == (404, "NOT_FOUND_PAYMENT_SESSION")
    assert api.get(f"/v1/payments/{q['paymentKey']}").json()["status"] == "EXPIRED"


def test_confirm_at_9_minutes_done(
    toss: SandboxServer, api: Api, link: Callable[..., Customer], authorize: Authorize
) -> None:
    customer = link()
    q = authorize(customer)
    toss.advance_clock(540)
    assert api.post(CONFIRM, confirm_body(q, customer)).json()["status"] == "DONE"


def test_confirm_repeat_400_already_processed(
    toss: SandboxServer, api: Api, link: Callable[..., Customer], authorize: Authorize
) -> None:
    customer = link()
    q = authorize(customer)
    assert api.post(CONFIRM, confirm_body(q, customer)).status_code == 200
    toss.advance_clock(1.1)
    again = api.post(CONFIRM, confirm_body(q, customer))
    assert (again.status_code, again.json()["code"]) == (
        400,
        "ALREADY_PROCESSED_PAYMENT",
    )


def test_confirm_unknown_payment_key_404_session(
    api: Api, link: Callable[..., Customer]
) -> None:
    customer = link()
    q = {"paymentKey": "tbp_unknown", "orderId": new_key("order"), "amount": "1000"}
    resp = api.post(CONFIRM, confirm_body(q, customer))
    assert (resp.status_code, resp.json()["code"]) == (404, "NOT_FOUND_PAYMENT_SESSION")


def test_confirm_missing_field_400_invalid_request(api: Api) -> None:
    resp = api.post(CONFIRM, {"paymentKey": "x", "orderId": "order-1"})
    assert (resp.status_code, resp.json()["code"]) == (400, "INVALID_REQUEST")


def test_confirm_same_key_within_1s_403_consecutive(
    toss: SandboxServer, api: Api, link: Callable[..., Customer], authorize: Authorize
) -> None:
    customer = link()
    q = authorize(customer)
    first = api.post(CONFIRM, confirm_body(q, customer, amount=1))
    assert first.status_code == 400
    second = api.post(CONFIRM, confirm_body(q, customer))
    assert (second.status_code, second.json()["code"]) == (
        403,
        "FORBIDDEN_CONSECUTIVE_REQUEST",
    )
    toss.advance_clock(1.0)
    assert api.post(CONFIRM, confirm_body(q, customer)).status_code == 200


def test_confirm_throttled_then_retried_with_same_key_200(
    toss: SandboxServer, api: Api, link: Callable[..., Customer], authorize: Authorize
) -> None:
    # The throttle's answer is not stored under the Idempotency-Key: the same key
    # retried a second later is processed, not replayed as 403 forever.
    customer = link()
    q = authorize(customer)
    assert api.post(CONFIRM, confirm_body(q, customer, amount=1)).status_code == 400
    key = {"Idempotency-Key": "confirm-retry-1"}
    throttled = api.post(CONFIRM, confirm_body(q, customer), headers=key)
    assert throttled.json()["code"] == "FORBIDDEN_CONSECUTIVE_REQUEST"
    toss.advance_clock(1.0)
    retried = api.post(CONFIRM, confirm_body(q, customer), headers=key)
    assert retried.status_code == 200
    assert retried.json()["status"] == "DONE"


def test_payment_lookup_by_key_and_order_same_object(
    api: Api, link: Callable[..., Customer], paid: Paid
) -> None:
    p = paid(link())
    by_key = api.get(f"/v1/payments/{p['paymentKey']}")
    by_order = api.get(f"/v1/payments/orders/{p['orderId']}")
    assert by_key.status_code == by_order.status_code == 200
    assert by_key.json() == by_order.json() == p


def test_payment_lookup_unknown_404_not_found_payment(api: Api) -> None:
    for path in ("/v1/payments/nope", "/v1/payments/orders/no-such-order"):
        resp = api.get(path)
        assert (resp.status_code, resp.json()["code"]) == (404, "NOT_FOUND_PAYMENT")


def test_payment_lookup_other_merchant_404_not_found_payment(
    toss: SandboxServer, api: Api, link: Callable[..., Customer], paid: Paid
) -> None:
    p = paid(link())
    _, secret = toss.create_merchant()
    resp = api.get(f"/v1/payments/{p['paymentKey']}", secret=secret)
    assert resp.status_code == 404


def _cancel(api: Api, key: str, amount: int | None = None, **kw: Any) -> Any:
    body: dict[str, Any] = {"cancelReason": "고객 요청"}
    if amount is not None:
        body["cancelAmount"] = amount
    return api.post(f"/v1/payments/{key}/cancel", body, **kw)


def test_cancel_partials_sum_to_balance_then_canceled(
    toss: SandboxServer, api: Api, link: Callable[..., Customer], paid: Paid
) -> None:
    p = paid(link(), 10000)
    first = _cancel(api, p["paymentKey"], 3000).json()
    assert (first["status"], first["balanceAmount"]) == ("PARTIAL_CANCELED", 7000)
    toss.advance_clock(1.1)
    second = _cancel(api, p["paymentKey"], 2500).json()
    assert (second["status"], second["balanceAmount"]) == ("PARTIAL_CANCELED", 4500)
    assert [c["cancelAmount"] for c in second["cancels"]] == [3000, 2500]
    assert (
        second["totalAmount"] - sum(c["cancelAmount"] for c in second["cancels"])
        == (second["balanceAmount"])
    )
    toss.advance_clock(1.1)
    rest = _cancel(api, p["paymentKey"], 4500).json()
    assert (rest["status"], rest["balanceAmount"]) == ("CANCELED", 0)
    assert rest["cancels"][-1]["cancelStatus"] == "DONE"


def test_cancel_over_balance_403_not_cancelable_amount(
    toss: SandboxServer, api: Api, link: Callable[..., Customer], paid: Paid
) -> None:
    p = paid(link(), 10000)
    _cancel(api, p["paymentKey"], 6000)
    toss.advance_clock(1.1)
    resp = _cancel(api, p["paymentKey"], 4001)
    assert (resp.status_code, resp.json()["code"]) == (403, "NOT_CANCELABLE_AMOUNT")
    assert api.get(f"/v1/payments/{p['paymentKey']}").json()["balanceAmount"] == 4000


def test_cancel_full_then_again_400_already_canceled(
    toss: SandboxServer, api: Api, link: Callable[..., Customer], paid: Paid
) -> None:
    p = paid(link(), 10000)
    full = _cancel(api, p["paymentKey"]).json()
    assert (full["status"], full["balanceAmount"]) == ("CANCELED", 0)
    assert full["cancels"][0]["cancelAmount"] == 10000
    toss.advance_clock(1.1)
    again = _cancel(api, p["paymentKey"])
    assert (again.status_code, again.json()["code"]) == (
        400,
        "ALREADY_CANCELED_PAYMENT",
    )


def test_cancel_unconfirmed_403_not_cancelable_payment(
    api: Api, link: Callable[..., Customer], authorize: Authorize
) -> None:
    q = authorize(link())
    resp = _cancel(api, q["paymentKey"])
    assert (resp.status_code, resp.json()["code"]) == (403, "NOT_CANCELABLE_PAYMENT")


def test_cancel_without_reason_400_invalid_request(
    api: Api, link: Callable[..., Customer], paid: Paid
) -> None:
    p = paid(link())
    resp = api.post(f"/v1/payments/{p['paymentKey']}/cancel", {"cancelAmount": 100})
    assert (resp.status_code, resp.json()["code"]) == (400, "INVALID_REQUEST")


def test_cancel_unknown_payment_404_not_found_payment(api: Api) -> None:
    resp = _cancel(api, "nope")
    assert (resp.status_code, resp.json()["code"]) == (404, "NOT_FOUND_PAYMENT")


def test_idempotency_same_key_different_body_same_response(
    toss: SandboxServer, api: Api, link: Callable[..., Customer], paid: Paid
) -> None:
    p = paid(link(), 10000)
    path = f"/v1/payments/{p['paymentKey']}/cancel"
    headers = {"Idempotency-Key": new_key("idem")}
    first = api.post(path, {"cancelReason": "a", "cancelAmount": 1000}, headers=headers)
    second = api.post(
        path, {"cancelReason": "b", "cancelAmount": 5000}, headers=headers
    )
    assert second.status_code == first.status_code == 200
    assert second.json() == first.json()
    assert api.get(f"/v1/payments/{p['paymentKey']}").json()["balanceAmount"] == 9000
    replays = [c["replay"] for c in toss.calls(path)]
    assert replays == [False, True]


def test_idempotency_same_key_other_url_not_replayed(
    toss: SandboxServer, api: Api, link: Callable[..., Customer], paid: Paid
) -> None:
    a, b = paid(link(), 1000), paid(link(), 1000)
    headers = {"Idempotency-Key": new_key("idem")}
    _cancel(api, a["paymentKey"], headers=headers)
    other = _cancel(api, b["paymentKey"], headers=headers)
    assert other.json()["paymentKey"] == b["paymentKey"]
    assert other.json()["status"] == "CANCELED"


def test_idempotency_key_over_300_chars_400_invalid(api: Api) -> None:
    resp = _cancel(api, "nope", headers={"Idempotency-Key": "k" * 301})
    assert (resp.status_code, resp.json()["code"]) == (400, "INVALID_IDEMPOTENCY_KEY")


def test_idempotency_in_flight_duplicate_409_processing(
    toss: SandboxServer, api: Api, link: Callable[..., Customer], authorize: Authorize
) -> None:
    customer = link()
    q = authorize(customer)
    # Held until clear_faults(): no race with the duplicate, however slow the box.
    toss.set_fault(CONFIRM, latency=30, times=1)
    headers = {"Idempotency-Key": new_key("idem")}
    results: list[requests.Response] = []
    slow = threading.Thread(
        target=lambda: results.append(
            Api(toss).post(CONFIRM, confirm_body(q, customer), headers=headers)
        )
    )
    slow.start()
    wait_in_flight(toss)
    dup = api.post(CONFIRM, confirm_body(q, customer), headers=headers)
    toss.clear_faults()
    slow.join()
    assert (dup.status_code, dup.json()["code"]) == (
        409,
        "IDEMPOTENT_REQUEST_PROCESSING",
    )
    assert results[0].status_code == 200
    again = api.post(CONFIRM, confirm_body(q, customer), headers=headers)
    assert again.json() == results[0].json()  # finished: replayed, not 403/400


def test_test_code_header_forces_named_error_without_effect(
    api: Api, link: Callable[..., Customer], authorize: Authorize
) -> None:
    customer = link()
    q = authorize(customer)
    resp = api.post(
        CONFIRM,
        confirm_body(q, customer),
        headers={"TossPayments-Test-Code": "REJECT_CARD_PAYMENT"},
    )
    assert (resp.status_code, resp.json()["code"]) == (403, "REJECT_CARD_PAYMENT")
    assert api.get(f"/v1/payments/{q['paymentKey']}").json()["status"] == "IN_PROGRESS"
    forced = api.get(
        f"/v1/payments/{q['paymentKey']}",
        headers={"TossPayments-Test-Code": "FAILED_INTERNAL_SYSTEM_PROCESSING"},
    )
    assert forced.status_code == 500


def test_test_code_unknown_400_invalid_test_code(api: Api) -> None:
    resp = api.get("/v1/payments/nope", headers={"TossPayments-Test-Code": "NOPE"})
    assert (resp.status_code, resp.json()["code"]) == (400, "INVALID_TEST_CODE")


def test_payment_account_method_transfer_fields(
    toss: SandboxServer, api: Api, link: Callable[..., Customer], authorize: Authorize
) -> None:
    from .helpers import REDIRECT

    customer = link()
    toss.add_account(customer.key, REDIRECT)
    q = authorize(customer, 5000)  # the newest method is selected by default
    p = api.post(CONFIRM, confirm_body(q, customer)).json()
    assert p["method"] == "계좌이체"
    assert p["card"] is None
    assert p["transfer"]["bankCode"] == "88"
