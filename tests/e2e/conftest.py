"""Browser journeys: Playwright driving Debian's chromium against the live portal + sandbox."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("WALLET_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"

# Flags for a root, offline machine: no sandboxing (root), and nothing that phones home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless chromium for the session."""
    if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
        pytest.skip(
            "chromium is not installed (make test / .ci/run install it with apt-get)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield instance
        instance.close()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser context and page per test; a screenshot is kept if the test fails."""
    context = browser.new_context(
        locale="en-US", viewport={"width": 1100, "height": 900}
    )
    context.set_default_timeout(30_000)  # generous: CI machines are shared and slow
    pg = context.new_page()
    yield pg
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        pg.screenshot(
            path=str(ARTIFACTS / f"{request.node.name}-FAILED.png"), full_page=True
        )
    context.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Expose each phase's report on the item so fixtures can see failures."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture
def shot(page: Any, request: pytest.FixtureRequest) -> Any:
    """Save a numbered, named screenshot of the current page as a test artifact."""
    counter = {"n": 0}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob(f"{request.node.name}-*.png"):
        old.unlink()  # a shorter re-run must not leave stale steps behind

    def _shot(name: str, on: Any = None) -> Path:
        """Screenshot `on` (a popup, say), else the test's page."""
        counter["n"] += 1
        path = ARTIFACTS / f"{request.node.name}-{counter['n']:02d}-{name}.png"
        (on or page).screenshot(path=str(path), full_page=True)
        return path

    return _shot


@pytest.fixture
def assert_accessible(page: Any) -> Any:
    """Run axe-core in the page; fail on any serious or critical violation."""
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()

    def _check(label: str = "", on: Any = None) -> None:
        results = axe.run(on or page)
        bad = [
            f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
            for v in results.response["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        where = label or (on or page).url
        assert bad == [], f"accessibility violations on {where}: {bad}"

    return _check


@pytest.fixture
def js_errors(page: Any) -> list[str]:
    """Uncaught script errors and console errors of the test's page and its popups."""
    errors: list[str] = []

    def console(msg: Any) -> None:
        where = msg.location.get("url", "")
        # Browsers ask every origin for /favicon.ico on their own; not a page's fault.
        if msg.type == "error" and not where.endswith("/favicon.ico"):
            errors.append(f"console: {msg.text} ({where})")

    def watch(pg: Any) -> None:
        pg.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
        pg.on("console", console)

    watch(page)
    page.context.on("page", watch)
    return errors


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
