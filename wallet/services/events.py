"""In-transaction domain events: how one capability reacts to another's state change.

Payments call `order_changed(order)` after changing an order's state and BEFORE their
commit; listeners (the merchant outbox) add rows to the same session, so the state
change and its outgoing notification commit or roll back together (transactional
outbox). Listeners must not commit, call out, or raise for ordinary conditions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

OrderListener = Callable[[Any], None]
_order_listeners: list[OrderListener] = []


def on_order_changed(listener: OrderListener) -> OrderListener:
    """Register a listener (usable as a decorator); registering twice is a no-op."""
    if listener not in _order_listeners:
        _order_listeners.append(listener)
    return listener


def order_changed(order: Any) -> None:
    """Tell every listener that `order` changed state; called inside the caller's transaction."""
    for listener in list(_order_listeners):
        listener(order)
