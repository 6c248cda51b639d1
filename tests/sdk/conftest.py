"""Browser contract tests of the sandbox's SDK: Toss's official loaders in Chromium.

Chromium comes from tests/browser.py (shared with the e2e journeys), the loaders and typings from node_modules (`make test` runs `npm ci`). Without either,
these tests skip.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from wallet.sandbox.testing import SandboxServer

from .site import NODE_MODULES, MerchantSite, serve

# Chromium, the per-test page (screenshot on failure), axe-core and the console watch
# come from tests/browser.py through tests/conftest.py: one browser for the suite.

TYPINGS = Path(__file__).with_name("typings.mjs")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything here drives a browser: mark it like the e2e journeys."""
    for item in items:
        if "tests/sdk/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def npm_ready() -> None:
    """node_modules holds the pinned Toss packages (make test: npm ci)."""
    needed = NODE_MODULES / "@tosspayments/tosspayments-sdk/dist/index.esm.js"
    if not needed.exists() or shutil.which("node") is None:
        pytest.skip("node_modules not installed (make test runs npm ci)")


@pytest.fixture(scope="session")
def typings(npm_ready: None) -> dict[str, Any]:
    """The v2 typings' members and parameter names, parsed now by tsc's API."""
    done = subprocess.run(
        ["node", str(TYPINGS), str(NODE_MODULES)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def sandbox_config() -> dict[str, Any]:
    """Sandbox settings for a test module (override in a module to change them)."""
    return {}


@pytest.fixture(scope="module")
def toss(sandbox_config: dict[str, Any], npm_ready: None) -> Iterator[SandboxServer]:
    """A sandbox for the module, over real HTTP."""
    with SandboxServer(sandbox_config) as server:
        yield server


@pytest.fixture(scope="module")
def site(toss: SandboxServer) -> Iterator[MerchantSite]:
    """The merchant's test page, on another origin than the sandbox."""
    merchant, server = serve(toss.base_url)
    yield merchant
    server.shutdown()
    server.server_close()


@pytest.fixture
def shop(page: Any, site: MerchantSite, toss: SandboxServer) -> Callable[..., Any]:
    """Open the checkout page and load an SDK through the official loader."""
    site.hits.clear()
    site.landed.clear()
    site.redirect_status = 200
    toss.clear_faults()

    def _open(version: str = "v2", client_key: str | None = None, *v1: Any) -> Any:
        page.goto(site.url + "/")
        page.wait_for_function("() => window.harness !== undefined")
        key = client_key or toss.client_key
        if version == "v2":
            page.evaluate("k => harness.loadV2(k).then(tp => { window.tp = tp; })", key)
        else:
            page.evaluate(
                "([k, c, o]) => harness.loadV1(k, c, o).then(bp => { window.bp = bp; })",
                [key, *v1],
            )
        return page

    return _open
