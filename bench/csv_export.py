"""CSV export memory: stream N payments through the real admin route and measure memory.

    python -m bench.csv_export                          # 10k and 100k rows, SQLite
    python -m bench.csv_export --rows 1000 --rows 300000
    python -m bench.csv_export --pg postgresql://postgres@127.0.0.1:5432/postgres

For each size the parent seeds a fresh database (bench/seed.py: orders, payments and
refunds straight into the tables) and creates an admin; a fresh child process then logs
in through the login form, warms up with an empty export, and POSTs the real export form
(/admin/payments/export, CSRF token from the page), reading the streamed response
chunk by chunk. The child reports the tracemalloc peak of Python allocations during the
export and the growth of its resident set (VmRSS, sampled on every chunk) over the
baseline taken just before. A bounded export shows the same numbers at every size; a
buffered one would grow with the file size (printed alongside).

Not a timed test: seconds are printed for orientation only.
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, text

from bench import seed
from bench.env import app_for  # no rate limits: the bench logs in often
from tests.conftest import csrf_token, log_in
from wallet.extensions import db

KST = ZoneInfo("Asia/Seoul")
ADMIN_EMAIL = "bench-admin@example.com"
# Seeded payments are one second apart from this moment on: 100k rows take ~28 hours,
# so March covers any size up to 2.6 million.
FIRST_PAYMENT = datetime(2026, 3, 1, tzinfo=KST)
RANGE = {"start": "2026-03-01", "end": "2026-03-31"}
EMPTY_RANGE = {"start": "2020-01-01", "end": "2020-01-01"}


def _seed(database_url: str, rows: int) -> None:
    """Migrate, then bulk-insert `rows` paid orders of one member, and an admin."""
    from flask_migrate import upgrade

    from wallet.services import members

    app = app_for(database_url)
    with app.app_context():
        upgrade()
        with db.engine.begin() as conn:
            [member_id] = seed.members(conn, 1, prefix="export", linked=False)
            seed.payments(conn, rows, member_id=member_id, start=FIRST_PAYMENT)
        members.register(ADMIN_EMAIL, seed.SEED_PASSWORD, role="admin")
        db.engine.dispose()


def _rss_bytes() -> int:
    """Current resident set size (Linux /proc)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def _export(client: Any, form: dict[str, str], sample: Any = None) -> tuple[int, int]:
    """POST the export form; read the stream chunk by chunk; (bytes, lines)."""
    page = client.get("/admin/payments/export")
    token = csrf_token(page.get_data(as_text=True))
    resp = client.post(
        "/admin/payments/export", data={**form, "csrf_token": token}, buffered=False
    )
    assert resp.status_code == 200, resp.status_code
    size = lines = 0
    try:
        for chunk in resp.response:
            size += len(chunk)
            lines += chunk.count(b"\r\n")
            if sample is not None:
                sample()
    finally:
        resp.close()
    return size, lines


def measure(database_url: str) -> dict[str, Any]:
    """Child process: log in, warm up, then export the seeded range and measure."""
    app = app_for(database_url)
    client = app.test_client()
    assert log_in(client, ADMIN_EMAIL, seed.SEED_PASSWORD).status_code == 302
    _export(client, EMPTY_RANGE)  # imports, compiled SQL, templates: not per row
    gc.collect()
    baseline = peak_rss = _rss_bytes()

    def sample() -> None:
        nonlocal peak_rss
        peak_rss = max(peak_rss, _rss_bytes())

    tracemalloc.start()
    started = time.perf_counter()
    size, lines = _export(client, RANGE, sample)
    seconds = time.perf_counter() - started
    _current, peak_python = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    with app.app_context():
        db.engine.dispose()
    return {
        "rows": lines - 1,  # minus the header
        "csv_bytes": size,
        "python_peak": peak_python,
        "rss_delta": peak_rss - baseline,
        "seconds": round(seconds, 2),
    }


def _pg_database(admin_url: str) -> tuple[str, Any]:
    """A private PostgreSQL database for one run; returns its URL and a dropper."""
    name = f"wallet_bench_{uuid.uuid4().hex[:10]}"
    engine = create_engine(
        admin_url.replace("postgresql://", "postgresql+psycopg://", 1),
        isolation_level="AUTOCOMMIT",
    )
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()

    return admin_url.rsplit("/", 1)[0] + f"/{name}", drop


def run(rows: int, pg_admin_url: str | None) -> dict[str, Any]:
    """Seed a fresh database with `rows` payments, then measure in a fresh process."""
    with tempfile.TemporaryDirectory() as tmp:
        if pg_admin_url:
            url, drop = _pg_database(pg_admin_url)
        else:
            url, drop = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}", None
        try:
            _seed(url, rows)
            # Our own interpreter running this very module: no untrusted input.
            child = subprocess.run(  # noqa: S603
                [sys.executable, "-m", "bench.csv_export", "--measure", url],
                check=True,
                capture_output=True,
                text=True,
            )
        finally:
            if drop:
                drop()
    result: dict[str, Any] = json.loads(child.stdout.strip().splitlines()[-1])
    assert result["rows"] == rows, result
    return result


def _mib(n: int) -> str:
    return f"{n / 2**20:7.2f} MiB"


def main() -> None:
    """Run the sizes and print one line each, then whether memory stayed flat."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, action="append")
    parser.add_argument(
        "--pg", metavar="ADMIN_URL", help="PostgreSQL instead of SQLite"
    )
    parser.add_argument("--measure", metavar="DATABASE_URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return
    sizes = args.rows or [10_000, 100_000]
    backend = "PostgreSQL" if args.pg else "SQLite"
    print(f"CSV export memory ({backend}): rows, CSV size, Python peak, RSS growth")
    results = []
    for rows in sizes:
        r = run(rows, args.pg)
        results.append(r)
        print(
            f"{r['rows']:>9,} rows  csv {_mib(r['csv_bytes'])}  "
            f"python peak {_mib(r['python_peak'])}  rss +{_mib(r['rss_delta'])}  "
            f"({r['seconds']} s)"
        )
    small, large = results[0], results[-1]
    growth = large["python_peak"] / max(small["python_peak"], 1)
    data = large["csv_bytes"] / max(small["csv_bytes"], 1)
    print(
        f"{large['rows'] // max(small['rows'], 1)}x the rows and {data:.1f}x the bytes: "
        f"Python peak x{growth:.2f}, RSS growth "
        f"{_mib(small['rss_delta']).strip()} -> {_mib(large['rss_delta']).strip()}"
    )


if __name__ == "__main__":
    main()
