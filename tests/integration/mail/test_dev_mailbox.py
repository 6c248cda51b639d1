"""`make run`'s mailbox page: there only when a development app names the sink's
Maildir, only for loopback clients; it lists and opens what the SMTP sink received."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask

from tests.integration.mail.conftest import deliver, member_asks_reset
from wallet import create_app
from wallet.config import Config
from wallet.extensions import db


def test_dev_mailbox_absent_in_tests_by_default(app: Flask) -> None:
    assert app.test_client().get("/_dev/mailbox").status_code == 404
    assert "dev_mailbox.index" not in app.view_functions


def test_dev_mailbox_absent_in_production_even_when_configured(
    app: Flask, tmp_path: Path, monkeypatch: Any
) -> None:
    from tests.conftest import VAULT_SPEC

    monkeypatch.setenv("WALLET_INSTANCE_PATH", str(tmp_path))
    prod = create_app(
        Config,
        {
            "SECRET_KEY": "production-test-secret-key-0123456789",
            "VAULT_KEYS": VAULT_SPEC,
            "TOSS_CLIENT_KEY": "test_ck_x",
            "TOSS_SECRET_KEY": "test_sk_x",
            "DATABASE_URL": app.config["DATABASE_URL"],
            "DEV_MAILBOX_DIR": str(tmp_path / "mailbox"),
        },
    )
    assert "dev_mailbox.index" not in prod.view_functions
    assert prod.test_client().get("/_dev/mailbox").status_code == 404
    with prod.app_context():
        db.engine.dispose()


def test_dev_mailbox_lists_and_opens_sent_mail(
    app_with: Callable[..., Flask], smtp_sink: Any
) -> None:
    app = app_with(
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=smtp_sink.port,
        PUBLIC_URL="http://localhost",
        DEV_MAILBOX_DIR=str(smtp_sink.directory),
    )
    member_asks_reset(app, "dev@example.com")
    deliver(app)
    (sent,) = smtp_sink.wait_for(1)
    browser = app.test_client()
    listing = browser.get("/_dev/mailbox")
    assert listing.status_code == 200
    assert "Reset your BrandPay Wallet password" in listing.get_data(as_text=True)
    opened = browser.get(f"/_dev/mailbox/{sent.key}")
    body = opened.get_data(as_text=True)
    assert opened.status_code == 200
    assert 'href="http://localhost/auth/reset/' in body  # its links, clickable
    assert "dev@example.com" in body
    assert f'src="/_dev/mailbox/{sent.key}/html"' in body
    framed = browser.get(f"/_dev/mailbox/{sent.key}/html")
    assert framed.status_code == 200
    assert "sandbox" in framed.headers["Content-Security-Policy"]
    assert framed.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert '<html lang="en">' in framed.get_data(as_text=True)
    assert browser.get("/_dev/mailbox/no-such-key").status_code == 404
    assert browser.get("/_dev/mailbox/..%2F..%2Fetc").status_code == 404
    remote = browser.get("/_dev/mailbox", environ_base={"REMOTE_ADDR": "192.0.2.10"})
    assert remote.status_code == 404
