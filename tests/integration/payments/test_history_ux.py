"""Issue 14, history and receipts: unpaid, declined and expired attempts are listed with a
next step; filters by date, status and shop; the receipt says what a receipt says."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select

from tests.integration.payments.conftest import Payer, path_of
from wallet.extensions import db
from wallet.models._types import utcnow
from wallet.models.audit import AuditEvent
from wallet.models.order import Order
from wallet.sandbox.catalog import DECLINED_TEST_CARD
from wallet.services import merchants

_ROW_RE = re.compile(r'href="/pay/orders/([A-Za-z0-9_-]+)(?:/receipt)?"')


def _rows(p: Payer, query: str = "") -> list[str]:
    resp = p.client.get(f"/pay/history{query}")
    assert resp.status_code == 200
    seen: list[str] = []
    for order_id in _ROW_RE.findall(resp.get_data(as_text=True)):
        if order_id not in seen:
            seen.append(order_id)
    return seen


def test_history_ux_declined_attempt_listed_with_retry_and_audited(
    app: Flask, payer: Callable[..., Payer]
) -> None:
    p = payer(card=DECLINED_TEST_CARD)
    order_id = p.new_order(15000, "Declined teapot")
    location = p.authorize(order_id)
    assert "code=REJECT_CARD_COMPANY" in location
    assert p.client.get(path_of(location)).status_code == 200
    order = p.order(order_id)
    assert order.status == "PENDING"
    assert order.failure_code == "REJECT_CARD_COMPANY"
    html = p.client.get("/pay/history").get_data(as_text=True)
    assert "Declined teapot" in html
    assert "Declined" in html
    assert f'href="/pay/orders/{order_id}"' in html  # "Try again" goes to checkout
    assert "Try again" in html
    assert _rows(p, "?status=declined") == [order_id]
    assert _rows(p, "?status=paid") == []
    with app.app_context():
        audited = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "payment.declined")
        ).all()
    assert [e.subject for e in audited] == [order_id]


def test_history_ux_unpaid_and_expired_listed_not_hidden(
    app: Flask, payer: Callable[..., Payer]
) -> None:
    p = payer()
    unpaid = p.new_order(2000, "Left for later")
    expired = p.new_order(3000, "Ran out of time")
    with app.app_context():
        row = db.session.scalar(select(Order).filter_by(order_id=expired))
        row.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert p.client.get(f"/pay/orders/{expired}").status_code == 200  # expires lazily
    html = p.client.get("/pay/history").get_data(as_text=True)
    assert "Left for later" in html
    assert "Pay now" in html
    assert "Ran out of time" in html
    assert "Expired" in html
    # An expired order of one's own can be paid again: a new order, filled in.
    again = re.search(r'href="(/pay/new\?[^"]+)"', html)
    assert again
    form = p.client.get(again.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert 'value="Ran out of time"' in form
    assert 'value="3000"' in form
    assert "No payments yet" not in html
    assert _rows(p, "?status=unpaid") == [unpaid]
    assert _rows(p, "?status=expired") == [expired]
    # A member's window closed is no decline: the order is simply still unpaid.
    location = p.authorize(unpaid, cancel=True)
    p.client.get(path_of(location))
    assert _rows(p, "?status=declined") == []


def test_history_ux_filters_by_date_and_shop(
    app: Flask, payer: Callable[..., Payer]
) -> None:
    p = payer()
    old, _ = p.pay(1000)
    new, _ = p.pay(2000)
    shop_order = p.new_order(3000, "At the shop")
    with app.test_request_context("/"):
        shop, _secret = merchants.create_merchant(
            "Tea shop", ["https://shop.example"], None, actor="test"
        )
        db.session.scalar(
            select(Order).filter_by(order_id=shop_order)
        ).merchant_id = shop.id
        # 2026-01-10 23:30 KST is 14:30 UTC: a day boundary in Korea, not in UTC.
        db.session.scalar(
            select(Order).filter_by(order_id=old)
        ).created_at = utcnow().replace(year=2026, month=1, day=10, hour=14, minute=30)
        shop_id = shop.id
        db.session.commit()
    assert set(_rows(p)) == {old, new, shop_order}
    assert _rows(p, "?from=2026-01-10&to=2026-01-10") == [old]
    assert _rows(p, "?from=2026-01-11&to=2026-01-11") == []
    assert _rows(p, f"?shop={shop_id}") == [shop_order]
    assert shop_order not in _rows(p, "?shop=direct")
    html = p.client.get("/pay/history").get_data(as_text=True)
    assert "Tea shop" in html  # the shop's name on its row
    assert "Direct payment" in html
    # Nonsense filters are ignored, never an error.
    assert set(_rows(p, "?from=yesterday&status=<b>&shop=x")) == {old, new, shop_order}
    empty = p.client.get("/pay/history?shop=999999").get_data(as_text=True)
    assert "No payments match" in empty


def test_history_ux_receipt_shows_approval_vat_deadline_and_timing(
    app: Flask, payer: Callable[..., Payer], sandbox: Any
) -> None:
    p = payer()
    order_id, _ = p.pay(11000)
    stored = p.order(order_id).payment
    assert stored is not None
    truth = sandbox.payment(stored.payment_key)
    assert stored.approve_no == truth["card"]["approveNo"]
    assert stored.supplied_amount == truth["suppliedAmount"]
    assert stored.vat == truth["vat"]
    html = p.client.get(f"/pay/orders/{order_id}/receipt").get_data(as_text=True)
    assert "Approval number" in html
    assert stored.approve_no in html
    assert f"₩{truth['suppliedAmount']:,}" in html
    assert "VAT" in html
    assert "Refund amount" in html
    assert "Direct payment" in html
    assert "You can cancel this payment yourself until" in html
    assert "KST" in html
    assert "data-print" in html
    # Canceled the same day, in full: the receipt says the money is back at once.
    resp = p.post_form(
        f"/pay/orders/{order_id}/receipt", f"/pay/orders/{order_id}/cancel", {}
    )
    assert resp.status_code == 303
    html = p.client.get(f"/pay/orders/{order_id}/receipt").get_data(as_text=True)
    assert "takes effect at once" in html
    assert "Canceled by the member" in html
    assert "You can cancel this payment yourself" not in html
    ko = p.client.get(
        f"/pay/orders/{order_id}/receipt", headers={"Accept-Language": "ko"}
    ).get_data(as_text=True)
    assert "회원이 직접 취소함" in ko
    assert "11,000원" in ko
