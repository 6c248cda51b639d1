"""Template filters and globals: money in KRW, dates in Asia/Seoul, language switch."""

from __future__ import annotations

import hashlib
import re
import weakref
from collections.abc import Callable, Hashable
from datetime import UTC, date, datetime, time, tzinfo
from functools import lru_cache
from time import monotonic as time_monotonic
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel.dates import DateTimeFormat, DateTimePattern, get_datetime_format
from babel.support import NullTranslations
from flask import Flask, current_app, g, url_for
from flask.globals import _cv_app, _cv_request  # Flask 3: the contexts' ContextVars
from flask_babel import (
    format_date,
    format_datetime,
    get_locale,
    get_timezone,
    get_translations,
    to_user_timezone,
)
from flask_wtf.csrf import generate_csrf
from jinja2 import pass_eval_context
from jinja2.nodes import EvalContext
from markupsafe import Markup

from wallet import form_fields, labels
from wallet.toss import codes

_NAMED_FORMATS = ("full", "long", "medium", "short")


class BabelState(NamedTuple):
    """What a request's pages need from Flask-Babel, looked up once."""

    locale: Locale
    zone: tzinfo
    translations: NullTranslations
    language: str  # str(locale): "ko", "en"
    local_zone: tzinfo  # `zone` as a zoneinfo (C): astimezone without pytz's Python


@lru_cache(maxsize=8)
def _as_zoneinfo(zone: tzinfo) -> tzinfo:
    try:
        return ZoneInfo(str(zone))
    except (ValueError, ZoneInfoNotFoundError):  # not an IANA name: keep it
        return zone


def request_babel() -> BabelState | None:
    """This request's locale, time zone and catalogue, looked up once (issue 16).

    Flask-Babel looks all three up again on every `_()` and every date. The cache is
    keyed on the very Locale object Flask-Babel holds for the context, so
    `force_locale` (mails rendered in the recipient's language) and `refresh()` are
    seen at once. None outside an app context (Flask-Babel's own fallbacks apply).
    """
    app_ctx = _cv_app.get(None)  # what `g` resolves to, without LocalProxy per call
    if app_ctx is None:
        return None
    found = app_ctx.g.__dict__
    ctx = found.get("_flask_babel")
    locale = getattr(ctx, "babel_locale", None)
    cached = found.get("_wallet_babel")
    if cached is not None and locale is not None and cached.locale is locale:
        return cached  # type: ignore[no-any-return]
    translations = get_translations()
    locale, zone = get_locale(), get_timezone()
    if locale is None:
        return None
    state = BabelState(locale, zone, translations, str(locale), _as_zoneinfo(zone))
    g._wallet_babel = state
    return state


# Fields whose text depends on one component only: (attribute, its values).
_ONE_COMPONENT = {
    "M": ("month", range(1, 13)),
    "L": ("month", range(1, 13)),
    "d": ("day", range(1, 32)),
    "a": ("hour", range(24)),
    "h": ("hour", range(24)),
    "H": ("hour", range(24)),
    "K": ("hour", range(24)),
    "k": ("hour", range(24)),
    "m": ("minute", range(60)),
    "s": ("second", range(60)),
}
_FIELD = re.compile(r"%\((\w+)\)s")
Part = str | Callable[[Any], str]


def _sample(attr: str, n: int) -> date | time:
    if attr in ("month", "day"):
        return date(2001, n if attr == "month" else 1, n if attr == "day" else 1)
    return time(**{attr: n})


def _compile(pattern: DateTimePattern, locale: Locale) -> list[Part] | None:
    """The pattern as literals and per-field lookups, each table filled by Babel
    itself from every value the field can take; None if a field needs more than
    one component (weekday, zone, ...): Babel then formats it as usual."""
    parts: list[Part] = []
    pos = 0
    for found in _FIELD.finditer(pattern.format):
        literal = pattern.format[pos : found.start()].replace("%%", "%")
        if literal:
            parts.append(literal)
        pos = found.end()
        name = found.group(1)
        if name == "y":
            parts.append(lambda v: str(v.year))
            continue
        if name[0] not in _ONE_COMPONENT:
            return None
        attr, values = _ONE_COMPONENT[name[0]]
        table = {n: DateTimeFormat(_sample(attr, n), locale)[name] for n in values}
        parts.append(lambda v, t=table, a=attr: t[getattr(v, a)])
    tail = pattern.format[pos:].replace("%%", "%")
    if tail:
        parts.append(tail)
    return parts


@lru_cache(maxsize=32)
def _named_patterns(
    locale: Locale, fmt: str
) -> tuple[str, list[Part] | None, list[Part] | None, DateTimePattern, DateTimePattern]:
    """A named format's joining pattern and its time and date patterns (CLDR data),
    compiled where they can be."""
    joined = str(get_datetime_format(fmt, locale=locale)).replace("'", "")
    time_pattern, date_pattern = locale.time_formats[fmt], locale.date_formats[fmt]
    return (
        joined,
        _compile(time_pattern, locale),
        _compile(date_pattern, locale),
        time_pattern,
        date_pattern,
    )


def _apply(
    compiled: list[Part] | None, pattern: DateTimePattern, value: Any, locale: Locale
) -> str:
    if compiled is None:
        return str(pattern.apply(value, locale))
    return "".join(p if isinstance(p, str) else p(value) for p in compiled)


def local_dt(value: datetime | None, fmt: str = "medium", zone: bool = True) -> str:
    """A datetime in the member's locale, in Korea's time zone, saying so (KST);
    `zone=False` where the wording already says "Korea time" (the mails).

    The same text as `flask_babel.format_datetime` (tests/unit/test_templating.py
    compares them), without its per-call locale, zone and pattern lookups: the
    patterns are built once per locale and format, as babel.dates does inline.
    """
    if value is None:
        return "—"
    shown = _local_dt(value, fmt)
    return f"{shown} KST" if zone else shown


def _local_dt(value: datetime, fmt: str) -> str:
    state = request_babel()
    if state is None or fmt not in _NAMED_FORMATS:
        return str(format_datetime(value, fmt))
    return _shown_at(value, fmt, state.locale, state.zone, state.local_zone)


# The same rows are shown again and again (a list page, its next view): their times'
# text is remembered per instant, format, locale and zone (issue 16). Entries are
# tiny; the bound keeps a long-running worker's memory flat.
@lru_cache(maxsize=8192)
def _shown_at(
    value: datetime, fmt: str, locale: Locale, zone: tzinfo, local_zone: tzinfo
) -> str:
    joined, time_parts, date_parts, time_pattern, date_pattern = _named_patterns(
        locale, fmt
    )
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    local = value.astimezone(local_zone)  # the same wall time as pytz's
    if time_parts is None:  # a zone name needs the date, and pytz's zone, as reference
        local = value.astimezone(zone)
        if hasattr(zone, "normalize"):  # pytz
            local = zone.normalize(local)
        time_text = str(time_pattern.apply(local.timetz(), locale, local.date()))
    else:
        time_text = _apply(time_parts, time_pattern, local, locale)
    return joined.replace("{0}", time_text).replace(
        "{1}", _apply(date_parts, date_pattern, local.date(), locale)
    )


def _translations() -> NullTranslations:
    state = request_babel()
    return state.translations if state is not None else get_translations()


# The text of `_("…")` without variables, per catalogue: a page says "Status" or
# "Amount" in every table (issue 16). Weak keys: a catalogue no app holds goes.
_SAID: weakref.WeakKeyDictionary[NullTranslations, dict[tuple[str, bool], str]] = (
    weakref.WeakKeyDictionary()
)


@pass_eval_context
def template_gettext(eval_ctx: EvalContext, string: str, /, **variables: Any) -> str:
    """`_()` in templates: what Jinja's newstyle gettext does (the translation, marked
    safe where the template autoescapes, always %-formatted), in one call instead of
    Jinja's three, and a variable-free text remembered per catalogue."""
    translations = _translations()
    autoescape = bool(eval_ctx.autoescape)
    if variables:
        text = translations.ugettext(string)
        # The catalogue is ours (trusted), as in Jinja's own gettext; variables escape.
        return (Markup(text) if autoescape else text) % variables  # type: ignore[no-any-return]  # noqa: S704
    said = _SAID.get(translations)
    if said is None:
        said = _SAID[translations] = {}
    found = said.get((string, autoescape))
    if found is None:
        text = translations.ugettext(string)
        shown = Markup(text) if autoescape else text  # noqa: S704 (our catalogue)
        found = said[(string, autoescape)] = shown % {}
    return found


def csrf_field() -> Markup:
    """A FlaskForm's CSRF field as WTForms writes it (`{{ form.csrf_token }}`: same
    id, name and token), without WTForms' per-render walk over the field's flags,
    ~50 µs a field (issue 16). The portal's forms have no prefix and the default
    field name, so every form of a request carries this same field."""
    return Markup(  # noqa: S704 (the token is escaped)
        '<input id="csrf_token" name="csrf_token" type="hidden" value="{}">'
    ).format(csrf_token())


def fixed_url(endpoint: str, **values: Any) -> str:
    """`url_for` for a URL that depends on nothing but its arguments (the header's
    links, static files): built once per app and script root (issue 16). The
    contexts are read from their ContextVars, not through `request`/`current_app`
    (a LocalProxy per access cost as much as the url_for it saves)."""
    request_ctx = _cv_request.get(None)
    if request_ctx is None:  # no request: url_for decides (or says why it cannot)
        return url_for(endpoint, **values)  # type: ignore[no-any-return]
    app = _cv_app.get().app
    key = (
        request_ctx.request.script_root,
        endpoint,
        tuple(sorted(values.items())) if values else (),
    )
    cache = app.extensions.setdefault("wallet_fixed_urls", {})
    found = cache.get(key)
    if found is None:
        found = cache[key] = url_for(endpoint, **values)
    return found  # type: ignore[no-any-return]


_FRAGMENTS_MAX = 512  # distinct (name, language, script root, arguments); then cleared


def cached_fragment(name: str, macro: Callable[..., str], *args: Hashable) -> Markup:
    """`macro(*args)`, rendered once per name, language, script root and arguments
    (issue 16: the header's nav, ~23 calls from Jinja on every page). Only for a macro
    whose output depends on nothing else: no CSRF token, no request data but what is
    passed in, no per-member data but flags."""
    request_ctx = _cv_request.get(None)
    key = (
        name,
        labels.language(),
        request_ctx.request.script_root if request_ctx is not None else None,
        args,
    )
    cache = _cv_app.get().app.extensions.setdefault("wallet_fragments", {})
    found = cache.get(key)
    if found is None:
        if len(cache) >= _FRAGMENTS_MAX:
            cache.clear()
        found = cache[key] = Markup(macro(*args))  # noqa: S704 (a macro's own output)
    return found  # type: ignore[no-any-return]


# A signed CSRF token is reused for this long (Flask-WTF accepts one for
# WTF_CSRF_TIME_LIMIT, an hour by default): signing it took ~40 µs of every page.
_CSRF_REUSE_SECONDS = 30
_CSRF_SIGNED_MAX = 4096  # sessions with a token signed in the last 30 s; then cleared


class _SignedTokens(dict[bytes, tuple[str, float]]):
    """Signed CSRF tokens by a SHA-256 of (secret key, session token): neither the
    key nor a session's token is held as such, and a repr shows only how many."""

    def __repr__(self) -> str:
        return f"<signed CSRF tokens: {len(self)}>"


def _csrf_key(secret: str | bytes, raw: str) -> bytes:
    secret_bytes = secret if isinstance(secret, bytes) else str(secret).encode()
    return hashlib.sha256(secret_bytes + b"\0" + raw.encode()).digest()


def csrf_token() -> str:
    """The page's CSRF token: Flask-WTF's `generate_csrf`, which signs it once per
    request and keeps it on `g`; taken from there when it is (issue 16: the header's
    two forms and each form of a page ask for it, and each ask re-read the config).

    A session's token signed in the last `_CSRF_REUSE_SECONDS` is given again (a
    signature of the same token, with its time, by the same key): what Flask-WTF's
    `validate_csrf` checks is unchanged, the token is only up to 30 s older."""
    app_ctx = _cv_app.get(None)
    request_ctx = _cv_request.get(None)
    if app_ctx is None or request_ctx is None:
        return generate_csrf()  # type: ignore[no-any-return]
    app = app_ctx.app
    field = app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    token = app_ctx.g.__dict__.get(field)
    if token is not None:
        return token  # type: ignore[no-any-return]
    raw = request_ctx.session.get(field)
    secret = app.config.get("WTF_CSRF_SECRET_KEY") or app.secret_key
    now = time_monotonic()
    signed = app.extensions.setdefault("wallet_signed_csrf", _SignedTokens())
    if isinstance(raw, str) and secret:
        found = signed.get(_csrf_key(secret, raw))
        if found is not None and now - found[1] < _CSRF_REUSE_SECONDS:
            setattr(app_ctx.g, field, found[0])  # what generate_csrf reads next
            return found[0]
    token = generate_csrf()
    raw = request_ctx.session.get(field)  # generate_csrf may have made it
    if isinstance(raw, str) and secret:
        if len(signed) >= _CSRF_SIGNED_MAX:
            signed.clear()
        signed[_csrf_key(secret, raw)] = (token, now)
    return token  # type: ignore[no-any-return]


def local_date(value: datetime | None) -> str:
    """The day of a datetime in Korea's time zone, in the member's locale."""
    if value is None:
        return "—"
    return str(format_date(to_user_timezone(value), "medium"))


def init_app(app: Flask) -> None:
    """Register filters and globals."""
    app.add_template_filter(labels.krw, "krw")
    app.add_template_filter(local_dt, "dt")
    app.add_template_filter(local_date, "date")
    app.add_template_filter(
        lambda v: labels.label(labels.ORDER_STATUS, v), "status_label"
    )
    app.add_template_filter(
        lambda v: labels.label(labels.AUDIT_ACTION, v), "audit_label"
    )
    app.add_template_filter(
        lambda v: labels.label(labels.PAYMENT_METHOD, v), "method_label"
    )
    app.add_template_filter(lambda v: labels.label(labels.CARD_TYPE, v), "card_type")
    # Toss's card-company and bank codes as names in the page's language (toss/codes.py).
    app.add_template_filter(
        lambda v: codes.card_company_name(v, labels.language()), "card_company"
    )
    app.add_template_filter(lambda v: codes.bank_name(v, labels.language()), "bank")
    app.add_template_filter(
        lambda v: labels.label(labels.CANCEL_REASON, v), "cancel_reason"
    )
    # Flask-Babel's template callables look the catalogue up on every `_()`; these
    # take it from `request_babel()` (same strings, same autoescaping: Jinja wraps them).
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
    )
    # `_()` itself: one call, not Jinja's alias → newstyle wrapper → callable chain.
    app.jinja_env.globals["_"] = template_gettext
    app.jinja_env.globals["fixed_url"] = fixed_url
    app.jinja_env.globals["csrf_token"] = csrf_token  # over Flask-WTF's (same token)
    app.jinja_env.globals["csrf_field"] = csrf_field
    app.jinja_env.globals["field_html"] = form_fields.field_html
    app.jinja_env.globals["cached_fragment"] = cached_fragment

    def has_endpoint(name: str) -> bool:
        return name in app.view_functions

    @app.context_processor
    def _globals() -> dict[str, Any]:
        return {
            "has_endpoint": has_endpoint,
            "current_locale": labels.language(),
            "languages": current_app.config["LANGUAGES"],
            "sdk_url": current_app.config["SDK_URL"],
            "csrf_token": csrf_token,  # Flask-WTF's context processor sets its own
        }
