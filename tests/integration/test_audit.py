"""The audit log's hash chain catches edits, deletions and reordering."""

from __future__ import annotations

import threading

from click.testing import Result
from flask import Flask
from sqlalchemy import select, update

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
