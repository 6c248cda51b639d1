"""`POST /api/v1/orders` commits the key, the order and its stored answer together
(issue 16): one commit, and nothing half-done when the request fails."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, func, select

from tests.integration.merchants.conftest import Shop
from wallet.errors import WalletError
from wallet.extensions import db
from wallet.models.merchant import ApiIdempotencyKey, MerchantOrder
from wallet.models.order import Order
from wallet.services import merchants

Api = Callable[..., Any]
BODY = {"amount": 12300, "order_name": "Green tea"}


def _count(app: Flask, column: Any) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count(column))) or 0)


def _commits_during(app: Flask, call: Callable[[], Any]) -> tuple[Any, int]:
    commits = []
    with app.app_context():
        engine = db.engine

    def seen(_conn: Any) -> None:
        commits.append(1)

    event.listen(engine, "commit", seen)
    try:
        resp = call()
    finally:
        event.remove(engine, "commit", seen)
    return resp, len(commits)


def _replayed_twice(api: Api, body: Any, key: str, status: int) -> None:
    """The same refusal twice: the second one replayed from the stored answer."""
    first = api("POST", "/orders", json=body, idem=key)
    again = api("POST", "/orders", json=body, idem=key)
    assert first.status_code == again.status_code == status
    assert again.headers["Idempotent-Replayed"] == "true"


def test_api_order_is_one_commit_with_its_stored_answer(app: Flask, api: Api) -> None:
    api("POST", "/orders", json=BODY)  # the key's last_used_at is written once
    resp, commits = _commits_during(
        app, lambda: api("POST", "/orders", json=BODY, idem="one-commit")
    )
    assert resp.status_code == 201
    assert commits == 1
    again = api("POST", "/orders", json=BODY, idem="one-commit")
    assert again.get_json() == resp.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    with app.app_context():
        order = db.session.scalar(
            select(Order).where(Order.order_id == resp.get_json()["order_id"])
        )
        assert order is not None
        assert db.session.get(MerchantOrder, order.id) is not None
    assert _count(app, Order.id) == 2


def test_api_order_refused_is_stored_and_replayed_with_nothing_created(
    app: Flask, api: Api
) -> None:
    bad = {"amount": 12300, "order_name": "x", "return_url": "https://evil.example/"}
    _replayed_twice(api, bad, "refused", 422)
    assert _count(app, Order.id) == 0
    assert _count(app, MerchantOrder.order_pk) == 0


def test_api_order_crash_leaves_no_order_and_frees_the_key(
    app: Flask, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = merchants.create_order

    def crash(*args: Any, **kwargs: Any) -> Any:
        real(*args, **kwargs)  # the order is flushed...
        raise RuntimeError("the process dies here")  # ...and never committed

    monkeypatch.setattr(merchants, "create_order", crash)
    assert api("POST", "/orders", json=BODY, idem="crash").status_code == 500
    assert _count(app, Order.id) == 0
    assert _count(app, ApiIdempotencyKey.id) == 0
    monkeypatch.setattr(merchants, "create_order", real)
    assert api("POST", "/orders", json=BODY, idem="crash").status_code == 201
    assert _count(app, Order.id) == 1


def test_api_order_taken_over_then_refused_stores_the_refusal(
    app: Flask, api: Api, shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    with app.test_request_context():
        record, _replay = merchants.begin_idempotent(
            merchants.get(shop.id),
            "stale",
            merchants.fingerprint("POST", "/api/v1/orders", BODY),
        )
        record.created_at -= timedelta(minutes=5)  # its request died long ago
        db.session.commit()

    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise WalletError("No.")

    monkeypatch.setattr(merchants, "create_order", refuse)
    _replayed_twice(api, BODY, "stale", 400)
    assert _count(app, ApiIdempotencyKey.id) == 1
    assert _count(app, Order.id) == 0


def test_api_order_reads_key_and_merchant_in_one_statement(
    app: Flask, api: Api
) -> None:
    # Issue 16: the bearer key and its merchant are one SELECT; then the key's
    # reservation, the order, its shop row and the stored answer. Nothing else.
    api("POST", "/orders", json=BODY)  # the key's last_used_at is written once
    statements: list[str] = []
    with app.app_context():
        engine = db.engine

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", seen)
    try:
        resp = api("POST", "/orders", json=BODY, idem="one-read")
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert resp.status_code == 201
    selects = [s for s in statements if s.startswith("SELECT")]
    assert len(selects) == 1, statements
    assert "FROM merchant_api_keys LEFT OUTER JOIN merchants" in selects[0]
    assert len(statements) == 5, statements
