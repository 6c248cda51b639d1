"""Sandbox persistence (one SQLite document table) and the controllable clock."""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import string
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any

KST = timezone(timedelta(hours=9))  # Toss timestamps are +09:00 (contract §3, §4)
_ALNUM = string.ascii_letters + string.digits


def random_id(prefix: str = "", length: int = 20) -> str:
    """An unguessable alphanumeric id, optionally prefixed."""
    return prefix + "".join(secrets.choice(_ALNUM) for _ in range(length))


class Clock:
    """Wall clock plus an offset that tests move forward with `advance`."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def time(self) -> float:
        """Seconds since the epoch, as the sandbox sees them."""
        with self._lock:
            return time.time() + self._offset

    def advance(self, seconds: float) -> float:
        """Move the sandbox clock forward; returns the total offset."""
        with self._lock:
            self._offset += seconds
            return self._offset

    def iso(self, ts: float | None = None) -> str:
        """ISO-8601 with +09:00 at second precision, as Toss prints it."""
        when = self.time() if ts is None else ts
        return datetime.fromtimestamp(when, KST).isoformat(timespec="seconds")


class Store:
    """JSON documents keyed by (kind, key) in SQLite; one connection, one lock.

    The sandbox is low-traffic test equipment, so serialising every access
    behind an RLock is simpler than per-thread connections and also makes an
    in-memory database safe to share between the server's threads.
    """

    def __init__(self, path: str) -> None:
        self._lock = threading.RLock()
        self._depth = 0
        if path != ":memory:" and not path.startswith("file:"):
            # Its state holds test tokens and card data: owner-only from the start.
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        self._conn = sqlite3.connect(
            path, check_same_thread=False, isolation_level=None
        )
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS docs (kind TEXT NOT NULL, key TEXT NOT NULL,"
            " data TEXT NOT NULL, PRIMARY KEY (kind, key))"
        )

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Hold the lock and commit (or roll back) everything done inside."""
        with self._lock:
            outer = self._depth == 0
            if outer:
                self._conn.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                if outer:
                    self._conn.execute("ROLLBACK")
                raise
            self._depth -= 1
            if outer:
                self._conn.execute("COMMIT")

    def get(self, kind: str, key: str) -> dict[str, Any] | None:
        """The document stored under (kind, key), if any."""
        with self._lock:
            row = self._conn.execute(
                "SELECT data FROM docs WHERE kind = ? AND key = ?", (kind, key)
            ).fetchone()
        return None if row is None else json.loads(row[0])

    def put(self, kind: str, key: str, data: dict[str, Any]) -> dict[str, Any]:
        """Insert or replace a document (keeps insertion order for `find`)."""
        with self._lock:
            self._conn.execute(
                "INSERT INTO docs (kind, key, data) VALUES (?, ?, ?) ON CONFLICT"
                " (kind, key) DO UPDATE SET data = excluded.data",
                (kind, key, json.dumps(data, ensure_ascii=False)),
            )
        return data

    def find(self, kind: str, **equals: Any) -> list[dict[str, Any]]:
        """Documents of `kind` whose top-level fields equal `equals`, oldest first."""
        sql = "SELECT data FROM docs WHERE kind = ?"
        args: list[Any] = [kind]
        for field in equals:
            if not field.isidentifier():  # field names go into the JSON path
                raise ValueError(field)
            sql += f" AND json_extract(data, '$.{field}') = ?"  # noqa: S608
        args += [int(v) if isinstance(v, bool) else v for v in equals.values()]
        with self._lock:
            rows = self._conn.execute(sql + " ORDER BY rowid", args).fetchall()
        return [json.loads(r[0]) for r in rows]

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()
