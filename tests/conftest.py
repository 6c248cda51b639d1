"""Shared fixtures: a migrated database per test (SQLite or PostgreSQL), the app, login.

The schema is always built through the Alembic migrations, once per session: on SQLite
the migrated file is copied for every test; on PostgreSQL (WALLET_TEST_DATABASE_URL) a
private database is created for the session and its tables are truncated after each test.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from tests import browser as chromium
from wallet import create_app
from wallet.config import TestConfig
from wallet.crypto import TokenVault
from wallet.extensions import db

# Chromium for every browser test (tests/e2e, tests/sdk): one instance per session.
browser = chromium.browser
page = chromium.page
shot = chromium.shot
assert_accessible = chromium.assert_accessible
js_errors = chromium.js_errors
pytest_runtest_makereport = chromium.pytest_runtest_makereport

PG_URL = os.environ.get("WALLET_TEST_DATABASE_URL", "")
VAULT_SPEC = TokenVault.generate_spec("t1")
CSRF_RE = re.compile(
    r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"'
)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No WALLET_* setting from the developer's shell leaks into a test."""
    for name in list(os.environ):
        if name.startswith("WALLET_") and name != "WALLET_TEST_DATABASE_URL":
            monkeypatch.delenv(name)


def _pg_admin_url() -> str:
    return PG_URL.replace("postgresql://", "postgresql+psycopg://", 1)


@pytest.fixture(scope="session")
def database_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database migrated to head; yields its URL (SQLite: a file to copy)."""
    if PG_URL:
        name = f"wallet_test_{uuid.uuid4().hex[:12]}"
        admin = create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = PG_URL.rsplit("/", 1)[0] + f"/{name}"
        _migrate(url)
        yield url
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    else:
        path = tmp_path_factory.mktemp("db") / "template.sqlite3"
        url = f"sqlite:///{path}"
        _migrate(url)
        yield url


def _migrate(url: str) -> None:
    from flask_migrate import upgrade

    app = create_app(TestConfig, {"DATABASE_URL": url, "VAULT_KEYS": VAULT_SPEC})
    with app.app_context():
        upgrade()
        db.engine.dispose()


def make_app(database_url: str, **overrides: Any) -> Flask:
    """A test app on the given database."""
    settings = {"DATABASE_URL": database_url, "VAULT_KEYS": VAULT_SPEC}
    settings.update(overrides)
    return create_app(TestConfig, settings)


@pytest.fixture
def database_url(database_template: str, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database for one test."""
    if database_template.startswith("sqlite"):
        src = Path(database_template.removeprefix("sqlite:///"))
        dst = tmp_path / "wallet.sqlite3"
        shutil.copy(src, dst)
        yield f"sqlite:///{dst}"
        return
    yield database_template
    engine = create_engine(
        database_template.replace("postgresql://", "postgresql+psycopg://", 1)
    )
    with engine.begin() as conn:
        tables = (
            conn.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname='public' AND tablename <> 'alembic_version'"
                )
            )
            .scalars()
            .all()
        )
        if tables:
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[Any]:
    """One Toss sandbox for the session, served over real HTTP on 127.0.0.1."""
    from wallet.sandbox.testing import SandboxServer

    server = SandboxServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def sandbox(sandbox_server: Any) -> Iterator[Any]:
    """The sandbox with no faults left over from another test."""
    sandbox_server.clear_faults()
    yield sandbox_server
    sandbox_server.clear_faults()


@pytest.fixture
def app_overrides() -> dict[str, Any]:
    """Per-test config overrides (override this fixture in a module)."""
    return {}


@pytest.fixture
def app(
    database_url: str, app_overrides: dict[str, Any], sandbox_server: Any
) -> Iterator[Flask]:
    """The portal app on a fresh database, its Toss client pointed at the sandbox."""
    settings = {"TOSS_API_BASE": sandbox_server.base_url}
    settings.update(app_overrides)
    application = make_app(database_url, **settings)
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def live_portal(app: Flask) -> Iterator[str]:
    """The portal app served over real HTTP on a free loopback port; yields its URL."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    app.config["PUBLIC_URL"] = url
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield url
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client (CSRF is on: forms must carry the token)."""
    return app.test_client()


def csrf_token(html: str) -> str:
    """The CSRF token of the first form on a page."""
    match = CSRF_RE.search(html)
    assert match, "no csrf_token field on the page"
    return match.group(1) or match.group(2)


def log_in(client: FlaskClient, email: str, password: str) -> Any:
    """Log in through the real form (CSRF token from the page); returns the response."""
    page = client.get("/auth/login")
    return client.post(
        "/auth/login",
        data={
            "email": email,
            "password": password,
            "csrf_token": csrf_token(page.get_data(as_text=True)),
        },
    )


def logged_in_client(app: Flask, email: str, password: str) -> FlaskClient:
    """A new test client (own cookie jar) logged in as this member."""
    client = app.test_client()
    resp = log_in(client, email, password)
    assert resp.status_code == 302, f"login as {email} failed: {resp.status_code}"
    return client


@pytest.fixture
def make_member(app: Flask) -> Callable[..., Any]:
    """Create a member through the service (so the audit log and KDF are real)."""
    from wallet.services import members

    def _make(
        email: str = "member@example.com",
        password: str = "correct-horse-1",
        role: str = "member",
    ) -> Any:
        with app.app_context():
            member = members.register(email, password, role=role)
            return member.id

    return _make


@pytest.fixture
def login(client: FlaskClient) -> Callable[..., Any]:
    """Log in through the real form, CSRF token included."""

    def _login(
        email: str = "member@example.com", password: str = "correct-horse-1"
    ) -> Any:
        page = client.get("/auth/login")
        token = csrf_token(page.get_data(as_text=True))
        return client.post(
            "/auth/login",
            data={"email": email, "password": password, "csrf_token": token},
        )

    return _login


@pytest.fixture
def smtp_sink(tmp_path: Path) -> Iterator[Any]:
    """A real SMTP server on a free loopback port (aiosmtpd) filing mail in a Maildir;
    `smtp_sink.wait_for(n)` returns the first n mails that arrived."""
    from wallet.devmail import MailSink

    sink = MailSink(tmp_path / "smtp-sink").start()
    yield sink
    sink.stop()
