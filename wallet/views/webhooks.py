"""Toss webhooks (contract §7): unsigned, so record, dedupe and re-fetch before acting."""

from __future__ import annotations

import ipaddress

from flask import Blueprint, abort, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from wallet.extensions import csrf, limiter
from wallet.services import toss_webhooks

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
MAX_BODY = 256 * 1024  # a Payment object is a few KB; refuse to buffer anything huge
csrf.exempt(bp)  # a server-to-server POST: no browser session, no CSRF token


def _source_allowed() -> bool:
    """contract §7/§14: optionally accept deliveries only from Toss's published IPs.

    Off by default (the sandbox and most load balancers change the source address);
    enable with WALLET_TOSS_WEBHOOK_ALLOWED_IPS behind a proxy that sets remote_addr
    correctly. Re-fetching the truth from Toss stays the real defence either way.
    """
    allowed = current_app.config.get("TOSS_WEBHOOK_ALLOWED_IPS")
    if not allowed:
        return True
    try:
        source = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    networks = allowed.split(",") if isinstance(allowed, str) else allowed
    return any(source in ipaddress.ip_network(n.strip()) for n in networks if n.strip())


@bp.post("/toss")
@limiter.limit("600 per minute")
def toss() -> ResponseReturnValue:
    """One delivery; 200 once recorded and processed (or already seen)."""
    if not _source_allowed():
        abort(403)
    body = request.stream.read(MAX_BODY + 1)  # bounded even without Content-Length
    if len(body) > MAX_BODY:
        abort(413)
    toss_webhooks.receive(
        request.headers.get("tosspayments-webhook-transmission-id"),
        request.headers.get("tosspayments-webhook-transmission-retried-count"),
        body,
    )
    # Issue 13 I1: one answer for every outcome (handled, duplicate, unknown payment,
    # no change...): the sender learns nothing about our orders. The outcome is kept
    # on the recorded event for operators.
    return jsonify(status="ok")
