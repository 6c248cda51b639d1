"""Webhook delivery (contract §7) from a background thread, with retries."""

from __future__ import annotations

import heapq
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import requests

from .state import KST, Clock, random_id

# contract §7: retried up to 7 times at +1, 4, 16, 64, 256, 1024, 4096 minutes.
DEFAULT_BACKOFF = (60.0, 240.0, 960.0, 3840.0, 15360.0, 61440.0, 245760.0)
TIMEOUT = 10.0  # contract §7: Toss waits 10 s for the 200 [L]


@dataclass
class Delivery:
    """One webhook event and its delivery attempts."""

    transmission_id: str
    event_type: str
    payload: dict[str, Any]
    attempts: list[dict[str, Any]] = field(default_factory=list)
    delivered: bool = False
    gave_up: bool = False

    def as_dict(self) -> dict[str, Any]:
        """JSON form for the control API."""
        return {
            "transmissionId": self.transmission_id,
            "eventType": self.event_type,
            "payload": self.payload,
            "attempts": list(self.attempts),
            "delivered": self.delivered,
            "gaveUp": self.gave_up,
        }


class WebhookDispatcher:
    """Queue of deliveries; POSTs them in a daemon thread so APIs never block."""

    def __init__(
        self, url: str | None, backoff: list[float] | tuple[float, ...], clock: Clock
    ) -> None:
        self.url = url
        self.backoff = tuple(float(b) for b in backoff)
        self._clock = clock
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Delivery]] = []
        self._seq = itertools.count()
        self._log: list[Delivery] = []
        self._thread: threading.Thread | None = None
        self._stopped = False
        self._http = requests.Session()

    def enqueue(self, event_type: str, data: dict[str, Any]) -> None:
        """Send the contract §7 envelope later (dropped when no URL is set)."""
        if not self.url:
            return
        created = datetime.fromtimestamp(self._clock.time(), KST).replace(tzinfo=None)
        payload = {
            "eventType": event_type,
            "createdAt": created.isoformat(timespec="microseconds"),
            "data": data,
        }
        delivery = Delivery(random_id("whtrans_", 24), event_type, payload)
        with self._cond:
            self._log.append(delivery)
            heapq.heappush(self._heap, (time.monotonic(), next(self._seq), delivery))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="sandbox-webhooks", daemon=True
                )
                self._thread.start()
            self._cond.notify()

    def deliveries(self) -> list[Delivery]:
        """Every event queued so far, with its attempts."""
        with self._cond:
            return list(self._log)

    def stop(self) -> None:
        """Stop the worker (pending retries are abandoned)."""
        with self._cond:
            self._stopped = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join(timeout=TIMEOUT + 1)
        self._http.close()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopped and (
                    not self._heap or self._heap[0][0] > time.monotonic()
                ):
                    wait = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._cond.wait(wait)
                if self._stopped:
                    return
                _, _, delivery = heapq.heappop(self._heap)
            self._attempt(delivery)

    def _attempt(self, delivery: Delivery) -> None:
        retried = len(delivery.attempts)
        body = json.dumps(delivery.payload, ensure_ascii=False).encode()
        headers = {
            "Content-Type": "application/json",
            # [G] ISO-8601 +09:00; the id stays the same across retries so
            # receivers can dedupe on it (contract §7).
            "tosspayments-webhook-transmission-time": self._clock.iso(),
            "tosspayments-webhook-transmission-retried-count": str(retried),
            "tosspayments-webhook-transmission-id": delivery.transmission_id,
        }
        url = self.url or ""
        try:
            resp = self._http.post(url, data=body, headers=headers, timeout=TIMEOUT)
            result: dict[str, Any] = {"status": resp.status_code}
        except requests.RequestException as exc:
            result = {"error": type(exc).__name__}
        with self._cond:
            delivery.attempts.append(result)
            if result.get("status") == 200:  # contract §7: only 200 counts
                delivery.delivered = True
            elif retried < len(self.backoff):
                due = time.monotonic() + self.backoff[retried]
                heapq.heappush(self._heap, (due, next(self._seq), delivery))
            else:
                delivery.gave_up = True
