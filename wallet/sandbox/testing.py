"""`SandboxServer`: the sandbox on a real port, plus browser-step helpers.

Pytest-independent so the portal's fixtures can use it::

    with SandboxServer() as toss:
        location = toss.link_customer("ck_abc123", "http://127.0.0.1:5000/cb")
"""

from __future__ import annotations

import re
import threading
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from . import create_app
from .catalog import (
    ANONYMOUS,
    DEFAULT_FOREIGN_CARD,
    DEFAULT_TEST_ACCOUNT,
    DEFAULT_TEST_CARD,
    DOC_CLIENT_KEY,
    DOC_SECRET_KEY,
    TERMS,
    TEST_PIN,
)
from .control import Sandbox
from .faults import Fault
from .webhooks import Delivery

__all__ = [
    "ANONYMOUS",
    "DEFAULT_FOREIGN_CARD",
    "DEFAULT_TEST_CARD",
    "TEST_PIN",
    "SandboxServer",
    "WindowRefused",
    "query_of",
]

HTTP_TIMEOUT = 10.0


def query_of(location: str) -> dict[str, str]:
    """The query parameters of a redirect Location as a flat dict."""
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


class WindowRefused(RuntimeError):
    """The SDK would have thrown `code` (or a hosted page refused the input)."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code


class _QuietHandler(WSGIRequestHandler):
    """No per-request access log lines in test output."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Skip the access log."""


class SandboxServer:
    """Serve a fresh in-memory sandbox on 127.0.0.1:<free port> in a daemon thread."""

    client_key = DOC_CLIENT_KEY
    secret_key = DOC_SECRET_KEY

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        self.config: dict[str, Any] = {
            "TESTING": True,
            "SANDBOX_DATABASE": ":memory:",
            "SANDBOX_WEBHOOK_BACKOFF": [0.05, 0.1, 0.2],
        } | (config or {})
        self.app: Flask | None = None
        self.base_url = ""
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._http = requests.Session()

    # -- lifecycle -----------------------------------------------------------
    def start(self) -> SandboxServer:
        """Build the app and start serving; returns self."""
        self.app = create_app(self.config)
        self._server = make_server(
            "127.0.0.1", 0, self.app, threaded=True, request_handler=_QuietHandler
        )
        self.base_url = f"http://127.0.0.1:{self._server.server_port}"
        self.sandbox.engine.public_url = self.base_url
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            args=(0.05,),  # poll interval: quick shutdown between tests
            name="sandbox-http",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the sandbox's resources."""
        if self._server is not None:
            self.sandbox.faults.clear()  # wakes any hanging request
            self._server.shutdown()
            self._server.server_close()
            self.sandbox.close()
            self._server = None
        self._http.close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def sandbox(self) -> Sandbox:
        """The running app's Sandbox (control + state)."""
        if self.app is None:
            raise RuntimeError("SandboxServer not started")
        return self.app.extensions["sandbox"]  # type: ignore[no-any-return]

    # -- control API (same as /_sandbox/ over HTTP) ---------------------------
    def advance_clock(self, seconds: float) -> float:
        """Move the sandbox clock forward."""
        return self.sandbox.advance_clock(seconds)

    def set_fault(self, route: str, **kwargs: Any) -> Fault:
        """Fault for paths matching the glob `route`: latency/hang/status/drop/times."""
        return self.sandbox.set_fault(route, **kwargs)

    def clear_faults(self) -> None:
        """Remove all faults."""
        self.sandbox.clear_faults()

    def calls(self, path_prefix: str | None = None) -> list[dict[str, Any]]:
        """Recorded API calls (no credentials)."""
        return self.sandbox.calls(path_prefix)

    def payment(self, payment_key: str) -> dict[str, Any] | None:
        """Payment object by key."""
        return self.sandbox.payment(payment_key)

    def payment_by_order(self, order_id: str) -> dict[str, Any] | None:
        """Latest Payment object for an orderId."""
        return self.sandbox.payment_by_order(order_id)

    def methods(self, customer_key: str) -> dict[str, Any]:
        """BrandPayMethod of a doc-merchant customer."""
        return self.sandbox.methods(customer_key)

    def tokens_issued(
        self, customer_key: str | None = None, grant_type: str | None = None
    ) -> int:
        """Successful access-token grants."""
        return self.sandbox.tokens_issued(customer_key, grant_type)

    def create_merchant(self, one_touch: bool = True) -> tuple[str, str]:
        """A new test merchant: (client_key, secret_key); one_touch=False for
        NEED_MERCHANT_ONE_TOUCH_SETTING."""
        return self.sandbox.create_merchant(one_touch)

    def windows(self, customer_key: str | None = None) -> list[dict[str, Any]]:
        """The SDK calls (windows) made so far, oldest first, with their parameters."""
        return self.sandbox.windows(customer_key)

    def set_webhook_url(self, url: str | None) -> None:
        """Where webhooks go from now on."""
        self.sandbox.set_webhook_url(url)

    def webhook_deliveries(self) -> list[Delivery]:
        """Webhook events with their attempts."""
        return self.sandbox.webhook_deliveries()

    # -- browser steps: drive the real hosted pages over HTTP ------------------
    def _session(
        self, customer_key: str, redirect_url: str, client_key: str | None
    ) -> dict:
        return {
            "clientKey": client_key or self.client_key,
            "customerKey": customer_key,
            "redirectUrl": redirect_url,
        }

    def _submit(self, path: str, page: dict[str, Any], fields: dict[str, Any]) -> str:
        """GET the page like the shim would, POST its form; return the Location."""
        shown = self._http.get(self.base_url + path, params=page, timeout=HTTP_TIMEOUT)
        shown.raise_for_status()
        resp = self._http.post(
            self.base_url + path,
            data=page | fields,
            allow_redirects=False,
            timeout=HTTP_TIMEOUT,
        )
        if resp.status_code not in (302, 303):
            found = re.search(r"<strong[^>]*>([A-Z_]+)</strong>", resp.text)
            code = found.group(1) if found else "UNKNOWN"
            raise WindowRefused(code, "the hosted page refused the input")
        return resp.headers["Location"]

    def open_window(
        self,
        method: str,
        customer_key: str,
        params: dict[str, Any] | None = None,
        *,
        redirect_url: str | None = None,
        client_key: str | None = None,
        return_url: str | None = None,
    ) -> dict[str, Any]:
        """Make an SDK call as the shim does, as a full-page window.

        `method` is e.g. "payment.requestPayment" or "brandpay.requestBillingAuth",
        `params` its request object; `return_url` is the calling page (where a
        promise-only window like changePassword goes back). Returns `{id, url,
        transport, mode, ...}`; raises WindowRefused with the SDK's code.
        """
        call = {
            "method": method,
            "clientKey": client_key or self.client_key,
            "customerKey": customer_key,
            "redirectUrl": redirect_url,
            "params": params,
            "returnUrl": return_url,
            "transport": "page",
        }
        resp = self._http.post(
            self.base_url + "/_hosted/api/windows", json=call, timeout=HTTP_TIMEOUT
        )
        data = resp.json()
        if resp.status_code != 201:
            raise WindowRefused(data.get("code", "UNKNOWN"), data.get("message", ""))
        return data  # type: ignore[no-any-return]

    def submit_window(self, window: dict[str, Any], fields: dict[str, Any]) -> str:
        """GET a window's page (from `open_window`), POST its form with `fields` (as
        a person fills it: e.g. {"pin": TEST_PIN, "action": "pay"}); return the
        Location it redirects to, or raise WindowRefused."""
        path = urlsplit(str(window["url"])).path
        return self._submit(path, {"window": window["id"]}, fields)

    def billing_auth(
        self,
        customer_key: str,
        redirect_url: str,
        pin: str = TEST_PIN,
        cancel: bool = False,
        client_key: str | None = None,
    ) -> str:
        """brandpay.requestBillingAuth(): agree to BILLING (and REGISTER when new)
        with the PIN; returns redirectUrl?code&customerKey (or the cancel's)."""
        window = self.open_window(
            "brandpay.requestBillingAuth",
            customer_key,
            redirect_url=redirect_url,
            client_key=client_key,
        )
        fields = {
            "termsId": [t.id for t in TERMS if t.scope in ("REGISTER", "BILLING")],
            "pin": pin,
            "action": "cancel" if cancel else "submit",
        }
        return self.submit_window(window, fields)

    def authorize_card_payment(
        self,
        customer_key: str,
        order_id: str,
        amount: int,
        order_name: str,
        success_url: str,
        fail_url: str,
        card_number: str | None = None,
        *,
        international: bool = False,
        card: dict[str, Any] | None = None,
        installment: int | None = None,
        use_card_point: bool | None = None,
        cancel: bool = False,
        client_key: str | None = None,
        **request: Any,
    ) -> str:
        """payment({customerKey}).requestPayment({method: "CARD", ...}) in the card
        window (international=True: the international window); returns the
        successUrl/failUrl Location. `customer_key` may be ANONYMOUS; `card` and
        `request` add CardPaymentRequest fields (e.g. metadata={...})."""
        options = dict(card or {})
        if international:
            options["useInternationalCardOnly"] = True
        params: dict[str, Any] = {
            "method": "CARD",
            "amount": {"currency": "KRW", "value": amount},
            "orderId": order_id,
            "orderName": order_name,
            "successUrl": success_url,
            "failUrl": fail_url,
            **request,
        }
        if options:
            params["card"] = options
        window = self.open_window(
            "payment.requestPayment", customer_key, params, client_key=client_key
        )
        default = DEFAULT_FOREIGN_CARD if international else DEFAULT_TEST_CARD
        fields: dict[str, Any] = {
            "cardNumber": card_number or default,
            "cardExpiry": "12/30",
            "escrow": "on",
            "action": "cancel" if cancel else "pay",
        }
        if installment is not None:
            fields["installment"] = str(installment)
        if use_card_point is not None:
            fields["pointShown"] = "1"
            if use_card_point:
                fields["useCardPoint"] = "on"
        return self.submit_window(window, fields)

    def link_customer(
        self,
        customer_key: str,
        redirect_url: str,
        card_number: str = DEFAULT_TEST_CARD,
        client_key: str | None = None,
    ) -> str:
        """First-time consent + card registration; returns redirectUrl?code&customerKey."""
        return self.add_card(customer_key, redirect_url, card_number, client_key)

    def add_card(
        self,
        customer_key: str,
        redirect_url: str,
        card_number: str = DEFAULT_TEST_CARD,
        client_key: str | None = None,
    ) -> str:
        """Register a test card (agreeing to any pending terms); returns the Location."""
        fields = {"cardNumber": card_number, "cardExpiry": "12/30"}
        return self._register(customer_key, redirect_url, client_key, "CARD", fields)

    def add_account(
        self,
        customer_key: str,
        redirect_url: str,
        account_number: str = DEFAULT_TEST_ACCOUNT,
        bank_code: str = "88",
        client_key: str | None = None,
    ) -> str:
        """Register a test bank account; returns the Location."""
        fields = {"bankCode": bank_code, "accountNumber": account_number}
        return self._register(customer_key, redirect_url, client_key, "ACCOUNT", fields)

    def _register(
        self,
        customer_key: str,
        redirect_url: str,
        client_key: str | None,
        scope: str,
        fields: dict[str, Any],
    ) -> str:
        """Submit the registration page, ticking every term it may ask for."""
        page = self._session(customer_key, redirect_url, client_key)
        page["methodType"] = "카드" if scope == "CARD" else "계좌"
        fields |= {
            "termsId": [t.id for t in TERMS if t.scope in ("REGISTER", scope)],
            "action": "submit",
        }
        return self._submit("/_hosted/register", page, fields)

    def authorize_payment(
        self,
        customer_key: str,
        order_id: str,
        amount: int,
        order_name: str,
        success_url: str,
        fail_url: str,
        method_id: str | None = None,
        pin: str = TEST_PIN,
        cancel: bool = False,
        redirect_url: str | None = None,
        client_key: str | None = None,
    ) -> str:
        """Approve (or cancel) on the hosted pay page; returns success/fail Location."""
        page = self._session(customer_key, redirect_url or "", client_key) | {
            "amount": amount,
            "orderId": order_id,
            "orderName": order_name,
            "successUrl": success_url,
            "failUrl": fail_url,
        }
        fields = {"pin": pin, "action": "cancel" if cancel else "pay"}
        if method_id:
            fields["methodId"] = method_id
        return self._submit("/_hosted/pay", page, fields)
