"""Configuration classes; deployment values come from WALLET_* env or instance/config.py."""

from __future__ import annotations

import os
from typing import Any

# contract §9: Toss's public documentation test keys. The sandbox accepts them out of the
# box, so the development config can run offline without anybody's real keys.
DOC_TEST_CLIENT_KEY = "test_ck_D5GePWvyJnrK0W0k6q8gLzN97Eoq"
DOC_TEST_SECRET_KEY = "test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R"  # noqa: S105 - public doc key

REAL_TOSS_API_BASE = "https://api.tosspayments.com"
# contract §6.1: the v2 SDK (BrandPay, the standard and the international card window).
REAL_TOSS_SDK_URL = "https://js.tosspayments.com/v2/standard"
# Where the real SDK's windows come from (its overlay iframe) and what it calls:
# Toss's own hosts (contract §10 lists them for firewalls). The sandbox needs only
# its own origin.
REAL_TOSS_FRAME_ORIGINS = "https://*.tosspayments.com https://*.toss.im"
SANDBOX_API_BASE = "http://127.0.0.1:5001"

# Settings that a production deployment must provide; there is no safe default.
REQUIRED_IN_PRODUCTION = (
    "SECRET_KEY",
    "VAULT_KEYS",
    "TOSS_CLIENT_KEY",
    "TOSS_SECRET_KEY",
)


class ConfigError(RuntimeError):
    """A required setting is missing or malformed."""


class Config:
    """Base settings shared by every environment."""

    ENV_NAME = "production"
    SECRET_KEY: str | None = None
    DATABASE_URL: str | None = None  # None → SQLite file under instance/
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {"pool_pre_ping": True}
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    # SQLite only: write-ahead log with synchronous=NORMAL (bench/README.md, issue 16).
    # Readers no longer wait for the writer and a commit is no longer an fsync; an
    # OS crash or power loss may lose the last commits (never corrupts the file), a
    # crash of the portal itself loses nothing.
    SQLITE_WAL = True

    VAULT_KEYS: str | None = (
        None  # "kid:base64key,..." primary first (wallet/crypto.py)
    )

    TOSS_API_BASE = REAL_TOSS_API_BASE
    TOSS_SDK_URL: str | None = None  # derived from TOSS_API_BASE when unset
    # CSP origins of the SDK's overlay windows (frame-src, connect-src); derived from
    # the SDK URL when unset.
    TOSS_FRAME_ORIGINS: str | None = None
    TOSS_CLIENT_KEY: str | None = None
    TOSS_SECRET_KEY: str | None = None
    TOSS_TIMEOUT = (3.05, 10.0)  # connect, read (seconds)
    # An HTTP(S) proxy for the calls to Toss, e.g. "http://egress.internal:3128". The
    # environment's HTTPS_PROXY and ~/.netrc are not used for them.
    TOSS_PROXY: str | None = None

    # Public base URL of the portal, used for the BrandPay redirect, success and fail
    # URLs handed to the SDK. None → derived from the request (development only).
    PUBLIC_URL: str | None = None

    LINK_ATTEMPT_TTL = 600  # seconds a pending BrandPay link attempt stays valid
    ORDER_TTL = 30 * 60  # contract §4: the checkout window lives 30 minutes
    # Payments (issue 5): how long a duplicate success redirect waits for the first
    # one's confirm, and how many days a member may cancel their own payment.
    CONFIRM_WAIT_SECONDS = 15.0
    MEMBER_CANCEL_DAYS = 7

    # Merchants (issue 6): API rate limit per key, wallet-link lifetime, webhook outbox.
    API_RATELIMIT = "300 per minute"
    WALLET_LINK_TTL = 600  # longest `exp - iat` accepted for a wallet link (seconds)
    OUTBOX_LEASE_SECONDS = (
        60  # a claimed event is retried after this if its worker died
    )
    OUTBOX_BACKOFF = (5.0, 3600.0)  # first retry delay, cap; doubles with jitter
    OUTBOX_MAX_ATTEMPTS = 12
    OUTBOX_POLL_SECONDS = 2.0
    WEBHOOK_TIMEOUT = (3.05, 10.0)  # connect, read (seconds)
    # The merchant pre-approval hook (issue 15): the member waits on it, so it is short.
    PREAPPROVAL_TIMEOUT = (2.0, 5.0)  # connect, read (seconds)

    # contract §7: Toss's webhook source IPs; None = accept any (see views/webhooks.py).
    TOSS_WEBHOOK_ALLOWED_IPS: str | None = None
    TOSS_WEBHOOK_PUBLISHED_IPS = "13.124.18.147,13.124.108.35,3.36.173.151,3.38.81.32"

    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_LOGIN = "10 per minute"

    RATELIMIT_REGISTER = "5 per hour"  # per address; the page never says who exists

    # Privileged actions (admins; merchant staff's keys, secrets and refunds) need the
    # password again within this many seconds (security.reauth_required).
    REAUTH_MAX_AGE = 5 * 60
    REAUTH_PENDING_TTL = (
        10 * 60
    )  # how long an interrupted action waits for the password
    # Failed passwords (login and re-auth share them), issue 13 L1: per account and
    # client address, LOGIN_THROTTLE_FREE failures, then growing delays (doubling from
    # the base, capped). An account failing LOGIN_THROTTLE_ACCOUNT_CEILING times within
    # the window (from anywhere) only lowers every address's free failures to one:
    # nobody is ever locked out by somebody else's wrong passwords.
    LOGIN_THROTTLE_FREE = 5
    LOGIN_THROTTLE_BASE_SECONDS = 30
    LOGIN_THROTTLE_MAX_SECONDS = 15 * 60
    LOGIN_THROTTLE_ACCOUNT_CEILING = 50
    LOGIN_THROTTLE_WINDOW = 60 * 60  # failures older than this are forgotten

    # Server-side sessions (wallet/sessions.py): the database by default, Redis when
    # set (e.g. redis://127.0.0.1:6379/1). Idle sessions end after
    # PERMANENT_SESSION_LIFETIME; use refreshes it at most every SESSION_TOUCH_SECONDS.
    SESSION_REDIS_URL: str | None = None
    SESSION_KEY_PREFIX = "wallet:session:"
    SESSION_REFRESH_EACH_REQUEST = False
    SESSION_TOUCH_SECONDS = 5 * 60
    # How many proxies in front of the portal may set X-Forwarded-For/-Proto/-Host/
    # -Port (Werkzeug's ProxyFix). 0: the headers are ignored (removed) entirely.
    TRUSTED_PROXY_COUNT = 0

    # Outbound HTTP to merchant-controlled URLs (wallet/outbound.py): private,
    # loopback and link-local addresses are refused unless this is True (development
    # and tests, for the example shop on 127.0.0.1).
    OUTBOUND_ALLOW_PRIVATE = False

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    REMEMBER_COOKIE_HTTPONLY = True
    PERMANENT_SESSION_LIFETIME = 60 * 60 * 8
    WTF_CSRF_TIME_LIMIT = 60 * 60 * 8

    BABEL_DEFAULT_LOCALE = "ko"
    BABEL_DEFAULT_TIMEZONE = "Asia/Seoul"
    LANGUAGES = ("ko", "en")

    # Mail (issue 14): Flask-Mailman over SMTP, sent from the outbox by the worker.
    # None = mail delivery off: rows are still written with their state change and
    # wait in the outbox until a server is configured.
    MAIL_SERVER: str | None = "localhost"
    MAIL_PORT = 25
    MAIL_USE_TLS = False  # STARTTLS (usually port 587)
    MAIL_USE_SSL = False  # implicit TLS (usually port 465)
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None  # a secret: env or instance/config.py only
    MAIL_DEFAULT_SENDER: str | None = None  # None → "BrandPay Wallet <no-reply@<host>>"
    MAIL_TIMEOUT = 10.0  # seconds, for each SMTP connection
    MAIL_BACKEND = "smtp"
    PASSWORD_RESET_TTL = 30 * 60  # a reset link works for 30 minutes, once
    EMAIL_CHANGE_TTL = 24 * 60 * 60  # a new-address confirmation link: one day, once
    # At most this many account mails (reset links, "already registered") per address
    # and hour, so nobody can flood an inbox through the public forms.
    ACCOUNT_MAILS_PER_HOUR = 3
    # `make run` only: the SMTP sink's Maildir, read by the dev mailbox page. Set it and
    # /_dev/mailbox exists (never in production).
    DEV_MAILBOX_DIR: str | None = None

    SEED_DEMO = False
    HSTS = True


class DevConfig(Config):
    """`make run`: SQLite + the sandbox, doc test keys, secrets generated into instance/."""

    ENV_NAME = "development"
    TOSS_API_BASE = os.environ.get("WALLET_TOSS_API_BASE", SANDBOX_API_BASE)
    TOSS_CLIENT_KEY = DOC_TEST_CLIENT_KEY
    TOSS_SECRET_KEY = DOC_TEST_SECRET_KEY
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_SECURE = False
    HSTS = False
    # `make run` starts an SMTP sink here (wallet/devmail.py); WALLET_MAIL_SERVER points
    # development mail elsewhere instead.
    MAIL_SERVER = "127.0.0.1"
    MAIL_PORT = 5025
    OUTBOUND_ALLOW_PRIVATE = True  # the example shop's webhooks go to 127.0.0.1


class TestConfig(DevConfig):
    """pytest: CSRF stays on; the fixtures supply the database URL and vault keys."""

    ENV_NAME = "test"
    TESTING = True
    # Tests read English unless they ask for Korean (Accept-Language: ko); production
    # and development default to Korean.
    BABEL_DEFAULT_LOCALE = "en"
    SECRET_KEY = "test-secret-key-not-for-production"  # noqa: S105
    TOSS_API_BASE = SANDBOX_API_BASE
    # Production timeouts: a loaded CI machine must not turn a slow answer into an
    # "unknown outcome"; tests that need timeouts set their own.
    TOSS_TIMEOUT = (3.05, 10.0)
    RATELIMIT_ENABLED = True
    RATELIMIT_STORAGE_URI = "memory://"
    PUBLIC_URL = None
    # Mail stays in the outbox unless a test points MAIL_SERVER/MAIL_PORT at its own
    # SMTP server on loopback (tests/mail.py).
    MAIL_SERVER = None
    DEV_MAILBOX_DIR = None


def check_production(config: dict[str, Any]) -> None:
    """Refuse to start a production app that lacks a secret; name what is missing."""
    missing = [name for name in REQUIRED_IN_PRODUCTION if not config.get(name)]
    if missing:
        names = ", ".join(f"WALLET_{name}" for name in missing)
        raise ConfigError(
            f"Refusing to start in production: set {names} (environment or "
            "instance/config.py). See README.md › Configuration."
        )


def sdk_url(config: dict[str, Any]) -> str:
    """Where pages load Toss's SDK v2: the real one, or the sandbox's shim."""
    if config.get("TOSS_SDK_URL"):
        return str(config["TOSS_SDK_URL"])
    base = str(config["TOSS_API_BASE"]).rstrip("/")
    if base == REAL_TOSS_API_BASE:
        return REAL_TOSS_SDK_URL
    return f"{base}/v2/standard"  # the sandbox serves the shim at the SDK's path


def sdk_frame_origins(config: dict[str, Any], sdk_origin: str) -> str:
    """CSP sources for the SDK's windows (frame-src) and calls (connect-src)."""
    if config.get("TOSS_FRAME_ORIGINS"):
        return str(config["TOSS_FRAME_ORIGINS"])
    if sdk_url(config) == REAL_TOSS_SDK_URL:
        return f"{sdk_origin} {REAL_TOSS_FRAME_ORIGINS}"
    return sdk_origin
