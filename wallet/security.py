"""Security plumbing: headers, safe redirects, admin guard, login manager hooks."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial, wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import (
    Flask,
    Response,
    abort,
    current_app,
    redirect,
    request,
    session,
    url_for,
)
from flask_login import current_user
from werkzeug.routing import IntegerConverter

from wallet.extensions import db, login_manager

F = TypeVar("F", bound=Callable[..., Any])

# Ids are INTEGER columns (PostgreSQL int4). A bigger number in a URL can name no row,
# and SQLite cannot even bind one past 2**63 (OverflowError → a 500), so refuse it early.
DB_INT_MAX = 2**31 - 1


# `<int:...>` only matches ids an integer column can hold (else 404). A partial, not a
# subclass: the rules keep werkzeug's own IntegerConverter, just with a `max`.
DB_INT_CONVERTER = partial(IntegerConverter, max=DB_INT_MAX)


def refuse_nul() -> None:
    """400 for a NUL character in the path, query or form: PostgreSQL text cannot hold
    one, so it would otherwise surface as a 500 from deep inside a query."""
    values = [request.path, *(v for _k, vs in request.args.lists() for v in vs)]
    if not request.path.startswith(("/api/", "/webhooks/")):  # JSON there, no forms
        values += [v for _k, vs in request.form.lists() for v in vs]
        values += list(request.form.keys()) + list(request.args.keys())
    if any("\x00" in v for v in values):
        abort(400)


def db_int(value: str) -> int:
    """`request.args.get(name, type=db_int)`: an id-sized int, else the default."""
    number = int(value)
    if not -DB_INT_MAX <= number <= DB_INT_MAX:
        raise ValueError("out of range for an id")
    return number


def safe_next(target: str | None, default: str) -> str:
    """Only same-site relative paths are followed after login (no open redirects)."""
    if not target:
        return default
    parts = urlsplit(target)
    if (
        parts.scheme
        or parts.netloc
        or not target.startswith("/")
        or target.startswith("//")
    ):
        return default
    if "\\" in target or any(ord(c) < 32 for c in target):
        return default
    return target


def admin_required(view: F) -> F:
    """Admins only: anonymous → login, members → 403."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


REAUTH_SESSION_KEY = "reauth_at"


def reauth_required(view: F) -> F:
    """Sensitive admin actions need the password again within REAUTH_MAX_AGE seconds."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        stamp = session.get(REAUTH_SESSION_KEY, 0)
        max_age = current_app.config["REAUTH_MAX_AGE"]
        if not isinstance(stamp, int | float) or time.time() - stamp > max_age:
            # GET: send them to confirm; POST: refuse (the form is re-shown after re-auth).
            target = request.full_path if request.method == "GET" else request.referrer
            return redirect(url_for("auth.reauth", next=safe_next(target, "/admin/")))
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def mark_reauthenticated() -> None:
    """Record a successful password re-entry in the session."""
    session[REAUTH_SESSION_KEY] = int(time.time())


def _set_headers(response: Response) -> Response:
    """Strict defaults; pages carry no inline script or style (CSP below)."""
    h = response.headers
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("Referrer-Policy", "same-origin")
    h.setdefault("X-Frame-Options", "DENY")
    if "Content-Security-Policy" not in h and response.mimetype == "text/html":
        sdk_origin = current_app.config.get("SDK_ORIGIN", "")
        h["Content-Security-Policy"] = (
            "default-src 'self'; "
            f"script-src 'self' {sdk_origin}; "
            "style-src 'self'; img-src 'self' data:; "
            f"connect-src 'self' {sdk_origin}; "
            f"form-action 'self' {sdk_origin}; "
            "frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
        )
    if current_app.config.get("HSTS") and request.is_secure:
        h.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if request.endpoint and not request.endpoint.startswith("static"):
        h.setdefault("Cache-Control", "no-store")
    return response


def init_app(app: Flask) -> None:
    """Wire the user loader, the response headers and the bounded `int` converter."""
    from wallet.models import Member

    # Before the blueprints are registered: rules pick their converter when added.
    app.url_map.converters["int"] = DB_INT_CONVERTER  # type: ignore[assignment]
    app.before_request(refuse_nul)

    @login_manager.user_loader
    def _load(member_id: str) -> Member | None:
        return db.session.get(Member, int(member_id)) if member_id.isdigit() else None

    app.after_request(_set_headers)
