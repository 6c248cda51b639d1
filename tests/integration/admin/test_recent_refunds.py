"""The admin member page's recent refunds: the same rows whichever plan finds them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from bench import seed
from wallet.extensions import db
from wallet.models.order import Order
from wallet.models.payment import Payment, PaymentCancel
from wallet.services import admin


@pytest.mark.parametrize("many_orders", [5, 10**6])
def test_recent_refunds_are_the_members_newest_whichever_plan(
    app: Flask,
    make_member: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
    many_orders: int,
) -> None:
    mine = make_member("mine@example.com")
    theirs = make_member("theirs@example.com")
    with app.app_context():
        with db.engine.begin() as conn:
            seed.payments(conn, 90, member_id=mine)  # every third refunded: 30
            seed.payments(conn, 30, member_id=theirs)  # newer cancels, not mine
        expected = db.session.execute(
            select(PaymentCancel.id, Order.order_id)
            .join(Payment, PaymentCancel.payment_id == Payment.id)
            .join(Order, Payment.order_pk == Order.id)
            .where(Order.member_id == mine)
        ).all()
        monkeypatch.setattr(admin, "_MANY_ORDERS", many_orders)
        monkeypatch.setattr(admin, "_KNOWN_MANY", set())  # this database's members

        found = admin.recent_refunds(mine)
        counted = db.engine.dialect.name == "sqlite"  # PostgreSQL needs no count

    newest = sorted(expected, reverse=True)[:20]
    assert [(c.id, order_id) for c, order_id in found] == newest
    assert len(found) == 20
    # Orders are never deleted: a member once found to have many keeps that plan
    # without counting again (issue 16).
    assert (mine in admin._KNOWN_MANY) == (counted and many_orders == 5)
