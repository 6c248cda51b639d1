"""Chromium for every browser test (tests/e2e journeys, tests/sdk contract tests).

One headless Chromium per session, shared by every folder that drives a browser: a
second Playwright instance in the same session cannot start. Imported by
tests/conftest.py, so these fixtures exist for the whole suite.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("WALLET_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "e2e"

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
