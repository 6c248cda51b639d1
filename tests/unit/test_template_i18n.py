"""Templates compiled per language (wallet/template_i18n.py) write what `_()` wrote."""

from __future__ import annotations

import pytest
from flask import Flask, render_template
from flask_babel import force_locale

from wallet.template_i18n import Environment

SOURCE = """<p>{{ _("Status") }}</p>
<p title="{{ _('Amount') }}">{{ _("Pay %(amount)s with BrandPay", amount=amount) }}</p>
<p>{{ _("%(months)s months", months=months) }} · {{ _("100%% sure") }}</p>
<p>{{ _("Not a catalogue entry <b>as is</b>") }} {{ _(dynamic) }}</p>
<p>{{ _("Sent to %(url)s", url=url) }} {{ gettext("Status") }}</p>
<p>{{ pgettext("nav", "Autopay") }} {{ _("Payments") if flag else _("Wallet") }}</p>
{% autoescape false %}<pre>{{ _("Sent to %(url)s", url=url) }} {{ _("Status") }}</pre>{% endautoescape %}
{% macro row(label) %}<td>{{ label }}</td>{% endmacro %}{{ row(_("Refund amount")) }}"""

VALUES = {
    "amount": "<₩12,300>",
    "months": 3,
    "dynamic": "Status",
    "url": "https://shop.example/?a=1&b=<2>",
    "flag": True,
}


@pytest.mark.parametrize("language", ["ko", "en"])
def test_translated_in_writes_what_the_calls_wrote(app: Flask, language: str) -> None:
    with app.test_request_context("/"), force_locale(language):
        env = app.jinja_env
        assert isinstance(env, Environment)
        localized = env._for_language()
        assert localized is not env
        assert localized.language == language
        folded = localized.from_string(SOURCE).render(VALUES)
        called = env.from_string(SOURCE).render(VALUES)  # compiled without translation
        assert folded == called
        assert "&lt;₩12,300&gt;" in folded  # variables are still escaped
        assert "?a=1&b=<2>" in folded  # ... except where the template does not escape


def test_the_constant_calls_are_gone_from_the_compiled_code(app: Flask) -> None:
    with app.test_request_context("/"), force_locale("ko"):
        code = app.jinja_env._for_language().compile(SOURCE, raw=True)
        plain = app.jinja_env.compile(SOURCE, raw=True)
    assert "상태" in code
    assert "Status" not in code
    assert "resolve('_')" in code  # still resolved for `_(dynamic)`
    assert code.count("context.call(") < plain.count("context.call(")


def test_each_language_has_its_own_compiled_templates(app: Flask) -> None:
    with app.test_request_context("/"):
        with force_locale("ko"):
            korean = render_template("errors/error.html", status=404, message="x")
            ko_env = app.jinja_env._for_language()
        with force_locale("en"):
            english = render_template("errors/error.html", status=404, message="x")
            en_env = app.jinja_env._for_language()
        with force_locale("ko"):
            again = render_template("errors/error.html", status=404, message="x")
            assert again == korean
    assert ko_env is not en_env
    assert 'lang="ko"' in korean
    assert "지갑으로 돌아가기" in korean
    assert 'lang="en"' in english
    assert "Back to your wallet" in english
    assert "Back to your wallet" not in korean
    assert "지갑으로" not in english


def test_without_a_context_templates_are_not_translated_in(app: Flask) -> None:
    # No locale to compile for: the main environment, `_()` called as it always was.
    assert app.jinja_env._for_language() is app.jinja_env
    with app.app_context():  # the default locale (CLI commands, the outbox worker)
        default = app.config["BABEL_DEFAULT_LOCALE"]
        assert app.jinja_env._for_language().language == default


def test_a_broken_placeholder_still_fails_when_rendered(app: Flask) -> None:
    from jinja2 import TemplateError

    with app.test_request_context("/"), force_locale("en"):
        template = app.jinja_env._for_language().from_string('{{ _("%(x)s") }}')
        with pytest.raises((KeyError, TemplateError)):
            template.render()
