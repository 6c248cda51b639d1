"""Toss Payments BrandPay sandbox: an offline emulator of the API, SDK and pages.

Self-contained on purpose: it never imports the portal (`wallet.*` outside
this package), so the portal's tests can run it as a separate service.
"""

from __future__ import annotations

import json
import os
from typing import Any

from flask import Flask, Response, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from . import api, cards, control, hosted, sdk
from .catalog import DOC_CLIENT_KEY, DOC_SECRET_KEY
from .control import Sandbox
from .state import Store
from .webhooks import DEFAULT_BACKOFF

__all__ = ["DOC_CLIENT_KEY", "DOC_SECRET_KEY", "Sandbox", "create_app"]

DEFAULTS: dict[str, Any] = {
    "SANDBOX_DATABASE": None,  # None -> instance/sandbox.sqlite3
    "SANDBOX_WEBHOOK_URL": None,
    "SANDBOX_WEBHOOK_BACKOFF": list(DEFAULT_BACKOFF),
    "SANDBOX_REDIRECT_URLS": [],
    "SANDBOX_PUBLIC_URL": None,
    "SANDBOX_TOKEN_TTL": 2592000,  # contract §2 example expiresIn (30 days)
    "SANDBOX_CONTROL_TOKEN": None,
    # How an overlay window calls redirectUrl?code&customerKey: "fetch" (the shim
    # fetches it with the browser's cookies and the window goes on) or "navigate".
    "SANDBOX_REDIRECT_MODE": "fetch",
    # The v1 SDK's windows: "overlay" (an iframe, as v1's windowTarget "iframe") or
    # "navigate" (full-page navigation, the sandbox's behaviour before the overlay).
    "SANDBOX_V1_TRANSPORT": "overlay",
}

# Hosted pages open inside any merchant's page (the overlay iframe), so they may be
# framed by every http(s) origin; everything else about them is locked down.
HOSTED_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self' http: https:; frame-ancestors http: https:; "
    "base-uri 'none'; object-src 'none'"
)


def _from_env() -> dict[str, Any]:
    """SANDBOX_* environment variables (JSON values allowed, e.g. lists)."""
    out: dict[str, Any] = {}
    for key in DEFAULTS:
        raw = os.environ.get(key)
        if raw is None:
            continue
        try:
            out[key] = json.loads(raw)
        except ValueError:
            out[key] = raw
    return out


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the sandbox app; `config` overrides SANDBOX_* env and defaults."""
    app = Flask(
        __name__, instance_relative_config=True, static_url_path="/_hosted/static"
    )
    app.config.update(DEFAULTS)
    app.config.update(_from_env())
    app.config.update(config or {})
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # Korean as-is
    app.json.sort_keys = False  # type: ignore[attr-defined]

    path = app.config["SANDBOX_DATABASE"]
    if not path:
        os.makedirs(app.instance_path, exist_ok=True)
        path = os.path.join(app.instance_path, "sandbox.sqlite3")
    backoff = app.config["SANDBOX_WEBHOOK_BACKOFF"]
    if isinstance(backoff, str):
        backoff = [float(b) for b in backoff.split(",") if b.strip()]
    sb = Sandbox(
        Store(path),
        app.config["SANDBOX_WEBHOOK_URL"],
        backoff,
        int(app.config["SANDBOX_TOKEN_TTL"]),
    )
    sb.engine.public_url = (app.config["SANDBOX_PUBLIC_URL"] or "").rstrip("/")
    app.extensions["sandbox"] = sb

    @app.before_request
    def learn_public_url() -> None:
        # Payment.receipt.url and Terms.url need an absolute base.
        if not sb.engine.public_url:
            sb.engine.public_url = request.host_url.rstrip("/")

    app.after_request(api.record_call)

    @app.after_request
    def hosted_headers(resp: Response) -> Response:
        if resp.mimetype == "text/html":
            resp.headers.setdefault("Content-Security-Policy", HOSTED_CSP)
            resp.headers.setdefault("X-Content-Type-Options", "nosniff")
            resp.headers.setdefault("Referrer-Policy", "origin")
        return resp

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> ResponseReturnValue:
        # API clients always get the `{code, message}` shape (contract §8).
        if request.path.startswith("/v1/"):
            code = "NOT_FOUND" if exc.code == 404 else "INVALID_REQUEST"
            return jsonify(code=code, message=exc.description), exc.code or 500
        return exc

    for blueprint in (api.bp, sdk.bp, hosted.bp, cards.bp, control.bp):
        app.register_blueprint(blueprint)
    return app
