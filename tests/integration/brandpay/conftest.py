"""Fixtures for the BrandPay link tests: members with their own browser, real links.

Links go through the real path: the portal's link form (CSRF), the connect page's
data-* settings, the sandbox's hosted register page over HTTP, and the redirect back.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.conftest import csrf_token, log_in, logged_in_client
from wallet.extensions import db
from wallet.models import AuditEvent, BrandPayLink, Member

PASSWORD = "correct-horse-1"
_REDIRECT_RE = re.compile(r'data-redirect-url="([^"]+)"')
_emails = itertools.count(1)


@dataclass
class Browser:
    """A logged-in member with their own cookie jar."""

    client: FlaskClient
    member_id: int
    email: str
    customer_key: str

    def post_form(
        self, page: str, action: str, data: dict[str, Any] | None = None
    ) -> Any:
        """POST to `action` with the CSRF token of `page`, like the browser would."""
        token = csrf_token(self.client.get(page).get_data(as_text=True))
        return self.client.post(action, data={"csrf_token": token, **(data or {})})

    def log_in_again(self) -> None:
        """Log in again on the same client (an admin's revoke ends every session)."""
        resp = log_in(self.client, self.email, PASSWORD)
        assert resp.status_code == 302, resp.status_code

    def start(self, mode: str = "link") -> str:
        """Click "Link BrandPay": records an attempt; returns the SDK's redirectUrl."""
        resp = self.post_form("/wallet/link", "/wallet/link", {"mode": mode})
        assert resp.status_code == 303, resp.status_code
        page = self.client.get(resp.headers["Location"]).get_data(as_text=True)
        match = _REDIRECT_RE.search(page)
        assert match, "connect page has no data-redirect-url"
        return match.group(1)


@pytest.fixture
def browser(app: Flask, make_member: Callable[..., Any]) -> Callable[..., Browser]:
    """A new member logged in through the real form, in their own test client."""

    def _make(role: str = "member") -> Browser:
        email = f"m{next(_emails)}@example.com"
        member_id = make_member(email, PASSWORD, role)
        client = logged_in_client(app, email, PASSWORD)
        with app.app_context():
            key = db.session.get(Member, member_id).customer_key
        return Browser(client, member_id, email, key)

    return _make


@pytest.fixture
def link(sandbox: Any) -> Callable[..., Any]:
    """Link a browser's member end to end; returns the callback response."""

    def _link(who: Browser, mode: str = "link", account: bool = False) -> Any:
        redirect_url = who.start(mode)
        if account:
            location = sandbox.add_account(who.customer_key, redirect_url)
        else:
            location = sandbox.link_customer(who.customer_key, redirect_url)
        resp = who.client.get(location)
        assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
        return resp

    return _link


@pytest.fixture
def linked(browser: Callable[..., Browser], link: Callable[..., Any]) -> Browser:
    """A member whose BrandPay is linked with one test card."""
    who = browser()
    link(who)
    return who


def link_row(app: Flask, member_id: int) -> BrandPayLink | None:
    """The member's link row as stored now."""
    with app.app_context():
        row = db.session.scalar(
            select(BrandPayLink).where(BrandPayLink.member_id == member_id)
        )
        if row is not None:
            db.session.expunge(row)
        return row


def audit_actions(app: Flask, action: str) -> list[AuditEvent]:
    """Audit entries with this action, oldest first."""
    with app.app_context():
        rows = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == action)
            .order_by(AuditEvent.seq)
        ).all()
        db.session.expunge_all()
        return list(rows)


def sandbox_tokens(sandbox: Any, customer_key: str) -> list[dict[str, Any]]:
    """Every token pair the sandbox issued to this customer (live or revoked)."""
    return sandbox.sandbox.store.find("token", customerKey=customer_key)
