"""Three ways to read a list page's orders, timed on the bench world (issue 16, round four).

    .venv/bin/python -m bench.rowdesigns

Whole ORM rows (`orders.page`), ORM rows with `load_only` + `raiseload` of the listed
columns, and Core rows (`order_list.listed`): history's 20 of 10,000 and the admin's
50, 300 calls each with a fresh session per call, twice; p50 and p95 in µs.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload, load_only, raiseload

from bench import pages
from wallet.extensions import db
from wallet.models import Member
from wallet.models.merchant import Merchant
from wallet.models.order import Order
from wallet.models.payment import Payment
from wallet.services import order_list, orders

_ORDER = [getattr(Order, c.name) for c in order_list._ORDER_COLUMNS]
_PAYMENT = [getattr(Payment, c.name) for c in order_list._PAYMENT_COLUMNS]


def load_only_page(member_id: int | None, limit: int) -> list[Order]:
    """`orders.page` with only the listed columns loaded; anything else raises."""
    loads: list[Any] = [
        load_only(*_ORDER, raiseload=True),
        joinedload(Order.payment).load_only(*_PAYMENT, raiseload=True),
        joinedload(Order.merchant).load_only(Merchant.name, raiseload=True),
    ]
    if member_id is None:
        loads.append(joinedload(Order.member).load_only(Member.email, raiseload=True))
    loads.append(raiseload("*"))
    query = (
        select(Order)
        .where(*orders.filters(member_id=member_id))
        .order_by(*orders.NEWEST_FIRST)
        .limit(limit + 1)
        .options(*loads)
    )
    return list(db.session.scalars(query).unique().all()[:limit])


def _time(name: str, fn: Callable[[], Any], n: int = 300) -> None:
    times = []
    for _ in range(n):
        db.session.remove()
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e6)
    times.sort()
    p50, p95 = statistics.median(times), times[int(n * 0.95)]
    print(f"  {name:32s} p50 {p50:7.0f} µs  p95 {p95:7.0f} µs")


def _designs(who: Member | None, limit: int) -> None:
    member_id = who.id if who is not None else None
    for _ in range(2):
        _time(
            "whole ORM rows (orders.page)",
            lambda: orders.page(member_id=member_id, limit=limit),
        )
        _time("ORM load_only + raiseload", lambda: load_only_page(member_id, limit))
        _time(
            "Core rows (order_list.listed)",
            lambda: order_list.listed(member=who, limit=limit),
        )


def main() -> None:
    logging.disable(logging.CRITICAL)  # the sandbox's access lines
    with pages.world() as w, w.portal.app_context():
        member = db.session.scalar(
            select(Member).where(Member.email == "pages-member@example.com")
        )
        for label, who, limit in (("history, 20", member, 20), ("admin, 50", None, 50)):
            print(label)
            _designs(who, limit)


if __name__ == "__main__":
    main()
