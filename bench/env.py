"""The benchmark environment: a fresh database, the sandbox and portal processes,
members logged in and linked over HTTP, as a browser would."""

from __future__ import annotations

import os
import re
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from flask import Flask
from sqlalchemy import create_engine, text

from bench import seed
from bench.servers import Gunicorn, portal_env
from wallet import create_app
from wallet.config import TestConfig
from wallet.crypto import TokenVault
from wallet.extensions import db
from wallet.sandbox.testing import SandboxServer

VAULT_SPEC = TokenVault.generate_spec("bench")
PG_ENV = "WALLET_BENCH_DATABASE_URL"
HTTP_TIMEOUT = 30
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
_REDIRECT = re.compile(r'data-redirect-url="([^"]+)"')


def backend() -> str:
    """'postgresql' when WALLET_BENCH_DATABASE_URL is set, else 'sqlite'."""
    return "postgresql" if os.environ.get(PG_ENV) else "sqlite"


def app_for(database_url: str) -> Flask:
    """An in-process portal app on the bench database (seeding, test-client timing)."""
    return create_app(
        TestConfig,
        {
            "DATABASE_URL": database_url,
            "VAULT_KEYS": VAULT_SPEC,
            "RATELIMIT_ENABLED": False,
        },
    )


@contextmanager
def database(workdir: Path) -> Iterator[str]:
    """A fresh database migrated to head; dropped afterwards (PostgreSQL)."""
    admin_url = os.environ.get(PG_ENV, "")
    if not admin_url:
        url = f"sqlite:///{workdir / 'bench.sqlite3'}"
        _migrate(url)
        yield url
        return
    driver_url = admin_url.replace("postgresql://", "postgresql+psycopg://", 1)
    name = f"wallet_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(driver_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        _migrate(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _migrate(url: str) -> None:
    from flask_migrate import upgrade

    app = app_for(url)
    with app.app_context():
        upgrade()
        db.engine.dispose()


@contextmanager
def workdir() -> Iterator[Path]:
    """A private temporary directory for databases and instance folders."""
    with tempfile.TemporaryDirectory(prefix="wallet-bench-") as path:
        yield Path(path)


@contextmanager
def sandbox_process(work: Path) -> Iterator[SandboxControl]:
    """The Toss sandbox as its own gunicorn process (state in a file)."""
    env = dict(os.environ) | {
        "SANDBOX_DATABASE": str(work / "sandbox.sqlite3"),
        "SANDBOX_WEBHOOK_URL": "null",
    }
    with Gunicorn(
        "wallet.sandbox:create_app()", env, workers=1, threads=16, health="/"
    ) as server:
        yield SandboxControl(server.url)


@contextmanager
def portal_process(
    work: Path, database_url: str, sandbox_url: str, workers: int = 2, threads: int = 4
) -> Iterator[Gunicorn]:
    """`gunicorn 'wallet:create_app()'` on the bench database and sandbox."""
    env = portal_env(database_url, sandbox_url, VAULT_SPEC, str(work / "instance"))
    with Gunicorn(
        "wallet:create_app()", env, workers=workers, threads=threads
    ) as server:
        yield server


class SandboxControl(SandboxServer):
    """The browser steps and /_sandbox/ control API of a sandbox in another process."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url

    def _control(self, method: str, path: str, **kwargs: Any) -> Any:
        resp = self._http.request(
            method, f"{self.base_url}/_sandbox{path}", timeout=HTTP_TIMEOUT, **kwargs
        )
        resp.raise_for_status()
        return resp.json() if resp.content else None

    def set_fault(self, route: str, **kwargs: Any) -> Any:
        """Add a fault (latency/hang/status/drop/times) over HTTP."""
        return self._control("POST", "/faults", json={"route": route} | kwargs)

    def clear_faults(self) -> None:
        """Remove all faults."""
        self._control("DELETE", "/faults")

    def calls(self, path_prefix: str | None = None) -> list[dict[str, Any]]:
        """The call log (no credentials)."""
        params = {"prefix": path_prefix} if path_prefix else {}
        return list(self._control("GET", "/calls", params=params))

    def tokens_issued(
        self, customer_key: str | None = None, grant_type: str | None = None
    ) -> int:
        """Successful access-token grants."""
        params = {"customerKey": customer_key, "grantType": grant_type}
        found = self._control(
            "GET", "/tokens", params={k: v for k, v in params.items() if v}
        )
        return int(found["issued"])

    def advance_clock(self, seconds: float) -> float:
        """Move the sandbox clock forward."""
        return float(
            self._control("POST", "/clock/advance", json={"seconds": seconds})["offset"]
        )

    def stop(self) -> None:
        """Only the HTTP session: the process belongs to `sandbox_process`."""
        self._http.close()


@dataclass
class Member:
    """A member as a browser sees it: a logged-in session on the portal."""

    id: int
    email: str
    customer_key: str
    http: requests.Session

    @property
    def cookie(self) -> str:
        """The Cookie header of this session (for wrk)."""
        return "; ".join(f"{c.name}={c.value}" for c in self.http.cookies)

    @property
    def user_agent(self) -> str:
        """The User-Agent the session logged in with (strong session protection)."""
        return str(self.http.headers["User-Agent"])


def create_member(
    database_url: str, email: str, role: str = "member"
) -> tuple[int, str]:
    """A member who logs in with seed.SEED_PASSWORD: (id, customerKey)."""
    from wallet.services import members

    app = app_for(database_url)
    with app.app_context():
        member = members.register(email, seed.SEED_PASSWORD, role=role)
        result = (member.id, member.customer_key)
        db.engine.dispose()
    return result


def csrf_of(html: str) -> str:
    """The CSRF token of the first form on a page."""
    found = _CSRF.search(html)
    if not found:
        raise RuntimeError("no csrf_token on the page")
    return found.group(1)


def log_in(portal_url: str, member_id: int, email: str, customer_key: str) -> Member:
    """Log in through the real form on the portal process."""
    http = requests.Session()
    page = http.get(f"{portal_url}/auth/login", timeout=HTTP_TIMEOUT)
    resp = http.post(
        f"{portal_url}/auth/login",
        data={
            "email": email,
            "password": seed.SEED_PASSWORD,
            "csrf_token": csrf_of(page.text),
        },
        allow_redirects=False,
        timeout=HTTP_TIMEOUT,
    )
    if resp.status_code != 302:
        raise RuntimeError(f"login failed: {resp.status_code}")
    return Member(member_id, email, customer_key, http)


def link_wallet(portal_url: str, sandbox: SandboxControl, member: Member) -> None:
    """Link BrandPay end to end: our form, the SDK's redirectUrl, the hosted page."""
    page = member.http.get(f"{portal_url}/wallet/link", timeout=HTTP_TIMEOUT)
    resp = member.http.post(
        f"{portal_url}/wallet/link",
        data={"csrf_token": csrf_of(page.text), "mode": "link"},
        timeout=HTTP_TIMEOUT,
    )
    found = _REDIRECT.search(resp.text)
    if not found:
        raise RuntimeError("connect page without data-redirect-url")
    location = sandbox.link_customer(member.customer_key, found.group(1))
    back = member.http.get(location, allow_redirects=False, timeout=HTTP_TIMEOUT)
    if back.status_code != 302:
        raise RuntimeError(f"link callback refused: {back.status_code}")


def expire_access_tokens(database_url: str) -> None:
    """Make the portal treat every stored access token as expired (forces a refresh)."""
    engine = create_engine(
        database_url.replace("postgresql://", "postgresql+psycopg://", 1)
    )
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE brandpay_links SET access_expires_at = :past"),
            {"past": "2000-01-01 00:00:00+00:00"},
        )
    engine.dispose()
