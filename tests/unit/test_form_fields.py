"""`field()` (wallet/form_fields.py) writes what the Jinja macro it replaced wrote."""

from __future__ import annotations

import pytest
from flask import Flask, render_template_string
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import (
    BooleanField,
    EmailField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional

from wallet import form_fields

# The macro's body before issue 16 (templates/_macros.html), kept as the reference.
REFERENCE = """{% macro field(f, autocomplete=None, hint=None) %}
<div class="field{% if f.errors %} field-invalid{% endif %}">
  {{ f.label }}
  {% set described = [] %}
  {% if hint %}{% set _ = described.append(f.id ~ '-hint') %}<p class="hint" id="{{ f.id }}-hint">{{ hint }}</p>{% endif %}
  {% if f.errors %}{% set _ = described.append(f.id ~ '-error') %}{% endif %}
  {% set attrs = {} %}
  {% if autocomplete %}{% set _ = attrs.update({'autocomplete': autocomplete}) %}{% endif %}
  {% if f.errors %}{% set _ = attrs.update({'aria-invalid': 'true'}) %}{% endif %}
  {% if described %}{% set _ = attrs.update({'aria-describedby': described|join(' ')}) %}{% endif %}
  {{ f(**attrs) }}
  {% if f.errors %}
  <p class="error" id="{{ f.id }}-error">{{ f.errors|join(' ') }}</p>
  {% endif %}
</div>
{% endmacro %}"""


class _Form(FlaskForm):
    class Meta:
        csrf = False

    email = EmailField(_l("Email"), validators=[DataRequired(), Email()])
    name = StringField("Name <&>", validators=[Optional(), Length(max=40)])
    days = IntegerField(_l("Amount (won)"), validators=[NumberRange(min=1, max=90)])
    secret = PasswordField(_l("Password"), validators=[DataRequired()])
    pick = SelectField(
        "Pick", choices=[SelectChoice("a", "A & a"), SelectChoice("b", "B")]
    )
    agree = BooleanField("Agree")
    note = StringField("Note", render_kw={"placeholder": 'x "y"'})


CALLS = [
    "{{ field(f.email) }}",
    "{{ field(f.email, autocomplete='email') }}",
    "{{ field(f.name, hint='At most 40 <b>letters</b>') }}",
    "{{ field(f.name, hint=_('Leave empty to turn the hook off.')) }}",
    "{{ field(f.days, autocomplete='off', hint='Days') }}",
    "{{ field(f.secret, autocomplete='current-password') }}",
    "{{ field(f.pick, hint='One of two') }}",
    "{{ field(f.agree) }}",
    "{{ field(f.note) }}",
]

FORMDATA = [
    None,  # a GET page: nothing typed
    MultiDict(),  # an empty POST: required fields fail
    MultiDict(
        {
            "email": "not-an-email <script>",
            "name": "x" * 41,
            "days": "0",
            "secret": "s3cret",
            "pick": "b",
            "agree": "y",
            "note": "typed",
        }
    ),
    MultiDict({"email": "a@example.com", "days": "7", "secret": "p", "pick": "a"}),
]


def _both(call: str, form: _Form) -> tuple[str, str]:
    new = render_template_string(
        '{% from "_macros.html" import field %}' + call, f=form
    )
    old = render_template_string(REFERENCE + call, f=form)
    return new, old


@pytest.mark.parametrize("formdata", range(len(FORMDATA)))
@pytest.mark.parametrize("locale", ["ko", "en"])
def test_field_writes_what_the_macro_wrote(
    app: Flask, formdata: int, locale: str
) -> None:
    with app.test_request_context("/", method="POST"), force_locale(locale):
        data = FORMDATA[formdata]
        form = _Form(formdata=data, obj=None)
        if data is not None:
            form.validate()
        for call in CALLS:
            for _ in range(2):  # the second time from the remembered input
                new, old = _both(call, form)
                assert new == old, call


def test_failed_form_shows_errors_in_both(app: Flask) -> None:
    # The comparison above must see the error branch, not two empty renders.
    with app.test_request_context("/", method="POST"):
        form = _Form(formdata=MultiDict())
        assert not form.validate()
        new, old = _both("{{ field(f.email, autocomplete='email') }}", form)
        assert 'class="field field-invalid"' in new
        assert 'aria-invalid="true"' in new
        assert 'aria-describedby="email-error"' in new
        assert new == old


def test_typed_values_are_not_remembered(app: Flask) -> None:
    form_fields._INPUTS.clear()
    with app.test_request_context("/", method="POST"):
        typed = _Form(formdata=MultiDict({"name": "typed-by-a-member"}))
        html = render_template_string(
            '{% from "_macros.html" import field %}{{ field(f.name) }}', f=typed
        )
        assert 'value="typed-by-a-member"' in html
        assert not any("typed-by-a-member" in repr(k) for k in form_fields._INPUTS)
        untouched = _Form(formdata=None, data={"name": "from the database"})
        render_template_string(
            '{% from "_macros.html" import field %}{{ field(f.name) }}', f=untouched
        )
        assert any("from the database" in repr(k) for k in form_fields._INPUTS)


def test_remembered_inputs_are_bounded(app: Flask) -> None:
    form_fields._INPUTS.clear()
    with app.test_request_context("/"):
        for n in range(form_fields._MAX_INPUTS + 5):
            form = _Form(formdata=None, data={"name": f"v{n}"})
            render_template_string(
                '{% from "_macros.html" import field %}{{ field(f.name) }}', f=form
            )
        assert 0 < len(form_fields._INPUTS) <= form_fields._MAX_INPUTS
