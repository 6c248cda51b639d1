"""The audit log's hash chain catches edits, deletions and reordering."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import Result
from flask import Flask
from sqlalchemy import select, update

from tests.conftest import csrf_token
from wallet.extensions import db
from wallet.models import AuditEvent
from wallet.services import audit


def _seed(app: Flask, n: int = 5) -> None:
    with app.app_context():
        for i in range(n):
            audit.record("tester", "test.event", f"thing:{i}", n=i)


def _verify_cli(app: Flask) -> Result:
    return app.test_cli_runner().invoke(args=["wallet", "audit", "verify"])


def test_audit_verify_intact_chain_passes(app: Flask) -> None:
    _seed(app)
    result = _verify_cli(app)
    assert result.exit_code == 0, result.output
    assert "intact (5 entries)" in result.output


def test_audit_verify_detects_edited_entry(app: Flask) -> None:
    _seed(app)
    with app.app_context():
        db.session.execute(
            update(AuditEvent).where(AuditEvent.seq == 3).values(actor="mallory")
        )
        db.session.commit()
    result = _verify_cli(app)
    assert result.exit_code == 1
    assert "entry 3: content was edited" in result.output


def test_audit_verify_detects_deleted_entry(app: Flask) -> None:
    _seed(app)
    with app.app_context():
        db.session.delete(
            db.session.scalar(select(AuditEvent).where(AuditEvent.seq == 2))
        )
        db.session.commit()
    result = _verify_cli(app)
    assert result.exit_code == 1
    assert "entry 3: entries 2..2 missing" in result.output


def test_audit_verify_detects_reordered_entries(app: Flask) -> None:
    _seed(app)
    with app.app_context():
        # Swap the positions of entries 2 and 4 (seq is unique, so go via a temp value).
        db.session.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(seq=-2))
        db.session.execute(update(AuditEvent).where(AuditEvent.seq == 4).values(seq=2))
        db.session.execute(update(AuditEvent).where(AuditEvent.seq == -2).values(seq=4))
        db.session.commit()
    result = _verify_cli(app)
    assert result.exit_code == 1
    assert "entry 2:" in result.output
    assert "entry 4:" in result.output


def _in_threads(n: int, work: Callable[[int], None]) -> None:
    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_audit_concurrent_appends_keep_one_linear_chain(app: Flask) -> None:
    def work(i: int) -> None:
        with app.app_context():
            audit.record("t", "race", str(i))

    _in_threads(10, work)
    with app.app_context():
        assert audit.verify() == []
        assert audit.count() == 10


def test_audit_admin_page_lists_and_verifies(
    app: Flask, make_member: Any, login: Any
) -> None:
    make_member("root@example.com", "admin-password-1", role="admin")
    _seed(app, 3)
    client = app.test_client()
    page = client.get("/auth/login")
    client.post(
        "/auth/login",
        data={
            "email": "root@example.com",
            "password": "admin-password-1",
            "csrf_token": csrf_token(page.get_data(as_text=True)),
        },
    )
    listing = client.get("/admin/audit?action=test.event")
    assert listing.status_code == 200
    assert listing.get_data(as_text=True).count("test.event") >= 3
    token = csrf_token(listing.get_data(as_text=True))
    assert "intact" in client.post(
        "/admin/audit/verify", data={"csrf_token": token}
    ).get_data(as_text=True)
    with app.app_context():
        db.session.execute(
            update(AuditEvent).where(AuditEvent.seq == 2).values(details="{}")
        )
        db.session.commit()
    broken = client.post("/admin/audit/verify", data={"csrf_token": token}).get_data(
        as_text=True
    )
    assert "Entry 2: content was edited" in broken


def test_audit_appenders_on_postgresql_never_read_a_stale_tail(
    app: Flask, monkeypatch: Any
) -> None:
    """On PostgreSQL every append reads the tail only once it holds the advisory lock
    (issue 16: BEGIN, lock and tail go in one pipelined flush, but as three statements,
    so the tail's snapshot is taken after the lock). A tail read from a snapshot taken
    before the lock would collide on seq and retry; here no append may need a second
    attempt, and the chain stays whole."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL only: SQLite has one writer and retries on seq")
    attempts: list[int] = []
    real = audit._new_event

    def counted(*args: Any, **kwargs: Any) -> AuditEvent:
        attempts.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(audit, "_new_event", counted)
    start = threading.Barrier(8)

    def work(i: int) -> None:
        with app.app_context():
            start.wait()
            for j in range(5):
                audit.record("t", "race", f"{i}:{j}")

    _in_threads(8, work)
    with app.app_context():
        assert audit.verify() == []
        assert audit.count() == 40
        seqs = db.session.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq))
        assert list(seqs) == list(range(1, 41))
    assert len(attempts) == 40  # one attempt per entry: no retry on seq


def test_audit_append_on_postgresql_leaves_the_pooled_connection_clean(
    app: Flask,
) -> None:
    """The pipelined append turns autocommit on for its own BEGIN and COMMIT; the
    connection goes back to the pool idle, with autocommit off again, so the next
    user's ORM session gets its usual transaction."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL only")
        audit.record("t", "one", "x")
        with db.engine.connect() as conn:
            pg = conn.connection.driver_connection
            assert pg.autocommit is False
            assert pg.info.transaction_status.name == "IDLE"
        entry = audit.record("t", "two", "x")
        assert entry.seq == 2
        assert entry.id is not None
        row = db.session.get(AuditEvent, entry.id)
        assert (row.seq, row.hash, row.prev_hash) == (
            2,
            entry.hash,
            audit.page().events[1].hash,
        )
        assert audit.verify() == []


def test_audit_append_retries_a_taken_seq_and_keeps_the_chain(
    app: Flask, monkeypatch: Any
) -> None:
    """If the position read is taken by the time of the insert (forced here: the first
    attempt reuses seq 1), the append rolls back, reads the tail again and succeeds;
    the connection is usable afterwards (on PostgreSQL: the pipelined path's error
    handling)."""
    _seed(app, 1)
    real = audit._new_event
    calls: list[int] = []

    def stale_once(last: Any, *args: Any) -> AuditEvent:
        calls.append(1)
        return real(None if len(calls) == 1 else last, *args)

    monkeypatch.setattr(audit, "_new_event", stale_once)
    with app.app_context():
        entry = audit.record("t", "after.collision", "x")
        assert (entry.seq, len(calls)) == (2, 2)
        assert audit.record("t", "next", "x").seq == 3
        assert audit.verify() == []
        assert audit.count() == 3
