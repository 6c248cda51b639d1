"""Each main page: the portal against the minimal app (bench/minimal.py), in process.

Both apps run in this process on one database (the portal's schema and seeded data:
a member with 10,000 payments, a third partly refunded, a linked wallet, staff of a
merchant with 200 orders and an API key, an admin). The Toss sandbox is its own
gunicorn process, shared by both. Every round asks each app for each page once, in
a freshly shuffled order (A B B A …), so both see the same machine at the same
moments; p50 and p95 per page and app, and the ratios portal ÷ minimal.

Every answer is checked (status, and no redirect to a login page): a page that fails
stops the run rather than being timed.
"""

from __future__ import annotations

import json
import os
import random
import re
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from bench import env, minimal, seed
from wallet import create_app
from wallet.config import TestConfig
from wallet.extensions import db
from wallet.models import Member
from wallet.models._types import utcnow
from wallet.models.order import PARTIAL_CANCELED, Order

HISTORY_PAYMENTS = 10_000
_FACTS = ("member_id", "customer_key", "api_key", "checkout", "receipt")
MERCHANT_ORDERS = 200
_REDIRECT = re.compile(r'data-redirect-url="([^"]+)"')


@dataclass(frozen=True)
class Page:
    """One page as both apps are asked for it."""

    name: str
    method: str
    path: str
    client: str  # "member" or "admin" or "api"
    expect: int = 200


@dataclass
class World:
    """Both apps, their logged-in clients, and what the pages need."""

    portal: Flask
    minimal: Flask
    clients: dict[tuple[str, str], FlaskClient]
    api_key: str
    pages: list[Page]


def _portal(url: str, sandbox_url: str) -> Flask:
    # Korean is the default locale in production; the in-process portal uses it too.
    return create_app(
        TestConfig,
        {
            "DATABASE_URL": url,
            "VAULT_KEYS": env.VAULT_SPEC,
            "RATELIMIT_ENABLED": False,
            "TOSS_API_BASE": sandbox_url,
            "BABEL_DEFAULT_LOCALE": "ko",
        },
    )


def _log_in_portal(app: Flask, email: str) -> FlaskClient:
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
        raise RuntimeError(f"portal login failed: {resp.status_code}")
    return client


def _log_in_minimal(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()
    resp = client.post("/login", data={"email": email, "password": seed.SEED_PASSWORD})
    if resp.status_code != 302:
        raise RuntimeError(f"minimal login failed: {resp.status_code}")
    return client


def _link(client: FlaskClient, sandbox: env.SandboxControl, customer_key: str) -> None:
    """Link BrandPay through the portal's own form, the hosted page and the callback."""
    page = client.get("/wallet/link").get_data(as_text=True)
    resp = client.post(
        "/wallet/link",
        data={"csrf_token": env.csrf_of(page), "mode": "link"},
        follow_redirects=True,
    )
    found = _REDIRECT.search(resp.get_data(as_text=True))
    if not found:
        raise RuntimeError("connect page without data-redirect-url")
    location = sandbox.link_customer(customer_key, found.group(1))
    parts = urlsplit(location)
    back = client.get(f"{parts.path}?{parts.query}")
    if back.status_code != 302:
        raise RuntimeError(f"link callback refused: {back.status_code}")


def _seed(url: str) -> dict[str, Any]:
    """Members, payments, a merchant with staff and a key; what the pages need."""
    from wallet.services import merchants, orders

    member_id, customer_key = env.create_member(url, "pages-member@example.com")
    env.create_member(url, "pages-admin@example.com", role="admin")
    app = env.app_for(url)
    with app.app_context():
        merchant, _secret = merchants.create_merchant(
            "Bench shop", ["https://shop.example"], None, actor="bench"
        )
        merchants.add_staff(merchant, "pages-member@example.com", "bench")
        _key, raw = merchants.issue_api_key(merchant, "bench", "bench")
        with db.engine.begin() as conn:
            seed.payments(
                conn,
                MERCHANT_ORDERS,
                member_id=None,
                merchant_id=merchant.id,
                start=utcnow() - timedelta(days=30),
            )
            seed.payments(conn, HISTORY_PAYMENTS, member_id=member_id)
        member = db.session.get(Member, member_id)
        pending = orders.create_order(12300, "Bench checkout", member=member)
        db.session.execute(
            update(Order)
            .where(Order.id == pending.id)
            .values(expires_at=utcnow() + timedelta(days=7))
        )
        db.session.commit()
        refunded = db.session.scalar(
            select(Order.order_id)
            .where(Order.member_id == member_id, Order.status == PARTIAL_CANCELED)
            .order_by(Order.created_at.desc())
            .limit(1)
        )
        checkout_id = pending.order_id
        db.session.remove()
        db.engine.dispose()
    return {
        "member_id": member_id,
        "customer_key": customer_key,
        "api_key": raw,
        "checkout": checkout_id,
        "receipt": refunded,
    }


def page_list(facts: dict[str, Any]) -> list[Page]:
    """The issue's main pages, as (name, method, path, client)."""
    return [
        Page("wallet home", "GET", "/wallet", "member"),
        Page("methods (one Bearer GET)", "GET", "/wallet/methods", "member"),
        Page("history, 10k payments", "GET", "/pay/history", "member"),
        Page("receipt", "GET", f"/pay/orders/{facts['receipt']}/receipt", "member"),
        Page("checkout", "GET", f"/pay/orders/{facts['checkout']}", "member"),
        Page("merchant dashboard", "GET", "/merchant", "member"),
        Page("admin payments", "GET", "/admin/payments", "admin"),
        Page("admin member", "GET", f"/admin/members/{facts['member_id']}", "admin"),
        Page("POST /api/v1/orders", "POST", "/api/v1/orders", "api", 201),
    ]


@contextmanager
def world() -> Iterator[World]:
    """Database, sandbox process, both apps, logged-in clients."""
    from wallet.services import brandpay_tokens

    with env.workdir() as work, env.database(work) as url:
        facts = _seed(url)
        with env.sandbox_process(work) as sandbox:
            portal = _portal(url, sandbox.base_url)
            member_client = _log_in_portal(portal, "pages-member@example.com")
            _link(member_client, sandbox, facts["customer_key"])
            with portal.test_request_context():
                member = db.session.get(Member, facts["member_id"])
                token = brandpay_tokens.get_access_token(member)
                db.session.remove()
            small = minimal.create(url, sandbox.base_url, {facts["member_id"]: token})
            clients = {
                ("portal", "member"): member_client,
                ("portal", "admin"): _log_in_portal(portal, "pages-admin@example.com"),
                ("portal", "api"): portal.test_client(),
                ("minimal", "member"): _log_in_minimal(
                    small, "pages-member@example.com"
                ),
                ("minimal", "admin"): _log_in_minimal(small, "pages-admin@example.com"),
                ("minimal", "api"): small.test_client(),
            }
            try:
                yield World(portal, small, clients, facts["api_key"], page_list(facts))
            finally:
                with portal.app_context():
                    db.engine.dispose()
                with small.app_context():
                    minimal.db.engine.dispose()


def _requester(w: World, app: str, page: Page) -> Callable[[], Any]:
    client = w.clients[(app, page.client)]
    if page.method == "GET":
        return lambda: client.get(page.path)
    body = json.dumps({"amount": 12300, "order_name": "Bench order"})

    def post() -> Any:
        return client.post(
            page.path,
            data=body,
            headers={
                "Authorization": f"Bearer {w.api_key}",
                "Content-Type": "application/json",
                "Idempotency-Key": uuid.uuid4().hex,
            },
        )

    return post


def _check(app: str, page: Page, resp: Any) -> None:
    if resp.status_code != page.expect:
        raise RuntimeError(f"{app} {page.name}: {resp.status_code}, not {page.expect}")


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(rounds: int, warmup: int = 5) -> dict[str, dict[str, list[float]]]:
    """Time every page of both apps `rounds` times, interleaved; ms per request."""
    times: dict[str, dict[str, list[float]]] = {}
    with world() as w:
        calls = [
            (app, page, _requester(w, app, page))
            for page in w.pages
            for app in ("portal", "minimal")
        ]
        for app, page, call in calls:
            for _ in range(warmup):
                _check(app, page, call())
        for _ in range(rounds):
            random.shuffle(calls)
            for app, page, call in calls:
                started = time.perf_counter()
                resp = call()
                spent = (time.perf_counter() - started) * 1000
                _check(app, page, resp)
                times.setdefault(page.name, {}).setdefault(app, []).append(spent)
    return times


def profile(
    names: list[str], requests: int = 200, top: int = 35, sort: str = "cumulative"
) -> None:
    """cProfile the portal's side of the named pages (cumulative time, top entries)."""
    import cProfile
    import pstats

    with world() as w:
        for page in w.pages:
            if not any(n in page.name for n in names):
                continue
            call = _requester(w, "portal", page)
            for _ in range(5):
                _check("portal", page, call())
            prof = cProfile.Profile()
            prof.enable()
            for _ in range(requests):
                call()
            prof.disable()
            print(f"## {page.name}: {requests} requests")
            pstats.Stats(prof).sort_stats(sort).print_stats(top)


_ORDER = {p.name: n for n, p in enumerate(page_list({k: "" for k in _FACTS}))}


def report(times: dict[str, dict[str, list[float]]]) -> str:
    """Markdown: p50/p95 of both apps per page and the ratios."""
    lines = [
        "| page (in process, ms) | portal p50/p95 | minimal p50/p95 | ratio p50 | ratio p95 |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, by_app in sorted(times.items(), key=lambda kv: _ORDER.get(kv[0], 99)):
        p, m = by_app["portal"], by_app["minimal"]
        pp50, pp95 = statistics.median(p), _pct(p, 0.95)
        mp50, mp95 = statistics.median(m), _pct(m, 0.95)
        lines.append(
            f"| {name} | {pp50:.1f}/{pp95:.1f} | {mp50:.1f}/{mp95:.1f} "
            f"| {pp50 / mp50:.2f} | {pp95 / mp95:.2f} |"
        )
    return "\n".join(lines)


def main(rounds: int) -> dict[str, dict[str, list[float]]]:
    """Run, print the table with the load average before and after."""
    before = os.getloadavg()[0]
    print(f"# pages: {env.backend()}, {rounds} shuffled rounds, load {before:.2f}")
    times = run(rounds)
    print(f"# load average {before:.2f} → {os.getloadavg()[0]:.2f}")
    print(report(times))
    return times
