"""Business logic, one module per capability. Services own their commits."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import current_app

if TYPE_CHECKING:
    from wallet.crypto import TokenVault
    from wallet.toss import TossClient


def toss() -> TossClient:
    """The app's Toss client (the sandbox by default; tests may swap it)."""
    return current_app.extensions["toss"]  # type: ignore[no-any-return]


def vault() -> TokenVault:
    """The app's token vault."""
    return current_app.extensions["vault"]  # type: ignore[no-any-return]
