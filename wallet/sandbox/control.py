"""Control API for tests and demos: Python object plus `/_sandbox/` HTTP routes."""

from __future__ import annotations

import hmac
import threading
from typing import Any

from flask import Blueprint, abort, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from .engine import Engine
from .errors import ApiError
from .faults import Fault, Faults
from .state import Clock, Store
from .webhooks import Delivery, WebhookDispatcher


class Sandbox:
    """Everything one sandbox app owns; `app.extensions["sandbox"]`."""

    def __init__(
        self,
        store: Store,
        webhook_url: str | None,
        backoff: list[float] | tuple[float, ...],
        token_ttl: int,
    ) -> None:
        self.store = store
        self.clock = Clock()
        self.webhooks = WebhookDispatcher(webhook_url, backoff, self.clock)
        self.engine = Engine(store, self.clock, self.webhooks.enqueue, token_ttl)
        self.faults = Faults()
        self._lock = threading.Lock()
        self._calls: list[dict[str, Any]] = []
        self.in_flight: set[str] = set()  # idempotency hashes being processed
        self.last_hit: dict[str, float] = {}  # paymentKey -> sandbox time

    # -- clock -----------------------------------------------------------
    def advance_clock(self, seconds: float) -> float:
        """Move the sandbox clock forward; returns the total offset."""
        return self.clock.advance(seconds)

    # -- faults ----------------------------------------------------------
    def set_fault(self, route: str, **kwargs: Any) -> Fault:
        """Add a fault for paths matching the glob `route` (see `Fault`)."""
        return self.faults.add(route, **kwargs)

    def clear_faults(self) -> None:
        """Remove all faults."""
        self.faults.clear()

    # -- call log ----------------------------------------------------------
    def record_call(self, entry: dict[str, Any]) -> None:
        """Append to the call log (no credentials are ever passed in)."""
        with self._lock:
            self._calls.append(entry)

    def calls(self, path_prefix: str | None = None) -> list[dict[str, Any]]:
        """Recorded calls `{method, path, status, replay, dropped, idempotencyKey}`."""
        with self._lock:
            return [
                dict(c)
                for c in self._calls
                if path_prefix is None or c["path"].startswith(path_prefix)
            ]

    def clear_calls(self) -> None:
        """Forget recorded calls."""
        with self._lock:
            self._calls.clear()

    # -- state readers -------------------------------------------------------
    def create_merchant(self, one_touch: bool = True) -> tuple[str, str]:
        """A new test merchant: (client_key, secret_key)."""
        return self.engine.create_merchant(one_touch)

    def windows(self, customer_key: str | None = None) -> list[dict[str, Any]]:
        """SDK calls (windows), oldest first: page, method, params, transport, mode."""
        found = self.store.find(
            "window", **({"customerKey": customer_key} if customer_key else {})
        )
        return [
            {k: v for k, v in w.items() if k != "nonce"}  # the nonce stays private
            for w in found
        ]

    def payment(self, payment_key: str) -> dict[str, Any] | None:
        """The Payment object by key, or None."""
        try:
            return self.engine.payment_json(self.engine.payment(None, payment_key))
        except ApiError:
            return None

    def payment_by_order(self, order_id: str) -> dict[str, Any] | None:
        """The latest Payment object for orderId (any merchant), or None."""
        try:
            return self.engine.payment_json(
                self.engine.payment_by_order(None, order_id)
            )
        except ApiError:
            return None

    def methods(self, customer_key: str, secret_key: str | None = None) -> dict:
        """BrandPayMethod of a customer of the doc merchant (or `secret_key`'s)."""
        from .catalog import DOC_SECRET_KEY

        merchant = self.engine.merchant_by_secret(secret_key or DOC_SECRET_KEY)
        if merchant is None:
            raise KeyError("unknown secret key")
        return self.engine.methods(merchant["mId"], customer_key)

    def tokens_issued(
        self, customer_key: str | None = None, grant_type: str | None = None
    ) -> int:
        """Successful access-token grants, by customer and/or grantType."""
        return self.engine.tokens_issued(customer_key, grant_type)

    def set_webhook_url(self, url: str | None) -> None:
        """Where future webhooks go (None = don't send)."""
        self.webhooks.url = url

    def webhook_deliveries(self) -> list[Delivery]:
        """Webhook events queued so far with their attempts."""
        return self.webhooks.deliveries()

    def close(self) -> None:
        """Stop the webhook thread and close the database."""
        self.faults.clear()
        self.webhooks.stop()
        self.store.close()


bp = Blueprint("control", __name__, url_prefix="/_sandbox")


def sandbox() -> Sandbox:
    """The current app's Sandbox."""
    return current_app.extensions["sandbox"]  # type: ignore[no-any-return]


@bp.before_request
def guard() -> None:
    """Token when SANDBOX_CONTROL_TOKEN is set, else loopback clients only."""
    token = current_app.config.get("SANDBOX_CONTROL_TOKEN")
    if token:
        given = request.headers.get("X-Sandbox-Control-Token", "")
        if not hmac.compare_digest(given.encode(), str(token).encode()):
            abort(403)
    elif request.remote_addr not in ("127.0.0.1", "::1", None):
        abort(403)


@bp.post("/clock/advance")
def advance() -> ResponseReturnValue:
    """Body `{seconds}`; answers the total offset."""
    seconds = float((request.get_json(silent=True) or {}).get("seconds", 0))
    return jsonify(offset=sandbox().advance_clock(seconds))


@bp.get("/faults")
def list_faults() -> ResponseReturnValue:
    """Active faults."""
    return jsonify([f.as_dict() for f in sandbox().faults.list()])


@bp.post("/faults")
def add_fault() -> ResponseReturnValue:
    """Body: `{route, method?, latency?, hang?, status?, drop?, times?}`."""
    body = dict(request.get_json(silent=True) or {})
    allowed = {"method", "latency", "hang", "status", "drop", "times"}
    try:
        route = body.pop("route")
        if set(body) - allowed:
            raise ValueError(f"unknown fields {sorted(set(body) - allowed)}")
        fault = sandbox().set_fault(route, **body)
    except (KeyError, ValueError, TypeError) as exc:
        return jsonify(code="INVALID_REQUEST", message=str(exc)), 400
    return jsonify(fault.as_dict()), 201


@bp.delete("/faults")
def delete_faults() -> ResponseReturnValue:
    """Clear all faults."""
    sandbox().clear_faults()
    return "", 204


@bp.get("/calls")
def calls() -> ResponseReturnValue:
    """Call log; `?prefix=/v1/...` filters by path prefix."""
    return jsonify(sandbox().calls(request.args.get("prefix")))


@bp.delete("/calls")
def delete_calls() -> ResponseReturnValue:
    """Forget recorded calls."""
    sandbox().clear_calls()
    return "", 204


@bp.get("/payments/<payment_key>")
def payment(payment_key: str) -> ResponseReturnValue:
    """Payment by key."""
    return jsonify(sandbox().payment(payment_key) or abort(404))


@bp.get("/orders/<order_id>")
def order(order_id: str) -> ResponseReturnValue:
    """Latest payment for an orderId."""
    return jsonify(sandbox().payment_by_order(order_id) or abort(404))


@bp.get("/customers/<customer_key>/methods")
def methods(customer_key: str) -> ResponseReturnValue:
    """A doc-merchant customer's methods (`?secretKey=` for another merchant)."""
    try:
        return jsonify(sandbox().methods(customer_key, request.args.get("secretKey")))
    except KeyError:
        abort(404)


@bp.get("/tokens")
def tokens() -> ResponseReturnValue:
    """`{issued}`: access-token grants, `?customerKey=&grantType=` filters."""
    args = request.args
    count = sandbox().tokens_issued(args.get("customerKey"), args.get("grantType"))
    return jsonify(issued=count)


@bp.post("/merchants")
def merchants() -> ResponseReturnValue:
    """Create a test merchant: `{clientKey, secretKey}` (body `{oneTouch: false}`
    for one without the one-touch setting)."""
    one_touch = (request.get_json(silent=True) or {}).get("oneTouch", True) is not False
    client_key, secret_key = sandbox().create_merchant(one_touch)
    return jsonify(clientKey=client_key, secretKey=secret_key), 201


@bp.get("/windows")
def windows() -> ResponseReturnValue:
    """SDK calls (windows), oldest first; `?customerKey=` filters."""
    return jsonify(sandbox().windows(request.args.get("customerKey")))


@bp.get("/webhooks")
def webhooks() -> ResponseReturnValue:
    """Webhook events and their delivery attempts."""
    return jsonify([d.as_dict() for d in sandbox().webhook_deliveries()])


@bp.put("/webhooks/url")
def webhook_url() -> ResponseReturnValue:
    """Body `{url}` (null = stop sending)."""
    sandbox().set_webhook_url((request.get_json(silent=True) or {}).get("url"))
    return "", 204
