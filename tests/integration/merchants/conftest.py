"""Fixtures for the merchant tests: a merchant with an API key and a signing secret, an
API caller, wallet links signed like a merchant would, and a webhook receiver served
over real HTTP on 127.0.0.1."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask, request
from flask.testing import FlaskClient
from joserfc import jwt
from joserfc.jwk import OctKey
from sqlalchemy import select
from werkzeug.datastructures import Headers
from werkzeug.serving import make_server

from tests.conftest import logged_in_client
from wallet.extensions import db
from wallet.models.order import Order
from wallet.services import merchants

SHOP = "https://shop.example"
PASSWORD = "correct-horse-1"
_counter = itertools.count(1)


@dataclass
class Shop:
    """A merchant as the merchant knows itself: ids, secret, API key."""

    id: int
    public_id: str
    kid: str
    secret: str
    api_key: str

    @property
    def key(self) -> bytes:
        """The HMAC key inside the whsec_ secret."""
        return merchants.secret_key_bytes(self.secret)

    def headers(self, idem: str | None = None) -> dict[str, str]:
        """Bearer auth, plus an Idempotency-Key for POSTs."""
        h = {"Authorization": f"Bearer {self.api_key}"}
        if idem is not None:
            h["Idempotency-Key"] = idem
        return h

    def sign(
        self, claims: dict[str, Any], kid: str | None = None, key: bytes | None = None
    ) -> str:
        """A wallet link token signed the way the merchant's own server would."""
        header = {"alg": "HS256", "kid": kid or self.kid}
        return jwt.encode(header, claims, OctKey.import_key(key or self.key))

    def pay_claims(self, order_id: str, amount: int, **over: Any) -> dict[str, Any]:
        """Valid claims of a pay link for an order."""
        now = int(time.time())
        claims = {
            "iss": self.public_id,
            "aud": "brandpay-wallet",
            "jti": f"jti-{next(_counter)}-{now}",
            "iat": now,
            "exp": now + 300,
            "action": "pay",
            "order_id": order_id,
            "max_amount": amount,
            "return_url": f"{SHOP}/return?cart=7",
        }
        claims.update(over)
        return claims


def make_shop(
    name: str = "Tea shop",
    origins: tuple[str, ...] = (SHOP,),
    webhook_url: str | None = None,
    allow_framing: bool = False,
) -> Shop:
    """Create a merchant through the service (inside an app context)."""
    merchant, secret = merchants.create_merchant(
        name, list(origins), webhook_url, allow_framing=allow_framing, actor="test"
    )
    _key, raw = merchants.issue_api_key(merchant, "test", "test")
    return Shop(merchant.id, merchant.public_id, secret.kid, secret.secret, raw)


@pytest.fixture
def shop_factory(app: Flask) -> Callable[..., Shop]:
    """Make more merchants."""

    def _make(**kwargs: Any) -> Shop:
        with app.app_context():
            return make_shop(**kwargs)

    return _make


@pytest.fixture
def shop(shop_factory: Callable[..., Shop]) -> Shop:
    """One merchant allowing https://shop.example."""
    return shop_factory()


@pytest.fixture
def api(client: FlaskClient, shop: Shop) -> Callable[..., Any]:
    """Call the API as `shop`: api("POST", "/orders", json=..., idem="k1")."""

    def _call(method: str, path: str, *, idem: str | None = None, **kwargs: Any) -> Any:
        if method == "POST" and idem is None:
            idem = f"idem-{next(_counter)}"
        return client.open(
            "/api/v1" + path, method=method, headers=shop.headers(idem), **kwargs
        )

    return _call


@pytest.fixture
def new_order(api: Callable[..., Any]) -> Callable[..., str]:
    """Create an order through the API; returns its order_id."""

    def _make(amount: int = 12300, return_url: str | None = f"{SHOP}/return") -> str:
        body: dict[str, Any] = {"amount": amount, "order_name": "Green tea"}
        if return_url:
            body["return_url"] = return_url
        resp = api("POST", "/orders", json=body)
        assert resp.status_code == 201, resp.get_json()
        return str(resp.get_json()["order_id"])

    return _make


def load_order(app: Flask, order_id: str) -> Order:
    """The stored order, detached."""
    with app.app_context():
        order = db.session.scalar(select(Order).where(Order.order_id == order_id))
        assert order is not None
        db.session.expunge_all()
        return order


@pytest.fixture
def member_client(
    app: Flask, make_member: Callable[..., Any]
) -> Callable[..., tuple[FlaskClient, int]]:
    """A new member logged in through the real form, with their own cookie jar."""

    def _make(email: str | None = None) -> tuple[FlaskClient, int]:
        email = email or f"m{next(_counter)}@example.com"
        member_id = make_member(email, PASSWORD)
        client = logged_in_client(app, email, PASSWORD)
        return client, member_id

    return _make


@dataclass
class Receiver:
    """A webhook endpoint on 127.0.0.1 that records what it gets."""

    url: str
    statuses: list[int] = field(default_factory=list)  # answers to give, then 204
    received: list[dict[str, Any]] = field(default_factory=list)
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """Serve a recording webhook receiver for one test."""
    hook = Flask("receiver")
    state = Receiver(url="")

    @hook.post("/hook")
    def _hook() -> tuple[str, int]:
        if state.delay:
            time.sleep(state.delay)
        with state.lock:
            state.received.append(
                {"headers": Headers(request.headers), "body": request.get_data()}
            )
            status = state.statuses.pop(0) if state.statuses else 204
        return "", status

    server = make_server("127.0.0.1", 0, hook, threaded=True)
    state.url = f"http://127.0.0.1:{server.server_port}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    thread.join(timeout=5)
