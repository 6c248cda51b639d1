"""A tiny merchant site for the SDK contract tests, on its own loopback port.

It serves one checkout page that loads Toss's official loaders from `node_modules`
unmodified, under the Content-Security-Policy the sandbox README documents for a
merchant page; a redirectUrl handler that answers 200 only when the browser sent
the site's session cookie (and records what it got); and success/fail pages.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, Response, abort, request, send_from_directory
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

NODE_MODULES = Path(__file__).resolve().parents[2] / "node_modules"
COOKIE = "merchant_session"

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Test shop</title><link rel="icon" href="data:,"></head>
<body data-sandbox="{sandbox}">
<main><h1>Test shop checkout</h1><p id="status">ready</p>
<button type="button" id="pay">Pay</button></main>
<script type="module" src="/glue.js"></script>
</body></html>"""

# The official loaders, imported as published; `harness` only wires them to tests.
GLUE = """
import { loadTossPayments, ANONYMOUS } from "/npm/@tosspayments/tosspayments-sdk/dist/index.esm.js";
import { loadBrandPay } from "/npm/@tosspayments/brandpay-sdk/dist/index.esm.js";
const sandbox = document.body.dataset.sandbox;
window.harness = {
  ANONYMOUS,
  loadV2: (clientKey) => loadTossPayments(clientKey, { src: sandbox + "/v2/standard" }),
  loadV1: (clientKey, customerKey, options) =>
    loadBrandPay(clientKey, customerKey, options || {}, { src: sandbox + "/v1/brandpay" }),
  // Run a call, keep its outcome for the test to read.
  outcome: null,
  track(promise) {
    window.harness.outcome = null;
    promise.then(
      (value) => { window.harness.outcome = { ok: true, value: value === undefined ? null : value }; },
      (err) => { window.harness.outcome = { ok: false, code: err && err.code, name: err && err.name, message: err && err.message, orderId: err && err.orderId }; }
    );
    return true;
  },
};
document.getElementById("status").textContent = "loaded";
"""


class _Quiet(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """No access log in test output."""


@dataclass
class Hit:
    """One request to the redirectUrl handler."""

    query: dict[str, str]
    had_cookie: bool


@dataclass
class MerchantSite:
    """The running site: its URL, the redirect hits, and a status to answer with."""

    url: str
    sandbox_url: str
    hits: list[Hit] = field(default_factory=list)
    redirect_status: int = 200
    landed: list[str] = field(default_factory=list)  # success/fail URLs reached

    @property
    def redirect_url(self) -> str:
        """The BrandPay redirectUrl (loopback, so the sandbox accepts it)."""
        return f"{self.url}/callback"

    @property
    def success_url(self) -> str:
        """Where redirect mode lands after approval."""
        return f"{self.url}/success"

    @property
    def fail_url(self) -> str:
        """Where redirect mode lands after a failure."""
        return f"{self.url}/fail"

    def csp(self) -> str:
        """The merchant-page CSP of the sandbox README, for this sandbox origin."""
        sb = self.sandbox_url
        return (
            "default-src 'self'; "
            f"script-src 'self' {sb}; frame-src {sb}; connect-src 'self' {sb}; "
            "style-src 'self'; img-src 'self' data:; base-uri 'none'; object-src 'none'"
        )


def serve(sandbox_url: str) -> tuple[MerchantSite, BaseWSGIServer]:
    """Start the site on a free loopback port; returns (site, server)."""
    app = Flask(__name__)
    holder: dict[str, Any] = {}

    @app.after_request
    def headers(resp: Response) -> Response:
        if resp.mimetype == "text/html":
            resp.headers["Content-Security-Policy"] = holder["site"].csp()
        return resp

    @app.get("/")
    def checkout() -> Response:
        resp = Response(PAGE.format(sandbox=sandbox_url), mimetype="text/html")
        # The member's session with the merchant: what redirectUrl must receive.
        resp.set_cookie(COOKIE, secrets.token_hex(8), httponly=True, samesite="Lax")
        return resp

    @app.get("/glue.js")
    def glue() -> Response:
        return Response(GLUE, mimetype="text/javascript")

    @app.get("/npm/<path:path>")
    def npm(path: str) -> Response:
        if not path.startswith("@tosspayments/"):
            abort(404)
        return send_from_directory(NODE_MODULES, path, mimetype="text/javascript")

    @app.get("/callback")
    def callback() -> Response:
        site: MerchantSite = holder["site"]
        had = COOKIE in request.cookies
        site.hits.append(Hit(dict(request.args), had))
        status = site.redirect_status if had else 401
        return Response("ok" if status == 200 else "no", status=status)

    @app.get("/success")
    @app.get("/fail")
    def landing() -> Response:
        holder["site"].landed.append(request.url)
        page = "<!doctype html><html lang='en'><head><title>Result</title></head>"
        return Response(page + f"<body><p id='landed'>{request.path}</p></body></html>")

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_Quiet)
    # "localhost", not 127.0.0.1: another site than the sandbox, as in real life (its
    # cookies stay its own, and the window is a third-party frame).
    site = MerchantSite(f"http://localhost:{server.server_port}", sandbox_url)
    holder["site"] = site
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return site, server
