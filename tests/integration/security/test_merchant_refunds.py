"""Issue 13 M1: a buyer can no longer refund a merchant's order alone. The merchant (API,
dashboard behind re-authentication) or an admin refunds; the member asks, and the
merchant hears of the request and of its decision by webhook."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from flask import Flask
from joserfc import jwt
from joserfc.jwk import OctKey
from sqlalchemy import select, update

from tests.integration.merchants.conftest import Receiver
from tests.integration.security.conftest import (
    PASSWORD,
    Payer,
    Shop,
    make_staff,
    post_form,
)
from wallet.extensions import db
from wallet.models._types import utcnow
from wallet.models.merchant import Merchant
from wallet.models.order import Order
from wallet.models.outbox import OutboxEvent
from wallet.models.payment import Payment
from wallet.models.refund_request import RefundRequest
from wallet.services import merchants, outbox

PayMerchantOrder = Callable[..., tuple[Payer, str]]


def _events(app: Flask) -> list[tuple[str, dict[str, Any]]]:
    with app.app_context():
        rows = db.session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.channel == "webhook")  # mail rows are sealed
            .order_by(OutboxEvent.id)
        ).all()
        return [(r.event_type, json.loads(r.payload)["data"]) for r in rows]


def _request_refund(p: Payer, order_id: str, reason: str) -> Any:
    receipt = f"/pay/orders/{order_id}/receipt"
    return p.post_form(
        receipt, f"/pay/orders/{order_id}/refund-request", {"reason": reason}
    )


def _requests(app: Flask) -> list[RefundRequest]:
    with app.app_context():
        rows = db.session.scalars(
            select(RefundRequest).order_by(RefundRequest.id)
        ).all()
        db.session.expunge_all()
        return list(rows)


def test_member_cancel_of_merchant_order_refused_order_stays_paid(
    shop: Shop, pay_merchant_order: PayMerchantOrder, sandbox: Any
) -> None:
    # Attack (M1): the buyer POSTs the receipt's cancel for the shop's order.
    p, order_id = pay_merchant_order(shop)
    receipt = p.client.get(f"/pay/orders/{order_id}/receipt").get_data(as_text=True)
    assert "Cancel payment" not in receipt
    assert "Ask the shop for a refund" in receipt
    resp = p.post_form(
        f"/pay/orders/{order_id}/receipt", f"/pay/orders/{order_id}/cancel", {}
    )
    assert resp.status_code == 403
    assert "The shop refunds its own orders" in resp.get_data(as_text=True)
    order = p.order(order_id)
    assert order.status == "DONE"
    assert order.payment.cancels == []
    assert sandbox.payment(order.payment.payment_key)["status"] == "DONE"


def test_merchant_opt_in_lets_members_cancel_within_its_window(
    app: Flask, shop: Shop, pay_merchant_order: PayMerchantOrder
) -> None:
    with app.app_context():
        merchants.set_refund_policy(db.session.get(Merchant, shop.id), 3, "test")
    p, inside = pay_merchant_order(shop)
    resp = p.post_form(
        f"/pay/orders/{inside}/receipt", f"/pay/orders/{inside}/cancel", {}
    )
    assert resp.status_code == 303
    assert p.order(inside).status == "CANCELED"
    _p, outside = pay_merchant_order(shop, who=p)
    with app.app_context():  # paid four days ago: past the shop's three days
        # (from our clock: the session's sandbox clock may have been moved on)
        four_days_ago = utcnow() - timedelta(days=4)
        db.session.execute(
            update(Payment)
            .where(Payment.payment_key == p.order(outside).payment.payment_key)
            .values(approved_at=four_days_ago, created_at=four_days_ago)
        )
        db.session.commit()
    resp = p.post_form(
        f"/pay/orders/{outside}/receipt", f"/pay/orders/{outside}/cancel", {}
    )
    assert resp.status_code == 403
    assert p.order(outside).status == "DONE"


def test_refund_request_reaches_the_merchant_by_webhook_dashboard_and_api(
    app: Flask,
    shop_factory: Callable[..., Shop],
    receiver: Receiver,
    pay_merchant_order: PayMerchantOrder,
    member_client: Callable[..., Any],
) -> None:
    hooked = shop_factory(name="Hooked", webhook_url=receiver.url)
    p, order_id = pay_merchant_order(hooked)
    assert _request_refund(p, order_id, "").status_code == 400  # a reason is needed
    resp = _request_refund(p, order_id, "The tea arrived broken")
    assert resp.status_code == 303
    receipt = p.client.get(f"/pay/orders/{order_id}/receipt").get_data(as_text=True)
    assert "The shop has not answered yet" in receipt
    again = _request_refund(p, order_id, "Still broken")
    assert again.status_code == 409  # one open request per order
    [request] = _requests(app)
    assert (request.status, request.reason) == ("OPEN", "The tea arrived broken")

    created = [d for t, d in _events(app) if t == "refund_request.created"]
    assert created == [
        {
            "request_id": request.public_id,
            "order_id": order_id,
            "status": "OPEN",
            "reason": "The tea arrived broken",
            "amount": 12300,
            "refundable_amount": 12300,
            "decision_reason": None,
            "refunded_amount": None,
            "created_at": created[0]["created_at"],
            "decided_at": None,
        }
    ]
    with app.app_context():
        outbox.run_once("test-worker")
    bodies = [json.loads(r["body"]) for r in receiver.received]
    assert "refund_request.created" in [b["type"] for b in bodies]

    listed = app.test_client().get("/api/v1/refund-requests", headers=hooked.headers())
    assert listed.status_code == 200
    assert [r["request_id"] for r in listed.get_json()["data"]] == [request.public_id]

    staff, _ = member_client("staff@example.com")
    make_staff(app, hooked, "staff@example.com")
    dashboard = staff.get("/merchant").get_data(as_text=True)
    assert "The tea arrived broken" in dashboard


def test_refund_request_approved_over_api_refunds_at_toss(
    app: Flask,
    shop_factory: Callable[..., Shop],
    receiver: Receiver,
    pay_merchant_order: PayMerchantOrder,
    sandbox: Any,
) -> None:
    hooked = shop_factory(name="Hooked", webhook_url=receiver.url)
    p, order_id = pay_merchant_order(hooked, 12300)
    assert _request_refund(p, order_id, "Wrong size").status_code == 303
    [request] = _requests(app)
    client = app.test_client()
    path = f"/api/v1/refund-requests/{request.public_id}/approve"
    resp = client.post(path, json={"amount": 2300}, headers=hooked.headers("ap-1"))
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert (body["status"], body["refunded_amount"]) == ("APPROVED", 2300)
    order = p.order(order_id)
    assert order.status == "PARTIAL_CANCELED"
    assert sandbox.payment(order.payment.payment_key)["balanceAmount"] == 10000
    replay = client.post(path, json={"amount": 2300}, headers=hooked.headers("ap-1"))
    assert replay.get_json() == body  # the stored answer, not a second refund
    second = client.post(path, json={}, headers=hooked.headers("ap-2"))
    assert second.status_code == 409  # already decided
    assert p.order(order_id).payment.balance_amount == 10000
    kinds = [t for t, _d in _events(app)]
    assert "refund_request.approved" in kinds
    assert "order.partial_canceled" in kinds
    receipt = p.client.get(f"/pay/orders/{order_id}/receipt").get_data(as_text=True)
    assert "The shop approved your request and refunded ₩2,300" in receipt


def test_refund_request_declined_on_dashboard_after_reauth(
    app: Flask,
    shop_factory: Callable[..., Shop],
    receiver: Receiver,
    pay_merchant_order: PayMerchantOrder,
    member_client: Callable[..., Any],
) -> None:
    hooked = shop_factory(name="Hooked", webhook_url=receiver.url)
    p, order_id = pay_merchant_order(hooked)
    assert _request_refund(p, order_id, "Changed my mind").status_code == 303
    [request] = _requests(app)
    staff, _ = member_client("staff@example.com")
    make_staff(app, hooked, "staff@example.com")
    action = f"/merchant/{hooked.id}/refund-requests/{request.public_id}/decline"
    reason = {"reason": "Opened packages cannot be returned"}
    first = post_form(staff, "/merchant", action, reason)
    assert first.status_code == 303  # re-authentication first
    assert "/auth/reauth" in first.headers["Location"]
    assert _requests(app)[0].status == "OPEN"
    resumed = post_form(staff, "/auth/reauth", "/auth/reauth", {"password": PASSWORD})
    assert resumed.headers["Location"].endswith("/auth/resume")
    page = staff.get("/auth/resume").get_data(as_text=True)
    assert "Opened packages cannot be returned" in page  # kept, not retyped
    done = post_form(staff, "/auth/resume", action, reason)
    assert done.status_code == 303
    [request] = _requests(app)
    assert (request.status, request.decision_reason) == (
        "DECLINED",
        "Opened packages cannot be returned",
    )
    receipt = p.client.get(f"/pay/orders/{order_id}/receipt").get_data(as_text=True)
    assert (
        "The shop declined your request: Opened packages cannot be returned" in receipt
    )
    assert "refund_request.declined" in [t for t, _d in _events(app)]
    assert p.order(order_id).status == "DONE"
    # Declined is final for that request; the member may ask again.
    assert _request_refund(p, order_id, "Please reconsider").status_code == 303


def test_merchant_refunds_from_the_dashboard_after_reauth(
    app: Flask,
    shop: Shop,
    pay_merchant_order: PayMerchantOrder,
    member_client: Callable[..., Any],
) -> None:
    p, order_id = pay_merchant_order(shop, 12300)
    staff, _ = member_client("staff@example.com")
    make_staff(app, shop, "staff@example.com")
    post_form(staff, "/auth/reauth", "/auth/reauth", {"password": PASSWORD})
    action = f"/merchant/{shop.id}/orders/{order_id}/refund"
    missing = post_form(staff, "/merchant", action, {"reason": "damaged"})
    assert missing.status_code == 400  # the amount is always stated
    assert "Enter the amount to refund" in missing.get_data(as_text=True)
    resp = post_form(staff, "/merchant", action, {"amount": "300", "reason": "damaged"})
    assert resp.status_code == 303
    order = p.order(order_id)
    assert order.status == "PARTIAL_CANCELED"
    [cancel] = order.payment.cancels
    assert cancel.amount == 300
    assert cancel.actor.startswith("staff@example.com")


def test_result_token_expires_within_ten_minutes(
    shop: Shop, pay_merchant_order: PayMerchantOrder
) -> None:
    p, order_id = pay_merchant_order(shop)
    location = p.client.get(f"/merchant/return/{order_id}").headers["Location"]
    token = parse_qs(urlsplit(location).query)["wallet_result"][0]
    claims = jwt.decode(token, OctKey.import_key(shop.key)).claims
    assert claims["status"] == "DONE"
    assert claims["exp"] - claims["iat"] <= 600


def test_admin_still_refunds_merchant_orders(
    app: Flask,
    shop: Shop,
    pay_merchant_order: PayMerchantOrder,
    browser: Callable[..., Any],
) -> None:
    from tests.integration.security.conftest import reauth

    p, order_id = pay_merchant_order(shop)
    admin = browser(role="admin")
    reauth(admin)
    page = f"/admin/payments/{order_id}"
    resp = admin.post_form(page, f"{page}/refund", {"amount": "100", "reason": "x"})
    assert resp.status_code == 303
    with app.app_context():
        status = db.session.scalar(
            select(Order.status).where(Order.order_id == order_id)
        )
    assert status == "PARTIAL_CANCELED"
