"""Tokens: vault-only storage, AAD binding, single-flight refresh, failure handling."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import inspect, select, text, update

from tests.integration.brandpay.conftest import (
    Browser,
    audit_actions,
    link_row,
    sandbox_tokens,
)
from wallet.crypto import VaultError
from wallet.errors import UpstreamError
from wallet.extensions import db
from wallet.models import BrandPayLink, Member
from wallet.models._types import utcnow
from wallet.models.brandpay_link import token_aad
from wallet.services import brandpay_tokens, toss, vault

ACCESS_TOKEN_PATH = "/v1/brandpay/authorizations/access-token"


def _expire_access_token(app: Flask, member_id: int) -> None:
    """Make the portal consider the stored access token expired."""
    with app.app_context():
        db.session.execute(
            update(BrandPayLink)
            .where(BrandPayLink.member_id == member_id)
            .values(access_expires_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()


def _token_for(app: Flask, member_id: int) -> str:
    """get_access_token as a request would call it (errors carry translated text)."""
    with app.test_request_context():
        return brandpay_tokens.get_access_token(db.session.get(Member, member_id))


def _refreshes(sandbox: Any, customer_key: str) -> int:
    return sandbox.tokens_issued(customer_key, "RefreshToken")


def _dump_database(app: Flask) -> str:
    """Every stored value: SQLite's SQL dump, or every text column of every table."""
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            raw = db.engine.raw_connection()
            try:
                return "\n".join(raw.driver_connection.iterdump())
            finally:
                raw.close()
        parts = []
        with db.engine.connect() as conn:
            inspector = inspect(conn)
            for table in inspector.get_table_names():
                for column in inspector.get_columns(table):
                    name = column["name"]
                    # Names come from the catalogue of our own test database.
                    query = f'SELECT CAST("{name}" AS TEXT) FROM "{table}"'  # noqa: S608
                    rows = conn.execute(text(query)).scalars()
                    parts.extend(str(v) for v in rows if v is not None)
        return "\n".join(parts)


def test_tokens_linked_never_in_plaintext_in_db_logs_or_pages(
    app: Flask,
    sandbox: Any,
    browser: Callable[..., Browser],
    link: Callable[..., Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    who = browser()
    pages = [link(who).get_data(as_text=True)]
    _expire_access_token(app, who.member_id)  # a refresh issues a second pair
    for path in (
        "/wallet/methods",
        "/wallet",
        "/wallet/link",
        "/wallet/connect?mode=add",
        "/wallet/withdraw",
    ):
        resp = who.client.get(path)
        assert resp.status_code == 200
        pages.append(resp.get_data(as_text=True))
    admin = browser(role="admin")
    pages.append(admin.client.get("/admin/members").get_data(as_text=True))
    assert _refreshes(sandbox, who.customer_key) == 1

    secrets = [
        t[k]
        for t in sandbox_tokens(sandbox, who.customer_key)
        for k in ("access", "refresh")
    ]
    assert len(secrets) == 4
    dump = _dump_database(app)
    assert link_row(app, who.member_id).access_token_enc in dump  # the dump is real
    logs = "\n".join(r.getMessage() for r in caplog.records) + caplog.text
    assert "toss refresh_access_token POST -> 200" in logs  # and so is the capture
    for secret in secrets:
        assert secret not in dump
        assert secret not in logs
        assert all(secret not in page for page in pages)
    with app.app_context():
        assert secrets[0] not in repr(
            db.session.get(BrandPayLink, link_row(app, who.member_id).id)
        )


def test_tokens_ciphertext_moved_to_other_row_fails_and_needs_relink(
    app: Flask, browser: Callable[..., Browser], link: Callable[..., Any]
) -> None:
    alice, bob = browser(), browser()
    link(alice)
    link(bob)
    stolen = link_row(app, alice.member_id).access_token_enc
    with app.app_context():
        with pytest.raises(VaultError):
            vault().decrypt(stolen, aad=token_aad(bob.customer_key, "access"))
        db.session.execute(
            update(BrandPayLink)
            .where(BrandPayLink.member_id == bob.member_id)
            .values(access_token_enc=stolen)
        )
        db.session.commit()

    resp = bob.client.get("/wallet/methods")

    assert resp.status_code == 200
    assert "Please link BrandPay again" in resp.get_data(as_text=True)
    row = link_row(app, bob.member_id)
    assert row.status == "needs_relink"
    assert row.relink_reason == "token_unreadable"
    assert row.access_token_enc is None
    assert [e.subject for e in audit_actions(app, "brandpay.needs_relink")] == [
        f"member:{bob.member_id}"
    ]
    assert link_row(app, alice.member_id).status == "linked"  # the victim is untouched


def test_tokens_twenty_concurrent_expired_refresh_exactly_once(
    app: Flask, sandbox: Any, linked: Browser
) -> None:
    _expire_access_token(app, linked.member_id)
    old = next(t for t in sandbox_tokens(sandbox, linked.customer_key))["access"]
    start = threading.Barrier(20)
    results: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker() -> None:  # one request each: its own context, session, connection
        try:
            with app.test_request_context():
                member = db.session.get(Member, linked.member_id)
                db.session.close()  # don't hold a pooled connection at the barrier
                start.wait(timeout=10)
                token = brandpay_tokens.get_access_token(member)
            with lock:
                results.append(token)
        except BaseException as exc:  # noqa: BLE001 - reported below
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert errors == [], [
        repr(e) for e in errors if not isinstance(e, threading.BrokenBarrierError)
    ]
    assert len(results) == 20
    assert _refreshes(sandbox, linked.customer_key) == 1
    live = [t for t in sandbox_tokens(sandbox, linked.customer_key) if not t["revoked"]]
    assert len(live) == 1
    assert set(results) == {live[0]["access"]}
    assert live[0]["access"] != old
    row = link_row(app, linked.member_id)
    assert row.access_expires_at > utcnow() + timedelta(days=29)
    assert row.refresh_lock_until is None


def test_tokens_refresh_token_unknown_to_toss_needs_relink(
    app: Flask, sandbox: Any, linked: Browser
) -> None:
    with app.app_context():  # somebody else used the refresh token: Toss rotated it
        refresh = vault().decrypt(
            link_row(app, linked.member_id).refresh_token_enc,
            aad=token_aad(linked.customer_key, "refresh"),
        )
        toss().refresh_access_token(
            linked.customer_key, refresh, idempotency_key=f"test-{linked.customer_key}"
        )
    _expire_access_token(app, linked.member_id)

    with pytest.raises(brandpay_tokens.RelinkRequiredError):
        _token_for(app, linked.member_id)

    row = link_row(app, linked.member_id)
    assert row.status == "needs_relink"
    assert row.relink_reason == "refresh_refused"
    assert (row.access_token_enc, row.refresh_token_enc) == (None, None)
    assert [
        e.details_dict["reason"] for e in audit_actions(app, "brandpay.needs_relink")
    ] == ["refresh_refused"]
    page = linked.client.get("/wallet").get_data(as_text=True)
    assert "Link BrandPay again" in page


def test_tokens_refresh_toss_down_keeps_tokens_and_fails_clearly(
    app: Flask, sandbox: Any, linked: Browser
) -> None:
    before = link_row(app, linked.member_id)
    _expire_access_token(app, linked.member_id)
    sandbox.set_fault(ACCESS_TOKEN_PATH, status=500)

    with pytest.raises(UpstreamError):
        _token_for(app, linked.member_id)
    page = linked.client.get("/wallet/methods")

    assert page.status_code == 503
    assert "not answering" in page.get_data(as_text=True)
    row = link_row(app, linked.member_id)
    assert row.status == "linked"
    assert row.refresh_token_enc == before.refresh_token_enc
    assert row.refresh_lock_until is None
    sandbox.clear_faults()
    assert _token_for(app, linked.member_id)  # works again once Toss is back
    assert _refreshes(sandbox, linked.customer_key) == 1


def test_tokens_bearer_refused_refreshes_once_and_retries(
    app: Flask, sandbox: Any, linked: Browser
) -> None:
    # Past Toss's 30-day token lifetime (contract §2) while our row still looks valid.
    sandbox.advance_clock(31 * 86400)

    resp = linked.client.get("/wallet/methods")

    assert resp.status_code == 200
    assert "****" in resp.get_data(as_text=True)
    assert _refreshes(sandbox, linked.customer_key) == 1
    statuses = [c["status"] for c in sandbox.calls("/v1/brandpay/payments/methods")]
    assert statuses[-2:] == [401, 200]
    assert link_row(app, linked.member_id).status == "linked"


def test_tokens_a_link_row_read_before_another_refresh_still_works(
    app: Flask, sandbox: Any, linked: Browser
) -> None:
    # The methods page hands the token path the link row it has just read (issue 16).
    # Another process refreshing in between kills that row's token pair at Toss: the
    # first try is refused, the retry reads the row afresh, and nobody refreshes again.
    with app.test_request_context():
        member = db.session.get(Member, linked.member_id)
        known = db.session.scalar(
            select(BrandPayLink).where(BrandPayLink.member_id == linked.member_id)
        )
        _expire_access_token(app, linked.member_id)
        other = threading.Thread(target=_token_for, args=(app, linked.member_id))
        other.start()  # its own contexts and database session: another process
        other.join()
        assert _refreshes(sandbox, linked.customer_key) == 1
        assert known.version == 1  # what this request read is now out of date
        methods = brandpay_tokens.call_with_token(
            member, lambda token: toss().get_methods(token), known
        )
    assert methods.all()
    statuses = [c["status"] for c in sandbox.calls("/v1/brandpay/payments/methods")]
    assert statuses[-2:] == [401, 200]
    assert _refreshes(sandbox, linked.customer_key) == 1
    assert link_row(app, linked.member_id).status == "linked"


def test_tokens_not_linked_member_raises_not_linked(
    app: Flask, browser: Callable[..., Browser]
) -> None:
    who = browser()
    with pytest.raises(brandpay_tokens.NotLinkedError):
        _token_for(app, who.member_id)
    with app.app_context():
        assert db.session.scalars(select(BrandPayLink)).all() == []
