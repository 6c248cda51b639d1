"""The audit log's hash chain catches edits, deletions and reordering."""

from __future__ import annotations

import threading
from typing import Any

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


def test_audit_concurrent_appends_keep_one_linear_chain(app: Flask) -> None:
    def work(i: int) -> None:
        with app.app_context():
            audit.record("t", "race", str(i))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
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
