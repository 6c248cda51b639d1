"""Races at 50 concurrent clients, counted at the sandbox (what Toss would see).

- Token refresh stampede: one member's access token has expired; 50 requests for the
  methods page arrive at once (several gunicorn workers, many threads). Toss must see
  exactly one RefreshToken grant, and every page must still answer 200.
- Confirm race: one authorized payment; its success redirect arrives 50 times at
  once. Toss must see exactly one confirm (replays of the same Idempotency-Key aside),
  the order must end DONE with one payment, and no request may fail.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter

import requests
from sqlalchemy import create_engine, func, select

from bench import env
from wallet.models.order import Order
from wallet.models.payment import Payment

WORKERS, THREADS = 4, 16  # 64 request slots for 50 clients: real concurrency
CONFIRM = "/v1/brandpay/payments/confirm"
_ORDER_PATH = re.compile(r"/pay/orders/([A-Za-z0-9_-]+)$")
_SUCCESS = re.compile(r'data-success-url="([^"]+)"')
_FAIL = re.compile(r'data-fail-url="([^"]+)"')


def _together(clients: int, member: env.Member, url: str) -> tuple[Counter[int], float]:
    """`clients` GETs of `url` released at the same instant; statuses and seconds."""
    barrier = threading.Barrier(clients)
    statuses: Counter[int] = Counter()
    lock = threading.Lock()

    def hit() -> None:
        http = requests.Session()
        http.headers.update(member.http.headers)  # same User-Agent: same session
        http.cookies.update(member.http.cookies)
        barrier.wait()
        try:
            status = http.get(url, allow_redirects=False, timeout=60).status_code
        except requests.RequestException:
            status = 0
        with lock:
            statuses[status] += 1

    threads = [threading.Thread(target=hit) for _ in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses, time.monotonic() - started


def _order(portal: str, member: env.Member, amount: int) -> tuple[str, str, str]:
    page = member.http.get(f"{portal}/pay/new", timeout=30)
    resp = member.http.post(
        f"{portal}/pay/new",
        data={
            "order_name": "Race",
            "amount": str(amount),
            "csrf_token": env.csrf_of(page.text),
        },
        allow_redirects=False,
        timeout=30,
    )
    found = _ORDER_PATH.search(resp.headers.get("Location", ""))
    if not found:
        raise RuntimeError(f"order not created: {resp.status_code}")
    checkout = member.http.get(f"{portal}/pay/orders/{found.group(1)}", timeout=30).text
    success, fail = _SUCCESS.search(checkout), _FAIL.search(checkout)
    if not (success and fail):
        raise RuntimeError("checkout page without success/fail URLs")
    return found.group(1), success.group(1), fail.group(1)


def _payments_of(database_url: str, order_id: str) -> tuple[str, int]:
    engine = create_engine(
        database_url.replace("postgresql://", "postgresql+psycopg://", 1)
    )
    with engine.connect() as conn:
        status = conn.scalar(select(Order.status).where(Order.order_id == order_id))
        count = conn.scalar(
            select(func.count(Payment.id))
            .join(Order, Order.id == Payment.order_pk)
            .where(Order.order_id == order_id)
        )
    engine.dispose()
    return str(status), int(count or 0)


def main(clients: int, rounds: int) -> list[dict[str, object]]:
    """Run both races `rounds` times; print and return what the sandbox counted."""
    print(
        f"# races: {env.backend()}, {clients} concurrent clients, gunicorn {WORKERS} "
        f"workers x {THREADS} threads, {rounds} rounds"
    )
    rows: list[dict[str, object]] = []
    with (
        env.workdir() as work,
        env.database(work) as url,
        env.sandbox_process(work) as sandbox,
        env.portal_process(work, url, sandbox.base_url, WORKERS, THREADS) as portal,
    ):
        for n in range(rounds):
            email = f"race{n}@example.com"
            member_id, customer_key = env.create_member(url, email)
            member = env.log_in(portal.url, member_id, email, customer_key)
            env.link_wallet(portal.url, sandbox, member)

            env.expire_access_tokens(url)
            before = sandbox.tokens_issued(customer_key, "RefreshToken")
            statuses, seconds = _together(
                clients, member, f"{portal.url}/wallet/methods"
            )
            refreshes = sandbox.tokens_issued(customer_key, "RefreshToken") - before
            rows.append(_row("refresh stampede", n, statuses, seconds, refreshes))

            order_id, success, fail = _order(portal.url, member, 15_000 + n)
            location = sandbox.authorize_payment(
                customer_key, order_id, 15_000 + n, "Race", success, fail
            )
            sandbox.advance_clock(2)
            statuses, seconds = _together(clients, member, location)
            prefix = f"confirm-{order_id}-"
            confirms = sum(
                1
                for c in sandbox.calls(CONFIRM)
                if (c.get("idempotencyKey") or "").startswith(prefix)
                and not c.get("replay")
            )
            status, payments = _payments_of(url, order_id)
            row = _row("confirm race", n, statuses, seconds, confirms)
            row["order"] = f"{status}, {payments} payment(s)"
            rows.append(row)
    print(report(rows))
    return rows


def _row(
    race: str, n: int, statuses: Counter[int], seconds: float, upstream: int
) -> dict[str, object]:
    row: dict[str, object] = {
        "race": race,
        "round": n + 1,
        "statuses": dict(sorted(statuses.items())),
        "seconds": round(seconds, 2),
        "upstream": upstream,
    }
    print(
        f"  {race} #{n + 1}: upstream calls {upstream}, statuses {row['statuses']}, "
        f"{seconds:.2f} s",
        flush=True,
    )
    return row


def report(rows: list[dict[str, object]]) -> str:
    """Markdown: one line per race and round."""
    lines = [
        "| race | round | upstream calls at the sandbox | statuses | wall s | order |",
        "|---|---:|---:|---|---:|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['race']} | {r['round']} | {r['upstream']} | {r['statuses']} "
            f"| {r['seconds']} | {r.get('order', '')} |"
        )
    return "\n".join(lines)
