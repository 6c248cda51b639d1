"""Flask extension singletons, bound to an app in `init_app`."""

from __future__ import annotations

from typing import Any

from flask import Flask, request
from flask_babel import Babel
from flask_babel import lazy_gettext as _l
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user
from flask_mailman import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Declarative base with stable constraint names (Alembic batch mode needs them)."""

    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
babel = Babel()
mail = Mail()  # SMTP from the outbox worker (wallet/services/mail.py)


def select_locale() -> str | None:
    """The member's language setting first, then the browser's Accept-Language."""
    from flask import current_app, has_request_context, session

    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI commands and worker threads
        return str(current_app.config["BABEL_DEFAULT_LOCALE"])
    chosen = session.get("lang")
    if chosen in languages:
        return str(chosen)
    if current_user and current_user.is_authenticated and current_user.locale:
        return str(current_user.locale)
    default = str(current_app.config["BABEL_DEFAULT_LOCALE"])
    return request.accept_languages.best_match(languages) or default


def select_timezone() -> str:
    """All times are shown in Korea's time zone."""
    return "Asia/Seoul"


def _sqlite_wal(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def init_app(app: Flask) -> None:
    """Bind every extension to the app."""
    db.init_app(app)
    if app.config.get("SQLITE_WAL") and str(
        app.config["SQLALCHEMY_DATABASE_URI"]
    ).startswith("sqlite:///"):
        with app.app_context():
            event.listen(db.engine, "connect", _sqlite_wal)
    migrate.init_app(app, db, directory=str(app.config["MIGRATIONS_DIR"]))
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    # Flask-Login flashes its own English sentence; ours is translated when flashed.
    login_manager.login_message = _l("Please log in to access this page.")
    login_manager.localize_callback = str
    login_manager.session_protection = "strong"
    limiter.init_app(app)  # before CSRF, so requests that fail CSRF still count
    csrf.init_app(app)
    mail.init_app(app)
    babel.init_app(
        app,
        locale_selector=select_locale,
        timezone_selector=select_timezone,
        default_translation_directories=str(app.config["TRANSLATIONS_DIR"]),
    )
