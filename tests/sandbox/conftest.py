"""Fixtures for the sandbox contract tests: one real HTTP sandbox per session."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from wallet.sandbox.testing import SandboxServer, query_of

from .helpers import FAIL, REDIRECT, SUCCESS, Api, Customer, Received, Receiver, new_key


@pytest.fixture(scope="session")
def server() -> Iterator[SandboxServer]:
    with SandboxServer() as toss:
        yield toss


@pytest.fixture
def toss(server: SandboxServer) -> Iterator[SandboxServer]:
    """The shared sandbox, with faults/calls/webhook URL reset after each test."""
    server.sandbox.clear_calls()
    yield server
    server.clear_faults()
    server.set_webhook_url(None)


@pytest.fixture
def api(toss: SandboxServer) -> Api:
    return Api(toss)


@pytest.fixture
def link(toss: SandboxServer, api: Api) -> Callable[..., Customer]:
    """Link a new customer through the hosted page and exchange the code."""

    def _link(card: str | None = None) -> Customer:
        key = new_key()
        kwargs = {"card_number": card} if card else {}
        code = query_of(toss.link_customer(key, REDIRECT, **kwargs))["code"]
        resp = api.post(
            "/v1/brandpay/authorizations/access-token",
            {"customerKey": key, "grantType": "AuthorizationCode", "code": code},
        )
        assert resp.status_code == 200, resp.text
        tokens = resp.json()
        method_id = toss.methods(key)["selectedMethodId"]
        return Customer(key, tokens["accessToken"], tokens["refreshToken"], method_id)

    return _link


@pytest.fixture
def authorize(toss: SandboxServer) -> Callable[..., dict[str, str]]:
    """Approve a payment on the hosted page; returns the successUrl query."""

    def _authorize(
        customer: Customer, amount: int = 15000, **kw: Any
    ) -> dict[str, str]:
        order_id = kw.pop("order_id", None) or new_key("order")
        location = toss.authorize_payment(
            customer.key, order_id, amount, "샌드박스 티셔츠", SUCCESS, FAIL, **kw
        )
        assert location.startswith(SUCCESS), location
        return query_of(location)

    return _authorize


@pytest.fixture
def paid(
    toss: SandboxServer, api: Api, authorize: Callable[..., dict[str, str]]
) -> Callable[..., dict[str, Any]]:
    """A confirmed (DONE) payment; returns the Payment object."""

    def _paid(customer: Customer, amount: int = 15000) -> dict[str, Any]:
        q = authorize(customer, amount)
        resp = api.post(
            "/v1/brandpay/payments/confirm",
            {
                "paymentKey": q["paymentKey"],
                "orderId": q["orderId"],
                "amount": int(q["amount"]),
                "customerKey": customer.key,
            },
        )
        assert resp.status_code == 200, resp.text
        toss.advance_clock(1.1)  # step past the 1 s consecutive-request window
        return resp.json()  # type: ignore[no-any-return]

    return _paid


@pytest.fixture
def receiver(toss: SandboxServer) -> Iterator[Receiver]:
    """Webhook receiver wired to the sandbox for one test."""
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server API
            length = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(length))
            if state.delay:
                threading.Event().wait(state.delay)
            got = Received({k.lower(): v for k, v in self.headers.items()}, body)
            with state.arrived:
                if state.respond is not None:
                    status = state.respond(got)
                else:
                    status = state.statuses.pop(0) if state.statuses else 200
                state.received.append(got)
                state.arrived.notify_all()
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            """Silence."""

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{httpd.server_port}/webhooks/toss"
    toss.set_webhook_url(state.url)
    yield state
    toss.set_webhook_url(None)
    httpd.shutdown()
    httpd.server_close()
