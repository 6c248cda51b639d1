"""The portal renders and logs in through a real browser."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

pytestmark = pytest.mark.e2e


def test_login_page_in_browser_logs_in_and_out(
    page: Any,
    live_portal: str,
    make_member: Callable[..., Any],
    shot: Callable[[str], Any],
    assert_accessible: Callable[[str], None],
) -> None:
    make_member("browser@example.com", "browser-pass-1")
    page.goto(f"{live_portal}/auth/login")
    shot("login")
    assert_accessible("login")
    page.get_by_label("Email").fill("browser@example.com")
    page.get_by_label("Password").fill("browser-pass-1")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_portal}/wallet")
    assert page.get_by_role("heading", level=1).inner_text() == "Your wallet"
    shot("wallet")
    assert_accessible("wallet")
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{live_portal}/auth/login")
