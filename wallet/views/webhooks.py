"""Toss webhooks (contract §7): unsigned, so record, dedupe and re-fetch before acting."""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, request
from flask.typing import ResponseReturnValue

from wallet.extensions import csrf
from wallet.services import toss_webhooks

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
MAX_BODY = 256 * 1024  # a Payment object is a few KB; refuse to buffer anything huge
csrf.exempt(bp)  # a server-to-server POST: no browser session, no CSRF token


@bp.post("/toss")
def toss() -> ResponseReturnValue:
    """One delivery; 200 once recorded and processed (or already seen)."""
    body = request.stream.read(MAX_BODY + 1)  # bounded even without Content-Length
    if len(body) > MAX_BODY:
        abort(413)
    outcome = toss_webhooks.receive(
        request.headers.get("tosspayments-webhook-transmission-id"),
        request.headers.get("tosspayments-webhook-transmission-retried-count"),
        body,
    )
    return jsonify(status="ok", outcome=outcome)
