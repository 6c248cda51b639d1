"""The methods page writes the cached method count only when it changed (issue 16)."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import event, update

from tests.integration.brandpay.conftest import Browser, link_row
from wallet.extensions import db
from wallet.models import BrandPayLink


def _writes_during(app: Flask, call: Any) -> list[str]:
    seen: list[str] = []

    def record(_conn: Any, _cur: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith(("UPDATE BRANDPAY", "INSERT")):
            seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        resp = call()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert resp.status_code == 200
    return seen


def test_methods_page_view_writes_nothing_when_count_is_current(
    app: Flask, linked: Browser
) -> None:
    linked.client.get("/wallet/methods")
    assert link_row(app, linked.member_id).method_count == 1

    writes = _writes_during(app, lambda: linked.client.get("/wallet/methods"))

    assert [w for w in writes if "brandpay_links" in w] == []
    assert link_row(app, linked.member_id).method_count == 1


def test_methods_page_corrects_a_stale_count(app: Flask, linked: Browser) -> None:
    with app.app_context():
        db.session.execute(update(BrandPayLink).values(method_count=7))
        db.session.commit()

    writes = _writes_during(app, lambda: linked.client.get("/wallet/methods"))

    assert len([w for w in writes if "brandpay_links" in w]) == 1
    assert link_row(app, linked.member_id).method_count == 1
    assert "1 saved payment method" in linked.client.get("/wallet").get_data(
        as_text=True
    )
