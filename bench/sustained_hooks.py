"""gunicorn hooks for `bench/sustained.py` only (`--config=python:bench.sustained_hooks`).

Each worker times how long it waits for a database connection (the pool's own
`_do_get`), counts checkouts and the most connections out at once, and writes the
counters to $BENCH_POOL_DIR/<pid>.json every 2 s. The portal itself is not changed.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any


def post_worker_init(worker: Any) -> None:
    """Instrument this worker's pool and start the writer thread."""
    from wallet.extensions import db

    out = Path(os.environ["BENCH_POOL_DIR"]) / f"{os.getpid()}.json"
    with worker.wsgi.app_context():
        pool = db.engine.pool
    stats = {"checkouts": 0, "max_wait_ms": 0.0, "slow_waits": 0, "max_out": 0}
    lock = threading.Lock()
    original = pool._do_get

    def timed_get() -> Any:
        started = time.perf_counter()
        try:
            return original()
        finally:
            waited = (time.perf_counter() - started) * 1000
            with lock:
                stats["checkouts"] += 1
                stats["max_wait_ms"] = max(stats["max_wait_ms"], waited)
                stats["slow_waits"] += int(waited > 10)
                stats["max_out"] = max(stats["max_out"], pool.checkedout())

    pool._do_get = timed_get

    def write() -> None:
        while True:
            with lock:
                text = json.dumps(stats)
            out.write_text(text)
            time.sleep(2)

    threading.Thread(target=write, daemon=True).start()
