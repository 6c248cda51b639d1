"""Every audit action the code records has a label people read (issue 14: no raw
action codes in the audit log), and the labels exist in Korean."""

from __future__ import annotations

import ast
from pathlib import Path

from babel.messages.pofile import read_po

from wallet import labels

ROOT = Path(__file__).resolve().parents[2]
KO_PO = ROOT / "wallet" / "translations" / "ko" / "LC_MESSAGES" / "messages.po"


def _recorded_actions() -> set[str]:
    """String literals passed as the action of `audit.record(actor, action, …)`."""
    found = set()
    for path in (ROOT / "wallet").rglob("*.py"):
        if "sandbox" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "record"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "audit"
                and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant)
            ):
                found.add(node.args[1].value)
    return found


def test_labels_every_recorded_audit_action_has_a_label() -> None:
    recorded = _recorded_actions()
    assert len(recorded) > 20  # the scan finds the calls (so this can fail)
    assert sorted(recorded - set(labels.AUDIT_ACTION)) == []


def test_labels_all_translated_to_korean() -> None:
    with KO_PO.open("rb") as f:
        korean = {m.id: m.string for m in read_po(f) if m.id}
    tables = (
        labels.ORDER_STATUS,
        labels.AUDIT_ACTION,
        labels.PAYMENT_METHOD,
        labels.CARD_TYPE,
        labels.CANCEL_REASON,
    )
    missing = [
        str(text._args[0])  # noqa: SLF001 - the msgid of a lazy string
        for table in tables
        for text in table.values()
        if not korean.get(text._args[0])  # noqa: SLF001
    ]
    assert missing == []


def test_labels_unknown_value_shown_as_is() -> None:
    assert labels.label(labels.AUDIT_ACTION, "brand.new_thing") == "brand.new_thing"
    assert labels.label(labels.ORDER_STATUS, None) == "—"
