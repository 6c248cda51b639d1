"""SDK call sessions ("windows") and how a hosted window ends.

A shim call (`brandpay.requestPayment(...)`, `payment.requestPayment(...)`, ...)
creates a window: its validated parameters, the transport and the mode. The hosted
page `/_hosted/<page>?window=<id>` reads it and, when the buyer is done, ends it:

- transport "page" (a phone, `windowTarget: "self"`, or a page opened without the
  shim): the window *is* the browser's page, so it ends with an HTTP redirect to
  successUrl / failUrl / redirectUrl, exactly as Toss redirects (contract §2, §4);
- transport "overlay" (an `<iframe>` over the merchant's page): it ends with a relay
  page that posts one message to the shim in the parent page, which then navigates
  the merchant's page (redirect mode), settles the promise (promise mode) or, for
  `redirectUrl?code&customerKey`, fetches it with the browser's cookies and loads the
  window's next step (SANDBOX_REDIRECT_MODE "fetch"; "navigate" leaves the page).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from flask import current_app, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from .control import sandbox
from .errors import ApiError, message
from .state import random_id

WINDOW_TTL = 1800  # contract §4: the checkout window lives 30 minutes
REDIRECT_MODES = ("fetch", "navigate")


@dataclass
class Outcome:
    """How a window ends.

    kind: "success" (payment authenticated), "fail" (failUrl code), "cancel" (the
    buyer pressed the window's own cancel), "done" (a promise-only call finished),
    "code" (terms agreed: redirectUrl?code&customerKey must be called).
    """

    kind: str
    value: Any = None
    code: str = ""
    order_id: str | None = None
    location: str | None = None


def new_window(doc: dict[str, Any]) -> dict[str, Any]:
    """Store a window; `doc` holds page, mid, keys, params, transport and mode."""
    window = doc | {
        "id": random_id("w_", 24),
        "createdAt": sandbox().clock.time(),
        "status": "OPEN",
        "stage": None,
    }
    sandbox().store.put("window", window["id"], window)
    return window


def load_window(window_id: str, pages: tuple[str, ...]) -> dict[str, Any]:
    """An open, unexpired window for one of these pages; else NOT_FOUND_PAYMENT_SESSION."""
    doc = sandbox().store.get("window", window_id) if window_id else None
    if (
        doc is None
        or doc["page"] not in pages
        or doc["status"] != "OPEN"
        or sandbox().clock.time() - doc["createdAt"] > WINDOW_TTL
    ):
        raise ApiError("NOT_FOUND_PAYMENT_SESSION")
    return doc


def save_window(window: dict[str, Any]) -> None:
    """Persist changes (stage, status, the id of a payment made in it)."""
    sandbox().store.put("window", window["id"], window)


def page_url(window: dict[str, Any], page: str | None = None, **extra: Any) -> str:
    """Absolute URL of the window's hosted page (or another page of the same window)."""
    endpoint = {
        "pay": "hosted.pay",
        "register": "hosted.register",
        "settings": "hosted.settings",
        "password": "hosted.password",
        "onetouch": "hosted.one_touch",
        "billing": "hosted.billing",
        "card": "cards.card",
        "card-billing": "cards.card_billing",
    }[page or window["page"]]
    path = url_for(endpoint, window=window["id"], **extra)
    return sandbox().engine.public_url + path


def redirect_mode() -> str:
    """SANDBOX_REDIRECT_MODE: how an overlay calls redirectUrl ("fetch" default)."""
    mode = str(current_app.config.get("SANDBOX_REDIRECT_MODE") or "fetch")
    return mode if mode in REDIRECT_MODES else "fetch"


def with_query(url: str, **params: Any) -> str:
    """`url` with `params` appended to its existing query string."""
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + [
        (k, str(v)) for k, v in params.items()
    ]
    return urlunsplit(parts._replace(query=urlencode(query)))


def finish(window: dict[str, Any], outcome: Outcome, english: bool = False) -> Any:
    """End the window (or move it to its next step) as its transport requires."""
    params = window.get("params") or {}
    redirect_mode_call = window["mode"] == "redirect"
    if outcome.kind == "code":
        target = with_query(
            window["redirectUrl"], code=outcome.code, customerKey=window["customerKey"]
        )
        if window["transport"] == "page" or redirect_mode() == "navigate":
            # Full-page: the browser goes to redirectUrl and the window ends there.
            _close(window)
            return _leave(window, target)
        window["stage"] = "redirected"
        save_window(window)
        return relay(
            window, {"type": "redirect", "url": target, "next": outcome.location}
        )
    if outcome.kind == "success" and redirect_mode_call:
        _close(window)
        return _leave(window, outcome.location or "")
    if outcome.kind == "success" or outcome.kind == "done":
        _close(window)
        if window["transport"] == "page":  # nothing to resolve: back to the caller
            return _leave(window, window.get("returnUrl") or "", "done.html")
        return relay(window, {"type": "resolve", "value": outcome.value})
    if outcome.kind == "cancel":
        _close(window)
        if redirect_mode_call and params.get("failUrl"):
            # The window's own cancel button in redirect mode (contract §4).
            code = "PAY_PROCESS_CANCELED"
            target = with_query(
                params["failUrl"], code=code, message=message(code, english)
            )
            return _leave(window, target)
        if window["transport"] == "page":
            return _leave(window, window.get("returnUrl") or "")
        return relay(window, _rejection("USER_CANCEL", english))
    # "fail": the failUrl codes of contract §8
    _close(window)
    text = message(outcome.code, english)
    if redirect_mode_call and params.get("failUrl"):
        query = {"code": outcome.code, "message": text}
        if outcome.order_id:
            query["orderId"] = outcome.order_id
        return _leave(window, with_query(params["failUrl"], **query))
    if window["transport"] == "page":
        return _leave(window, window.get("returnUrl") or "")
    return relay(
        window, _rejection(outcome.code, english) | {"orderId": outcome.order_id}
    )


def _rejection(code: str, english: bool) -> dict[str, Any]:
    return {"type": "reject", "code": code, "message": message(code, english)}


def _close(window: dict[str, Any]) -> None:
    window["status"] = "DONE"
    save_window(window)


def _leave(
    window: dict[str, Any], target: str, blank: str = "canceled.html"
) -> ResponseReturnValue:
    """Send the browser to `target`: a redirect, or the overlay's shim navigates."""
    if not target:  # opened without a page to return to (e.g. typed into the bar)
        return render_template(blank), 200
    if window["transport"] == "page":
        return redirect(target)
    return relay(window, {"type": "navigate", "url": target})


def relay(window: dict[str, Any], msg: dict[str, Any]) -> ResponseReturnValue:
    """A page that posts `msg` to the shim in the parent page (overlay only)."""
    msg = msg | {"source": "toss-sandbox", "nonce": window.get("nonce") or ""}
    return render_template("relay.html", msg=msg, origin=window.get("origin") or "*")


def nonce() -> str:
    """A per-call nonce (the shim makes its own; legacy pages get one here)."""
    return secrets.token_urlsafe(16)
