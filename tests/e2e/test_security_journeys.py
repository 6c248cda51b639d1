"""Issue 14 in Chromium: a privileged action interrupted by the password is finished
in one click with everything kept; a new API key is shown once, with a working copy
button, and a reload neither shows it again nor makes another."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from tests.e2e import steps
from wallet.extensions import db
from wallet.models.merchant import MerchantApiKey
from wallet.services import demo, merchants

pytestmark = pytest.mark.e2e


def test_staff_key_after_reauth_shown_once_with_copy(
    page: Any,
    live_portal: str,
    app: Flask,
    tmp_path: Any,
    shot: Callable[..., Any],
    assert_accessible: Callable[..., None],
) -> None:
    with app.test_request_context("/", base_url=live_portal):
        demo.seed()
        demo.seed_merchant("http://127.0.0.1:6251", tmp_path / "demo.json")
    page.context.grant_permissions(
        ["clipboard-read", "clipboard-write"], origin=live_portal
    )
    email, password = demo.DEMO_SHOP_STAFF
    page.goto(f"{live_portal}/auth/login")
    steps.log_in(page, live_portal, email, password)
    page.wait_for_url(f"{live_portal}/wallet")
    page.goto(f"{live_portal}/merchant")
    page.get_by_label("Label").fill("checkout server")
    page.get_by_role("button", name="Create API key").click()

    page.wait_for_url(f"{live_portal}/auth/reauth**")
    assert "Create an API key" in page.content()
    shot("reauth-kept")
    assert_accessible("password page with a kept action")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Continue").click()

    page.wait_for_url(f"{live_portal}/auth/resume")
    assert "checkout server" in page.locator("main").inner_text()  # kept, not retyped
    shot("resume")
    assert_accessible("resume page")
    page.get_by_role("button", name="Confirm and finish").click()

    page.wait_for_url(f"{live_portal}/merchant**")
    key = page.locator("#key-shown-value").input_value()
    assert key.startswith("bpk_")
    page.get_by_role("button", name="Copy").click()
    page.get_by_role("status").filter(has_text="Copied").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == key
    shot("key-shown-once")
    assert_accessible("new key shown once")

    page.reload()
    assert key not in page.content()  # once only
    with app.app_context():
        labels = [k.label for k in db.session.query(MerchantApiKey).all()]
    assert labels.count("checkout server") == 1  # and the reload minted nothing
    with app.app_context():
        assert merchants.authenticate_api_key(key)
