"""Bulk seeding straight into the tables (no services, no audit): fast and repeatable.

PostgreSQL gets one `INSERT ... SELECT generate_series` per table; other databases
(SQLite) get executemany in batches. Rows are shaped like the portal's own: every
order has a payment, every `cancel_every`-th payment a DONE cancel.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import astuple, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, insert, select, text
from werkzeug.security import generate_password_hash

from wallet.extensions import db
from wallet.models._types import utcnow

BATCH = 5000
SEED_PASSWORD = "bench-password-1"  # noqa: S105 - a local benchmark account
_HASH: dict[str, str] = {}


def _table(name: str) -> Any:
    return db.metadata.tables[name]


def _next_id(conn: Connection, table: str) -> int:
    return int(conn.scalar(select(func.coalesce(func.max(_table(table).c.id), 0)))) + 1


def _bump_sequence(conn: Connection, table: str) -> None:
    """PostgreSQL: explicit ids were inserted, so move the serial past them."""
    if conn.dialect.name == "postgresql":
        conn.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
            )
        )


def _batches(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def password_hash() -> str:
    """One real scrypt hash of SEED_PASSWORD, computed once (scrypt is slow on purpose)."""
    if "h" not in _HASH:
        _HASH["h"] = generate_password_hash(SEED_PASSWORD, method="scrypt")
    return _HASH["h"]


def members(
    conn: Connection, count: int, *, prefix: str = "seed", linked: bool = True
) -> list[int]:
    """`count` members who can log in with SEED_PASSWORD, with a link row if `linked`."""
    first = _next_id(conn, "members")
    now = utcnow()
    tag = secrets.token_hex(3)
    rows = [
        {
            "id": first + i,
            "email": f"{prefix}{first + i}-{tag}@example.com",
            "password_hash": password_hash(),
            "customer_key": f"cus_{tag}{first + i}",
            "role": "member",
            "session_epoch": 0,
            "created_at": now,
        }
        for i in range(count)
    ]
    for batch in _batches(iter(rows)):
        conn.execute(insert(_table("members")), batch)
    _bump_sequence(conn, "members")
    if linked:
        link_first = _next_id(conn, "brandpay_links")
        links = (
            {
                "id": link_first + i,
                "member_id": row["id"],
                "status": "revoked" if i % 3 == 2 else "linked",
                "version": 1,
                "linked_at": now,
                "access_expires_at": now + timedelta(days=30),
                "revoked_at": now if i % 3 == 2 else None,
                "revoked_by": "admin@example.com" if i % 3 == 2 else None,
                "revoked_reason": "bench" if i % 3 == 2 else None,
            }
            for i, row in enumerate(rows)
        )
        for batch in _batches(links):
            conn.execute(insert(_table("brandpay_links")), batch)
        _bump_sequence(conn, "brandpay_links")
    return [row["id"] for row in rows]


def payments(
    conn: Connection,
    count: int,
    *,
    member_id: int | None,
    merchant_id: int | None = None,
    cancel_every: int = 3,
    start: datetime | None = None,
) -> None:
    """`count` paid orders (one second apart, newest last) with payments and cancels."""
    start = start or (utcnow() - timedelta(seconds=count + 60))
    spec = _Spec(count, member_id, merchant_id, cancel_every, start)
    if conn.dialect.name == "postgresql":
        _payments_pg(conn, spec)
    else:
        _payments_rows(conn, spec)


@dataclass(frozen=True)
class _Spec:
    count: int
    member_id: int | None
    merchant_id: int | None
    cancel_every: int
    start: datetime


def _order_status(i: int, cancel_every: int) -> str:
    if cancel_every and i % cancel_every == 0:
        return "PARTIAL_CANCELED"
    return "DONE"


def _payments_rows(conn: Connection, spec: _Spec) -> None:
    count, member_id, merchant_id, cancel_every, start = astuple(spec)
    order_first = _next_id(conn, "orders")
    pay_first = _next_id(conn, "payments")
    cancel_first = _next_id(conn, "payment_cancels")
    tag = secrets.token_hex(4)

    def order_rows() -> Iterator[dict[str, Any]]:
        for i in range(count):
            at = start + timedelta(seconds=i)
            yield {
                "id": order_first + i,
                "order_id": f"bench_{tag}_{order_first + i}",
                "order_name": f"Bench order {i}",
                "amount": 1000 + i % 50000,
                "currency": "KRW",
                "member_id": member_id,
                "merchant_id": merchant_id,
                "status": _order_status(i, cancel_every),
                "created_at": at,
                "updated_at": at,
                "expires_at": at + timedelta(minutes=30),
                "confirm_attempts": 1,
                "confirm_payment_key": f"pk_{tag}_{order_first + i}",
            }

    def payment_rows() -> Iterator[dict[str, Any]]:
        for i in range(count):
            at = start + timedelta(seconds=i)
            amount = 1000 + i % 50000
            canceled = 500 if cancel_every and i % cancel_every == 0 else 0
            yield {
                "id": pay_first + i,
                "order_pk": order_first + i,
                "payment_key": f"pk_{tag}_{order_first + i}",
                "status": _order_status(i, cancel_every),
                "method": "카드",
                "card_number": "43301234****123*",
                "total_amount": amount,
                "balance_amount": amount - canceled,
                "refund_reserved": 0,
                "approved_at": at,
                "created_at": at,
                "updated_at": at,
            }

    def cancel_rows() -> Iterator[dict[str, Any]]:
        steps = range(0, count, cancel_every or count + 1)
        for n, i in enumerate(steps):
            at = start + timedelta(seconds=i, milliseconds=500)
            yield {
                "id": cancel_first + n,
                "payment_id": pay_first + i,
                "amount": 500,
                "reason": "Bench partial refund",
                "actor": "bench",
                "status": "DONE",
                "transaction_key": f"tx_{tag}_{cancel_first + n}",
                "created_at": at,
                "canceled_at": at,
            }

    for table, rows in (
        ("orders", order_rows()),
        ("payments", payment_rows()),
        ("payment_cancels", cancel_rows()),
    ):
        for batch in _batches(rows):
            conn.execute(insert(_table(table)), batch)


def _payments_pg(conn: Connection, spec: _Spec) -> None:
    count, member_id, merchant_id, cancel_every, start = astuple(spec)
    tag = secrets.token_hex(4)
    base = {
        "n": count,
        "member": member_id,
        "merchant": merchant_id,
        "every": cancel_every or count + 1,
        "t0": start.astimezone(UTC),
        "tag": f"bench_{tag}_",
        "pk": f"pk_{tag}_",
        "tx": f"tx_{tag}_",
        "o0": _next_id(conn, "orders") - 1,
        "p0": _next_id(conn, "payments") - 1,
    }
    conn.execute(
        text(
            """
            INSERT INTO orders (id, order_id, order_name, amount, currency, member_id,
                merchant_id, status, created_at, updated_at, expires_at,
                confirm_attempts, confirm_payment_key)
            SELECT :o0 + g, :tag || (:o0 + g), 'Bench order ' || g,
                1000 + g % 50000, 'KRW', :member, :merchant,
                CASE WHEN g % :every = 0 THEN 'PARTIAL_CANCELED' ELSE 'DONE' END,
                CAST(:t0 AS timestamptz) + g * interval '1 second',
                CAST(:t0 AS timestamptz) + g * interval '1 second',
                CAST(:t0 AS timestamptz) + g * interval '1 second' + interval '30 minutes',
                1, :pk || (:o0 + g)
            FROM generate_series(1, :n) AS g
            """
        ),
        base,
    )
    conn.execute(
        text(
            """
            INSERT INTO payments (id, order_pk, payment_key, status, method,
                card_number, total_amount, balance_amount, refund_reserved,
                approved_at, created_at, updated_at)
            SELECT :p0 + g, :o0 + g, :pk || (:o0 + g),
                CASE WHEN g % :every = 0 THEN 'PARTIAL_CANCELED' ELSE 'DONE' END,
                '카드', '43301234****123*', 1000 + g % 50000,
                1000 + g % 50000 - CASE WHEN g % :every = 0 THEN 500 ELSE 0 END, 0,
                CAST(:t0 AS timestamptz) + g * interval '1 second',
                CAST(:t0 AS timestamptz) + g * interval '1 second',
                CAST(:t0 AS timestamptz) + g * interval '1 second'
            FROM generate_series(1, :n) AS g
            """
        ),
        base,
    )
    conn.execute(
        text(
            """
            INSERT INTO payment_cancels (payment_id, amount, reason, actor, status,
                transaction_key, created_at, canceled_at)
            SELECT :p0 + g, 500, 'Bench partial refund', 'bench', 'DONE',
                :tx || (:p0 + g),
                CAST(:t0 AS timestamptz) + g * interval '1 second',
                CAST(:t0 AS timestamptz) + g * interval '1 second'
            FROM generate_series(1, :n) AS g WHERE g % :every = 0
            """
        ),
        base,
    )
    for table in ("orders", "payments"):
        _bump_sequence(conn, table)
    conn.execute(text("ANALYZE orders; ANALYZE payments; ANALYZE payment_cancels"))
