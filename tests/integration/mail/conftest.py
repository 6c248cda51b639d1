"""Fixtures for the mail tests: the portal sends through a real SMTP server on a free
loopback port (aiosmtpd, `smtp_sink` in tests/conftest.py); tests run the outbox
worker and read what arrived. Nothing about SMTP is mocked."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests.conftest import csrf_token, make_app
from tests.integration.brandpay.conftest import (  # noqa: F401 - fixtures
    browser,
    link,
    linked,
)
from tests.integration.payments.conftest import payer  # noqa: F401 - fixture
from wallet.devmail import StoredMail
from wallet.extensions import db
from wallet.models import AuditEvent
from wallet.models.member_token import MemberToken
from wallet.models.outbox import OutboxEvent
from wallet.services import members, outbox, password_reset

PUBLIC = "http://localhost"  # loopback: the sandbox accepts it as a redirect URL
PASSWORD = "correct-horse-1"
_LINK_RE = re.compile(r"https?://[^\s<>\"']+")


@pytest.fixture
def app_overrides(smtp_sink: Any) -> dict[str, Any]:
    """Mail on: this test's SMTP server, links on a fixed public URL."""
    return {
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": smtp_sink.port,
        "PUBLIC_URL": PUBLIC,
        "MAIL_TIMEOUT": 5.0,
    }


def deliver(app: Flask, worker: str = "test-worker") -> int:
    """Run the outbox worker until nothing is due; returns the attempts made."""
    total = 0
    with app.app_context():
        while made := outbox.run_once(worker, channels=["mail"]):
            total += made
        db.session.remove()
    return total


def links(mail: StoredMail) -> list[str]:
    """The links of a mail's text part, in order."""
    return _LINK_RE.findall(mail.text)


def path_of(url: str) -> str:
    """A link's path, to follow it with the test client (its host is PUBLIC)."""
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == PUBLIC, url
    return parts.path + (f"?{parts.query}" if parts.query else "")


def link_to(mail: StoredMail, prefix: str) -> str:
    """The path of the mail's one link that starts with `prefix`."""
    found = [path_of(u) for u in links(mail) if path_of(u).startswith(prefix)]
    assert len(found) == 1, (prefix, links(mail))
    return found[0]


def post_form(
    client: FlaskClient, page: str, data: dict[str, Any], action: str | None = None
) -> Any:
    """POST `data` to `action` (default `page`) with the CSRF token of `page`."""
    html = client.get(page).get_data(as_text=True)
    return client.post(action or page, data={"csrf_token": csrf_token(html), **data})


def counts(app: Flask) -> dict[str, int]:
    """Rows that a refused request must not add: tokens, outbox rows, audit entries."""
    with app.app_context():
        found = {
            name: int(db.session.scalar(select(func.count()).select_from(model)) or 0)
            for name, model in (
                ("tokens", MemberToken),
                ("outbox", OutboxEvent),
                ("audit", AuditEvent),
            )
        }
        found["spent"] = int(
            db.session.scalar(
                select(func.count(MemberToken.id)).where(
                    MemberToken.used_at.is_not(None)
                )
            )
            or 0
        )
        db.session.remove()
        return found


@pytest.fixture
def member(make_member: Callable[..., Any]) -> dict[str, Any]:
    """A member account (not logged in anywhere)."""
    email = "kim@example.com"
    return {"id": make_member(email, PASSWORD), "email": email}


@pytest.fixture
def app_with(database_url: str, sandbox: Any) -> Iterator[Callable[..., Flask]]:
    """Another app on this test's database and sandbox, with its own settings."""
    made: list[Flask] = []

    def _make(**overrides: Any) -> Flask:
        made.append(make_app(database_url, TOSS_API_BASE=sandbox.base_url, **overrides))
        return made[-1]

    yield _make
    for other in made:
        with other.app_context():
            db.engine.dispose()


def member_asks_reset(app: Flask, email: str) -> None:
    """Create a member and queue a password-reset mail for them (one outbox row)."""
    with app.app_context():
        members.register(email, PASSWORD)
        password_reset.request_reset(email)
        db.session.remove()
