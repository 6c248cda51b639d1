"""A tiny merchant shop that sells through the BrandPay wallet portal.

It shows the things a merchant integrates (see docs/merchants.md):

1. server side, create an order and a signed wallet link with the portal's API, and put
   the link in the embed button (`static/js/embed.js` of the portal opens it);
2. when the member comes back, verify the signed result on the return URL before
   believing it;
3. receive webhooks and verify their Standard-Webhooks signature;
4. subscribe (docs/merchants.md, "Subscribe"): ask the member for a mandate with a
   signed `mandate` link (`/subscribe`), verify the signed result they come back with
   (`/subscribed`), then charge their saved method without them
   (`POST /subscriptions/<mandate_id>/charge`), reading each refusal's error code;
5. answer the portal's pre-approval hook (docs/merchants.md, "The pre-approval hook") at
   `/pre-approve`: yes only for an order this shop made, at the price it asked.

It depends on nothing from the `wallet` package: only Flask, requests and joserfc.

`make run` already serves this shop at http://127.0.0.1:5002 (WALLET_SHOP_PORT) as the
demo merchant. To run it by hand for a merchant of your own (values from
`flask wallet create-merchant`), give it a free port, e.g. while `make run` is up:

    SHOP_PORTAL_URL=http://127.0.0.1:5000 SHOP_API_KEY=bpk_... \\
    SHOP_SIGNING_SECRET=whsec_... SHOP_MERCHANT_ID=mch_... SHOP_PORT=5003 \\
    python examples/merchant_shop.py     # serves http://127.0.0.1:5003

SHOP_PORT defaults to 5002, the port `make run` uses, for when `make run` is not up.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import time
import uuid
from typing import Any

import requests
from flask import Flask, abort, current_app, render_template_string, request
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

TIMEOUT = (3.05, 10.0)
WEBHOOK_TOLERANCE = 5 * 60  # seconds; older or future-dated webhooks are refused
RESULT_ISSUER = "brandpay-wallet"

PRODUCT = {"name": "Green tea, 100 g", "amount": 12300}
PLAN = {"name": "Tea box, every month", "amount": 15000}

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Example shop</title></head>
<body>
<h1>{{ product.name }}</h1>
<p>{{ "{:,}".format(product.amount) }} won</p>
<a href="{{ link.url }}" data-brandpay-wallet="popup" target="_blank" rel="noopener">Pay with BrandPay Wallet</a>
<script src="{{ portal }}/static/js/embed.js" async></script>
</body></html>"""

SUBSCRIBE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Example shop</title></head>
<body>
<h1>{{ plan.name }}</h1>
<p>{{ "{:,}".format(plan.amount) }} won a month, charged automatically. Cancel any time.</p>
<a href="{{ link.url }}">Subscribe with BrandPay Wallet</a>
</body></html>"""

RESULT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Example shop</title></head>
<body><h1>{{ title }}</h1><p>{{ text }}</p></body></html>"""


class ResultError(ValueError):
    """A result or webhook that did not verify."""


def key_bytes(secret: str) -> bytes:
    """The HMAC key in a `whsec_` secret: the base64 after the prefix."""
    return base64.b64decode(secret.removeprefix("whsec_"), validate=True)


def verify_result(
    secret: str,
    merchant_id: str,
    token: str,
    facts: tuple[str, ...] = ("order_id", "status", "amount"),
) -> dict[str, Any]:
    """Check the portal's signed result (JWS HS256) and return its claims.

    `facts`: the claims it must carry: a payment's order_id, status and amount, or a
    mandate's mandate_id and status.
    """
    try:
        verified = jwt.decode(
            token, OctKey.import_key(key_bytes(secret)), algorithms=["HS256"]
        )
    except (JoseError, ValueError) as exc:
        raise ResultError("signature") from exc
    claims = verified.claims
    registry = jwt.JWTClaimsRegistry(
        leeway=30,
        iss={"essential": True, "value": RESULT_ISSUER},
        aud={"essential": True, "value": merchant_id},
        exp={"essential": True},
        **{name: {"essential": True} for name in facts},
    )
    try:
        registry.validate(claims)
    except JoseError as exc:
        raise ResultError("claims") from exc
    return dict(claims)


def verify_webhook(
    secrets_: list[str], headers: Any, body: bytes, now: float | None = None
) -> str:
    """Standard Webhooks: HMAC-SHA256 of "{id}.{timestamp}.{body}"; returns the id."""
    msg_id = headers.get("webhook-id", "")
    stamp = headers.get("webhook-timestamp", "")
    offered = headers.get("webhook-signature", "").split()
    if not msg_id or not stamp.isdigit():
        raise ResultError("headers")
    if abs((now or time.time()) - int(stamp)) > WEBHOOK_TOLERANCE:
        raise ResultError("timestamp")  # a replayed old delivery
    signed = f"{msg_id}.{stamp}.".encode() + body
    for secret in secrets_:
        expected = base64.b64encode(
            hmac.new(key_bytes(secret), signed, hashlib.sha256).digest()
        ).decode()
        for candidate in offered:
            version, _, sig = candidate.partition(",")
            if version == "v1" and hmac.compare_digest(sig, expected):
                return msg_id
    raise ResultError("signature")


def create_shop(
    portal_url: str,
    api_key: str,
    signing_secret: str,
    merchant_id: str,
    public_url: str = "http://127.0.0.1:5002",
) -> Flask:
    """The shop app; tests serve it on a free port and set SHOP_PUBLIC_URL."""
    app = Flask(__name__)
    app.config.update(
        SHOP_PORTAL_URL=portal_url.rstrip("/"),
        SHOP_API_KEY=api_key,
        SHOP_SIGNING_SECRETS=[signing_secret],
        SHOP_MERCHANT_ID=merchant_id,
        SHOP_PUBLIC_URL=public_url.rstrip("/"),
    )
    app.extensions["shop_webhooks"] = []  # message ids seen (a real shop: its DB)
    app.extensions["shop_orders"] = {}  # order_id -> amount this shop asked for

    def post(
        path: str, body: dict[str, Any], key: str | None = None
    ) -> requests.Response:
        """POST to the portal's API; `key`: the Idempotency-Key to retry with."""
        return requests.post(
            current_app.config["SHOP_PORTAL_URL"] + "/api/v1" + path,
            json=body,
            headers={
                "Authorization": "Bearer " + current_app.config["SHOP_API_KEY"],
                "Idempotency-Key": key or str(uuid.uuid4()),
            },
            timeout=TIMEOUT,
        )

    def api(path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = post(path, body)
        if response.status_code >= 300:
            abort(502)
        return response.json()  # type: ignore[no-any-return]

    @app.get("/")
    def product() -> str:
        """The product page with a fresh order and its signed wallet link."""
        order = api(
            "/orders",
            {
                "amount": PRODUCT["amount"],
                "order_name": PRODUCT["name"],
                "return_url": current_app.config["SHOP_PUBLIC_URL"] + "/return",
            },
        )
        current_app.extensions["shop_orders"][order["order_id"]] = order["amount"]
        link = api(f"/orders/{order['order_id']}/wallet-links", {})
        return render_template_string(
            PAGE,
            product=PRODUCT,
            link=link,
            portal=current_app.config["SHOP_PORTAL_URL"],
        )

    @app.get("/return")
    def back() -> tuple[str, int]:
        """The member is back: believe only a result that verifies."""
        try:
            claims = verify_result(
                current_app.config["SHOP_SIGNING_SECRETS"][0],
                current_app.config["SHOP_MERCHANT_ID"],
                request.args.get("wallet_result", ""),
            )
        except ResultError:
            return render_template_string(
                RESULT,
                title="We could not verify this payment",
                text="Please check your order status.",
            ), 400
        return render_template_string(
            RESULT,
            title=f"Order {claims['order_id']}: {claims['status']}",
            text=f"{claims['amount']:,} won",
        ), 200

    app.extensions["shop_mandates"] = {}  # mandate id -> status (a real shop: its DB)

    @app.get("/subscribe")
    def subscribe() -> str:
        """Ask for a mandate: at most one charge of the plan's price a month, a year."""
        link = api(
            "/mandate-links",
            {
                "description": f"{PLAN['name']}: up to {PLAN['amount']:,} won a month",
                "max_amount": PLAN["amount"],
                "max_charges": 1,
                "period": "month",
                "valid_days": 365,
                "return_url": current_app.config["SHOP_PUBLIC_URL"] + "/subscribed",
            },
        )
        return render_template_string(SUBSCRIBE, plan=PLAN, link=link)

    @app.get("/subscribed")
    def subscribed() -> tuple[str, int]:
        """The member is back from approving: believe only a result that verifies."""
        try:
            claims = verify_result(
                current_app.config["SHOP_SIGNING_SECRETS"][0],
                current_app.config["SHOP_MERCHANT_ID"],
                request.args.get("wallet_result", ""),
                facts=("mandate_id", "status"),
            )
        except ResultError:
            return render_template_string(
                RESULT, title="We could not verify this subscription", text=""
            ), 400
        app.extensions["shop_mandates"][claims["mandate_id"]] = claims["status"]
        return render_template_string(
            RESULT,
            title=f"Subscription {claims['mandate_id']}: {claims['status']}",
            text="We charge the first box now and then once a month.",
        ), 200

    @app.post("/subscriptions/<mandate_id>/charge")
    def charge(mandate_id: str) -> tuple[str, int]:
        """Charge this month's box (a real shop: from its scheduler, not a button).

        One orderId and one Idempotency-Key per box and month, kept before the call:
        retrying after a timeout can never charge twice.
        """
        order_id = request.args.get("order_id") or f"box-{uuid.uuid4().hex[:16]}"
        response = post(
            f"/mandates/{mandate_id}/charges",
            {
                "amount": PLAN["amount"],
                "order_id": order_id,
                "order_name": PLAN["name"],
            },
            key=f"charge-{order_id}",
        )
        body = response.json()
        if response.status_code == 201:
            return render_template_string(
                RESULT, title=f"Charged {order_id}", text=body["status"]
            ), 201
        if response.status_code == 202:  # Toss's answer was lost: a webhook follows
            return render_template_string(
                RESULT, title=f"Charging {order_id}", text=body["status"]
            ), 202
        error = body["error"]  # e.g. MANDATE_REVOKED: stop charging this subscription
        return render_template_string(
            RESULT, title=error["code"], text=error["message"]
        ), response.status_code

    @app.post("/pre-approve")
    def pre_approve() -> tuple[dict[str, Any], int]:
        """The portal asks before it confirms: signed like a webhook; only an explicit
        `{"approve": true}` lets the payment go through."""
        try:
            verify_webhook(
                current_app.config["SHOP_SIGNING_SECRETS"],
                request.headers,
                request.get_data(),
            )
        except ResultError:
            return {"error": "bad signature"}, 400  # not a yes: nothing is confirmed
        data = (request.get_json(silent=True) or {}).get("data") or {}
        asked = current_app.extensions["shop_orders"].get(data.get("order_id"))
        if asked is None or asked != data.get("amount"):
            return {"approve": False, "reason": "Not an order of this shop"}, 200
        return {"approve": True}, 200

    @app.post("/webhooks")
    def webhook() -> tuple[str, int]:
        """Signed webhook in; duplicates (same webhook-id) are acknowledged, not redone."""
        try:
            msg_id = verify_webhook(
                current_app.config["SHOP_SIGNING_SECRETS"],
                request.headers,
                request.get_data(),
            )
        except ResultError:
            return "bad signature", 400
        seen = current_app.extensions["shop_webhooks"]
        if msg_id not in seen:
            seen.append(msg_id)
        return "", 204

    return app


if __name__ == "__main__":  # pragma: no cover - manual demo
    port = int(os.environ.get("SHOP_PORT", "5002"))  # make run's WALLET_SHOP_PORT
    shop = create_shop(
        os.environ["SHOP_PORTAL_URL"],
        os.environ["SHOP_API_KEY"],
        os.environ["SHOP_SIGNING_SECRET"],
        os.environ["SHOP_MERCHANT_ID"],
        public_url=f"http://127.0.0.1:{port}",
    )
    shop.run(port=port)
