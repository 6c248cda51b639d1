"""The merchant pre-approval hook (issue 15): asked, signed, before each confirm of a
merchant's order, against a real HTTP server on 127.0.0.1 that says yes, no, nothing
in time, or garbage. Only a yes lets the confirm reach the sandbox; a no after the yes
is a 망취소 (cancel) with its own Idempotency-Key, audited, with a webhook."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import select

from tests.conftest import csrf_token
from tests.hookserver import Hook, serve_hook
from tests.integration.merchants.conftest import (  # noqa: F401 (fixtures)
    Shop,
    load_order,
    shop,
    shop_factory,
)
from tests.integration.payments.conftest import Payer, path_of
from wallet.extensions import db
from wallet.models.audit import AuditEvent
from wallet.models.merchant import Merchant
from wallet.models.order import Order
from wallet.models.outbox import OutboxEvent
from wallet.services import outbox

Calls = Callable[[str], list[dict[str, Any]]]


@pytest.fixture
def app_overrides() -> dict[str, Any]:
    """A short hook timeout, so the "no answer in time" test is quick."""
    return {"PREAPPROVAL_TIMEOUT": (1.0, 0.6)}


@pytest.fixture
def hook() -> Iterator[Hook]:
    """The shop's pre-approval endpoint on 127.0.0.1, for one test."""
    with serve_hook() as state:
        yield state


@pytest.fixture
def hooked_shop(app: Flask, shop: Shop, hook: Hook) -> Shop:  # noqa: F811
    """The shop, with the hook set (as its dashboard would) and a webhook URL."""
    with app.app_context():
        merchant = db.session.get(Merchant, shop.id)
        merchant.confirm_url = hook.url
        merchant.webhook_url = "http://127.0.0.1:9/hooks"  # rows only; not delivered
        db.session.commit()
    return shop


def shop_order(app: Flask, merchant: Shop, p: Payer, amount: int = 23000) -> str:
    """A shop's order, created over the API and taken by the member's pay link."""
    created = app.test_client().post(
        "/api/v1/orders",
        json={"amount": amount, "order_name": "Green tea"},
        headers=merchant.headers(f"hook-{time.monotonic_ns()}"),
    )
    assert created.status_code == 201, created.get_json()
    order_id = str(created.get_json()["order_id"])
    token = merchant.sign(merchant.pay_claims(order_id, amount))
    page = p.client.get(f"/l/{token}").get_data(as_text=True)
    redeemed = p.client.post(f"/l/{token}", data={"csrf_token": csrf_token(page)})
    assert redeemed.status_code == 303
    return order_id


def _audit(app: Flask, action: str) -> list[AuditEvent]:
    with app.app_context():
        rows = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action)
        ).all()
        db.session.expunge_all()
        return list(rows)


def _events(app: Flask, order_id: str) -> list[str]:
    with app.app_context():
        rows = db.session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.channel == "webhook")
            .order_by(OutboxEvent.id)
        ).all()
        return [r.event_type for r in rows if order_id in r.payload]


def test_preapproval_yes_confirms_signed_request_with_order_and_options(
    app: Flask,
    payer: Callable[..., Payer],
    hooked_shop: Shop,
    hook: Hook,
    confirm_calls: Calls,
) -> None:
    p = payer()
    order_id = shop_order(app, hooked_shop, p)
    resp = p.client.get(path_of(p.authorize(order_id)))
    assert resp.status_code == 303
    order = load_order(app, order_id)
    assert (order.status, order.preapproval) == ("DONE", "CONFIRM_SENT")
    assert len(confirm_calls(order_id)) == 1
    (asked,) = hook.received
    headers, body = asked["headers"], asked["body"].decode()
    # Signed exactly like the merchant's webhooks, with the shop's signing secret.
    expected = outbox.signature(
        hooked_shop.key,
        headers["Webhook-Id"],
        int(headers["Webhook-Timestamp"]),
        body,
    )
    assert expected in headers["Webhook-Signature"].split(" ")
    assert headers["Webhook-Id"] == f"preapproval_{order_id}_1"
    data = json.loads(body)
    assert data["type"] == "payment.pre_approval"
    assert data["data"]["order_id"] == order_id
    assert data["data"]["amount"] == 23000
    assert data["data"]["pay_way"] == "BRANDPAY"
    assert data["data"]["options"] == {
        "installment_months": None,
        "use_card_point": None,
        "cash_receipt_type": None,
    }
    (entry,) = _audit(app, "payment.pre_approval")
    assert json.loads(entry.details)["answer"] == "APPROVED"


def test_preapproval_no_nothing_confirmed_member_told_shop_declined(
    app: Flask,
    make_member: Callable[..., Any],
    payer: Callable[..., Payer],
    hooked_shop: Shop,
    hook: Hook,
    confirm_calls: Calls,
    sandbox: Any,
) -> None:
    hook.mode = "no"
    p = payer()
    order_id = shop_order(app, hooked_shop, p)
    resp = p.client.get(path_of(p.authorize(order_id)), follow_redirects=True)
    assert resp.status_code == 200
    assert "The shop declined this payment" in resp.get_data(as_text=True)
    assert confirm_calls(order_id) == []  # Toss never got a confirm
    order = load_order(app, order_id)
    assert (order.status, order.failure_code) == ("FAILED", "MERCHANT_DECLINED")
    assert (order.preapproval, order.preapproval_reason) == ("DECLINED", "Sold out")
    # The shop's order page says what it answered.
    from tests.conftest import logged_in_client
    from tests.integration.security.conftest import make_staff

    make_member("staff-no@example.com", "correct-horse-1")
    make_staff(app, hooked_shop, "staff-no@example.com")
    staff = logged_in_client(app, "staff-no@example.com", "correct-horse-1")
    page = staff.get(f"/merchant/{hooked_shop.id}/orders/{order_id}")
    assert "You said no · Sold out" in page.get_data(as_text=True)
    assert sandbox.payment_by_order(order_id)["status"] != "DONE"
    assert "order.failed" in _events(app, order_id)


@pytest.mark.parametrize("mode", ["slow", "garbage", "string", "error"])
def test_preapproval_no_answer_nothing_confirmed_order_payable_again(
    app: Flask,
    payer: Callable[..., Payer],
    hooked_shop: Shop,
    hook: Hook,
    confirm_calls: Calls,
    mode: str,
) -> None:
    hook.mode = mode
    p = payer()
    order_id = shop_order(app, hooked_shop, p)
    started = time.monotonic()
    resp = p.client.get(path_of(p.authorize(order_id)))
    assert time.monotonic() - started < 5  # the member is not kept waiting long
    assert resp.status_code == 200
    assert "did not confirm this payment in time" in resp.get_data(as_text=True)
    assert confirm_calls(order_id) == []
    order = load_order(app, order_id)
    assert (order.status, order.failure_code) == ("PENDING", "MERCHANT_NO_ANSWER")
    assert order.preapproval == "NO_ANSWER"
    # Paying again asks the hook again; a yes now lets the payment through.
    hook.mode = "yes"
    assert p.client.get(path_of(p.authorize(order_id))).status_code == 303
    assert load_order(app, order_id).status == "DONE"
    assert len(confirm_calls(order_id)) == 1


def test_preapproval_orders_without_hook_are_not_asked(
    app: Flask,
    payer: Callable[..., Payer],
    shop: Shop,  # noqa: F811
    hook: Hook,
) -> None:
    p = payer()
    order_id = shop_order(app, shop, p)  # this shop has no confirm_url
    assert p.client.get(path_of(p.authorize(order_id))).status_code == 303
    assert load_order(app, order_id).status == "DONE"
    assert hook.received == []


def test_preapproval_no_while_asked_stops_the_confirm(
    app: Flask,
    live_portal: str,
    payer: Callable[..., Payer],
    hooked_shop: Shop,
    hook: Hook,
    confirm_calls: Calls,
) -> None:
    """The shop's late "no" arrives while the portal waits for its answer, then the
    hook says yes: the no wins, nothing is confirmed."""

    def decline_first(body: dict[str, Any]) -> None:
        answer = requests.post(
            f"{live_portal}/api/v1/orders/{body['data']['order_id']}/decline",
            json={"reason": "Payment flagged by our fraud check"},
            headers=hooked_shop.headers("late-no-1"),
            timeout=5,
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["pre_approval"]["state"] == "WITHDRAWN"

    hook.during = decline_first
    p = payer()
    order_id = shop_order(app, hooked_shop, p)
    resp = p.client.get(path_of(p.authorize(order_id)))
    assert resp.status_code == 303
    assert confirm_calls(order_id) == []
    order = load_order(app, order_id)
    assert (order.status, order.failure_code) == ("FAILED", "MERCHANT_DECLINED")


def test_preapproval_no_after_confirm_net_cancel(
    app: Flask,
    payer: Callable[..., Payer],
    hooked_shop: Shop,
    sandbox: Any,
) -> None:
    p = payer()
    order_id = shop_order(app, hooked_shop, p)
    assert p.client.get(path_of(p.authorize(order_id))).status_code == 303
    assert load_order(app, order_id).status == "DONE"
    api = app.test_client()
    resp = api.post(
        f"/api/v1/orders/{order_id}/decline",
        json={"reason": "Out of stock after all"},
        headers=hooked_shop.headers("net-cancel-1"),
    )
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["status"] == "CANCELED"
    truth = sandbox.payment_by_order(order_id)
    assert truth["status"] == "CANCELED"
    assert truth["cancels"][0]["cancelReason"].startswith("망취소")
    assert "Out of stock after all" in truth["cancels"][0]["cancelReason"]
    cancels = sandbox.calls(f"/v1/payments/{truth['paymentKey']}/cancel")
    # One cancel (a FORBIDDEN_CONSECUTIVE_REQUEST right after the confirm is retried
    # under the same Idempotency-Key).
    assert [c["status"] for c in cancels if c["status"] == 200] == [200]
    assert {c["idempotencyKey"] for c in cancels} == {cancels[0]["idempotencyKey"]}
    assert cancels[0]["idempotencyKey"].startswith(f"refund-{order_id}-")
    assert _audit(app, "payment.net_cancel")
    assert "order.canceled" in _events(app, order_id)
    # Saying no again: nothing left to cancel.
    again = api.post(
        f"/api/v1/orders/{order_id}/decline",
        json={"reason": "again"},
        headers=hooked_shop.headers("net-cancel-2"),
    )
    assert again.status_code == 409
    assert sandbox.calls(f"/v1/payments/{truth['paymentKey']}/cancel") == cancels


def test_preapproval_no_while_confirm_in_flight_canceled_once_recorded(
    app: Flask,
    live_portal: str,
    payer: Callable[..., Payer],
    hooked_shop: Shop,
    sandbox: Any,
) -> None:
    sandbox.set_fault("/v1/brandpay/payments/confirm", latency=1.5, times=1)
    p = payer()
    order_id = shop_order(app, hooked_shop, p)
    location = p.authorize(order_id)
    outcome: dict[str, Any] = {}
    thread = threading.Thread(
        target=lambda: outcome.update(resp=p.client.get(path_of(location)))
    )
    thread.start()
    deadline = time.monotonic() + 5
    while load_order(app, order_id).preapproval != "CONFIRM_SENT":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    resp = app.test_client().post(
        f"/api/v1/orders/{order_id}/decline",
        json={"reason": "Customer blocked"},
        headers=hooked_shop.headers("in-flight-1"),
    )
    assert resp.status_code == 200
    assert resp.get_json()["pre_approval"]["state"] == "WITHDRAWN"
    thread.join(timeout=10)
    assert outcome["resp"].status_code == 303
    order = load_order(app, order_id)
    assert order.status == "CANCELED"
    assert sandbox.payment_by_order(order_id)["status"] == "CANCELED"


def test_preapproval_decline_unpaid_order_409_and_bad_body_400(
    app: Flask, hooked_shop: Shop, payer: Callable[..., Payer]
) -> None:
    p = payer()
    order_id = shop_order(app, hooked_shop, p)
    api = app.test_client()
    resp = api.post(
        f"/api/v1/orders/{order_id}/decline",
        json={"reason": "nothing yet"},
        headers=hooked_shop.headers("unpaid-1"),
    )
    assert resp.status_code == 409
    bad = api.post(
        f"/api/v1/orders/{order_id}/decline",
        json={"reason": ""},
        headers=hooked_shop.headers("unpaid-2"),
    )
    assert bad.status_code == 400
    assert load_order(app, order_id).status == "PENDING"


def test_preapproval_reconcile_asks_again_never_confirms_without_yes(
    app: Flask,
    payer: Callable[..., Payer],
    hooked_shop: Shop,
    hook: Hook,
    confirm_calls: Calls,
) -> None:
    """A crash while waiting for the hook leaves the order CONFIRMING/ASKED; reconcile
    asks again (same webhook-id) and confirms only on a yes."""
    from urllib.parse import parse_qs, urlsplit

    from wallet.services import payments

    p = payer()
    order_id = shop_order(app, hooked_shop, p)
    key = parse_qs(urlsplit(p.authorize(order_id)).query)["paymentKey"][0]
    with app.app_context():
        order = db.session.scalar(select(Order).where(Order.order_id == order_id))
        assert payments._claim(order, key, "BRANDPAY")
        order.preapproval = "ASKED"  # as the crashed request left it
        db.session.commit()
    hook.mode = "no"
    result = app.test_cli_runner().invoke(
        args=["wallet", "reconcile", "--min-age", "0"]
    )
    assert result.exit_code == 0, result.output
    assert confirm_calls(order_id) == []
    assert load_order(app, order_id).status == "FAILED"
    assert hook.received[0]["headers"]["Webhook-Id"] == f"preapproval_{order_id}_1"


def test_preapproval_dashboard_sets_url_with_reauth_and_checks_it(
    app: Flask,
    shop: Shop,  # noqa: F811
    hook: Hook,
    make_member: Callable[..., Any],
) -> None:
    from tests.conftest import logged_in_client
    from tests.integration.security.conftest import make_staff, post_form

    make_member("staff-hook@example.com", "correct-horse-1")
    staff = logged_in_client(app, "staff-hook@example.com", "correct-horse-1")
    make_staff(app, shop, "staff-hook@example.com")
    action = f"/merchant/{shop.id}/pre-approval"
    first = post_form(staff, "/merchant", action, {"confirm_url": hook.url})
    assert "/auth/reauth" in first.headers["Location"]  # privileged: re-auth first
    post_form(staff, "/auth/reauth", "/auth/reauth", {"password": "correct-horse-1"})
    bad = post_form(staff, "/merchant", action, {"confirm_url": "ftp://x.example/a"})
    assert bad.status_code == 400
    assert "pre-approval URL must be an https URL" in bad.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Merchant, shop.id).confirm_url is None
    ok = post_form(staff, "/merchant", action, {"confirm_url": hook.url})
    assert ok.status_code == 303
    with app.app_context():
        assert db.session.get(Merchant, shop.id).confirm_url == hook.url
    page = staff.get("/merchant").get_data(as_text=True)
    assert hook.url in page
    cleared = post_form(staff, "/merchant", action, {"confirm_url": ""})
    assert cleared.status_code == 303
    with app.app_context():
        assert db.session.get(Merchant, shop.id).confirm_url is None
    assert _audit(app, "merchant.confirm_url_changed")
