"""Injected faults for the API routes: latency, hangs, 5xx, dropped responses."""

from __future__ import annotations

import fnmatch
import itertools
import threading
from dataclasses import asdict, dataclass
from typing import Any

DROP_MODES = ("close", "500")


@dataclass
class Fault:
    """What to do to requests whose path matches the glob `route`.

    latency: seconds to wait before handling (the request then proceeds).
    hang: seconds to wait, then close the connection with no effect applied.
    status: answer this 5xx (FAILED_INTERNAL_SYSTEM_PROCESSING), no effect.
    drop: apply the effect, then "close" the connection or answer "500".
    times: how many matching requests to affect (None = until cleared).
    """

    id: int
    route: str
    method: str | None = None
    latency: float = 0.0
    hang: float = 0.0
    status: int | None = None
    drop: str | None = None
    times: int | None = None
    hits: int = 0

    def as_dict(self) -> dict[str, Any]:
        """JSON form for the control API."""
        return asdict(self)


class Faults:
    """Thread-safe registry; `take` consumes one use of the first matching fault."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)
        self.cleared = threading.Event()  # wakes hanging requests early

    def add(
        self,
        route: str,
        *,
        method: str | None = None,
        latency: float = 0.0,
        hang: float = 0.0,
        status: int | None = None,
        drop: str | None = None,
        times: int | None = None,
    ) -> Fault:
        """Register a fault; raises ValueError on nonsense combinations."""
        if status is not None and not 500 <= status <= 599:
            raise ValueError("status must be a 5xx")
        if drop is not None and drop not in DROP_MODES:
            raise ValueError(f"drop must be one of {DROP_MODES}")
        if not (latency or hang or status or drop):
            raise ValueError("a fault needs latency, hang, status or drop")
        fault = Fault(
            next(self._ids),
            route,
            method.upper() if method else None,
            float(latency),
            float(hang),
            status,
            drop,
            times,
        )
        with self._lock:
            self._faults.append(fault)
            self.cleared.clear()
        return fault

    def clear(self) -> None:
        """Remove every fault and release requests that are hanging."""
        with self._lock:
            self._faults.clear()
            self.cleared.set()

    def list(self) -> list[Fault]:
        """Active faults."""
        with self._lock:
            return list(self._faults)

    def take(self, method: str, path: str) -> Fault | None:
        """The fault for this request, counting one use of it."""
        with self._lock:
            for fault in self._faults:
                if fault.method not in (None, method) or not fnmatch.fnmatchcase(
                    path, fault.route
                ):
                    continue
                fault.hits += 1
                if fault.times is not None and fault.hits >= fault.times:
                    self._faults.remove(fault)
                return fault
        return None
