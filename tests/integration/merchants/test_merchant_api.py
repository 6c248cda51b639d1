"""The merchant JSON API: key auth, validation, one error shape, idempotency, orders,
links, payments and refunds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests.integration.merchants.conftest import SHOP, Shop, load_order
from wallet.extensions import db
from wallet.models.merchant import ApiIdempotencyKey, MerchantApiKey
from wallet.models.order import Order
from wallet.services import merchants

Api = Callable[..., Any]


def _error(resp: Any) -> str:
    body = resp.get_json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message"}
    assert body["error"]["message"]
    return str(body["error"]["code"])


def _order_count(app: Flask) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count(Order.id))) or 0)


@pytest.mark.parametrize(
    "auth",
    [None, "Bearer", "Bearer bpk_deadbeef_nope", "Basic Zm9vOmJhcg==", "bpk_x"],
)
def test_api_missing_or_unknown_key_401(client: FlaskClient, auth: str | None) -> None:
    headers = {"Authorization": auth} if auth else {}
    resp = client.get("/api/v1/orders", headers=headers)
    assert resp.status_code == 401
    assert _error(resp) == "UNAUTHORIZED"
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


def test_api_revoked_key_401_other_key_still_works(
    app: Flask, client: FlaskClient, shop: Shop
) -> None:
    with app.app_context():
        merchant = merchants.get(shop.id)
        _second, second_raw = merchants.issue_api_key(merchant, "rotation", "test")
        first = db.session.scalar(
            select(MerchantApiKey).where(MerchantApiKey.label == "test")
        )
        merchants.revoke_api_key(merchant, first.id, "test")
    assert client.get("/api/v1/orders", headers=shop.headers()).status_code == 401
    ok = client.get("/api/v1/orders", headers={"Authorization": f"Bearer {second_raw}"})
    assert ok.status_code == 200


def test_api_key_stored_only_as_hash(app: Flask, shop: Shop) -> None:
    with app.app_context():
        row = db.session.scalar(select(MerchantApiKey))
        assert row.key_hash != shop.api_key
        assert shop.api_key not in row.key_hash
        assert shop.api_key.startswith(row.prefix)
        assert shop.api_key not in repr(row)


def test_api_create_order_201_and_stored(app: Flask, api: Api, shop: Shop) -> None:
    resp = api(
        "POST",
        "/orders",
        json={
            "amount": 12300,
            "order_name": "Green tea",
            "return_url": f"{SHOP}/r?x=1",
        },
    )
    assert resp.status_code == 201
    body = resp.get_json()
    assert body["amount"] == 12300
    assert body["status"] == "PENDING"
    assert body["return_url"] == f"{SHOP}/r?x=1"
    order = load_order(app, body["order_id"])
    assert order.merchant_id == shop.id
    assert order.amount == 12300
    assert order.member_id is None


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"order_name": "x"}, "amount"),
        ({"amount": "12300", "order_name": "x"}, "amount"),
        ({"amount": 12300.0, "order_name": "x"}, "amount"),
        ({"amount": True, "order_name": "x"}, "amount"),
        ({"amount": 99, "order_name": "x"}, "amount"),
        ({"amount": 10**30, "order_name": "x"}, "amount"),
        ({"amount": 12300}, "order_name"),
        ({"amount": 12300, "order_name": "   "}, "order_name"),
        ({"amount": 12300, "order_name": "x" * 101}, "order_name"),
        ({"amount": 12300, "order_name": "a\x00b"}, "order_name"),
        ({"amount": 12300, "order_name": "x", "currency": "USD"}, "currency"),
        ({"amount": 12300, "order_name": "x", "return_url": 5}, "return_url"),
        ([1, 2], "JSON object"),
    ],
)
def test_api_create_order_bad_body_400_nothing_stored(
    app: Flask, api: Api, body: Any, needle: str
) -> None:
    resp = api("POST", "/orders", json=body)
    assert resp.status_code == 400
    assert _error(resp) in ("INVALID_REQUEST", "INVALID_ORDER")
    assert needle in resp.get_json()["error"]["message"] or needle == "amount"
    assert _order_count(app) == 0


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b"",
        b"[" * 5000 + b"]" * 5000,
        b"\xff\xfe",
        b"null",
        b'{"order_name": "' + b"x" * 20000 + b'"}',
    ],
)
def test_api_create_order_malformed_json_400(app: Flask, api: Api, raw: bytes) -> None:
    resp = api("POST", "/orders", data=raw, content_type="application/json")
    assert resp.status_code == 400
    _error(resp)
    assert _order_count(app) == 0


def test_api_create_order_foreign_return_url_422(app: Flask, api: Api) -> None:
    resp = api(
        "POST",
        "/orders",
        json={
            "amount": 12300,
            "order_name": "x",
            "return_url": "https://shop.example@evil.example/",
        },
    )
    assert resp.status_code == 422
    assert _error(resp) == "RETURN_URL_NOT_ALLOWED"
    assert _order_count(app) == 0


@pytest.mark.parametrize("key", [None, "", "with space", "é", "x" * 256])
def test_api_post_without_valid_idempotency_key_400(
    app: Flask, client: FlaskClient, shop: Shop, key: str | None
) -> None:
    headers = shop.headers()
    if key is not None:
        headers["Idempotency-Key"] = key
    resp = client.post(
        "/api/v1/orders", json={"amount": 12300, "order_name": "x"}, headers=headers
    )
    assert resp.status_code == 400
    assert "Idempotency-Key" in resp.get_json()["error"]["message"]
    assert _order_count(app) == 0


def test_api_same_idempotency_key_same_body_replays_one_order(
    app: Flask, api: Api
) -> None:
    body = {"amount": 12300, "order_name": "Green tea"}
    first = api("POST", "/orders", json=body, idem="order-42")
    again = api("POST", "/orders", json=body, idem="order-42")
    assert first.status_code == again.status_code == 201
    assert first.get_json() == again.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert _order_count(app) == 1


def test_api_refused_shape_not_stored_under_key_fixed_retry_201(
    app: Flask, api: Api
) -> None:
    bad = api(
        "POST", "/orders", json={"amount": "12300", "order_name": "a"}, idem="k-9"
    )
    assert (bad.status_code, _error(bad)) == (400, "INVALID_REQUEST")
    fixed = api(
        "POST", "/orders", json={"amount": 12300, "order_name": "a"}, idem="k-9"
    )
    assert fixed.status_code == 201
    assert "Idempotent-Replayed" not in fixed.headers
    assert _order_count(app) == 1


def test_api_same_idempotency_key_other_body_422(app: Flask, api: Api) -> None:
    api("POST", "/orders", json={"amount": 12300, "order_name": "a"}, idem="k-1")
    resp = api("POST", "/orders", json={"amount": 99000, "order_name": "a"}, idem="k-1")
    assert resp.status_code == 422
    assert _error(resp) == "IDEMPOTENCY_KEY_REUSED"
    assert _order_count(app) == 1


def test_api_idempotency_keys_are_per_merchant(
    app: Flask, client: FlaskClient, shop: Shop, shop_factory: Callable[..., Shop]
) -> None:
    other = shop_factory(name="Other")
    for who in (shop, other):
        resp = client.post(
            "/api/v1/orders",
            json={"amount": 12300, "order_name": "a"},
            headers=who.headers("same-key"),
        )
        assert resp.status_code == 201
    assert _order_count(app) == 2


def test_api_idempotency_key_in_flight_409_then_taken_over_when_stale(
    app: Flask, api: Api, shop: Shop
) -> None:
    body = {"amount": 12300, "order_name": "a"}
    with app.test_request_context():
        merchant = merchants.get(shop.id)
        record, replay = merchants.begin_idempotent(
            merchant, "busy", merchants.fingerprint("POST", "/api/v1/orders", body)
        )
        assert not replay
        record_id = record.id
    resp = api("POST", "/orders", json=body, idem="busy")
    assert resp.status_code == 409
    assert _error(resp) == "IDEMPOTENT_REQUEST_PROCESSING"
    with app.app_context():
        from datetime import timedelta

        row = db.session.get(ApiIdempotencyKey, record_id)
        row.created_at -= timedelta(minutes=5)  # its request died long ago
        db.session.commit()
    assert api("POST", "/orders", json=body, idem="busy").status_code == 201


def test_api_get_order_other_merchants_order_404(
    client: FlaskClient,
    new_order: Callable[..., str],
    shop_factory: Callable[..., Shop],
) -> None:
    order_id = new_order()
    other = shop_factory(name="Other")
    resp = client.get(f"/api/v1/orders/{order_id}", headers=other.headers())
    assert resp.status_code == 404
    assert _error(resp) == "NOT_FOUND"


def test_api_get_order_200(api: Api, new_order: Callable[..., str]) -> None:
    order_id = new_order(5000)
    resp = api("GET", f"/orders/{order_id}")
    assert resp.status_code == 200
    assert resp.get_json()["amount"] == 5000


def test_api_list_orders_keyset_pages_cover_all_once(
    api: Api,
    new_order: Callable[..., str],
    shop_factory: Callable[..., Shop],
    app: Flask,
) -> None:
    made = {new_order(1000 + i) for i in range(5)}
    other = shop_factory(name="Other")
    with app.test_client() as c:
        c.post(
            "/api/v1/orders",
            json={"amount": 777, "order_name": "theirs"},
            headers=other.headers("o1"),
        )
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = api("GET", "/orders" + query).get_json()
        seen += [o["order_id"] for o in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(made)
    assert len(seen) == 5


@pytest.mark.parametrize("query", ["?limit=0", "?limit=101", "?limit=x", "?cursor=abc"])
def test_api_list_orders_bad_query_400(api: Api, query: str) -> None:
    resp = api("GET", "/orders" + query)
    assert resp.status_code == 400
    _error(resp)


def test_api_pay_link_for_order_201(api: Api, new_order: Callable[..., str]) -> None:
    order_id = new_order()
    resp = api("POST", f"/orders/{order_id}/wallet-links", json={"expires_in": 120})
    assert resp.status_code == 201
    link = resp.get_json()
    assert link["action"] == "pay"
    assert "/l/" in link["url"]
    assert link["url"].endswith(link["token"])


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"max_amount": 100}, 400),  # below the order's amount
        ({"expires_in": 3600}, 400),  # longer than links may live
        ({"return_url": "https://evil.example/"}, 422),
        ({"action": "pay"}, 400),  # unknown field here
    ],
)
def test_api_pay_link_bad_body_refused(
    api: Api, new_order: Callable[..., str], body: dict[str, Any], status: int
) -> None:
    order_id = new_order()
    resp = api("POST", f"/orders/{order_id}/wallet-links", json=body)
    assert resp.status_code == status
    _error(resp)


def test_api_pay_link_without_any_return_url_400(
    api: Api, new_order: Callable[..., str]
) -> None:
    order_id = new_order(return_url=None)
    resp = api("POST", f"/orders/{order_id}/wallet-links", json={})
    assert resp.status_code == 400
    assert "return_url" in resp.get_json()["error"]["message"]


def test_api_manage_link_201_and_pay_action_refused(api: Api) -> None:
    ok = api("POST", "/wallet-links", json={"action": "manage", "return_url": SHOP})
    assert ok.status_code == 201
    assert ok.get_json()["action"] == "manage"
    bad = api("POST", "/wallet-links", json={"action": "pay", "return_url": SHOP})
    assert bad.status_code == 400


def test_api_payment_of_unpaid_order_404_refund_409(
    api: Api, new_order: Callable[..., str]
) -> None:
    order_id = new_order()
    assert api("GET", f"/payments/{order_id}").status_code == 404
    resp = api("POST", f"/orders/{order_id}/refunds", json={"reason": "changed mind"})
    assert resp.status_code == 409
    _error(resp)


def test_api_unknown_route_and_method_json_errors(api: Api) -> None:
    resp = api("GET", "/nope")
    assert resp.status_code == 404
    _error(resp)
    resp = api("DELETE", "/orders")
    assert resp.status_code == 405
    _error(resp)


def test_api_rate_limit_per_key_429(
    app: Flask, client: FlaskClient, shop: Shop, shop_factory: Callable[..., Shop]
) -> None:
    app.config["API_RATELIMIT"] = "3 per minute"
    for _ in range(3):
        assert client.get("/api/v1/orders", headers=shop.headers()).status_code == 200
    resp = client.get("/api/v1/orders", headers=shop.headers())
    assert resp.status_code == 429
    assert _error(resp) == "TOO_MANY_REQUESTS"
    other = shop_factory(name="Other")
    assert client.get("/api/v1/orders", headers=other.headers()).status_code == 200
