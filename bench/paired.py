"""The portal and the minimal app (bench/minimal.py) under gunicorn at the same time.

Same workers and threads for both (throughput.WORKERS × THREADS, gthread), one
database (the seeding of bench/pages.py), one sandbox process. For each page, wrk loads
the portal and the minimal app *simultaneously*, half the connections each, so both
see the same machine (back-to-back runs here swing up to 2× from other work). The
ratio is portal req/s ÷ minimal req/s. Every response's status is checked.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import requests

from bench import env, load, pages, seed, throughput
from bench.servers import Gunicorn
from wallet.extensions import db
from wallet.models import Member


@dataclass(frozen=True)
class Side:
    """One app's base URL and the headers of its member, admin and API client."""

    url: str
    headers: dict[str, dict[str, str]]


def _token(url: str, sandbox_url: str, member_id: int) -> str:
    from wallet.services import brandpay_tokens

    app = env.app_for(url)
    app.config["TOSS_API_BASE"] = sandbox_url
    with app.test_request_context():
        token = brandpay_tokens.get_access_token(db.session.get(Member, member_id))
        db.session.remove()
        db.engine.dispose()
    return token


def _minimal_login(base: str, email: str) -> dict[str, str]:
    http = requests.Session()
    resp = http.post(
        f"{base}/login",
        data={"email": email, "password": seed.SEED_PASSWORD},
        allow_redirects=False,
        timeout=env.HTTP_TIMEOUT,
    )
    if resp.status_code != 302:
        raise RuntimeError(f"minimal login failed: {resp.status_code}")
    return {"Cookie": "; ".join(f"{c.name}={c.value}" for c in http.cookies)}


def _portal_headers(member: env.Member) -> dict[str, str]:
    return {"Cookie": member.cookie, "User-Agent": member.user_agent}


@contextmanager
def prepared() -> Iterator[tuple[Side, Side, list[pages.Page], str]]:
    """Both apps serving one seeded database; (portal, minimal, pages, API key)."""
    with env.workdir() as work, env.database(work) as url:
        facts = pages._seed(url)
        with (
            env.sandbox_process(work) as sandbox,
            env.portal_process(
                work, url, sandbox.base_url, throughput.WORKERS, throughput.THREADS
            ) as portal,
        ):
            member = env.log_in(
                portal.url,
                facts["member_id"],
                "pages-member@example.com",
                facts["customer_key"],
            )
            env.link_wallet(portal.url, sandbox, member)
            admin = env.log_in(portal.url, 0, "pages-admin@example.com", "")
            token = _token(url, sandbox.base_url, facts["member_id"])
            small_env = dict(os.environ) | {
                "BENCH_DATABASE_URL": url,
                "BENCH_SANDBOX_URL": sandbox.base_url,
                "BENCH_ACCESS_TOKENS": f"{facts['member_id']}={token}",
            }
            with Gunicorn(
                "bench.minimal:from_env()",
                small_env,
                workers=throughput.WORKERS,
                threads=throughput.THREADS,
            ) as small:
                api = {
                    "Authorization": f"Bearer {facts['api_key']}",
                    "Content-Type": "application/json",
                }
                portal_side = Side(
                    portal.url,
                    {
                        "member": _portal_headers(member),
                        "admin": _portal_headers(admin),
                        "api": api,
                    },
                )
                small_side = Side(
                    small.url,
                    {
                        "member": _minimal_login(small.url, "pages-member@example.com"),
                        "admin": _minimal_login(small.url, "pages-admin@example.com"),
                        "api": api,
                    },
                )
                yield portal_side, small_side, pages.page_list(facts), facts["api_key"]


def _target(side: Side, page: pages.Page, name: str) -> load.Target:
    body = None
    if page.method == "POST":
        body = json.dumps({"amount": 12300, "order_name": "Bench order"})
    return load.Target(
        name,
        side.url + page.path,
        method=page.method,
        headers=side.headers[page.client],
        body=body,
        expect=page.expect,
        unique_idempotency_key=page.method == "POST",
    )


def _both(
    a: load.Target, b: load.Target, duration: float, connections: int
) -> tuple[load.Result, load.Result]:
    """Load both targets at the same moment, `connections` each."""
    results: dict[str, load.Result] = {}

    def go(target: load.Target, slot: str) -> None:
        results[slot] = load.run(
            target, duration=duration, connections=connections, threads=1
        )

    threads = [
        threading.Thread(target=go, args=(a, "a")),
        threading.Thread(target=go, args=(b, "b")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results["a"], results["b"]


def report(rows: list[tuple[str, load.Result, load.Result]]) -> str:
    """Markdown: req/s and latency of both, and the req/s ratio."""
    lines = [
        "| page | portal req/s | p50/p99 ms | minimal req/s | p50/p99 ms "
        "| req/s ratio | bad/errors |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, p, m in rows:
        ratio = p.rps / m.rps if m.rps else 0.0
        lines.append(
            f"| {name} | {p.rps:,.0f} | {p.p50_ms:.0f}/{p.p99_ms:.0f} "
            f"| {m.rps:,.0f} | {m.p50_ms:.0f}/{m.p99_ms:.0f} | {ratio:.2f} "
            f"| {p.bad + m.bad}/{p.errors + m.errors} |"
        )
    return "\n".join(lines)


def main(
    duration: float, connections: int
) -> list[tuple[str, load.Result, load.Result]]:
    """Every page, both apps at once, `connections` split between them."""
    load.ensure_wrk()
    half = max(1, connections // 2)
    before = os.getloadavg()[0]
    print(
        f"# paired: {env.backend()}, gunicorn {throughput.WORKERS}×{throughput.THREADS} "
        f"each, {half}+{half} connections, {duration:.0f} s per page, load {before:.2f}"
    )
    rows = []
    with prepared() as (portal, small, page_list, _key):
        for page in page_list:
            a = _target(portal, page, f"portal {page.name}")
            b = _target(small, page, f"minimal {page.name}")
            for t in (a, b):
                throughput.preflight(t)
            _both(a, b, 2, half)  # warm-up
            p, m = _both(a, b, duration, half)
            print(
                f"  {page.name}: portal {p.rps:,.0f} req/s, minimal {m.rps:,.0f} req/s "
                f"({p.tool}; bad {p.bad}+{m.bad}, errors {p.errors}+{m.errors})",
                flush=True,
            )
            rows.append((page.name, p, m))
    print(f"# load average {before:.2f} → {os.getloadavg()[0]:.2f}")
    print(report(rows))
    return rows
