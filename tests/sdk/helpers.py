"""Helpers for the SDK browser tests (no fixtures here)."""

from __future__ import annotations

from typing import Any

FRAME = "iframe[title='토스페이먼츠 결제창']"
OVERLAY = "[data-toss-sandbox=overlay]"


def outcome(page: Any) -> dict[str, Any]:
    """Wait for the tracked call to settle; its {ok, value} or {ok, code, name}."""
    page.wait_for_function("() => window.harness.outcome !== null")
    return page.evaluate("() => window.harness.outcome")  # type: ignore[no-any-return]


def window_frame(page: Any) -> Any:
    """The overlay's hosted window (a cross-origin iframe)."""
    page.wait_for_selector(FRAME)
    return page.frame_locator(FRAME)
