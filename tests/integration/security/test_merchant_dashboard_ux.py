"""Issue 14: the merchant dashboard runs the shop: an order's page with its payment,
refunds and webhooks; refunds from it behind re-authentication; a webhook delivery log
with "Resend" and "Send a test event", delivered for real to a receiver."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask import Flask
from sqlalchemy import select

from tests.integration.merchants.conftest import Receiver
from tests.integration.security.conftest import PASSWORD, Shop, make_staff, post_form
from wallet.extensions import db
from wallet.models.audit import AuditEvent
from wallet.models.outbox import OutboxEvent
from wallet.services import outbox


def _bodies(receiver: Receiver) -> list[tuple[str, str]]:
    return [
        (r["headers"]["webhook-id"], json.loads(r["body"])["type"])
        for r in receiver.received
    ]


def test_merchant_dashboard_order_page_refund_and_webhook_log(
    app: Flask,
    shop_factory: Callable[..., Shop],
    receiver: Receiver,
    pay_merchant_order: Callable[..., Any],
    member_client: Callable[..., Any],
) -> None:
    hooked = shop_factory(name="Hooked", webhook_url=receiver.url)
    p, order_id = pay_merchant_order(hooked, 12300)
    staff, _ = member_client("staff@example.com")
    make_staff(app, hooked, "staff@example.com")
    page = f"/merchant/{hooked.id}/orders/{order_id}"

    dashboard = staff.get("/merchant").get_data(as_text=True)
    assert f'href="{page}"' in dashboard
    html = staff.get(page).get_data(as_text=True)
    assert "₩12,300" in html
    assert p.email in html
    assert "order.done" in html  # its webhook, on its page
    # Someone else's order is not there; another member is no staff at all.
    assert staff.get(f"/merchant/{hooked.id}/orders/ord_nope12345").status_code == 404
    assert p.client.get(page).status_code in (403, 404)

    # A refund from the order's page: re-authentication first, then back to the page.
    first = post_form(
        staff,
        page,
        f"/merchant/{hooked.id}/orders/{order_id}/refund",
        {"amount": "2300", "reason": "dented tin"},
    )
    assert "/auth/reauth" in first.headers["Location"]
    post_form(staff, "/auth/reauth", "/auth/reauth", {"password": PASSWORD})
    # Too much: refused on the order's page, with what was typed kept; nothing sent.
    over = post_form(
        staff,
        page,
        f"/merchant/{hooked.id}/orders/{order_id}/refund",
        {"amount": "99999", "reason": "too much"},
    )
    assert over.status_code == 409
    refused = over.get_data(as_text=True)
    assert "At most ₩12,300 can be refunded now." in refused
    assert 'value="too much"' in refused
    assert p.order(order_id).payment.balance_amount == 12300
    resp = post_form(
        staff,
        page,
        f"/merchant/{hooked.id}/orders/{order_id}/refund",
        {"amount": "2300", "reason": "dented tin"},
    )
    assert resp.status_code == 303
    assert resp.headers["Location"].endswith(page)
    html = staff.get(page).get_data(as_text=True)
    assert "dented tin" in html
    assert "₩2,300" in html
    assert p.order(order_id).payment.balance_amount == 10000

    # Deliver what is queued, then resend the first event and send a test event.
    with app.app_context():
        outbox.run_once("test-worker")
        done = db.session.scalars(
            select(OutboxEvent).where(OutboxEvent.event_type == "order.done")
        ).one()
        done_id, done_msg = done.id, done.message_id
    assert (done_msg, "order.done") in _bodies(receiver)
    resent = post_form(
        staff, "/merchant", f"/merchant/{hooked.id}/webhooks/{done_id}/resend", {}
    )
    assert resent.status_code == 303
    tested = post_form(staff, "/merchant", f"/merchant/{hooked.id}/webhooks/test", {})
    assert tested.status_code == 303
    before = len(receiver.received)
    with app.app_context():
        outbox.run_once("test-worker")
    arrived = _bodies(receiver)[before:]
    assert (done_msg, "order.done") in arrived  # same webhook-id: receivers dedupe
    assert "webhook.test" in [kind for _id, kind in arrived]
    dashboard = staff.get("/merchant").get_data(as_text=True)
    assert "webhook.test" in dashboard
    with app.app_context():
        actions = set(db.session.scalars(select(AuditEvent.action)).all())
    assert {"merchant.webhook_resent", "merchant.webhook_test_sent"} <= actions

    # Without CSRF nothing is sent; someone else's event is not found.
    assert staff.post(f"/merchant/{hooked.id}/webhooks/test").status_code == 400
    other = shop_factory(name="Other", webhook_url=receiver.url)
    make_staff(app, other, "staff@example.com")
    stray = post_form(
        staff, "/merchant", f"/merchant/{other.id}/webhooks/{done_id}/resend", {}
    )
    assert stray.status_code == 404


def test_merchant_dashboard_test_event_without_webhook_url_refused(
    app: Flask, shop: Shop, member_client: Callable[..., Any]
) -> None:
    staff, _ = member_client("staff@example.com")
    make_staff(app, shop, "staff@example.com")
    first = post_form(staff, "/merchant", f"/merchant/{shop.id}/webhooks/test", {})
    assert "/auth/reauth" in first.headers["Location"]  # re-auth, as every change
    post_form(staff, "/auth/reauth", "/auth/reauth", {"password": PASSWORD})
    resp = post_form(staff, "/merchant", f"/merchant/{shop.id}/webhooks/test", {})
    assert resp.status_code == 303
    page = staff.get(resp.headers["Location"]).get_data(as_text=True)
    assert "No webhook URL is set" in page
    with app.app_context():
        assert db.session.scalars(select(OutboxEvent)).all() == []
