"""Cost growth: history and the admin's payment lists and member search at 10k, 100k
and 1M payments. Timed in process (Flask test client, no HTTP), so the numbers are
the server's own work per page: queries, ORM and templates.

The member owns every payment (the worst case for their history). Each page is timed
`samples` times after a warm-up; a deep page is the one at the middle of the list,
reached with its keyset cursor exactly as the "Older payments" link would.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select

from bench import env, seed
from wallet.extensions import db
from wallet.models.order import Order
from wallet.services import orders

SQLITE_SIZES = [10_000, 100_000]
PG_SIZES = [10_000, 100_000, 1_000_000]
SAMPLE_SECONDS = 30.0  # cap per page and size, whatever `samples` says


def _client(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()
    page = client.get("/auth/login").get_data(as_text=True)
    resp = client.post(
        "/auth/login",
        data={
            "email": email,
            "password": seed.SEED_PASSWORD,
            "csrf_token": env.csrf_of(page),
        },
    )
    if resp.status_code != 302:
        raise RuntimeError(f"login failed: {resp.status_code}")
    return client


def _middle_cursor(app: Flask, member_id: int | None) -> str:
    """The keyset cursor of the order halfway down the list."""
    with app.app_context():
        query = select(Order).where(Order.status.in_(orders.HISTORY_STATUSES))
        if member_id is not None:
            query = query.where(Order.member_id == member_id)
        total = db.session.query(query.subquery()).count()
        order = db.session.scalars(
            query.order_by(Order.created_at.desc(), Order.id.desc())
            .offset(total // 2)
            .limit(1)
        ).one()
        cursor = orders.encode_cursor(order)
        db.session.remove()
        return cursor


class _DbClock:
    """Wall time spent inside SQL statements (cursor execute), per request."""

    def __init__(self, app: Flask) -> None:
        self.spent = 0.0
        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn: Any, *_args: Any) -> None:
        conn.info["bench_started"] = time.perf_counter()

    def _after(self, conn: Any, *_args: Any) -> None:
        self.spent += time.perf_counter() - conn.info.pop("bench_started")


def _time(
    get: Callable[[], Any], samples: int, clock: _DbClock
) -> tuple[float, float, float, int]:
    """(p50 ms, p95 ms, p50 of SQL ms, n) of `samples` calls after two warm-ups."""
    for _ in range(2):
        resp = get()
        if resp.status_code != 200:
            raise RuntimeError(f"page answered {resp.status_code}")
    times, sql = [], []
    deadline = time.monotonic() + SAMPLE_SECONDS
    while len(times) < samples and time.monotonic() < deadline:
        clock.spent = 0.0
        started = time.perf_counter()
        get()
        times.append((time.perf_counter() - started) * 1000)
        sql.append(clock.spent * 1000)
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95, statistics.median(sql), len(ordered)


def main(
    sizes: list[int] | None, samples: int
) -> dict[str, dict[int, tuple[float, float, float, int]]]:
    """Grow the payments table through `sizes`, timing the pages at each size."""
    sizes = sizes or (PG_SIZES if env.backend() == "postgresql" else SQLITE_SIZES)
    print(f"# growth: {env.backend()}, sizes {sizes}, {samples} samples per page")
    results: dict[str, dict[int, tuple[float, float, float, int]]] = {}
    with env.workdir() as work, env.database(work) as url:
        member_id, _key = env.create_member(url, "growth-member@example.com")
        env.create_member(url, "growth-admin@example.com", role="admin")
        app = env.app_for(url)
        with app.app_context(), db.engine.begin() as conn:
            seed.members(conn, 2000, prefix="searchable")
        clock = _DbClock(app)
        member = _client(app, "growth-member@example.com")
        admin = _client(app, "growth-admin@example.com")
        seeded = 0
        for size in sizes:
            started = time.monotonic()
            with app.app_context(), db.engine.begin() as conn:
                seed.payments(conn, size - seeded, member_id=member_id)
            seeded = size
            print(
                f"  seeded {size:,} payments in {time.monotonic() - started:.0f} s",
                flush=True,
            )
            history_mid = _middle_cursor(app, member_id)
            admin_mid = _middle_cursor(app, None)
            pages = {
                "history, first page": (member, "/pay/history"),
                "history, middle page": (member, f"/pay/history?after={history_mid}"),
                "admin payments, first page": (admin, "/admin/payments"),
                "admin payments, middle page": (
                    admin,
                    f"/admin/payments?after={admin_mid}",
                ),
                "admin payments, status filter": (
                    admin,
                    "/admin/payments?status=PARTIAL_CANCELED",
                ),
                "admin member search (prefix)": (admin, "/admin/members?q=searchable1"),
                "admin member page (their payments)": (
                    admin,
                    f"/admin/members/{member_id}",
                ),
            }
            for name, (client, path) in pages.items():
                p50, p95, sql, n = _time(
                    lambda c=client, p=path: c.get(p), samples, clock
                )
                results.setdefault(name, {})[size] = (p50, p95, sql, n)
                print(
                    f"  {size:>9,} {name}: p50 {p50:.1f} ms, p95 {p95:.1f} ms, SQL p50 {sql:.1f} ms (n={n})",
                    flush=True,
                )
        with app.app_context():
            db.engine.dispose()
    print(report(results, sizes))
    return results


def report(
    results: dict[str, dict[int, tuple[float, float, float, int]]], sizes: list[int]
) -> str:
    """Markdown: p50 / p95 of the whole page and p50 of its SQL, per page and size."""
    head = (
        "| page | " + " | ".join(f"{s:,}: p50 / p95 (SQL p50) ms" for s in sizes) + " |"
    )
    lines = [head, "|---|" + "---:|" * len(sizes)]
    for name, by_size in results.items():
        cells = [
            f"{by_size[s][0]:.0f} / {by_size[s][1]:.0f} ({by_size[s][2]:.1f})"
            for s in sizes
            if s in by_size
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
