"""Toss webhooks (contract §7): dedupe, the truth from Toss decides, unknown recorded."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import select

from tests.integration.payments.conftest import Payer, query_of
from wallet.extensions import db
from wallet.models.payment import TossWebhookEvent


def _deliver(
    p: Payer, event_type: str, data: dict[str, Any], transmission_id: str
) -> Any:
    body = {"eventType": event_type, "createdAt": "2026-01-01T00:00:00.000000"}
    return p.app.test_client().post(
        "/webhooks/toss",
        data=json.dumps(body | {"data": data}),
        content_type="application/json",
        headers={
            "tosspayments-webhook-transmission-id": transmission_id,
            "tosspayments-webhook-transmission-retried-count": "0",
        },
    )


def _events(app: Flask) -> list[TossWebhookEvent]:
    with app.app_context():
        rows = db.session.scalars(
            select(TossWebhookEvent).order_by(TossWebhookEvent.id)
        ).all()
        db.session.expunge_all()
        return list(rows)


def _outcome(app: Flask, transmission_id: str) -> str | None:
    """What processing decided, as recorded (the answer itself says nothing: I1)."""
    return {e.transmission_id: e.outcome for e in _events(app)}.get(transmission_id)


def _cancel_at_toss(sandbox: Any, key: str, amount: int | None = None) -> None:
    """A cancel made in Toss's console: the portal only hears of it by webhook."""
    sandbox.advance_clock(2)
    body: dict[str, Any] = {"cancelReason": "console refund"}
    if amount is not None:
        body["cancelAmount"] = amount
    resp = requests.post(
        f"{sandbox.base_url}/v1/payments/{key}/cancel",
        json=body,
        auth=(sandbox.secret_key, ""),
        timeout=5,
    )
    assert resp.status_code == 200


def test_webhooks_replay_changes_nothing_twice(
    app: Flask, payer: Callable[..., Payer], sandbox: Any
) -> None:
    p = payer()
    order_id, _ = p.pay(10000)
    key = p.order(order_id).payment.payment_key
    _cancel_at_toss(sandbox, key, 4000)
    data = sandbox.payment(key)
    first = _deliver(p, "PAYMENT_STATUS_CHANGED", data, "whtrans_replay_1")
    assert first.status_code == 200
    assert first.get_json() == {"status": "ok"}
    assert _outcome(app, "whtrans_replay_1") == "applied"
    order = p.order(order_id)
    assert order.status == "PARTIAL_CANCELED"
    assert [(c.amount, c.actor) for c in order.payment.cancels] == [(4000, "toss")]
    assert order.payment.balance_amount == 6000
    replay = _deliver(p, "PAYMENT_STATUS_CHANGED", data, "whtrans_replay_1")
    assert replay.status_code == 200
    assert replay.get_data() == first.get_data()  # the same answer, whatever happened
    # A new transmission of the same news is processed, but books nothing twice.
    again = _deliver(p, "PAYMENT_STATUS_CHANGED", data, "whtrans_replay_2")
    assert again.get_data() == first.get_data()
    assert _outcome(app, "whtrans_replay_2") == "no_change"
    order = p.order(order_id)
    assert len(order.payment.cancels) == 1
    assert order.payment.balance_amount == 6000
    assert [e.transmission_id for e in _events(app)] == [
        "whtrans_replay_1",
        "whtrans_replay_2",
    ]


def test_webhooks_claim_contradicted_by_toss_changes_nothing(
    payer: Callable[..., Payer], sandbox: Any
) -> None:
    p = payer()
    order_id, _ = p.pay(10000)
    key = p.order(order_id).payment.payment_key
    forged = sandbox.payment(key) | {
        "status": "CANCELED",
        "balanceAmount": 0,
        "cancels": [{"cancelAmount": 10000, "transactionKey": "tx_forged"}],
    }
    before = len(sandbox.calls(f"/v1/payments/{key}"))
    resp = _deliver(p, "PAYMENT_STATUS_CHANGED", forged, "whtrans_forged_1")
    assert resp.status_code == 200
    assert _outcome(p.app, "whtrans_forged_1") == "no_change"
    assert len(sandbox.calls(f"/v1/payments/{key}")) == before + 1  # asked Toss
    order = p.order(order_id)
    assert order.status == "DONE"
    assert order.payment.balance_amount == 10000
    assert order.payment.cancels == []


def test_webhooks_done_claim_for_unconfirmed_payment_changes_nothing(
    payer: Callable[..., Payer], sandbox: Any
) -> None:
    p = payer()
    order_id = p.new_order(5000)
    key = query_of(p.authorize(order_id))["paymentKey"]  # authorized, not confirmed
    claim = sandbox.payment(key) | {"status": "DONE"}
    resp = _deliver(p, "PAYMENT_STATUS_CHANGED", claim, "whtrans_claim_done")
    assert resp.status_code == 200
    assert _outcome(p.app, "whtrans_claim_done") == "no_change"
    order = p.order(order_id)
    assert order.status == "PENDING"
    assert order.payment is None


def test_webhooks_unknown_payment_and_event_type_recorded_200(
    app: Flask, payer: Callable[..., Payer]
) -> None:
    p = payer()
    unknown_key = _deliver(
        p, "PAYMENT_STATUS_CHANGED", {"paymentKey": "tbp_nope_0001"}, "whtrans_u1"
    )
    assert unknown_key.status_code == 200
    assert unknown_key.get_json() == {"status": "ok"}
    odd = _deliver(p, "payout.changed", {"payoutId": "x"}, "whtrans_u2")
    assert odd.status_code == 200
    assert odd.get_data() == unknown_key.get_data()
    recorded = {e.transmission_id: (e.event_type, e.outcome) for e in _events(app)}
    assert recorded == {
        "whtrans_u1": ("PAYMENT_STATUS_CHANGED", "unknown_payment"),
        "whtrans_u2": ("payout.changed", "ignored_unknown_type"),
    }


@pytest.mark.parametrize(
    "body", [b"{not json", b"[1, 2]", b'{"data": {}}', b"\xff\xfe", b""]
)
def test_webhooks_malformed_body_400_json(app: Flask, body: bytes) -> None:
    resp = app.test_client().post(
        "/webhooks/toss", data=body, content_type="application/json"
    )
    assert resp.status_code == 400
    assert resp.get_json()["error"]["code"] == "INVALID_WEBHOOK"
    assert _events(app) == []


def test_webhooks_oversized_body_413_not_recorded(app: Flask) -> None:
    body = b'{"eventType": "X", "data": {"pad": "' + b"a" * 300_000 + b'"}}'
    resp = app.test_client().post(
        "/webhooks/toss", data=body, content_type="application/json"
    )
    assert resp.status_code == 413
    assert resp.get_json()["error"]["code"] == "REQUEST_ENTITY_TOO_LARGE"
    assert _events(app) == []


def test_webhooks_refetch_failure_not_200_retry_processes(
    payer: Callable[..., Payer], sandbox: Any
) -> None:
    p = payer()
    order_id, _ = p.pay(10000)
    key = p.order(order_id).payment.payment_key
    _cancel_at_toss(sandbox, key)
    data = sandbox.payment(key)
    sandbox.set_fault("/v1/payments/*", method="GET", status=503)
    failed = _deliver(p, "PAYMENT_STATUS_CHANGED", data, "whtrans_retry")
    assert failed.status_code == 502  # so Toss delivers it again later (§7)
    assert p.order(order_id).status == "DONE"
    sandbox.clear_faults()
    retried = _deliver(p, "PAYMENT_STATUS_CHANGED", data, "whtrans_retry")
    assert retried.status_code == 200
    assert _outcome(p.app, "whtrans_retry") == "applied"
    assert p.order(order_id).status == "CANCELED"


def test_webhooks_brandpay_events_reach_the_link_handlers(
    payer: Callable[..., Payer], monkeypatch: pytest.MonkeyPatch
) -> None:
    from wallet.services import brandpay

    seen: list[tuple[str, str]] = []
    monkeypatch.setattr(
        brandpay, "handle_method_updated", lambda k: seen.append(("method", k))
    )
    monkeypatch.setattr(
        brandpay, "handle_customer_status_changed", lambda k: seen.append(("cust", k))
    )
    p = payer()
    data = {"customerKey": p.customer_key, "methodKey": "mk_1", "status": "DISABLED"}
    _deliver(p, "METHOD_UPDATED", data, "whtrans_m1")
    assert _outcome(p.app, "whtrans_m1") == "handled"
    status = {"customerKey": p.customer_key, "status": "REMOVED"}
    _deliver(p, "CUSTOMER_STATUS_CHANGED", status, "whtrans_c1")
    assert _outcome(p.app, "whtrans_c1") == "handled"
    assert seen == [("method", p.customer_key), ("cust", p.customer_key)]


def test_webhooks_real_delivery_from_sandbox_books_console_cancel(
    app: Flask, payer: Callable[..., Payer], sandbox: Any, webhook_url: str
) -> None:
    p = payer()
    order_id, _ = p.pay(10000)
    key = p.order(order_id).payment.payment_key
    _cancel_at_toss(sandbox, key, 2500)
    deadline = time.monotonic() + 10
    while p.order(order_id).status != "PARTIAL_CANCELED":
        assert time.monotonic() < deadline, "the webhook never settled the order"
        time.sleep(0.05)
    order = p.order(order_id)
    assert order.payment.balance_amount == 7500

    def delivered() -> list[Any]:
        return [
            d
            for d in sandbox.webhook_deliveries()
            if d.event_type == "PAYMENT_STATUS_CHANGED"
            and d.payload["data"]["paymentKey"] == key
            and d.payload["data"]["status"] == "PARTIAL_CANCELED"
        ]

    while not (delivered() and delivered()[0].delivered):  # answered 200
        assert time.monotonic() < deadline, "the sandbox never got a 200"
        time.sleep(0.05)
    assert delivered()[0].attempts == [{"status": 200}]


def test_webhooks_source_allowlist_refuses_other_addresses(app: Flask) -> None:
    payload = {"eventType": "SOMETHING_NEW", "createdAt": "2026-01-01T00:00:00.000000"}
    client = app.test_client()

    def send(addr: str, tid: str) -> int:
        return client.post(
            "/webhooks/toss",
            json=payload | {"data": {}},
            headers={"tosspayments-webhook-transmission-id": tid},
            environ_base={"REMOTE_ADDR": addr},
        ).status_code

    assert send("198.51.100.7", "t-open") == 200  # off by default
    app.config["TOSS_WEBHOOK_ALLOWED_IPS"] = app.config["TOSS_WEBHOOK_PUBLISHED_IPS"]
    assert send("198.51.100.7", "t-blocked") == 403
    assert send("13.124.18.147", "t-toss") == 200
    assert [e.transmission_id for e in _events(app)] == ["t-open", "t-toss"]


@pytest.mark.parametrize(
    "count", ["99999999999999999999999", "9" * 5000, "²", "-1", "", "٣"]
)
def test_webhooks_odd_retried_count_recorded_as_zero_never_500(
    app: Flask, count: str
) -> None:
    # Attack (issue 13 L3): a valid body with this header raised OverflowError or
    # ValueError, an unauthenticated 500.
    body = {"eventType": "SOMETHING_NEW", "createdAt": "2026-01-01T00:00:00.000000"}
    resp = app.test_client().post(
        "/webhooks/toss",
        json=body | {"data": {}},
        headers={
            "tosspayments-webhook-transmission-id": "whtrans_l3",
            "tosspayments-webhook-transmission-retried-count": count,
        },
    )
    assert resp.status_code == 200
    [event] = _events(app)
    assert (event.transmission_id, event.retried_count) == ("whtrans_l3", 0)


def test_webhooks_odd_transmission_id_and_subject_are_not_stored(app: Flask) -> None:
    body = {
        "eventType": "PAYMENT_STATUS_CHANGED",
        "createdAt": "2026-01-01T00:00:00.000000",
        "data": {"paymentKey": "tbp_\x00bad"},
    }
    resp = app.test_client().post(
        "/webhooks/toss",
        json=body,
        headers={"tosspayments-webhook-transmission-id": "x" * 101},
    )
    assert resp.status_code == 200
    [event] = _events(app)
    assert event.transmission_id.startswith("sha256:")  # the body's hash instead
    assert event.subject is None
