"""Fixtures for the admin console tests: an admin in their own browser who can
re-authenticate, and the BrandPay/payment fixtures of those areas (real sandbox links
and payments over HTTP), reused rather than rebuilt."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.integration.brandpay.conftest import (  # noqa: F401 (fixtures)
    PASSWORD,
    Browser,
    audit_actions,
    browser,
    link,
    link_row,
    linked,
)
from tests.integration.payments.conftest import payer  # noqa: F401 (fixture)


def reauth(who: Browser) -> None:
    """Enter the password again, as /auth/reauth asks before privileged actions.

    302 back to where it was asked from, or 303 to /auth/resume when an interrupted
    action is waiting (tests/integration/security/test_reauth_everywhere.py).
    """
    resp = who.post_form("/auth/reauth", "/auth/reauth", {"password": PASSWORD})
    assert resp.status_code in (302, 303), resp.status_code


@pytest.fixture
def admin(browser: Callable[..., Browser]) -> Browser:  # noqa: F811
    """An admin logged in through the real form, in their own test client."""
    return browser(role="admin")


__all__ = ["PASSWORD", "Browser", "audit_actions", "link_row", "reauth"]


def actions(app: Any) -> list[str]:
    """Every audit action recorded so far, oldest first."""
    from sqlalchemy import select

    from wallet.extensions import db
    from wallet.models import AuditEvent

    with app.app_context():
        return list(
            db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq))
        )
