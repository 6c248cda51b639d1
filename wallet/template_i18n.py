"""Templates compiled once per language, with their constant `_("…")` already translated.

A page says "Status", "Amount" and the SDK's messages in every view: 50 to 90 `_()`
calls on checkout, the dashboard and the admin member page, each a call from Jinja
into `wallet.templating.template_gettext` and a catalogue lookup (issue 16). Their
text only depends on the language, so each language gets its own compiled copy of
every template (a Jinja overlay with its own cache) in which

- `_("text")` is the translated text itself (`Markup` where the template
  autoescapes), and
- `_("text %(x)s", x=value)` is the translated text `%` its variables, which escapes
  them where the template autoescapes, exactly as `template_gettext` does.

Anything else (`pgettext`, `ngettext`, a `_()` of a variable) stays a call. Outside a
request or app context with a locale, the templates compiled without translation
are used and `_()` is called as before. The HTML is the same either way
(tests/unit/test_template_i18n.py, and `python -m bench.samehtml` on every bench page).
"""

from __future__ import annotations

from typing import Any

from flask.templating import Environment as FlaskEnvironment
from jinja2 import nodes
from jinja2.visitor import NodeTransformer

# Jinja's own default cache size, per language.
_CACHE_SIZE = 400
_GETTEXT_NAMES = frozenset({"_", "gettext"})


class _Translate(NodeTransformer):
    """Rewrites the constant gettext calls of one template's syntax tree."""

    def __init__(self, gettext: Any) -> None:
        self.gettext = gettext

    def visit_Call(self, node: nodes.Call) -> nodes.Node:  # noqa: N802 (Jinja's API)
        node = self.generic_visit(node)  # type: ignore[assignment]
        if not (
            isinstance(node.node, nodes.Name)
            and node.node.name in _GETTEXT_NAMES
            and len(node.args) == 1
            and isinstance(node.args[0], nodes.Const)
            and isinstance(node.args[0].value, str)
            and node.dyn_args is None
            and node.dyn_kwargs is None
        ):
            return node
        text = str(self.gettext(node.args[0].value))
        if not node.kwargs:
            try:
                said = text % {}  # "%%" → "%", as template_gettext formats it
            except (KeyError, TypeError, ValueError):
                return node  # a broken placeholder fails at render time, as before
            return nodes.MarkSafeIfAutoescape(nodes.Const(said), lineno=node.lineno)
        variables = nodes.Dict(
            [
                nodes.Pair(nodes.Const(kw.key), kw.value, lineno=node.lineno)
                for kw in node.kwargs
            ],
            lineno=node.lineno,
        )
        return nodes.Mod(
            nodes.MarkSafeIfAutoescape(nodes.Const(text), lineno=node.lineno),
            variables,
            lineno=node.lineno,
        )


class Environment(FlaskEnvironment):
    """Flask's environment; templates are loaded from a per-language overlay."""

    language: str | None = None  # set on the per-language overlays only
    translations: Any = None

    def _for_language(self) -> Environment:
        if self.language is not None:
            return self
        from wallet.templating import request_babel

        state = request_babel()
        if state is None:
            return self
        by_language: dict[str, Environment] = self.__dict__.setdefault(
            "_wallet_languages", {}
        )
        found = by_language.get(state.language)
        if found is None or found.translations is not state.translations:
            found = self.overlay(cache_size=_CACHE_SIZE)  # type: ignore[assignment]
            found.language = state.language
            found.translations = state.translations
            found.__dict__.pop("_wallet_languages", None)
            by_language[state.language] = found
        return found

    def get_template(self, name: Any, parent: Any = None, globals: Any = None) -> Any:  # noqa: A002
        target = self._for_language()
        if target is self:
            return super().get_template(name, parent, globals)
        return target.get_template(name, parent, globals)

    def select_template(
        self,
        names: Any,
        parent: Any = None,
        globals: Any = None,  # noqa: A002
    ) -> Any:
        target = self._for_language()
        if target is self:
            return super().select_template(names, parent, globals)
        return target.select_template(names, parent, globals)

    def _parse(self, source: str, name: str | None, filename: str | None) -> Any:
        tree = super()._parse(source, name, filename)
        if self.translations is None:
            return tree
        return _Translate(self.translations.ugettext).visit(tree)
