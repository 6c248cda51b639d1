"""History: the member's payments newest first, keyset pages, no N+1 queries."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import event

from tests.integration.payments.conftest import Payer
from wallet.extensions import db
from wallet.models._types import utcnow
from wallet.models.order import Order
from wallet.models.payment import Payment, PaymentCancel
from wallet.views import pay

_ROW_RE = re.compile(r'href="/pay/orders/([A-Za-z0-9_-]+)/receipt"')
_NEXT_RE = re.compile(r'href="(/pay/history\?after=[^"]+)"')


def _paid_orders(
    app: Flask, member_id: int, count: int, *, same_time_every: int = 3
) -> list[str]:
    """Paid orders straight in the database; every few share one created_at (ties)."""
    base = utcnow() - timedelta(hours=1)
    ids = []
    with app.app_context():
        for i in range(count):
            at = base + timedelta(seconds=i // same_time_every)
            order = Order(
                order_name=f"Item {i}",
                amount=1000 + i,
                member_id=member_id,
                status="PARTIAL_CANCELED" if i % 2 else "DONE",
                created_at=at,
                expires_at=at + timedelta(minutes=30),
            )
            db.session.add(order)
            db.session.flush()
            payment = Payment(
                order_pk=order.id,
                payment_key=f"tbp_hist_{member_id}_{i}",
                status=order.status,
                method="카드",
                total_amount=order.amount,
                balance_amount=order.amount - (100 if i % 2 else 0),
                approved_at=at,
            )
            db.session.add(payment)
            db.session.flush()
            if i % 2:
                db.session.add(
                    PaymentCancel(
                        payment_id=payment.id,
                        amount=100,
                        reason="partial",
                        actor="toss",
                        status="DONE",
                        canceled_at=at,
                    )
                )
            ids.append(order.order_id)
        db.session.commit()
    return ids


def _walk(p: Payer) -> tuple[list[str], int]:
    seen: list[str] = []
    url: str | None = "/pay/history"
    pages = 0
    while url:
        resp = p.client.get(url)
        assert resp.status_code == 200
        html = resp.get_data(as_text=True)
        seen += _ROW_RE.findall(html)
        nxt = _NEXT_RE.search(html)
        url = nxt.group(1).replace("&amp;", "&") if nxt else None
        pages += 1
        assert pages < 50
    return seen, pages


def test_history_pages_every_payment_exactly_once_newest_first(
    app: Flask, payer: Callable[..., Payer], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pay, "HISTORY_PAGE_SIZE", 4)
    p, other = payer(), payer()
    mine = _paid_orders(app, p.member_id, 11)
    theirs = _paid_orders(app, other.member_id, 3)
    pending = p.new_order(5000)  # never reached Toss: not a payment
    seen, pages = _walk(p)
    assert pages == 3
    assert sorted(seen) == sorted(mine)
    assert len(seen) == len(set(seen))
    assert list(reversed(seen)) == mine  # newest first, ties broken by id
    assert not set(theirs) & set(seen)
    assert pending not in seen


def test_history_bad_cursor_starts_from_newest(
    app: Flask, payer: Callable[..., Payer]
) -> None:
    p = payer()
    mine = _paid_orders(app, p.member_id, 2)
    for cursor in ("garbage", "99999999999999999999-1", "-1", "1-2-3"):
        resp = p.client.get(f"/pay/history?after={cursor}")
        assert resp.status_code == 200
        rows = _ROW_RE.findall(resp.get_data(as_text=True))
        assert rows in ([*reversed(mine)], [])


def test_history_empty_state(payer: Callable[..., Payer]) -> None:
    page = payer().client.get("/pay/history").get_data(as_text=True)
    assert "No payments yet" in page


@contextmanager
def _count_queries(app: Flask) -> Iterator[list[str]]:
    statements: list[str] = []
    with app.app_context():
        engine = db.engine

    def record(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_history_query_count_independent_of_rows(
    app: Flask, payer: Callable[..., Payer]
) -> None:
    few, many = payer(), payer()
    _paid_orders(app, few.member_id, 2)
    _paid_orders(app, many.member_id, 12)
    few.client.get("/pay/history")  # warm-up (first-use queries)
    many.client.get("/pay/history")
    with _count_queries(app) as small:
        assert few.client.get("/pay/history").status_code == 200
    with _count_queries(app) as large:
        assert many.client.get("/pay/history").status_code == 200
    assert len(large) == len(small)


def test_history_wallet_home_shows_recent_payments(
    app: Flask, payer: Callable[..., Payer]
) -> None:
    p = payer()
    ids = _paid_orders(app, p.member_id, 7)
    home = p.client.get("/wallet").get_data(as_text=True)
    shown = _ROW_RE.findall(home)
    assert shown == list(reversed(ids))[:5]
