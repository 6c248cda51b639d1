"""Helpers for the SDK browser tests (no fixtures here)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
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


def new_key(prefix: str = "ck") -> str:
    """A fresh customerKey / orderId."""
    import uuid

    return f"{prefix}_{uuid.uuid4().hex[:20]}"


def track(page: Any, call: str, arg: Any = None) -> None:
    """Start `call` (JS returning a promise; `a` is `arg`) and keep its outcome."""
    page.evaluate(f"(a) => harness.track(Promise.resolve().then(() => {call}))", arg)


def start(page: Any, call: str, arg: Any = None) -> Any:
    """`track` a call that opens a window; returns the window's frame."""
    track(page, call, arg)
    return window_frame(page)


def overlay_open(page: Any) -> bool:
    """Whether the SDK's overlay is on the merchant's page."""
    return bool(page.evaluate(f"() => !!document.querySelector('{OVERLAY}')"))


def escape_in_window(page: Any, frame: Any) -> None:
    """Press Escape inside the window once its script listens (it asks to close).

    Only the key-down goes to the window: it closes the window, and a key-up sent
    to a frame that is being removed is never acknowledged, so Playwright would wait
    for it forever. The key-up is sent once the window is gone, to the page.
    """
    frame.locator("html[data-window-ready]").wait_for(state="attached")
    frame.locator("body").focus()
    page.keyboard.down("Escape")
    page.wait_for_function("(sel) => !document.querySelector(sel)", arg=FRAME)
    page.keyboard.up("Escape")


def register_card(frame: Any, card_number: str = "4330123412341234") -> None:
    """In a window's registration step: tick every term, enter a test card."""
    frame.get_by_role("heading", name="브랜드페이 결제수단 등록").wait_for()
    for box in frame.get_by_role("checkbox").all():
        box.check()
    frame.get_by_label("카드번호").fill(card_number)
    frame.get_by_role("button", name="등록하기").click()


def pay_with_pin(frame: Any, pin: str = "123456") -> None:
    """On the BrandPay payment step: the PIN, then pay."""
    import re

    frame.get_by_label(re.compile("결제 비밀번호")).fill(pin)
    frame.get_by_role("button", name="결제하기").click()


@contextmanager
def sized_page(
    browser: Any, shop_url: str, client_key: str, width: int, height: int = 844
) -> Iterator[Any]:
    """The checkout page in a browser window of this size, v2 SDK loaded."""
    context = browser.new_context(
        locale="en-US", viewport={"width": width, "height": height}
    )
    context.set_default_timeout(30_000)
    page = context.new_page()
    try:
        page.goto(shop_url + "/")
        page.wait_for_function("() => window.harness !== undefined")
        page.evaluate(
            "k => harness.loadV2(k).then(tp => { window.tp = tp; })", client_key
        )
        yield page
    finally:
        context.close()


def fits_width(page: Any) -> bool:
    """No horizontal overflow: the document is no wider than the viewport."""
    return bool(
        page.evaluate("() => document.documentElement.scrollWidth <= innerWidth")
    )
