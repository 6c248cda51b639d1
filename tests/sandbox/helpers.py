"""Helpers shared by the sandbox contract tests (no fixtures here)."""

from __future__ import annotations

import base64
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from wallet.sandbox.testing import SandboxServer

REDIRECT = "http://127.0.0.1:5999/brandpay/callback"
SUCCESS = "http://127.0.0.1:5999/pay/success"
FAIL = "http://127.0.0.1:5999/pay/fail"
TIMEOUT = 5


def basic(secret_key: str) -> dict[str, str]:
    """Authorization header of contract §1 (`secretKey:` in base64)."""
    return {
        "Authorization": "Basic " + base64.b64encode(f"{secret_key}:".encode()).decode()
    }


def bearer(token: str) -> dict[str, str]:
    """Authorization header for the customer endpoints."""
    return {"Authorization": f"Bearer {token}"}


class Api:
    """Tiny HTTP client for the sandbox with the doc secret key by default."""

    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self.http = requests.Session()

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        secret: str | None = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = TIMEOUT,
    ) -> requests.Response:
        """Send with Basic (default) or Bearer auth."""
        auth = bearer(token) if token else basic(secret or self.server.secret_key)
        return self.http.request(
            method,
            self.server.base_url + path,
            json=body,
            headers=auth | (headers or {}),
            timeout=timeout,
        )

    def post(self, path: str, body: Any = None, **kw: Any) -> requests.Response:
        """POST JSON."""
        return self.call("POST", path, body, **kw)

    def get(self, path: str, **kw: Any) -> requests.Response:
        """GET."""
        return self.call("GET", path, **kw)


@dataclass
class Customer:
    """A linked customer: keys, tokens and registered method ids."""

    key: str
    access: str
    refresh: str
    method_id: str


def new_key(prefix: str = "ck") -> str:
    """A fresh unguessable customerKey / orderId."""
    return f"{prefix}_{uuid.uuid4().hex[:20]}"


@dataclass
class Received:
    """One webhook as the receiver saw it."""

    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class Receiver:
    """A local HTTP endpoint answering webhooks with scripted statuses."""

    url: str = ""
    statuses: list[int] = field(default_factory=list)  # consumed per request
    respond: Callable[[Received], int] | None = None  # overrides `statuses`
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(
        self, predicate: Callable[[list[Received]], bool], timeout: float = 5
    ) -> list:
        """Block until predicate(received) holds; returns the matches list."""
        with self.arrived:
            self.arrived.wait_for(lambda: predicate(self.received), timeout)
            return list(self.received)


def first_method(api: Api, customer_key: str, kind: str = "cards") -> dict[str, Any]:
    """The customer's first listed card (or account), read with the secret key."""
    listed = api.get(f"/v1/brandpay/payments/methods/{customer_key}").json()
    return listed[kind][0]  # type: ignore[no-any-return]


def confirm_body(q: dict[str, str], customer: Customer, **over: Any) -> dict[str, Any]:
    """Confirm request body from a successUrl query (contract §4)."""
    body = {
        "paymentKey": q["paymentKey"],
        "orderId": q["orderId"],
        "amount": int(q["amount"]),
        "customerKey": customer.key,
    }
    return body | over


def wait_in_flight(server: SandboxServer, timeout: float = 30) -> None:
    """Block until a request holds an Idempotency-Key inside the sandbox."""
    pause = threading.Event()
    for _ in range(int(timeout / 0.01)):
        if server.sandbox.in_flight:
            return
        pause.wait(0.01)
    raise AssertionError("the first request never reached the sandbox")
