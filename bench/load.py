"""Load generation: wrk (Debian package) when present, else a small threaded client.

Every run is bounded by its duration. Each response's status is checked against the
expected one (wrk: a Lua `response` hook), so a redirect to the login page or an error
page can never pass for throughput.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field

import requests

WRK = "wrk"

_LUA = """
local counter = 0
local threads = {}
bad = 0
sent = 0

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end

function request()
  sent = sent + 1
  if UNIQUE_KEY then
    wrk.headers["Idempotency-Key"] = RUN .. "-" .. tid .. "-" .. sent
  end
  return wrk.format(nil, nil, nil, nil)
end

function response(status, headers, body)
  if status ~= EXPECT then bad = bad + 1 end
end

function done(summary, latency, requests)
  local total_bad = 0
  for _, t in ipairs(threads) do total_bad = total_bad + t:get("bad") end
  local e = summary.errors
  io.write(string.format(
    "RESULT %d %d %d %d %d %d\\n",
    summary.requests, summary.duration, latency:percentile(50),
    latency:percentile(99), total_bad,
    e.connect + e.read + e.write + e.timeout))
end
"""


@dataclass
class Target:
    """One thing to load: URL, method, headers, body and the status it must answer."""

    name: str
    url: str
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None
    expect: int = 200
    unique_idempotency_key: bool = False


@dataclass
class Result:
    """What one run measured."""

    name: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    bad: int  # answered, but not with the expected status
    errors: int  # socket errors and timeouts
    tool: str

    @property
    def rps(self) -> float:
        """Requests per second."""
        return self.requests / self.seconds if self.seconds else 0.0


def ensure_wrk() -> bool:
    """Whether wrk is available; as root with apt-get, try to install it once."""
    if shutil.which(WRK):
        return True
    apt = shutil.which("apt-get")
    if os.geteuid() == 0 and apt:
        print("wrk not found: installing the Debian package (apt-get install -y wrk)")
        subprocess.run(  # noqa: S603 - fixed command, Debian's own package
            [apt, "install", "-y", "-qq", "wrk"],
            check=False,
            capture_output=True,
        )
    if shutil.which(WRK):
        return True
    print(
        "wrk is not installed and could not be installed: using the built-in Python "
        "load generator (slower client; ratios stay comparable within one run)"
    )
    return False


def run(
    target: Target, *, duration: float, connections: int, threads: int = 2
) -> Result:
    """Load `target` for `duration` seconds with `connections` concurrent clients."""
    if shutil.which(WRK):
        return _run_wrk(target, duration, connections, threads)
    return _run_python(target, duration, connections)


def _run_wrk(target: Target, duration: float, connections: int, threads: int) -> Result:
    header = (
        f'wrk.method = "{target.method}"\n'
        f"EXPECT = {target.expect}\n"
        f"UNIQUE_KEY = {'true' if target.unique_idempotency_key else 'false'}\n"
        f'RUN = "bench-{uuid.uuid4().hex[:8]}"\n'
    )
    if target.body is not None:
        header += f"wrk.body = [[{target.body}]]\n"
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(header + _LUA)
    cmd = [
        shutil.which(WRK) or WRK,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{int(duration)}s",
        "--timeout=10s",
        "-s",
        script.name,
    ]
    for name, value in target.headers.items():
        cmd += ["-H", f"{name}: {value}"]
    cmd.append(target.url)
    try:
        out = subprocess.run(  # noqa: S603 - wrk with our own arguments
            cmd, capture_output=True, text=True, timeout=duration + 60, check=True
        ).stdout
    finally:
        os.unlink(script.name)
    found = re.search(r"^RESULT (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)$", out, re.M)
    if not found:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    reqs, micros, p50, p99, bad, errors = (int(g) for g in found.groups())
    return Result(
        target.name, reqs, micros / 1e6, p50 / 1000, p99 / 1000, bad, errors, "wrk"
    )


def send(target: Target, http: requests.Session, key: str) -> requests.Response:
    """One request to `target` (`key` as its Idempotency-Key when it needs one)."""
    headers = dict(target.headers)
    if target.unique_idempotency_key:
        headers["Idempotency-Key"] = key
    return http.request(
        target.method,
        target.url,
        headers=headers,
        data=target.body,
        allow_redirects=False,
        timeout=10,
    )


def _run_python(target: Target, duration: float, connections: int) -> Result:
    latencies: list[float] = []
    counts = {"bad": 0, "errors": 0}
    lock = threading.Lock()
    stop_at = time.monotonic() + duration
    run_id = uuid.uuid4().hex[:8]

    def client(n: int) -> None:
        http = requests.Session()
        sent = 0
        while time.monotonic() < stop_at:
            sent += 1
            started = time.perf_counter()
            try:
                resp = send(target, http, f"bench-{run_id}-{n}-{sent}")
            except requests.RequestException:
                with lock:
                    counts["errors"] += 1
                continue
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                counts["bad"] += resp.status_code != target.expect

    started = time.monotonic()
    workers = [threading.Thread(target=client, args=(n,)) for n in range(connections)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    seconds = time.monotonic() - started
    ordered = sorted(latencies) or [0.0]
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return Result(
        target.name,
        len(latencies),
        seconds,
        statistics.median(ordered) * 1000,
        p99 * 1000,
        counts["bad"],
        counts["errors"],
        "python",
    )
