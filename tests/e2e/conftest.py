"""Browser journeys: Playwright driving Debian's chromium against the live portal + sandbox."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest


@dataclass
class ShopSite:
    """The example shop served on its own loopback port, as the demo merchant."""

    url: str
    app: Any
    merchant_id: str


@pytest.fixture
def example_shop(app: Any, live_portal: str, tmp_path: Path) -> Iterator[ShopSite]:
    """examples/merchant_shop.py on a free port, set up by the `make run` demo's code."""
    from werkzeug.serving import make_server

    from examples.merchant_shop import create_shop
    from wallet.services import demo

    holder: dict[str, Any] = {}
    server = make_server(
        "127.0.0.1", 0, lambda env, start: holder["app"](env, start), threaded=True
    )
    url = f"http://127.0.0.1:{server.server_port}"  # the merchant's allowed origin
    with app.test_request_context("/", base_url=live_portal):
        merchant = demo.seed_merchant(url, tmp_path / "demo-merchant.json")
    holder["app"] = create_shop(
        live_portal,
        merchant.api_key,
        merchant.signing_secret,
        merchant.public_id,
        public_url=url,
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield ShopSite(url, holder["app"], merchant.public_id)
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def navigate_mode(sandbox: Any) -> Iterator[None]:
    """The sandbox's SANDBOX_REDIRECT_MODE=navigate: redirectUrl takes the whole page."""
    sandbox.app.config["SANDBOX_REDIRECT_MODE"] = "navigate"
    yield
    sandbox.app.config["SANDBOX_REDIRECT_MODE"] = "fetch"
