"""Toss webhooks (contract §7): unsigned, so record, dedupe and re-fetch before acting."""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from wallet.extensions import csrf
from wallet.services import toss_webhooks

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
csrf.exempt(bp)  # a server-to-server POST: no browser session, no CSRF token


@bp.post("/toss")
def toss() -> ResponseReturnValue:
    """One delivery; 200 once recorded and processed (or already seen)."""
    outcome = toss_webhooks.receive(
        request.headers.get("tosspayments-webhook-transmission-id"),
        request.headers.get("tosspayments-webhook-transmission-retried-count"),
        request.get_data(cache=False),
    )
    return jsonify(status="ok", outcome=outcome)
