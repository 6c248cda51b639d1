"""BrandPay wallet portal: the application factory."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask

from wallet import template_i18n
from wallet.files import private_file, write_private

ROOT = Path(__file__).resolve().parent.parent

log = logging.getLogger(__name__)


def create_app(
    config: type | None = None, overrides: dict[str, Any] | None = None
) -> Flask:
    """Build the portal app. Without a config class, WALLET_CONFIG picks one (default dev)."""
    from wallet import config as cfg

    if config is None:
        name = os.environ.get("WALLET_CONFIG", "development")
        config = {"production": cfg.Config, "development": cfg.DevConfig}.get(name)
        if config is None:
            raise cfg.ConfigError(
                f"WALLET_CONFIG must be 'production' or 'development', not {name!r}"
            )
    app = Flask(
        __name__,
        instance_path=os.environ.get("WALLET_INSTANCE_PATH") or None,
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    # Templates compiled per language, constant `_()` translated in (issue 16).
    app.jinja_environment = template_i18n.Environment
    app.config.from_object(config)
    app.config["MIGRATIONS_DIR"] = ROOT / "migrations"
    app.config["TRANSLATIONS_DIR"] = ROOT / "wallet" / "translations"
    if not app.testing:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env("WALLET")
        if app.config["ENV_NAME"] == "development":
            _ensure_dev_secrets(app)
    app.config.update(overrides or {})
    _finish_config(app)
    if app.config["ENV_NAME"] == "production":
        cfg.check_production(app.config)
    _init(app)
    return app


def _finish_config(app: Flask) -> None:
    from wallet.config import sdk_frame_origins, sdk_url

    url = app.config.get("DATABASE_URL")
    if not url:
        # Created 0600 before SQLite opens it (its journals take the same mode).
        path = private_file(Path(app.instance_path) / "wallet.sqlite3")
        url = f"sqlite:///{path}"
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    if url.startswith("sqlite"):
        # SQLite: wait for the writer instead of failing at once under concurrency.
        opts = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        opts.setdefault("connect_args", {"timeout": 30})
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = opts
    app.config["SDK_URL"] = sdk_url(app.config)
    parts = urlsplit(app.config["SDK_URL"])
    app.config["SDK_ORIGIN"] = f"{parts.scheme}://{parts.netloc}"
    app.config["SDK_FRAME_ORIGINS"] = sdk_frame_origins(
        app.config, app.config["SDK_ORIGIN"]
    )


def _ensure_dev_secrets(app: Flask) -> None:
    """Development only: write random secrets to instance/config.py once, then reuse them."""
    if app.config.get("SECRET_KEY") and app.config.get("VAULT_KEYS"):
        return
    from wallet.crypto import TokenVault

    path = Path(app.instance_path) / "config.py"
    lines = []
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secrets.token_urlsafe(48)
        lines.append(f"SECRET_KEY = {app.config['SECRET_KEY']!r}")
    if not app.config.get("VAULT_KEYS"):
        app.config["VAULT_KEYS"] = TokenVault.generate_spec("dev1")
        lines.append(f"VAULT_KEYS = {app.config['VAULT_KEYS']!r}")
    write_private(
        path,
        "# Generated for local development by wallet.create_app; keep it private.\n"
        + "\n".join(lines)
        + "\n",
        append=True,
    )


def _init(app: Flask) -> None:
    from wallet import cli, errors, extensions, logs, security, sessions, templating
    from wallet.crypto import TokenVault
    from wallet.toss import TossClient
    from wallet.views import BLUEPRINTS

    for init in (
        extensions.init_app,
        sessions.init_app,
        security.init_app,
        logs.init_app,
        errors.init_app,
        templating.init_app,
        cli.init_app,
    ):
        init(app)
    # Listeners that turn state changes into outbox rows: merchant webhooks (imported
    # by the views) and member mail (receipts; the account flows' kinds come with
    # their views).
    from wallet.services import receipts  # noqa: F401

    for bp in BLUEPRINTS:
        app.register_blueprint(bp)
    if app.config.get("DEV_MAILBOX_DIR") and app.config["ENV_NAME"] != "production":
        from wallet.views import dev_mailbox  # `make run`'s mailbox (wallet/devmail.py)

        app.register_blueprint(dev_mailbox.bp)
    if app.config.get("VAULT_KEYS"):
        app.extensions["vault"] = TokenVault.from_config(app.config["VAULT_KEYS"])
    app.extensions["toss"] = TossClient(
        app.config["TOSS_API_BASE"],
        app.config["TOSS_SECRET_KEY"] or "",
        timeout=tuple(app.config["TOSS_TIMEOUT"]),
        proxy=app.config.get("TOSS_PROXY") or None,
    )
