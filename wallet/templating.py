"""Template filters and globals: money in KRW, dates in Asia/Seoul, language switch."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from typing import Any

from babel import Locale
from babel.dates import DateTimePattern, get_datetime_format
from babel.support import NullTranslations
from flask import Flask, current_app, g
from flask.globals import _cv_app  # Flask 3: the app context's ContextVar
from flask_babel import format_datetime, get_locale, get_timezone, get_translations

_NAMED_FORMATS = ("full", "long", "medium", "short")


def krw(amount: int | None) -> str:
    """₩12,300 — KRW has no minor unit, so amounts are whole integers."""
    if amount is None:
        return "—"
    sign = "-" if amount < 0 else ""
    return f"{sign}₩{abs(int(amount)):,}"


def _babel() -> tuple[Locale, tzinfo, NullTranslations] | None:
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
    if cached is not None and locale is not None and cached[0] is locale:
        return cached  # type: ignore[no-any-return]
    translations = get_translations()
    state = (get_locale(), get_timezone(), translations)
    if state[0] is None:
        return None
    g._wallet_babel = state
    return state


@lru_cache(maxsize=32)
def _named_patterns(
    locale: Locale, fmt: str
) -> tuple[str, DateTimePattern, DateTimePattern]:
    """A named format's joining pattern and its time and date patterns (CLDR data)."""
    joined = str(get_datetime_format(fmt, locale=locale)).replace("'", "")
    return joined, locale.time_formats[fmt], locale.date_formats[fmt]


def local_dt(value: datetime | None, fmt: str = "medium") -> str:
    """A datetime in the member's locale, in Korea's time zone.

    The same text as `flask_babel.format_datetime` (tests/unit/test_templating.py
    compares them), without its per-call locale, zone and pattern lookups: the
    patterns are built once per locale and format, as babel.dates does inline.
    """
    if value is None:
        return "—"
    state = _babel()
    if state is None or fmt not in _NAMED_FORMATS:
        return str(format_datetime(value, fmt))
    locale, zone, _translations = state
    joined, time_pattern, date_pattern = _named_patterns(locale, fmt)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    local = value.astimezone(zone)
    if hasattr(zone, "normalize"):  # pytz
        local = zone.normalize(local)
    day = local.date()
    return joined.replace(
        "{0}", time_pattern.apply(local.timetz(), locale, reference_date=day)
    ).replace("{1}", date_pattern.apply(day, locale))


def _translations() -> NullTranslations:
    state = _babel()
    return state[2] if state is not None else get_translations()


def init_app(app: Flask) -> None:
    """Register filters and globals."""
    app.add_template_filter(krw, "krw")
    app.add_template_filter(local_dt, "dt")
    # Flask-Babel's template callables look the catalogue up on every `_()`; these
    # take it from `_babel()` (same strings, same autoescaping: Jinja wraps them).
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
    )

    def has_endpoint(name: str) -> bool:
        return name in app.view_functions

    @app.context_processor
    def _globals() -> dict[str, Any]:
        return {
            "has_endpoint": has_endpoint,
            "current_locale": str(get_locale() or "ko"),
            "languages": current_app.config["LANGUAGES"],
            "sdk_url": current_app.config["SDK_URL"],
        }
