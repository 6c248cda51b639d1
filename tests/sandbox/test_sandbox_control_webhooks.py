"""Fault controls, call log, HTTP control API and §7 webhooks, over real HTTP."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests

from wallet.sandbox.testing import SandboxServer

from .helpers import REDIRECT, Api, Customer, Received, Receiver, confirm_body, new_key

CONFIRM = "/v1/brandpay/payments/confirm"
Authorize = Callable[..., dict[str, str]]
Paid = Callable[..., dict[str, Any]]


def test_fault_latency_delays_then_succeeds(
    toss: SandboxServer, api: Api, link: Callable[..., Customer], authorize: Authorize
) -> None:
    customer = link()
    q = authorize(customer)
    toss.set_fault(CONFIRM, latency=0.4)
    started = time.monotonic()
    resp = api.post(CONFIRM, confirm_body(q, customer))
    assert time.monotonic() - started >= 0.4
    assert resp.json()["status"] == "DONE"


def test_fault_hang_client_times_out_and_no_effect(
    toss: SandboxServer, api: Api, link: Callable[..., Customer], authorize: Authorize
) -> None:
    customer = link()
    q = authorize(customer)
    toss.set_fault(CONFIRM, hang=3, times=1)
    with pytest.raises(requests.ReadTimeout):
        api.post(CONFIRM, confirm_body(q, customer), timeout=0.3)
    toss.clear_faults()  # releases the hanging request
    assert toss.payment(q["paymentKey"])["status"] == "IN_PROGRESS"  # type: ignore[index]


def test_fault_status_503_without_effect_then_cleared(
    toss: SandboxServer, api: Api, link: Callable[..., Customer], authorize: Authorize
) -> None:
    customer = link()
    q = authorize(customer)
    toss.set_fault("/v1/brandpay/payments/*", status=503, method="POST")
    resp = api.post(CONFIRM, confirm_body(q, customer))
    assert resp.status_code == 503
    assert resp.json()["code"] == "FAILED_INTERNAL_SYSTEM_PROCESSING"
    assert toss.payment(q["paymentKey"])["status"] == "IN_PROGRESS"  # type: ignore[index]
    toss.clear_faults()
    toss.advance_clock(1.1)
    assert api.post(CONFIRM, confirm_body(q, customer)).status_code == 200


def test_fault_times_one_only_first_request_fails(
    toss: SandboxServer, api: Api
) -> None:
    toss.set_fault("/v1/payments/*", status=500, times=1)
    assert api.get("/v1/payments/nope").status_code == 500
    assert api.get("/v1/payments/nope").status_code == 404


def test_fault_drop_close_confirm_applies_effect_and_replays(
    toss: SandboxServer, api: Api, link: Callable[..., Customer], authorize: Authorize
) -> None:
    customer = link()
    q = authorize(customer)
    toss.set_fault(CONFIRM, drop="close", times=1)
    headers = {"Idempotency-Key": new_key("idem")}
    with pytest.raises(requests.ConnectionError):
        api.post(CONFIRM, confirm_body(q, customer), headers=headers)
    assert toss.payment(q["paymentKey"])["status"] == "DONE"  # type: ignore[index]
    # The socket closes before the server finishes the request (stores the answer,
    # logs the call); a retry in that gap is correctly answered 409 in flight. Wait
    # for the server side to finish, as a client's backoff would.
    deadline = time.monotonic() + 5
    while not toss.calls(CONFIRM) and time.monotonic() < deadline:
        time.sleep(0.01)
    retry = api.post(CONFIRM, confirm_body(q, customer), headers=headers)
    assert (retry.status_code, retry.json()["status"]) == (200, "DONE")
    assert [c["replay"] for c in toss.calls(CONFIRM)] == [False, True]
    assert toss.calls(CONFIRM)[0]["dropped"] is True


def test_fault_drop_500_cancel_applies_effect(
    toss: SandboxServer, api: Api, link: Callable[..., Customer], paid: Paid
) -> None:
    p = paid(link(), 10000)
    toss.set_fault("/v1/payments/*/cancel", drop="500")
    resp = api.post(
        f"/v1/payments/{p['paymentKey']}/cancel",
        {"cancelReason": "x", "cancelAmount": 1000},
    )
    assert resp.status_code == 500
    assert toss.payment(p["paymentKey"])["balanceAmount"] == 9000  # type: ignore[index]


def test_fault_invalid_spec_value_error(toss: SandboxServer) -> None:
    with pytest.raises(ValueError, match="5xx"):
        toss.set_fault(CONFIRM, status=404)
    with pytest.raises(ValueError, match="drop"):
        toss.set_fault(CONFIRM, drop="sometimes")


def test_calls_log_counts_refresh_and_holds_no_credentials(
    toss: SandboxServer, api: Api, link: Callable[..., Customer]
) -> None:
    customer = link()
    api.post(
        "/v1/brandpay/authorizations/access-token",
        {
            "customerKey": customer.key,
            "grantType": "RefreshToken",
            "refreshToken": customer.refresh,
        },
    )
    calls = toss.calls("/v1/brandpay/authorizations/access-token")
    assert [c["status"] for c in calls] == [200, 200]
    assert toss.tokens_issued(customer.key, "RefreshToken") == 1
    dumped = json.dumps(toss.calls())
    for secret in (customer.access, customer.refresh, toss.secret_key):
        assert secret not in dumped


def test_control_http_endpoints_roundtrip(
    toss: SandboxServer, link: Callable[..., Customer], paid: Paid
) -> None:
    customer = link()
    p = paid(customer)
    base = toss.base_url + "/_sandbox"
    got = requests.get(f"{base}/payments/{p['paymentKey']}", timeout=5).json()
    assert got["status"] == "DONE"
    assert requests.get(f"{base}/orders/{p['orderId']}", timeout=5).json() == got
    methods = requests.get(f"{base}/customers/{customer.key}/methods", timeout=5).json()
    assert methods["selectedMethodId"] == customer.method_id
    tokens = requests.get(
        f"{base}/tokens", params={"customerKey": customer.key}, timeout=5
    ).json()
    assert tokens == {"issued": 1}
    fault = requests.post(
        f"{base}/faults", json={"route": "/v1/payments/*", "status": 502}, timeout=5
    )
    assert fault.status_code == 201
    assert Api(toss).get(f"/v1/payments/{p['paymentKey']}").status_code == 502
    assert requests.delete(f"{base}/faults", timeout=5).status_code == 204
    assert requests.get(f"{base}/faults", timeout=5).json() == []
    before = requests.post(f"{base}/clock/advance", json={"seconds": 0}, timeout=5)
    after = requests.post(f"{base}/clock/advance", json={"seconds": 5}, timeout=5)
    assert after.json()["offset"] == before.json()["offset"] + 5
    calls = requests.get(f"{base}/calls", params={"prefix": "/v1/payments"}, timeout=5)
    assert [c["status"] for c in calls.json()][-1] == 502
    keys = requests.post(f"{base}/merchants", timeout=5).json()
    assert keys["secretKey"].startswith("test_sk_")


def test_control_token_required_when_configured_403() -> None:
    with SandboxServer({"SANDBOX_CONTROL_TOKEN": "s3cret"}) as toss:
        url = toss.base_url + "/_sandbox/faults"
        assert requests.get(url, timeout=5).status_code == 403
        wrong = {"X-Sandbox-Control-Token": "nope"}
        assert requests.get(url, headers=wrong, timeout=5).status_code == 403
        ok = {"X-Sandbox-Control-Token": "s3cret"}
        assert requests.get(url, headers=ok, timeout=5).status_code == 200


def test_webhook_payment_status_changed_envelope_and_headers(
    toss: SandboxServer,
    receiver: Receiver,
    link: Callable[..., Customer],
    paid: Paid,
) -> None:
    customer = link()
    p = paid(customer)
    got = receiver.wait_for(
        lambda rs: any(r.body["eventType"] == "PAYMENT_STATUS_CHANGED" for r in rs)
    )
    hook = next(r for r in got if r.body["eventType"] == "PAYMENT_STATUS_CHANGED")
    assert hook.body["data"] == p  # data = the Payment object
    assert len(hook.body["createdAt"]) == len("2022-01-01T00:00:00.000000")
    assert hook.headers["tosspayments-webhook-transmission-id"].startswith("whtrans_")
    assert hook.headers["tosspayments-webhook-transmission-retried-count"] == "0"
    assert hook.headers["tosspayments-webhook-transmission-time"]
    assert "tosspayments-webhook-signature" not in hook.headers  # unsigned (§7)


def test_webhook_method_and_customer_events_on_link_and_withdraw(
    toss: SandboxServer, api: Api, receiver: Receiver, link: Callable[..., Customer]
) -> None:
    customer = link()
    api.post("/v1/brandpay/customers/remove", token=customer.access)

    def seen(rs: list) -> list[tuple[str, str]]:
        return [
            (r.body["eventType"], r.body["data"]["status"])
            for r in rs
            if r.body["data"].get("customerKey") == customer.key
        ]

    got = receiver.wait_for(lambda rs: len(seen(rs)) >= 3)
    assert sorted(seen(got)) == [
        ("CUSTOMER_STATUS_CHANGED", "CREATED"),
        ("CUSTOMER_STATUS_CHANGED", "REMOVED"),
        ("METHOD_UPDATED", "ENABLED"),
    ]
    created = next(r for r in got if r.body["data"].get("status") == "CREATED")
    assert created.body["data"]["changedAt"].endswith("+09:00")


def test_webhook_non_200_retried_with_same_transmission_id(
    toss: SandboxServer, receiver: Receiver
) -> None:
    key = new_key()

    def created(rs: list) -> list:
        return [
            r
            for r in rs
            if r.body["eventType"] == "CUSTOMER_STATUS_CHANGED"
            and r.body["data"]["customerKey"] == key
        ]

    def respond(hook: Received) -> int:  # 500, 404, then 200 for this event
        return [500, 404, 200][min(len(created(receiver.received + [hook])) - 1, 2)]

    receiver.respond = respond
    toss.link_customer(key, REDIRECT)

    attempts = created(receiver.wait_for(lambda rs: len(created(rs)) >= 3))
    ids = {r.headers["tosspayments-webhook-transmission-id"] for r in attempts}
    assert len(ids) == 1
    counts = [
        r.headers["tosspayments-webhook-transmission-retried-count"] for r in attempts
    ]
    assert counts == ["0", "1", "2"]
    (delivery,) = [d for d in toss.webhook_deliveries() if d.transmission_id in ids]
    deadline = time.monotonic() + 2
    while not delivery.delivered and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [a.get("status") for a in delivery.attempts] == [500, 404, 200]


def test_webhook_slow_receiver_does_not_block_api(
    toss: SandboxServer, receiver: Receiver
) -> None:
    receiver.delay = 1.5
    started = time.monotonic()
    toss.link_customer(new_key(), REDIRECT)  # emits CREATED + METHOD_UPDATED
    assert time.monotonic() - started < 1.0
    receiver.wait_for(lambda rs: len(rs) >= 1)
