"""The `make run` demo: seeding is idempotent, the member sees a linked wallet with
history, and `python -m wallet.devserver` serves the portal, sandbox and shop."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import select

from tests.conftest import csrf_token
from tests.e2e import steps
from wallet import ROOT
from wallet.extensions import db
from wallet.models.order import Order
from wallet.services import demo, merchants

pytestmark = pytest.mark.e2e


def _history(app: Flask) -> list[tuple[str, str, int | None, bool]]:
    """(name, status, balance, is the merchant's) of every order, by name."""
    with app.app_context():
        rows = db.session.scalars(select(Order).order_by(Order.order_name)).all()
        return [
            (
                o.order_name,
                o.status,
                o.payment.balance_amount if o.payment else None,
                o.merchant_id is not None,
            )
            for o in rows
        ]


def test_demo_seed_twice_links_once_and_pays_once(
    page: Any,
    app: Flask,
    live_portal: str,
    sandbox: Any,
    tmp_path: Path,
    shot: Callable[..., Any],
    assert_accessible: Callable[..., None],
) -> None:
    store = tmp_path / "demo-merchant.json"
    with app.test_request_context("/", base_url=live_portal):
        demo.seed()
        shop = demo.seed_merchant("http://127.0.0.1:5002", store)
        first = demo.seed_wallet(
            sandbox.base_url, live_portal, sandbox.client_key, shop.public_id
        )
    email, password = demo.DEMO_MEMBER
    customer_key = steps.member(app, email).customer_key
    assert first == "demo wallet linked with 2 methods; 4 payments made"
    history = _history(app)
    assert history == [
        ("Bamboo tea whisk", "DONE", 9900, False),
        ("Ceramic teapot", "PARTIAL_CANCELED", 40000, False),
        ("Green tea, 100 g", "DONE", 12300, False),
        ("Jasmine tea, 50 g", "DONE", 8800, True),  # at the shop, via a wallet link
    ]
    grants = sandbox.tokens_issued(customer_key)
    assert grants == 1

    # A restart: nothing new at Toss or in the portal; the same shop credentials.
    with app.test_request_context("/", base_url=live_portal):
        demo.seed()
        same_shop = demo.seed_merchant("http://127.0.0.1:5002", store)
        again = demo.seed_wallet(
            sandbox.base_url, live_portal, sandbox.client_key, shop.public_id
        )
        merchant, _key = merchants.authenticate_api_key(same_shop.api_key)
        assert merchant.public_id == shop.public_id
    assert again == "demo wallet linked with 2 methods"
    assert _history(app) == history
    assert sandbox.tokens_issued(customer_key) == grants
    assert len(sandbox.methods(customer_key)["cards"]) == 2
    assert same_shop == shop
    assert oct(store.stat().st_mode & 0o777) == "0o600"

    # What the demo member sees.
    page.goto(f"{live_portal}/auth/login")
    steps.log_in(page, live_portal, email, password)
    page.wait_for_url(f"{live_portal}/wallet")
    assert page.get_by_text("2 saved payment methods").is_visible()
    assert page.get_by_text("Partly refunded").is_visible()
    shot("demo-wallet")
    assert_accessible("demo wallet")
    page.get_by_role("link", name="Ceramic teapot").click()
    assert page.get_by_role("table", name="Refunds").get_by_text("₩8,000").is_visible()
    shot("demo-partial-refund")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_devserver(env: dict[str, str], log: Path) -> tuple[subprocess.Popen, str]:
    """`python -m wallet.devserver`; returns once it printed its banner and serves."""
    out = log.open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "wallet.devserver"],
        cwd=ROOT,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    portal = f"http://127.0.0.1:{env['WALLET_PORT']}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        try:
            if requests.get(f"{portal}/auth/login", timeout=2).status_code == 200:
                return proc, log.read_text()
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise AssertionError("the devserver did not come up: " + log.read_text())


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def test_devserver_fresh_start_then_restart_serves_demo(tmp_path: Path) -> None:
    ports = {name: str(_free_port()) for name in ("PORT", "SANDBOX_PORT", "SHOP_PORT")}
    env = {k: v for k, v in os.environ.items() if not k.startswith("WALLET_")}
    env |= {f"WALLET_{name}": port for name, port in ports.items()}
    env |= {"WALLET_INSTANCE_PATH": str(tmp_path / "instance"), "FLASK_APP": "wallet"}
    env["PYTHONUNBUFFERED"] = "1"
    for command in (["db", "upgrade"], ["wallet", "seed-demo"]):  # as `make run` does
        subprocess.run(
            [sys.executable, "-m", "flask", *command],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
    portal = f"http://127.0.0.1:{ports['PORT']}"
    shop = f"http://127.0.0.1:{ports['SHOP_PORT']}"

    proc, banner = _start_devserver(env, tmp_path / "first.log")
    try:
        assert "demo wallet linked with 2 methods; 4 payments made" in banner
        assert f"example shop  {shop}/" in banner
        assert "demo@example.com / demo-password-1" in banner
        # Where to go next (issue 14): the consoles, the PIN, test and declined cards.
        for line in ("admin console ", "merchant console ", "payment PIN       123456"):
            assert line in banner, line
        assert re.search(r"test cards +\d{4} \d{4} \d{4} \d{4} \(", banner), banner
        assert "declined card     4000 0000 0000 0002" in banner
        key_line = re.search(r"shop API key  (bpk_[0-9a-f]+)_… ", banner)
        assert key_line, banner
        stored = json.loads((tmp_path / "instance" / "demo-merchant.json").read_text())
        assert key_line.group(1) not in ("", stored.get("api_key"))  # prefix only
        assert stored["api_key"] not in banner
        http = requests.Session()
        http.headers["Accept-Language"] = "en"  # the portal defaults to Korean
        login = http.get(f"{portal}/auth/login", timeout=5)
        email, password = demo.DEMO_MEMBER
        form = {"email": email, "password": password}
        form["csrf_token"] = csrf_token(login.text)
        wallet = http.post(f"{portal}/auth/login", data=form, timeout=5)
        assert wallet.url == f"{portal}/wallet"
        assert "2 saved payment methods" in wallet.text
        storefront = requests.get(f"{shop}/", timeout=10)
        assert storefront.status_code == 200
        assert f'href="{portal}/l/' in storefront.text
    finally:
        _stop(proc)

    proc, banner = _start_devserver(env, tmp_path / "second.log")
    try:
        assert "demo wallet linked with 2 methods\n" in banner
        assert "payments made" not in banner
        assert f"shop API key  {key_line.group(1)}" in banner
    finally:
        _stop(proc)
