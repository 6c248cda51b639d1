"""Security plumbing: headers, safe redirects, admin guard, re-authentication,
signing in and out on server-side sessions, trusted proxies, login manager hooks."""

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
    flash,
    redirect,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user, logout_user
from sqlalchemy import bindparam, select
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from wallet.extensions import db, login_manager
from wallet.models import Member
from wallet.models.member import is_staff_of_any
from wallet.sessions import session_member

F = TypeVar("F", bound=Callable[..., Any])
HANDLE_SESSION_KEY = "_sh"  # this session's device handle (services/sessions.py)
SEEN_SESSION_KEY = "_seen"  # when the session was last touched (epoch seconds)

# Ids are INTEGER columns (PostgreSQL int4). A bigger number in a URL can name no row,
# and SQLite cannot even bind one past 2**63 (OverflowError → a 500), so refuse it early.
DB_INT_MAX = 2**31 - 1


# `<int:...>` only matches ids an integer column can hold (else 404). A partial, not a
# subclass: the rules keep werkzeug's own IntegerConverter, just with a `max`.
DB_INT_CONVERTER = partial(IntegerConverter, max=DB_INT_MAX)


def refuse_nul() -> None:
    """400 for a NUL character in the path, query or form: PostgreSQL text cannot hold
    one, so it would otherwise surface as a 500 from deep inside a query."""
    # The query string as sent: a NUL in any name or value is %00 there (or raw).
    query = request.query_string.decode("latin-1")
    if "\x00" in request.path or "\x00" in query or "%00" in query:
        abort(400)
    if request.method in ("GET", "HEAD") or request.path.startswith(
        ("/api/", "/webhooks/")  # JSON there, no forms
    ):
        return  # no form to read (issue 16: parsing an empty one costs every page)
    values = [v for _k, vs in request.form.lists() for v in vs]
    if any("\x00" in v for v in values + list(request.form.keys())):
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


def referrer_path() -> str | None:
    """The Referer's path and query when it is this site (else None)."""
    referrer = request.referrer
    if not referrer:
        return None
    parts = urlsplit(referrer)
    if parts.netloc and parts.netloc != request.host:
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


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
PENDING_SESSION_KEY = "reauth_pending"
SHOWN_ONCE_SESSION_KEY = "shown_once"
# An interrupted action keeps at most this much form data (a refund, a revoke and its
# reason are tiny); anything bigger is simply typed again after the password.
_PENDING_MAX_CHARS = 8000


def recently_reauthenticated() -> bool:
    """Whether the password was re-entered within REAUTH_MAX_AGE seconds."""
    stamp = session.get(REAUTH_SESSION_KEY, 0)
    max_age = current_app.config["REAUTH_MAX_AGE"]
    return isinstance(stamp, int | float) and time.time() - stamp <= max_age


def _keepable_form() -> list[list[str]] | None:
    """The submitted form without its CSRF token or any password; None if too big."""
    fields = [
        [name, value]
        for name, values in request.form.lists()
        for value in values
        if name != "csrf_token" and "password" not in name.lower()
    ]
    if request.files or sum(len(k) + len(v) for k, v in fields) > _PENDING_MAX_CHARS:
        return None
    return fields


def _keep_pending_action() -> bool:
    """Remember the interrupted POST so that, after the password, it is one click away."""
    fields = _keepable_form()
    if fields is None:
        session.pop(PENDING_SESSION_KEY, None)
        return False
    session[PENDING_SESSION_KEY] = {
        "member": str(current_user.get_id()),
        "at": int(time.time()),
        "endpoint": request.endpoint or "",
        "url": request.path,
        "form": fields,
        "back": safe_next(referrer_path(), "/"),
    }
    return True


def pending_action() -> dict[str, Any] | None:
    """The interrupted action of this user, if it is still fresh."""
    pending = session.get(PENDING_SESSION_KEY)
    ttl = current_app.config["REAUTH_PENDING_TTL"]
    if (
        not isinstance(pending, dict)
        or pending.get("member") != str(current_user.get_id())
        or not isinstance(pending.get("at"), int)
        or time.time() - pending["at"] > ttl
        or pending.get("endpoint") not in current_app.view_functions
    ):
        return None
    return pending


def reauth_label(endpoint: str) -> str | None:
    """What a re-authenticated view does, in words (from its reauth_required label)."""
    view = current_app.view_functions.get(endpoint)
    label = getattr(view, "__reauth_label__", None)
    return str(label) if label is not None else None


def reauth_required(label: Any) -> Callable[[F], F]:
    """Privileged actions need the password again within REAUTH_MAX_AGE seconds.

    `label` says what the action does (shown when it is resumed). A GET goes to the
    password page and back; an interrupted POST is kept (form data, not passwords) and
    offered, filled in, for one click after the password (issue 14). The marker
    `__reauth_required__` is what tests/integration/test_route_security.py checks.
    """

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if recently_reauthenticated():
                if request.method == "POST":
                    session.pop(PENDING_SESSION_KEY, None)  # done, or replaced
                return view(*args, **kwargs)
            if request.method == "GET":
                target = safe_next(request.full_path.rstrip("?"), "/")
                return redirect(url_for("auth.reauth", next=target))
            kept = _keep_pending_action()
            back = safe_next(referrer_path(), "/")
            return redirect(url_for("auth.reauth", next=back, kept=int(kept)), code=303)

        wrapper.__reauth_required__ = True  # type: ignore[attr-defined]
        wrapper.__reauth_label__ = label  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def mark_reauthenticated() -> None:
    """Record a successful password re-entry in the session."""
    session[REAUTH_SESSION_KEY] = int(time.time())


# -- credentials shown once ------------------------------------------------------------


def _shown_once_aad(kind: str) -> str:
    return f"shown-once:{current_user.get_id()}:{kind}"


def keep_shown_once(kind: str, value: str, **context: Any) -> None:
    """Hold a new credential for the next page only (POST-redirect-GET).

    Encrypted with the vault even though sessions are server-side: the session store
    must not hold a usable API key or secret, not even for one request.
    """
    from wallet.services import vault

    session[SHOWN_ONCE_SESSION_KEY] = {
        "kind": kind,
        "value": vault().encrypt(value, aad=_shown_once_aad(kind)),
        **context,
    }


def pop_shown_once(kind: str, **context: Any) -> str | None:
    """The held credential of this kind and context, removed: a reload shows nothing."""
    from wallet.crypto import VaultError
    from wallet.services import vault

    held = session.get(SHOWN_ONCE_SESSION_KEY)
    if not isinstance(held, dict) or held.get("kind") != kind:
        return None
    if any(held.get(name) != value for name, value in context.items()):
        return None
    session.pop(SHOWN_ONCE_SESSION_KEY, None)
    try:
        return vault().decrypt(str(held.get("value")), aad=_shown_once_aad(kind))
    except VaultError:
        return None


# -- signing in and out ------------------------------------------------------------------


def start_session(member: Member) -> None:
    """Log `member` in on a brand-new session (nothing from before survives: fixation)."""
    from wallet.services import sessions

    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    login_user(member)
    session[HANDLE_SESSION_KEY] = sessions.opened(member, request.user_agent.string)
    session[SEEN_SESSION_KEY] = int(time.time())
    _new_session_id()


def renew_session(member: Member) -> None:
    """After the member's epoch changed (e.g. a password change): stay logged in here.

    `member` must be the Member itself: login_user keeps what it is given as the
    current user, and a `current_user` proxy there would resolve to itself forever.
    """
    login_user(member)
    _new_session_id()


def end_session(message: str | None = None, category: str = "info") -> None:
    """Log out: forget this device, delete the server-side session, start a new id.

    `message` is flashed on the new, anonymous session (a copy of the old cookie
    finds nothing on the server: it stops working).
    """
    from wallet.services import sessions

    sessions.closed(current_handle())
    lang = session.get("lang")
    logout_user()
    session.clear()
    if lang:
        session["lang"] = lang
    if message:
        flash(message, category)
    _new_session_id()


def current_handle() -> str | None:
    """This session's device handle (see services/sessions.py)."""
    handle = session.get(HANDLE_SESSION_KEY)
    return handle if isinstance(handle, str) else None


def _new_session_id() -> None:
    """A new session id; the stored data under the old one is deleted (Flask-Session)."""
    interface = current_app.session_interface
    regenerate = getattr(interface, "regenerate", None)
    if regenerate is not None:
        regenerate(session)


def _touch_session() -> None:
    """Keep a signed-in session alive and its device's "last used" current, cheaply:
    at most one write per SESSION_TOUCH_SECONDS (the user loader runs anyway)."""
    if request.endpoint == "static":
        return  # no user loader query for stylesheets and scripts
    handle = session.get(HANDLE_SESSION_KEY) if HANDLE_SESSION_KEY in session else None
    if not handle or not current_user.is_authenticated:
        return
    now = int(time.time())
    seen = session.get(SEEN_SESSION_KEY, 0)
    if (
        isinstance(seen, int)
        and now - seen < current_app.config["SESSION_TOUCH_SECONDS"]
    ):
        return
    from wallet.services import sessions

    sessions.touch(str(handle))
    session[SEEN_SESSION_KEY] = now  # also saves the session: its expiry moves on


# -- proxies ---------------------------------------------------------------------------


def _forget_forwarded(wsgi_app: Any) -> Any:
    """Drop X-Forwarded-* / Forwarded from the environ before the app sees them.

    Without a trusted proxy they are whatever the client typed; behind one, ProxyFix
    (outside this) has already applied the trusted part to REMOTE_ADDR, the scheme and
    the host, and the raw header still starts with the client's own claim, which
    Flask-Login's strong session protection would otherwise read.
    """

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        for name in [k for k in environ if k.startswith("HTTP_X_FORWARDED_")]:
            del environ[name]
        environ.pop("HTTP_FORWARDED", None)
        return wsgi_app(environ, start_response)

    return app


def install_proxy_handling(app: Flask) -> None:
    """Trust X-Forwarded-* only from TRUSTED_PROXY_COUNT proxies (Werkzeug's ProxyFix)."""
    count = int(app.config.get("TRUSTED_PROXY_COUNT") or 0)
    wsgi_app = _forget_forwarded(app.wsgi_app)
    if count > 0:
        wsgi_app = ProxyFix(
            wsgi_app, x_for=count, x_proto=count, x_host=count, x_port=count
        )
    app.wsgi_app = wsgi_app  # type: ignore[method-assign]


def _set_headers(response: Response) -> Response:
    """Strict defaults; pages carry no inline script or style (CSP below)."""
    h = response.headers
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("Referrer-Policy", "same-origin")
    h.setdefault("X-Frame-Options", "DENY")
    if "Content-Security-Policy" not in h and response.mimetype == "text/html":
        sdk_origin = current_app.config.get("SDK_ORIGIN", "")
        windows = current_app.config.get("SDK_FRAME_ORIGINS", sdk_origin)
        # Toss SDK v2: its script, its calls, and its windows, which open in an
        # iframe over our page (contract §6.1); nothing else from outside. Forms post
        # only here: the windows' own forms belong to their frame.
        h["Content-Security-Policy"] = (
            "default-src 'self'; "
            f"script-src 'self' {sdk_origin}; "
            "style-src 'self'; img-src 'self' data:; "
            f"connect-src 'self' {windows}; "
            f"frame-src 'self' {windows}; "
            "form-action 'self'; "
            "frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
        )
    if current_app.config.get("HSTS") and request.is_secure:
        h.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if request.endpoint and not request.endpoint.startswith("static"):
        h.setdefault("Cache-Control", "no-store")
    return response


# The user loader's statement, built once: the member and "is merchant staff".
_LOAD_MEMBER = select(Member, is_staff_of_any(Member.id)).where(
    Member.id == bindparam("member_id")
)


def init_app(app: Flask) -> None:
    """Wire the user loader, session upkeep, headers, proxies and the `int` converter."""
    # Before the blueprints are registered: rules pick their converter when added.
    app.url_map.converters["int"] = DB_INT_CONVERTER  # type: ignore[assignment]
    app.before_request(refuse_nul)

    @login_manager.user_loader
    def _load(user_id: str) -> Member | None:
        # "id:epoch" (Member.get_id): a session from an older epoch has been ended.
        member_id, sep, epoch = user_id.partition(":")
        if not sep or not member_id.isdigit() or not epoch.isdigit():
            return None
        # Read with the session row when the session knew its member (sessions.py);
        # else the member and the nav's "is merchant staff" in one statement (issue 16).
        found = (
            session_member(int(member_id))
            or db.session.execute(_LOAD_MEMBER, {"member_id": int(member_id)}).first()
        )
        if found is None or found[0].session_epoch != int(epoch):
            return None
        member, is_staff = found
        member.remember_staff(is_staff)
        return member  # type: ignore[no-any-return]

    app.before_request(_touch_session)
    app.after_request(_set_headers)
    install_proxy_handling(app)
