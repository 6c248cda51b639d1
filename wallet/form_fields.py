"""A form field as the `field()` macro of templates/_macros.html writes it, in Python.

The macro was ~160 µs a field (issue 16): its own `set`s, dict updates and joins, then
WTForms' input widget, which walks `dir()` of the field's flags and escapes every
attribute. `field_html` writes the same bytes (tests/unit/test_form_fields.py renders
the macro's former body beside it for every case) and remembers the `<input>` of a
field nobody typed into, keyed on everything the widget reads.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup
from wtforms.fields import Field
from wtforms.widgets import CheckboxInput, FileInput, Input, RadioInput

# The widget's output is a function of the key only for these: a checkbox or radio
# also reads `field.data`/`checked`, a file input `multiple`.
_NOT_CACHED = (CheckboxInput, RadioInput, FileInput)
_INPUTS: dict[tuple[Any, ...], Markup] = {}
_MAX_INPUTS = 2048  # distinct (field, value, attributes); cleared when full


def _input_key(f: Field, attrs: dict[str, str]) -> tuple[Any, ...] | None:
    """What `f(**attrs)` depends on, or None where it is not remembered: typed data
    (never kept in process memory), widgets that read more than this."""
    widget = f.widget
    if not isinstance(widget, Input) or isinstance(widget, _NOT_CACHED):
        return None
    if f.raw_data:  # the value came from the request: render it, keep nothing
        return None
    flags = tuple(sorted(vars(f.flags).items()))
    if any(callable(v) for _k, v in flags):
        return None
    render_kw = tuple(sorted((f.render_kw or {}).items()))
    return (
        widget,  # its class and its own settings (input type, step, hide_value, ...)
        type(f.meta).render_field,
        f.id,
        f.name,
        f._value(),
        getattr(f, "_datalist", None),
        flags,
        render_kw,
        tuple(attrs.items()),
    )


def _input(f: Field, attrs: dict[str, str]) -> Markup:
    key = _input_key(f, attrs)
    if key is None:
        return Markup(f(**attrs))  # noqa: S704 (WTForms escapes what it writes)
    try:
        found = _INPUTS.get(key)
    except TypeError:  # an unhashable value or attribute: render it as usual
        return Markup(f(**attrs))  # noqa: S704
    if found is None:
        if len(_INPUTS) >= _MAX_INPUTS:
            _INPUTS.clear()
        found = _INPUTS[key] = Markup(f(**attrs))  # noqa: S704
    return found


_LABEL = Markup('<label for="{}">{}</label>')
_HINT = Markup('<p class="hint" id="{}-hint">{}</p>')
_ERROR = Markup('  \n  <p class="error" id="{}-error">{}</p>\n  \n')
# The macro's five lines of `set`s and `if`s without output, each indented.
_AFTER_HINT = Markup("\n  \n  \n  \n  \n  \n  ")


def field_html(
    f: Field, autocomplete: str | None = None, hint: str | None = None
) -> Markup:
    """The field's label, hint, input and errors, tied together with
    aria-describedby; the same text the macro's Jinja body wrote, whitespace and all."""
    errors = f.errors
    described = []
    hint_html: Markup | str = ""
    if hint:
        described.append(f"{f.id}-hint")
        hint_html = _HINT.format(f.id, hint)
    if errors:
        described.append(f"{f.id}-error")
    attrs: dict[str, str] = {}
    if autocomplete:
        attrs["autocomplete"] = autocomplete
    if errors:
        attrs["aria-invalid"] = "true"
    if described:
        attrs["aria-describedby"] = " ".join(described)
    label = f.label
    return Markup("").join(
        (
            Markup('\n<div class="field field-invalid">\n  ')
            if errors
            else Markup('\n<div class="field">\n  '),
            _LABEL.format(label.field_id, label.text),
            Markup("\n  \n  "),
            hint_html,
            _AFTER_HINT,
            _input(f, attrs),
            Markup("\n"),
            _ERROR.format(f.id, Markup(" ").join(errors)) if errors else Markup("  \n"),
            Markup("</div>\n"),
        )
    )
