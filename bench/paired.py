"""The portal and the minimal app (bench/minimal.py) under gunicorn at the same time.

Same workers and threads for both (throughput.WORKERS × THREADS, gthread), one
database (the seeding of bench/pages.py), and a sandbox process each (the minimal
app's started on a copy of the portal's sandbox state once the member is linked).
For each page, wrk loads the portal and the minimal app *simultaneously*, half the
connections each, so both see the same machine (back-to-back runs here swing up to 2×
from other work). The ratio is portal req/s ÷ minimal req/s. Every response's status
is checked.

On a machine with two or more cores, each app runs pinned to a core of its own with
everything that serves it alone: the wrk that loads it, its sandbox and the
PostgreSQL backends of its connections (PostgreSQL's own background processes run
anywhere). The page is measured in rounds that swap the cores. Unpinned, four
gunicorn workers and two wrk processes share two cores however the scheduler and the
accept race deal them out: the same page gave 0.54 to 0.95 in three 8 s runs, and 8
keep-alive connections landed 8+0 on one app's workers as often as 4+4. Pinned, each
app gets one core's time, and swapping the cores cancels any difference between them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from bench import env, load, pages, seed, throughput
from bench.servers import Gunicorn, worker_pids
from wallet.extensions import db
from wallet.models import Member

ROUNDS = 4  # per page; the cores swap every round


@dataclass(frozen=True)
class Side:
    """One app's base URL, the headers of its member, admin and API client, and the
    processes that serve it: its gunicorn master and its sandbox's processes (with
    their workers, `_served_by`)."""

    url: str
    headers: dict[str, dict[str, str]]
    masters: tuple[int, ...]


def _cores() -> tuple[int, int] | None:
    """Two cores this process may use, or None (one core: nothing to pin)."""
    usable = sorted(os.sched_getaffinity(0))
    return (usable[0], usable[1]) if len(usable) >= 2 else None


def _served_by(masters: tuple[int, ...]) -> set[int]:
    """These processes and their children (a gunicorn master's workers)."""
    return {pid for m in masters for pid in (m, *worker_pids(m))}


def _listeners(url: str) -> tuple[int, ...]:
    """The processes holding `url`'s listening socket (a gunicorn master and the
    workers that inherited it)."""
    port = url.rsplit(":", 1)[1].rstrip("/")
    listening = subprocess.run(  # noqa: S603 - a port number we were given
        ["ss", "-tlnpH", f"sport = :{port}"],  # noqa: S607 - iproute2's ss
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = tuple(int(pid) for pid in re.findall(r"pid=(\d+)", listening))
    if not found:
        raise RuntimeError(f"nothing listens on {url}")
    return found


def _database_backends(pids: set[int]) -> set[int]:
    """The PostgreSQL backends serving these processes' connections (by the client
    port of each connection to :5432; empty on SQLite)."""
    sockets = subprocess.run(
        ["ss", "-tnpH", "state", "established"],  # noqa: S607 - iproute2's ss
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    ours, backend_of = set(), {}
    for line in sockets.splitlines():
        fields = line.split()
        if len(fields) < 5:
            continue
        local, peer = fields[2], fields[3]
        owner = re.search(r"pid=(\d+)", line)
        if owner is None:
            continue
        if local.endswith(":5432"):
            backend_of[peer.rsplit(":", 1)[1]] = int(owner.group(1))
        elif peer.endswith(":5432") and int(owner.group(1)) in pids:
            ours.add(local.rsplit(":", 1)[1])
    return {backend_of[port] for port in ours if port in backend_of}


def _pin(side: Side, core: int) -> None:
    """Every thread of the side's processes, and of the PostgreSQL backends they are
    connected to, onto `core`; threads started later inherit it from the thread that
    starts them (a backend the pool opens later is pinned at the next round)."""
    pids = _served_by(side.masters)
    for pid in pids | _database_backends(pids):
        try:
            for task in Path(f"/proc/{pid}/task").iterdir():
                os.sched_setaffinity(int(task.name), {core})
        except (ProcessLookupError, FileNotFoundError, PermissionError):
            continue  # gone meanwhile


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
            # The minimal app's own sandbox, started on a copy of the state the link
            # and the token left (nothing calls the first one meanwhile): each app's
            # Toss calls then run on its own core, like the app.
            twin_dir = work / "twin"
            twin_dir.mkdir()
            shutil.copy(work / "sandbox.sqlite3", twin_dir / "sandbox.sqlite3")
            small_env = dict(os.environ) | {
                "BENCH_DATABASE_URL": url,
                "BENCH_ACCESS_TOKENS": f"{facts['member_id']}={token}",
            }
            with (
                env.sandbox_process(twin_dir) as twin,
                Gunicorn(
                    "bench.minimal:from_env()",
                    small_env | {"BENCH_SANDBOX_URL": twin.base_url},
                    workers=throughput.WORKERS,
                    threads=throughput.THREADS,
                ) as small,
            ):
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
                    (portal.proc.pid, *_listeners(sandbox.base_url)),
                )
                small_side = Side(
                    small.url,
                    {
                        "member": _minimal_login(small.url, "pages-member@example.com"),
                        "admin": _minimal_login(small.url, "pages-admin@example.com"),
                        "api": api,
                    },
                    (small.proc.pid, *_listeners(twin.base_url)),
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
    a: load.Target,
    b: load.Target,
    duration: float,
    connections: int,
    cores: tuple[int, int] | None = None,
) -> tuple[load.Result, load.Result]:
    """Load both targets at the same moment, `connections` each; with `cores`, each
    wrk runs on its app's core (a thread's affinity passes to what it starts)."""
    results: dict[str, load.Result] = {}

    def go(target: load.Target, slot: str, core: int | None) -> None:
        if core is not None:
            os.sched_setaffinity(0, {core})  # this thread only, and its wrk
        results[slot] = load.run(
            target, duration=duration, connections=connections, threads=1
        )

    threads = [
        threading.Thread(target=go, args=(a, "a", cores[0] if cores else None)),
        threading.Thread(target=go, args=(b, "b", cores[1] if cores else None)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results["a"], results["b"]


@dataclass
class Row:
    """A page's rounds: both apps' totals and each round's ratio."""

    name: str
    portal: load.Result
    minimal: load.Result
    ratios: list[float]


def _merge(results: list[load.Result]) -> load.Result:
    """Rounds as one run: requests and seconds summed, latencies the rounds' median."""
    return load.Result(
        results[0].name,
        sum(r.requests for r in results),
        sum(r.seconds for r in results),
        statistics.median(r.p50_ms for r in results),
        statistics.median(r.p99_ms for r in results),
        sum(r.bad for r in results),
        sum(r.errors for r in results),
        results[0].tool,
    )


def _measure(
    portal: Side, small: Side, page: pages.Page, duration: float, half: int
) -> Row:
    a = _target(portal, page, f"portal {page.name}")
    b = _target(small, page, f"minimal {page.name}")
    for t in (a, b):
        throughput.preflight(t)
    cores = _cores()
    done: list[tuple[load.Result, load.Result]] = []
    for n in range(ROUNDS):
        pinned = None
        if cores is not None:
            pinned = cores if n % 2 == 0 else (cores[1], cores[0])
            _pin(portal, pinned[0])
            _pin(small, pinned[1])
        if n == 0:
            _both(a, b, 2, half, pinned)  # warm-up: the pools open their connections
            if pinned is not None:
                _pin(portal, pinned[0])
                _pin(small, pinned[1])
        done.append(_both(a, b, duration / ROUNDS, half, pinned))
    ratios = [p.rps / m.rps if m.rps else 0.0 for p, m in done]
    return Row(
        page.name, _merge([p for p, _ in done]), _merge([m for _, m in done]), ratios
    )


def report(rows: list[Row]) -> str:
    """Markdown: req/s and latency of both, the req/s ratio and its rounds' range."""
    lines = [
        "| page | portal req/s | p50/p99 ms | minimal req/s | p50/p99 ms "
        "| req/s ratio | rounds | bad/errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        p, m = row.portal, row.minimal
        ratio = p.rps / m.rps if m.rps else 0.0
        spread = f"{min(row.ratios):.2f}–{max(row.ratios):.2f}"
        lines.append(
            f"| {row.name} | {p.rps:,.0f} | {p.p50_ms:.0f}/{p.p99_ms:.0f} "
            f"| {m.rps:,.0f} | {m.p50_ms:.0f}/{m.p99_ms:.0f} | {ratio:.2f} "
            f"| {spread} | {p.bad + m.bad}/{p.errors + m.errors} |"
        )
    return "\n".join(lines)


def main(duration: float, connections: int) -> list[Row]:
    """Every page, both apps at once, `connections` split between them, `duration`
    seconds per page in ROUNDS rounds."""
    load.ensure_wrk()
    half = max(1, connections // 2)
    before = os.getloadavg()[0]
    cores = _cores()
    placing = (
        f"pinned to cores {cores[0]} and {cores[1]}, swapped each round"
        if cores
        else "one core, not pinned"
    )
    print(
        f"# paired: {env.backend()}, gunicorn {throughput.WORKERS}×{throughput.THREADS} "
        f"each, {half}+{half} connections, {duration:.0f} s per page in {ROUNDS} "
        f"rounds, {placing}, load {before:.2f}"
    )
    rows = []
    with prepared() as (portal, small, page_list, _key):
        for page in page_list:
            row = _measure(portal, small, page, duration, half)
            p, m = row.portal, row.minimal
            print(
                f"  {page.name}: portal {p.rps:,.0f} req/s, minimal {m.rps:,.0f} req/s, "
                f"rounds {' '.join(f'{r:.2f}' for r in row.ratios)} "
                f"({p.tool}; bad {p.bad}+{m.bad}, errors {p.errors}+{m.errors})",
                flush=True,
            )
            rows.append(row)
    print(f"# load average {before:.2f} → {os.getloadavg()[0]:.2f}")
    print(report(rows))
    return rows
