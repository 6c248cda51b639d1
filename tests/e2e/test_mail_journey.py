"""Forgot password, in Chromium, with real mail: the login page's link → the form →
the outbox worker sends through a real SMTP server on loopback → the dev mailbox
shows the mail → its link → a new password → logged in with it. Every page passes
axe and fits a phone; the submit buttons show their pending state."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from tests.e2e import steps
from tests.integration.mail.conftest import deliver, links
from wallet.services import members

pytestmark = pytest.mark.e2e

EMAIL = "forgetful@example.com"
OLD, NEW = "forgotten-pass-1", "remembered-pass-2"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1100, "height": 900}
_OVERFLOW = (
    "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
)


@pytest.fixture
def app_overrides(smtp_sink: Any) -> dict[str, Any]:
    """Mail to this test's SMTP server; the dev mailbox reads its Maildir."""
    return {
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": smtp_sink.port,
        "DEV_MAILBOX_DIR": str(smtp_sink.directory),
        "RATELIMIT_ENABLED": False,
    }


def _fits_phone(page: Any) -> int:
    size = page.viewport_size
    page.set_viewport_size(PHONE)
    overflow = int(page.evaluate(_OVERFLOW))
    page.set_viewport_size(size)
    return overflow


def test_mail_journey_forgot_password_reset_by_mailed_link_completes(
    page: Any,
    app: Flask,
    live_portal: str,
    smtp_sink: Any,
    shot: Callable[[str], Any],
    assert_accessible: Callable[[str], None],
    js_errors: list[str],
) -> None:
    with app.app_context():
        members.register(EMAIL, OLD)
    page.goto(f"{live_portal}/auth/login")
    page.get_by_role("link", name="Forgot your password?").click()
    page.wait_for_url(f"{live_portal}/auth/forgot")
    assert_accessible("forgot password")
    assert _fits_phone(page) <= 0
    page.get_by_label("Email").fill(EMAIL)
    button = page.get_by_role("button", name="Send the link")
    assert button.get_attribute("data-busy-label") == "Sending…"
    button.click()
    page.get_by_role("heading", name="Check your email").wait_for()
    shot("link-sent")
    assert_accessible("link sent")

    assert deliver(app) == 1
    (mail,) = smtp_sink.wait_for(1)
    assert mail.to == EMAIL
    page.goto(f"{live_portal}/_dev/mailbox")
    assert_accessible("dev mailbox")
    page.get_by_role("link", name="Reset your BrandPay Wallet password").click()
    page.get_by_role("heading", name="Reset your BrandPay Wallet password").wait_for()
    shot("mail")
    assert_accessible("dev mailbox message")
    assert _fits_phone(page) <= 0
    page.get_by_role("link", name=f"{live_portal}/auth/reset/", exact=False).click()

    page.wait_for_url(f"{live_portal}/auth/reset")  # the token left the address bar
    assert_accessible("new password form")
    assert _fits_phone(page) <= 0
    page.get_by_label("New password", exact=True).fill(NEW)
    page.get_by_label("Repeat the new password").fill(NEW)
    page.get_by_role("button", name="Set the new password").click()
    page.wait_for_url(f"{live_portal}/auth/login")
    assert page.get_by_text("Your password was changed.").is_visible()
    shot("password-changed")

    steps.log_in(page, live_portal, EMAIL, NEW)
    page.wait_for_url(f"{live_portal}/wallet")

    # The spent link, opened again, says so clearly (a 400 the console reports).
    (spent,) = [u for u in links(mail) if "/auth/reset/" in u]
    page.goto(spent)
    page.get_by_role("heading", name="This link cannot be used").wait_for()
    assert_accessible("spent link")
    js_errors[:] = [e for e in js_errors if not (" 400 " in e and spent in e)]

    page.goto(f"{live_portal}/account/email")
    page.get_by_role("heading", name="Change your email").wait_for()
    assert_accessible("change email")
    assert _fits_phone(page) <= 0
    assert js_errors == []
