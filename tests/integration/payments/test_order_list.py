"""The list pages' rows (services/order_list.py, issue 16): the same orders, values and
cursors as the ORM `orders.page`, and a loud failure for anything they do not carry."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask, render_template_string
from sqlalchemy import update

from bench import seed
from tests.integration.merchants.conftest import make_shop
from wallet.extensions import db
from wallet.models import Member
from wallet.models._types import utcnow
from wallet.models.merchant import Merchant
from wallet.models.order import DECLINED, EXPIRED, PENDING, Order
from wallet.services import order_list, orders
from wallet.services.order_list import (
    ListedMember,
    ListedOrder,
    ListedPayment,
    NotListedError,
)


def _world(app: Flask, make_member: Callable[..., Any]) -> dict[str, Any]:
    """A member with paid (some partly refunded), declined, closed-window, expired
    and unpaid orders, direct and at a shop; a guest's order at the shop; a second
    member's order."""
    member_id = make_member("lister@example.com")
    other_id = make_member("other@example.com")
    with app.app_context():
        shop = make_shop("List shop")
        with db.engine.begin() as conn:
            seed.payments(conn, 7, member_id=member_id, cancel_every=2)
            seed.payments(conn, 3, member_id=member_id, merchant_id=shop.id)
            seed.payments(conn, 2, member_id=None, merchant_id=shop.id)  # guests
            seed.payments(conn, 2, member_id=other_id)
        member = db.session.get(Member, member_id)
        unpaid = [
            orders.create_order(1000 + i, f"Unpaid {i}", member=member)
            for i in range(4)
        ]
        guest = orders.create_order(4200, "Guest unpaid", merchant_id=shop.id)
        for order, fields in zip(
            unpaid,
            (
                {"failure_code": "REJECT_CARD_COMPANY"},  # declined
                {"failure_code": "PAY_PROCESS_CANCELED"},  # window closed
                {"status": EXPIRED},
                {"expires_at": utcnow() - timedelta(minutes=1)},  # past, not moved
            ),
            strict=True,
        ):
            db.session.execute(
                update(Order).where(Order.id == order.id).values(**fields)
            )
        db.session.commit()
        return {
            "member_id": member_id,
            "shop_id": shop.id,
            "guest": guest.order_id,
            "declined": unpaid[0].order_id,
        }


def _shown(o: Order | ListedOrder, now: Any) -> dict[str, Any]:
    """An ORM order or a list row, read through ListedOrder's own names."""
    shown = {f.name: getattr(o, f.name) for f in dataclasses.fields(ListedOrder)}
    p = o.payment
    shown["payment"] = (
        None
        if p is None
        else {f.name: getattr(p, f.name) for f in dataclasses.fields(ListedPayment)}
        | {"refundable": p.refundable, "canceled_amount": p.canceled_amount}
    )
    shown["merchant"] = (o.merchant.id, o.merchant.name) if o.merchant else None
    shown["member"] = (o.member.id, o.member.email) if o.member else None
    shown["shown_status"] = o.shown_status
    shown["past"] = o.is_past_expiry(now)
    return shown


def _walk_both(limit: int, orm: dict[str, Any], rows: dict[str, Any]) -> int:
    """Page through both paths with their own cursors; every page must be equal."""
    cursor, pages = None, 0
    while True:
        old = orders.page(cursor=cursor, limit=limit, **orm)
        new = order_list.listed(cursor=cursor, limit=limit, **rows)
        now = utcnow()
        assert [_shown(o, now) for o in new.orders] == [
            _shown(o, now) for o in old.orders
        ]
        assert new.next_cursor == old.next_cursor
        pages += 1
        if old.next_cursor is None:
            return pages
        cursor = old.next_cursor


def test_listed_same_rows_values_and_cursors_as_orm_page(
    app: Flask, make_member: Callable[..., Any]
) -> None:
    w = _world(app, make_member)
    with app.app_context():
        member = db.session.get(Member, w["member_id"])
        shop = db.session.get(Merchant, w["shop_id"])
        since = utcnow() - timedelta(seconds=30)
        cases = [
            ({}, {}),  # the admin's list
            ({"statuses": ("DONE",)}, {"statuses": ("DONE",)}),
            (
                {"member_id": member.id, "statuses": orders.MEMBER_HISTORY_STATUSES},
                {"member": member, "statuses": orders.MEMBER_HISTORY_STATUSES},
            ),
            ({"member_id": member.id}, {"member": member}),  # admin member page
            (
                {"member_id": member.id, "merchant_id": shop.id, "statuses": None},
                {"member": member, "merchant_id": shop.id, "statuses": None},
            ),
            (
                {"member_id": member.id, "direct_only": True, "statuses": None},
                {"member": member, "direct_only": True, "statuses": None},
            ),
            (
                {"member_id": member.id, "declined_only": True, "statuses": (PENDING,)},
                {"member": member, "declined_only": True, "statuses": (PENDING,)},
            ),
            (
                {"member_id": member.id, "statuses": None, "since": since},
                {"member": member, "statuses": None, "since": since},
            ),
            (
                {"member_id": member.id, "statuses": None, "before": since},
                {"member": member, "statuses": None, "before": since},
            ),
            (
                {"merchant_id": shop.id, "statuses": None},
                {"merchant": shop, "statuses": None},
            ),
        ]
        for orm, rows in cases:
            assert _walk_both(3, orm, rows) >= 1, orm
            assert _walk_both(100, orm, rows) == 1, orm
        # Deep pages do walk: the member's 14 orders, 3 a page.
        assert _walk_both(3, *cases[2]) == 5


def test_listed_rows_of_unpaid_guest_and_declined_orders(
    app: Flask, make_member: Callable[..., Any]
) -> None:
    w = _world(app, make_member)
    with app.app_context():
        rows = order_list.listed(statuses=None, limit=100).orders
        by_id = {o.order_id: o for o in rows}
        guest = by_id[w["guest"]]
        assert guest.payment is None
        assert guest.member is None
        assert guest.merchant is not None
        assert guest.merchant.name == "List shop"
        declined = by_id[w["declined"]]
        assert declined.status == PENDING
        assert declined.shown_status == DECLINED
        assert declined.member == ListedMember(w["member_id"], "lister@example.com")
        assert declined.merchant is None
        paid = [o for o in rows if o.payment is not None]
        assert {o.payment.status for o in paid} == {"DONE", "PARTIAL_CANCELED"}
        refunded = [o.payment for o in paid if o.payment.canceled_amount]
        assert refunded
        assert all(p.refundable == p.balance_amount for p in refunded)
        assert all(p.total_amount - p.balance_amount > 0 for p in refunded)


def test_cursor_of_a_listed_row_reads_back_its_position(
    app: Flask, make_member: Callable[..., Any]
) -> None:
    _world(app, make_member)
    with app.app_context():
        first = order_list.listed(statuses=None, limit=4)
        last = first.orders[-1]
        assert first.next_cursor == orders.encode_cursor(last)
        assert orders.decode_cursor(first.next_cursor) == (last.created_at, last.id)
        after = order_list.listed(statuses=None, limit=4, cursor=first.next_cursor)
        assert after.orders
        assert not {o.id for o in after.orders} & {o.id for o in first.orders}
        assert after.orders[0].created_at <= last.created_at


def _row(**changes: Any) -> ListedOrder:
    now = utcnow()
    fields: dict[str, Any] = {
        "id": 1,
        "order_id": "ord_x",
        "order_name": "Tea",
        "amount": 1000,
        "status": PENDING,
        "created_at": now,
        "expires_at": now + timedelta(minutes=5),
        "failure_code": None,
        "pay_way": None,
        "merchant_id": None,
        "member_id": None,
        "payment": None,
        "merchant": None,
        "member": None,
    }
    return ListedOrder(**(fields | changes))


def test_listed_order_derived_values() -> None:
    assert _row().shown_status == PENDING
    assert _row(failure_code="REJECT_CARD_COMPANY").shown_status == DECLINED
    assert _row(failure_code="PAY_PROCESS_CANCELED").shown_status == PENDING
    assert _row(status="DONE", failure_code="X").shown_status == "DONE"
    row = _row()
    assert not row.is_past_expiry()
    assert row.is_past_expiry(row.expires_at)
    p = ListedPayment("PARTIAL_CANCELED", "카드", "1234****", 10000, 7000, 500, None)
    assert p.refundable == 6500
    assert p.canceled_amount == 3000
    with pytest.raises(dataclasses.FrozenInstanceError):
        row.status = "DONE"  # type: ignore[misc]


def test_attribute_a_row_lacks_fails_loudly_also_in_a_template(app: Flask) -> None:
    row = _row()
    with pytest.raises(NotListedError, match="currency"):
        _ = row.currency
    with pytest.raises(NotListedError, match="payment_key"):
        _ = ListedPayment("DONE", None, None, 1, 1, 0, None).payment_key
    assert not hasattr(row, "__html__")  # dunders stay plain AttributeErrors
    with app.test_request_context():
        assert render_template_string("{{ o.order_name }}", o=row) == "Tea"
        # Jinja would render a missing attribute as "" (an Undefined): not these rows.
        with pytest.raises(NotListedError):
            render_template_string("{{ o.currency }}", o=row)
