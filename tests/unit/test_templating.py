"""Template dates and `_()` looked up once per request (issue 16): same text as
Flask-Babel's own, and the language follows `force_locale` and `refresh()`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import flask_babel
import pytest
from flask import Flask, render_template_string

from wallet import labels
from wallet.templating import local_dt

INSTANTS = [
    datetime(2026, 1, 1, 0, 0, 0, tzinfo=UTC),
    datetime(2026, 3, 8, 14, 59, 59, 999_999, tzinfo=UTC),  # 23:59:59 in Seoul
    datetime(2026, 3, 8, 15, 0, 0, tzinfo=UTC),  # next day in Seoul
    datetime(1999, 12, 31, 23, 30, tzinfo=timezone(timedelta(hours=-5))),
    datetime(2026, 7, 4, 12, 0),  # naive: read as UTC, as Babel does
    # Korea's summer time of 1987 and 1988, and +08:30 in 1960: zoneinfo (what
    # local_dt converts with) and pytz (Flask-Babel) agree on the wall time.
    datetime(1987, 7, 1, 3, 0, tzinfo=UTC),
    datetime(1988, 10, 8, 16, 30, tzinfo=UTC),
    datetime(1960, 1, 1, 12, 0, tzinfo=UTC),
] + [
    datetime(2026, 5, 1, tzinfo=UTC) + timedelta(hours=h, minutes=7) for h in range(24)
]


@pytest.mark.parametrize("lang", ["ko", "en"])
@pytest.mark.parametrize("fmt", ["short", "medium", "long", "full", "yyyy-MM-dd HH:mm"])
def test_local_dt_matches_flask_babel(app: Flask, lang: str, fmt: str) -> None:
    with app.test_request_context(headers={"Accept-Language": lang}):
        assert str(flask_babel.get_locale()) == lang
        for instant in INSTANTS:
            shown = flask_babel.format_datetime(instant, fmt)
            assert local_dt(instant, fmt, zone=False) == shown
            assert local_dt(instant, fmt) == f"{shown} KST"
        assert local_dt(None) == "—"


def test_local_dt_outside_a_request_uses_flask_babel(app: Flask) -> None:
    with app.app_context():
        shown = flask_babel.format_datetime(INSTANTS[1])
        assert local_dt(INSTANTS[1]) == f"{shown} KST"


def test_template_language_follows_force_locale_and_refresh(app: Flask) -> None:
    page = "{{ _('Payments') }}|{{ ngettext('%(num)d saved payment method', '%(num)d saved payment methods', 2) }}|{{ when|dt }}"
    instant = datetime(2026, 3, 8, 15, 0, tzinfo=UTC)
    with app.test_request_context(headers={"Accept-Language": "ko"}):
        korean = render_template_string(page, when=instant)
        with flask_babel.force_locale("en"):
            english = render_template_string(page, when=instant)
        again = render_template_string(page, when=instant)
        flask_babel.refresh()
        with app.test_request_context(headers={"Accept-Language": "en"}):
            other = render_template_string(page, when=instant)
    assert english.startswith("Payments|2 saved payment methods|Mar 9, 2026")
    assert korean == again
    assert korean.split("|")[0] != "Payments"
    assert "2026. 3. 9." in korean
    assert other == english


def test_translated_text_is_still_escaped(app: Flask) -> None:
    with app.test_request_context(headers={"Accept-Language": "en"}):
        out = render_template_string(
            "{% autoescape true %}{{ _('Signed in as %(email)s', email=who) }}{% endautoescape %}",
            who="<b>x</b>",
        )
    assert out == "Signed in as &lt;b&gt;x&lt;/b&gt;"


LABEL_TABLES = [
    labels.ORDER_STATUS,
    labels.PAYMENT_METHOD,
    labels.CARD_TYPE,
    labels.CANCEL_REASON,
    labels.AUDIT_ACTION,
]


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_labels_and_money_match_flask_babel(app: Flask, lang: str) -> None:
    """`labels.label` and `krw` read the request's cached catalogue and locale (issue
    16): the same text as `str()` of the lazy label, also under `force_locale`."""
    other = "en" if lang == "ko" else "ko"
    with app.test_request_context(headers={"Accept-Language": lang}):
        for table in LABEL_TABLES:
            for value, lazy in table.items():
                assert labels.label(table, value) == str(lazy)
        assert labels.label(labels.ORDER_STATUS, "NEW_STATUS") == "NEW_STATUS"
        assert labels.label(labels.ORDER_STATUS, None) == "—"
        money = labels.krw(12300)
        paid = labels.label(labels.ORDER_STATUS, "DONE")
        with flask_babel.force_locale(other):
            assert labels.label(labels.ORDER_STATUS, "DONE") == str(
                labels.ORDER_STATUS["DONE"]
            )
            assert labels.krw(12300) != money
        assert labels.label(labels.ORDER_STATUS, "DONE") == str(
            labels.ORDER_STATUS["DONE"]
        )
    assert money == ("12,300원" if lang == "ko" else "₩12,300")
    assert paid == ("결제 완료" if lang == "ko" else "Paid")  # the catalogue is read


TEMPLATE_TEXTS = [
    "{{ _('Payments') }}",
    "{{ _('Status') }}|{{ _('Status') }}",
    "{{ _('Signed in as %(email)s', email='<a>&b') }}",
    "{{ _('No such %%(text)s') }}",
    "{{ _('<b>not ours</b> & %(x)s', x='<i>') }}",
]


@pytest.mark.parametrize("lang", ["ko", "en"])
@pytest.mark.parametrize("autoescape", [True, False])
def test_template_gettext_matches_jinja(
    app: Flask, lang: str, autoescape: bool
) -> None:
    """The one-call `_()` (issue 16) renders what Jinja's newstyle gettext does:
    escaped variables, `%%` formatted, Markup only where the template autoescapes."""
    import jinja2.ext

    env = app.jinja_env
    ours = env.globals["_"]
    with app.test_request_context(headers={"Accept-Language": lang}):
        for text in TEMPLATE_TEXTS:
            source = (
                text
                if autoescape
                else "{% autoescape false %}" + text + "{% endautoescape %}"
            )
            fast = env.from_string(source).render()
            env.globals["_"] = jinja2.ext._gettext_alias
            try:
                jinja = env.from_string(source).render()
            finally:
                env.globals["_"] = ours
            assert fast == jinja, text
        korean = env.from_string("{{ _('Payments') }}").render()
    assert (korean == "Payments") == (lang == "en")


def test_fixed_url_and_csrf_token_match_flask(app: Flask) -> None:
    # Issue 16: both read the contexts from their ContextVars; the URLs must be
    # url_for's (script root included) and the token Flask-WTF's own, signed once.
    from flask import url_for
    from flask_wtf.csrf import generate_csrf

    from wallet.templating import csrf_token, fixed_url

    for root in ("", "/wallet-app"):
        with app.test_request_context("/", base_url=f"http://localhost{root}/"):
            for endpoint, values in [
                ("pay.history", {}),
                ("static", {"filename": "css/app.css"}),
            ]:
                assert fixed_url(endpoint, **values) == url_for(endpoint, **values)
                assert fixed_url(endpoint, **values).startswith(root + "/")
            first = csrf_token()
            assert first == generate_csrf() == csrf_token()
            html = render_template_string("{{ csrf_token() }}")
            assert html == first
    with app.test_request_context("/"):
        assert csrf_token() != first  # a new request, a newly signed token


def test_csrf_field_is_what_wtforms_writes(app: Flask) -> None:
    # Issue 16: templates write `csrf_field()` instead of `{{ form.csrf_token }}`; it
    # must be the very field WTForms renders (every form POST of the suite sends it).
    from flask_wtf import FlaskForm

    from wallet.templating import csrf_field

    with app.test_request_context("/"):
        assert str(csrf_field()) == str(FlaskForm().csrf_token())
        assert render_template_string("{{ csrf_field() }}") == str(csrf_field())


def test_csrf_token_signed_once_per_session_for_30_seconds(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Issue 16: a session's signed token is given again for 30 s instead of signed on
    # every page; Flask-WTF must accept it, and after 30 s, or for another session's
    # token, a new signature is made.
    from flask import session
    from flask_wtf.csrf import validate_csrf

    from wallet import templating

    clock = [1000.0]
    monkeypatch.setattr(templating, "time_monotonic", lambda: clock[0])
    made = []
    real = templating.generate_csrf
    monkeypatch.setattr(templating, "generate_csrf", lambda: made.append(1) or real())
    signs, tokens = [], []
    for step, raw in [(0, "a" * 40), (29, "a" * 40), (1, "a" * 40), (0, "b" * 40)]:
        clock[0] += step
        with app.test_request_context("/"):
            session["csrf_token"] = raw
            token = templating.csrf_token()
            validate_csrf(token)  # raises if Flask-WTF refuses it
            assert templating.csrf_token() == token  # the same within a request
            signs.append(len(made))
            tokens.append(token)
    assert signs == [1, 1, 2, 3]  # 29 s later reused; at 30 s and for "b", signed
    assert tokens[0] == tokens[1]
    assert tokens[3] not in tokens[:3]
    held = app.extensions["wallet_signed_csrf"]
    shown = repr(held) + repr(app.extensions)
    assert "a" * 40 not in shown
    assert "b" * 40 not in shown
    assert tokens[0] not in shown
    assert str(app.secret_key) not in shown
    assert all(isinstance(k, bytes) and len(k) == 32 for k in held)  # digests
