"""Issue 13 L4: bearer values out of access logs (the development server's and
gunicorn's real log lines), out of stored API answers, and instance files 0600."""

from __future__ import annotations

import logging
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import select

from bench.servers import Gunicorn, portal_env
from tests.conftest import VAULT_SPEC
from tests.integration.security.conftest import Shop
from wallet import create_app
from wallet.config import DevConfig
from wallet.extensions import db
from wallet.models.merchant import ApiIdempotencyKey

TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzZWNyZXQiOiJ5ZXMifQ.c2lnbmF0dXJlLXNlY3JldA"
SECRETS = {
    "token": TOKEN,
    "code": "RnYX2w532omp6gDQgVNeyqAp",
    "paymentKey": "tbp_SECRETpaymentKey0001",
    "authKey": "bln_SECRETauthKey0002",
    "resetToken": "rst_SECRETresetToken0003",
    "emailToken": "eml_SECRETemailToken0004",
}


def _paths() -> list[str]:
    return [
        f"/l/{TOKEN}",
        f"/auth/login?next=%2Fl%2F{TOKEN}",  # the link, URL-encoded in next=
        f"/brandpay/callback?code={SECRETS['code']}&customerKey=cus_x",
        f"/pay/orders/ord_abcdef/success?paymentKey={SECRETS['paymentKey']}"
        "&orderId=ord_abcdef&amount=100",
        f"/pay/orders/ord_abcdef/fail?authKey={SECRETS['authKey']}&code=X",
        # The emailed links carry their single-use token in the path.
        f"/auth/reset/{SECRETS['resetToken']}",
        f"/account/email/confirm/{SECRETS['emailToken']}",
    ]


def _assert_scrubbed(lines: list[str]) -> None:
    assert len(lines) >= len(_paths()), lines
    text = "\n".join(lines)
    for name, value in SECRETS.items():
        assert value not in text, f"{name} leaked into the access log"
    assert "[redacted]" in text
    assert "customerKey=cus_x" in text  # what is not a secret stays readable


def test_access_log_of_the_development_server_is_scrubbed(
    live_portal: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Attack (L4): the access log held BrandPay codes, whole wallet-link tokens and
    # paymentKeys, readable by anyone who can read the logs.
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        for path in _paths():
            requests.get(
                live_portal + path,
                headers={"Referer": f"{live_portal}/l/{TOKEN}"},
                allow_redirects=False,
                timeout=10,
            )
        deadline = time.monotonic() + 5  # the server thread logs after answering
        while len([r for r in caplog.records if r.name == "werkzeug"]) < len(_paths()):
            assert time.monotonic() < deadline
            time.sleep(0.02)
    _assert_scrubbed([r.getMessage() for r in caplog.records if r.name == "werkzeug"])


@pytest.fixture
def gunicorn_log(
    database_url: str, sandbox_server: Any, tmp_path: Path
) -> Iterator[tuple[str, Path]]:
    """The portal under gunicorn with README's `-c gunicorn.conf.py`, its access log
    in a file of this test."""
    if not database_url.startswith("sqlite"):
        pytest.skip("one database flavour is enough for the log format")
    log = tmp_path / "access.log"
    env = portal_env(database_url, sandbox_server.base_url, VAULT_SPEC, str(tmp_path))
    portal = Gunicorn(
        "wsgi:app",
        env | {"WALLET_CONFIG": "development"},
        workers=1,
        threads=2,
        extra_args=("-c", "gunicorn.conf.py", "--access-logfile", str(log)),
    )
    try:
        yield portal.url, log
    finally:
        portal.stop()


def test_access_log_of_gunicorn_is_scrubbed(gunicorn_log: tuple[str, Path]) -> None:
    url, log = gunicorn_log
    for path in _paths():
        requests.get(
            url + path,
            headers={"Referer": f"{url}/l/{TOKEN}"},
            allow_redirects=False,
            timeout=10,
        )
    deadline = time.monotonic() + 10
    while len(log.read_text().splitlines()) < len(_paths()) + 1:  # + the health check
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.05)
    _assert_scrubbed(log.read_text().splitlines())


def test_stored_api_answers_hold_no_usable_token(
    app: Flask, shop: Shop, new_order: Any
) -> None:
    # Attack (L4): api_idempotency_keys.response_body held pay-link tokens in clear.
    order_id = new_order()
    client = app.test_client()
    path = f"/api/v1/orders/{order_id}/wallet-links"
    first = client.post(path, json={}, headers=shop.headers("link-1"))
    assert first.status_code == 201
    token = first.get_json()["token"]
    with app.app_context():
        stored = db.session.scalars(select(ApiIdempotencyKey.response_body)).all()
    assert stored
    assert all(token not in body and order_id not in body for body in stored)
    replay = client.post(path, json={}, headers=shop.headers("link-1"))
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.get_json()["token"] == token  # the replay still rebuilds it


def test_stored_plaintext_answers_from_before_still_replay(
    app: Flask, shop: Shop
) -> None:
    client = app.test_client()
    body = {"amount": 1000, "order_name": "Old"}
    first = client.post("/api/v1/orders", json=body, headers=shop.headers("old-1"))
    with app.app_context():
        row = db.session.scalar(select(ApiIdempotencyKey))
        row.response_body = '{"legacy": true}'  # as stored before revision 0006
        db.session.commit()
    replay = client.post("/api/v1/orders", json=body, headers=shop.headers("old-1"))
    assert first.status_code == replay.status_code == 201
    assert replay.get_json() == {"legacy": True}


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask_022() -> Iterator[None]:
    """The usual umask, under which plain open() makes 0644 files."""
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.mark.usefixtures("umask_022")
def test_instance_files_are_created_owner_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, app: Flask, shop: Shop
) -> None:
    # Attack (L4): instance/wallet.sqlite3 was created 0644.
    instance = tmp_path / "instance"
    monkeypatch.setenv("WALLET_INSTANCE_PATH", str(instance))
    dev = create_app(DevConfig)
    with dev.app_context():
        db.engine.connect().close()
        db.engine.dispose()
    assert _mode(instance / "wallet.sqlite3") == 0o600
    assert _mode(instance / "config.py") == 0o600  # the generated dev secrets
    assert _mode(instance) == 0o700

    from wallet.sandbox.state import Store

    Store(str(tmp_path / "sandbox.sqlite3")).close()
    assert _mode(tmp_path / "sandbox.sqlite3") == 0o600

    from wallet.services import demo

    store = tmp_path / "demo-merchant.json"
    with app.test_request_context("/"):
        demo.seed_merchant("http://127.0.0.1:6250", store)
    assert _mode(store) == 0o600
