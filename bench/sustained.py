"""Sustained load: the portal under gunicorn for minutes at 80% of its measured peak.

Set up like `bench/pages.py` (a member with 10,000 payments, linked wallet), the portal
as gunicorn (throughput.WORKERS × THREADS). First the peak req/s of the history page is
found for 10 s, by wrk and by the paced client itself asking as fast as it can (Python
threads, one pooled session each); then the paced client asks at 80% of the lower of
the two for `minutes`. The client runs on the same cores as the portal: once the
portal served ~680 req/s to wrk, the Python client could drive only ~410, and at "80%
of wrk's peak" it was asking flat out, a saturated run rather than 80% of one.
Every 30 s window reports p50/p99 latency, answers, errors, the workers' resident
memory (VmRSS from /proc), and the database pool as the workers saw it: checkouts,
the longest wait for a connection and how many waits took over 10 ms, and the most
connections checked out at once (`bench/sustained_hooks.py` instruments each worker's
pool and writes its counters to a file every 2 s; nothing in the portal changes).
"""

from __future__ import annotations

import json
import os
import statistics
import threading
import time
from pathlib import Path

import requests

from bench import env, load, pages, throughput
from bench.servers import Gunicorn, portal_env, worker_pids

WINDOW = 30.0
SHARE = 0.8


def _rss_mib(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def _pool(stats_dir: Path) -> dict[str, float]:
    merged = {"checkouts": 0.0, "max_wait_ms": 0.0, "slow_waits": 0.0, "max_out": 0.0}
    for path in stats_dir.glob("*.json"):
        try:
            one = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        merged["checkouts"] += one["checkouts"]
        merged["slow_waits"] += one["slow_waits"]
        merged["max_wait_ms"] = max(merged["max_wait_ms"], one["max_wait_ms"])
        merged["max_out"] = max(merged["max_out"], one["max_out"])
    return merged


class _Paced:
    """`rate` requests per second in total from `threads` threads, until stopped;
    `rate` None: each thread asks again as soon as it has its answer."""

    def __init__(
        self, url: str, headers: dict[str, str], rate: float | None, threads: int
    ):
        self.url, self.headers = url, headers
        self.interval = threads / rate if rate else 0.0
        self.samples: list[tuple[float, float, int]] = []  # (start, ms, status)
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [
            threading.Thread(target=self._run, args=(i * self.interval / threads,))
            for i in range(threads)
        ]

    def _run(self, offset: float) -> None:
        http = requests.Session()
        due = time.monotonic() + offset
        while not self.stop.is_set():
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            started = time.monotonic()
            try:
                status = http.get(
                    self.url, headers=self.headers, timeout=10, allow_redirects=False
                ).status_code
            except requests.RequestException:
                status = 0
            spent = (time.monotonic() - started) * 1000
            with self.lock:
                self.samples.append((started, spent, status))
            due += self.interval

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def finish(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join()


def main(minutes: float, connections: int) -> None:
    """Peak for 10 s with wrk, then `minutes` at 80% of it; a table per window."""
    load.ensure_wrk()
    with env.workdir() as work, env.database(work) as url:
        facts = pages._seed(url)
        stats_dir = work / "pool"
        stats_dir.mkdir()
        with env.sandbox_process(work) as sandbox:
            server_env = portal_env(
                url, sandbox.base_url, env.VAULT_SPEC, str(work / "instance")
            ) | {"BENCH_POOL_DIR": str(stats_dir)}
            with Gunicorn(
                "wallet:create_app()",
                server_env,
                workers=throughput.WORKERS,
                threads=throughput.THREADS,
                extra_args=("--config=python:bench.sustained_hooks",),
            ) as portal:
                member = env.log_in(
                    portal.url,
                    facts["member_id"],
                    "pages-member@example.com",
                    facts["customer_key"],
                )
                headers = {"Cookie": member.cookie, "User-Agent": member.user_agent}
                target = load.Target(
                    "history", f"{portal.url}/pay/history", headers=headers
                )
                throughput.preflight(target)
                load.run(target, duration=2, connections=connections)
                peak = load.run(target, duration=10, connections=connections)
                client_peak = _client_peak(target, connections)
                rate = SHARE * min(peak.rps, client_peak)
                before = os.getloadavg()[0]
                print(
                    f"# sustained: {env.backend()}, history page, peak {peak.rps:.0f} "
                    f"req/s (wrk, {connections} connections), {client_peak:.0f} req/s "
                    f"(the paced client flat out, {connections} threads), now "
                    f"{rate:.0f} req/s for {minutes:g} min, load {before:.2f}",
                    flush=True,
                )
                _sustain(portal, target, rate, connections, minutes, stats_dir)
                print(f"# load average {before:.2f} → {os.getloadavg()[0]:.2f}")


def _client_peak(target: load.Target, threads: int, seconds: float = 10.0) -> float:
    """The req/s the paced client reaches unpaced (answers of any status count: the
    windows report the ones that were not 200)."""
    flat_out = _Paced(target.url, target.headers, None, threads)
    begun = time.monotonic()
    flat_out.start()
    time.sleep(seconds)
    flat_out.finish()
    ended = begun + seconds
    return (
        sum(1 for start, ms, _st in flat_out.samples if start + ms / 1000 <= ended)
        / seconds
    )


def _sustain(
    portal: Gunicorn,
    target: load.Target,
    rate: float,
    connections: int,
    minutes: float,
    stats_dir: Path,
) -> None:
    paced = _Paced(target.url, target.headers, rate, connections)
    pids = worker_pids(portal.proc.pid)
    lines = [
        "| window | answers | req/s | p50 ms | p99 ms | not 200 | workers' RSS MiB "
        "| pool checkouts | longest wait so far ms | waits > 10 ms so far | most checked out |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    started = time.monotonic()
    paced.start()
    seen, last_pool = 0, _pool(stats_dir)
    windows = int(minutes * 60 / WINDOW)
    try:
        for n in range(windows):
            time.sleep(max(0.0, started + (n + 1) * WINDOW - time.monotonic()))
            with paced.lock:
                chunk = paced.samples[seen:]
                seen = len(paced.samples)
            pool = _pool(stats_dir)
            times = sorted(ms for _s, ms, _st in chunk) or [0.0]
            p99 = times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]
            line = (
                f"| {n * WINDOW:.0f}–{(n + 1) * WINDOW:.0f} s | {len(chunk)} "
                f"| {len(chunk) / WINDOW:.0f} | {statistics.median(times):.0f} "
                f"| {p99:.0f} | {sum(1 for *_x, st in chunk if st != 200)} "
                f"| {_rss_mib(pids):.0f} | {pool['checkouts'] - last_pool['checkouts']:.0f} "
                f"| {pool['max_wait_ms']:.1f} | {pool['slow_waits']:.0f} "
                f"| {pool['max_out']:.0f} |"
            )
            last_pool = pool
            lines.append(line)
            print(line, flush=True)
    finally:
        paced.finish()
    print("\n".join(lines))
