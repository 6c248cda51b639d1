"""Throughput and latency of the main pages under gunicorn, against two baselines.

Everything runs on 127.0.0.1 as separate processes: the sandbox (gunicorn, 1 worker),
the portal, a bare Flask route and a direct integration (bench/apps.py), the latter
three with the same gunicorn settings. wrk (or the Python fallback) loads each target
for `duration` seconds after a short warm-up. The member has 10,000 payments (history)
and a linked wallet (methods); the API key belongs to a merchant.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import requests

from bench import env, load, seed
from bench.servers import Gunicorn
from wallet.extensions import db
from wallet.sandbox.testing import query_of
from wallet.toss import TossClient

HISTORY_PAYMENTS = 10_000
WORKERS, THREADS = 2, 4  # 2 cores: one worker per core, a few threads for I/O waits


@dataclass(frozen=True)
class Setup:
    """The URLs and credentials the targets need."""

    portal: str
    bare: str
    direct: str
    member: env.Member
    api_key: str


def _api_key(database_url: str) -> str:
    from wallet.services import merchants

    app = env.app_for(database_url)
    with app.app_context():
        merchant, _secret = merchants.create_merchant(
            "Bench shop", ["https://shop.example"], None, actor="bench"
        )
        _key, raw = merchants.issue_api_key(merchant, "bench", "bench")
        db.engine.dispose()
    return raw


def _direct_token(sandbox: env.SandboxControl) -> str:
    """A live access token for the direct baseline (its own sandbox customer)."""
    customer_key = "cus_bench_direct_baseline"
    location = sandbox.link_customer(customer_key, "http://127.0.0.1/callback")
    with TossClient(sandbox.base_url, sandbox.secret_key) as toss:
        issued = toss.issue_access_token(
            customer_key, query_of(location)["code"], idempotency_key="bench-direct"
        )
    return issued.access_token


@contextmanager
def prepared() -> Iterator[Setup]:
    """Database with 10k payments, sandbox, portal and baselines all running."""
    with env.workdir() as work, env.database(work) as url:
        member_id, customer_key = env.create_member(url, "bench-member@example.com")
        app = env.app_for(url)
        with app.app_context(), db.engine.begin() as conn:
            seed.payments(conn, HISTORY_PAYMENTS, member_id=member_id)
        with app.app_context():
            db.engine.dispose()
        api_key = _api_key(url)
        with env.sandbox_process(work) as sandbox:
            base_env = dict(os.environ) | {
                "BENCH_SANDBOX_URL": sandbox.base_url,
                "BENCH_ACCESS_TOKEN": _direct_token(sandbox),
            }
            with (
                env.portal_process(
                    work, url, sandbox.base_url, WORKERS, THREADS
                ) as portal,
                Gunicorn(
                    "bench.apps:bare", base_env, workers=WORKERS, threads=THREADS
                ) as bare,
                Gunicorn(
                    "bench.apps:direct", base_env, workers=WORKERS, threads=THREADS
                ) as direct,
            ):
                member = env.log_in(
                    portal.url, member_id, "bench-member@example.com", customer_key
                )
                env.link_wallet(portal.url, sandbox, member)
                yield Setup(portal.url, bare.url, direct.url, member, api_key)


def targets(setup: Setup) -> list[load.Target]:
    """The baselines first, then the portal's pages."""
    browser = {"Cookie": setup.member.cookie, "User-Agent": setup.member.user_agent}
    order = json.dumps({"amount": 12300, "order_name": "Bench order"})
    return [
        load.Target("bare Flask route", f"{setup.bare}/"),
        load.Target("direct sandbox call", f"{setup.direct}/methods"),
        load.Target("wallet home", f"{setup.portal}/wallet", headers=browser),
        load.Target(
            "methods (sandbox)", f"{setup.portal}/wallet/methods", headers=browser
        ),
        load.Target(
            "history (10k payments)", f"{setup.portal}/pay/history", headers=browser
        ),
        load.Target(
            "API order create",
            f"{setup.portal}/api/v1/orders",
            method="POST",
            headers={
                "Authorization": f"Bearer {setup.api_key}",
                "Content-Type": "application/json",
            },
            body=order,
            expect=201,
            unique_idempotency_key=True,
        ),
    ]


def preflight(target: load.Target) -> None:
    """One request by hand: the target answers what the load run expects."""
    with requests.Session() as http:
        resp = load.send(target, http, "bench-preflight")
    if resp.status_code != target.expect:
        raise RuntimeError(f"{target.name}: {resp.status_code}, not {target.expect}")


def report(results: list[load.Result]) -> str:
    """A markdown table: absolute numbers and ratios to both baselines."""
    bare, direct = results[0], results[1]
    lines = [
        "| target | req/s | p50 ms | p99 ms | req/s ÷ bare | req/s ÷ direct "
        "| p50 ÷ bare | p50 ÷ direct | bad | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.name} | {r.rps:,.0f} | {r.p50_ms:.1f} | {r.p99_ms:.1f} "
            f"| {r.rps / bare.rps:.2f} | {r.rps / direct.rps:.2f} "
            f"| {r.p50_ms / bare.p50_ms:.1f} | {r.p50_ms / direct.p50_ms:.2f} "
            f"| {r.bad} | {r.errors} |"
        )
    return "\n".join(lines)


def main(duration: float, connections: int) -> list[load.Result]:
    """Run every target; print and return the results."""
    load.ensure_wrk()
    print(
        f"# throughput: {env.backend()}, gunicorn {WORKERS} workers x {THREADS} threads, "
        f"{connections} connections, {duration:.0f} s per target"
    )
    results = []
    with prepared() as setup:
        for target in targets(setup):
            preflight(target)
            load.run(target, duration=2, connections=connections)  # warm-up
            result = load.run(target, duration=duration, connections=connections)
            print(
                f"  {result.name}: {result.rps:,.0f} req/s, p50 {result.p50_ms:.1f} ms, "
                f"p99 {result.p99_ms:.1f} ms ({result.tool}, {result.requests} requests, "
                f"{result.bad} bad, {result.errors} errors)",
                flush=True,
            )
            results.append(result)
    print(report(results))
    return results
