"""Speed-ups of issue 16 that change what the portal does, not only how fast."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, text

from wallet.extensions import db
from wallet.models import Member
from wallet.services import merchants


def test_sqlite_database_runs_in_wal_with_synchronous_normal(app: Flask) -> None:
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite only")
        assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert db.session.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL


def test_sqlite_wal_can_be_turned_off(database_url: str) -> None:
    from tests.conftest import make_app

    app = make_app(database_url, SQLITE_WAL=False)
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite only")
        assert db.session.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        db.engine.dispose()


def _statements(app: Flask) -> list[str]:
    seen: list[str] = []
    with app.app_context():
        event.listen(
            db.engine,
            "before_cursor_execute",
            lambda _c, _cur, statement, *_a: seen.append(statement),
        )
    return seen


def test_merchant_nav_comes_with_the_member_in_one_statement(
    app: Flask,
    client: FlaskClient,
    make_member: Callable[..., Any],
    login: Callable[..., Any],
) -> None:
    make_member("staff@example.com")
    assert login("staff@example.com").status_code == 302
    assert 'href="/merchant"' not in client.get("/wallet").get_data(as_text=True)
    with app.app_context():
        merchant, _secret = merchants.create_merchant(
            "Shop", ["https://shop.example"], None, actor="test"
        )
        merchants.add_staff(merchant, "staff@example.com", "test")

    seen = _statements(app)
    html = client.get("/wallet").get_data(as_text=True)

    assert 'href="/merchant"' in html
    # Read with the session row (sessions.py), "is merchant staff" in the same statement.
    member_reads = [s for s in seen if "FROM members" in s or "JOIN members" in s]
    assert len(member_reads) == 1, member_reads
    assert "web_sessions" in member_reads[0]
    assert "merchant_members" in member_reads[0]
    assert not any(s.lstrip().startswith("SELECT merchant_members") for s in seen)


def test_is_merchant_is_asked_again_after_staff_changes(
    app: Flask, make_member: Callable[..., Any]
) -> None:
    member_id = make_member("late@example.com")
    with app.app_context():
        member = db.session.get(Member, member_id)
        assert member.is_merchant is False
        merchant, _secret = merchants.create_merchant(
            "Shop", ["https://shop.example"], None, actor="test"
        )
        merchants.add_staff(merchant, "late@example.com", "test")
        assert member.is_merchant is True
