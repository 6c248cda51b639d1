"""Scale-out: two portal processes (two gunicorn masters) on one PostgreSQL and Redis.

Both masters get the same settings: sessions in Redis (WALLET_SESSION_REDIS_URL) and
rate limits in Redis (RATELIMIT_STORAGE_URI), under key prefixes of this run only
(nothing else in that Redis is touched), the API limit set to 5 per minute. A
round-robin client alternates between them. Checked, with what each step answered:

1. a session logged in through one master is valid on the other;
2. a logout on the other ends it on both;
3. the API rate limit counts requests to both (5 allowed, then 429, whichever
   master answers);
4. two outbox workers (`flask wallet worker`, two processes) deliver every one of
   `events` webhooks exactly once to a receiver on 127.0.0.1 (counted by the
   `webhook-id` header).
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import cycle
from typing import Any

import requests

from bench import env, throughput
from bench.servers import GUNICORN, ROOT, Gunicorn, portal_env
from wallet.extensions import db

REDIS = os.environ.get("WALLET_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


class _Receiver:
    """A webhook endpoint that answers 200 and counts each webhook-id it sees."""

    def __init__(self) -> None:
        seen: Counter[str] = Counter()
        self.seen = seen

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                seen[self.headers.get("webhook-id", "")] += 1
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def _merchant(url: str, hook: str, events: int) -> tuple[str, int]:
    from wallet.services import merchants, outbox

    app = env.app_for(url)
    with app.app_context():
        merchant, _secret = merchants.create_merchant(
            "Scale shop", ["https://shop.example"], hook, actor="bench"
        )
        _key, raw = merchants.issue_api_key(merchant, "bench", "bench")
        for n in range(events):
            outbox.enqueue(merchant, "bench.ping", {"n": n})
        db.session.commit()
        merchant_id = merchant.id
        db.session.remove()
        db.engine.dispose()
    return raw, merchant_id


def _check(name: str, ok: bool, detail: str) -> bool:
    print(f"  {'PASS' if ok else 'FAIL'} {name}: {detail}", flush=True)
    return ok


def main(events: int = 60) -> bool:
    """Run the four checks; True when all pass."""
    if env.backend() != "postgresql":
        print("# scale-out needs PostgreSQL: set WALLET_BENCH_DATABASE_URL")
        return False
    run = f"bench-{uuid.uuid4().hex[:8]}:"
    extra = {
        "SESSION_REDIS_URL": REDIS,
        "SESSION_KEY_PREFIX": run + "session:",
        "RATELIMIT_ENABLED": "true",
        "RATELIMIT_STORAGE_URI": REDIS,
        "RATELIMIT_KEY_PREFIX": run + "limits",
        "API_RATELIMIT": "5 per minute",
    }
    print(f"# scale-out: two gunicorn masters, PostgreSQL, Redis {REDIS} ({run}*)")
    results = []
    receiver = _Receiver()
    with env.workdir() as work, env.database(work) as url:
        member_id, customer_key = env.create_member(url, "scale@example.com")
        api_key, _merchant_id = _merchant(url, receiver.url, events)
        with env.sandbox_process(work) as sandbox:
            server_env = portal_env(
                url, sandbox.base_url, env.VAULT_SPEC, str(work / "instance"), **extra
            )
            masters = [
                Gunicorn(
                    "wallet:create_app()",
                    server_env,
                    workers=throughput.WORKERS,
                    threads=throughput.THREADS,
                )
                for _ in range(2)
            ]
            try:
                a, b = (m.url for m in masters)
                results += _sessions(a, b, member_id, customer_key)
                results.append(_limits(a, b, api_key))
                results.append(_outbox(server_env, receiver, events))
            finally:
                for m in masters:
                    m.stop()
    print(f"# {sum(results)} of {len(results)} checks passed")
    return all(results)


def _sessions(a: str, b: str, member_id: int, customer_key: str) -> list[bool]:
    member = env.log_in(a, member_id, "scale@example.com", customer_key)
    on_b = member.http.get(f"{b}/wallet", allow_redirects=False, timeout=30)
    one = _check(
        "a session logged in on A is valid on B",
        on_b.status_code == 200,
        f"GET /wallet on B answered {on_b.status_code}",
    )
    token = env.csrf_of(on_b.text) if on_b.status_code == 200 else ""
    out = member.http.post(
        f"{b}/auth/logout",
        data={"csrf_token": token},
        allow_redirects=False,
        timeout=30,
    )
    after = [
        member.http.get(f"{u}/wallet", allow_redirects=False, timeout=30)
        for u in (a, b)
    ]
    two = _check(
        "a logout on B ends the session on A and B",
        out.status_code in (302, 303)
        and all(
            r.status_code == 302 and "/auth/login" in r.headers["Location"]
            for r in after
        ),
        f"logout {out.status_code}, then /wallet on A {after[0].status_code}, "
        f"on B {after[1].status_code}",
    )
    return [one, two]


def _limits(a: str, b: str, api_key: str) -> bool:
    statuses = []
    for base, _n in zip(cycle((a, b)), range(8), strict=False):
        resp = requests.get(
            f"{base}/api/v1/orders",
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=30,
        )
        statuses.append(resp.status_code)
    return _check(
        "the API rate limit (5 per minute) counts both masters",
        statuses == [200] * 5 + [429] * 3,
        f"round-robin A B A B …: {statuses}",
    )


def _outbox(server_env: dict[str, str], receiver: _Receiver, events: int) -> bool:
    flask = str(GUNICORN.with_name("flask"))
    workers = [
        subprocess.Popen(  # noqa: S603 - our own venv's flask CLI
            [flask, "--app", "wallet:create_app()", "wallet", "worker"],
            cwd=ROOT,
            env=server_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for _ in range(2)
    ]
    deadline = time.monotonic() + 90
    try:
        while time.monotonic() < deadline and len(receiver.seen) < events:
            time.sleep(0.5)
        time.sleep(5)  # time for a second delivery of anything, if there were one
    finally:
        for proc in workers:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
    seen = receiver.seen
    twice = sum(1 for n in seen.values() if n > 1)
    return _check(
        "two outbox workers deliver every webhook exactly once",
        len(seen) == events and twice == 0 and "" not in seen,
        f"{events} queued, {len(seen)} distinct webhook-ids received, "
        f"{sum(seen.values())} deliveries, {twice} delivered more than once",
    )
