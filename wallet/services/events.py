"""In-transaction domain events: how one capability reacts to another's state change.

Payments call `order_changed(order)` after changing an order's state and BEFORE their
commit; BrandPay calls `link_withdrawn(member)` when a member has left BrandPay.
Listeners (the merchant outbox, the member's receipts by mail) add rows to the same
session, so the state change and its outgoing notification commit or roll back
together (transactional outbox). Listeners must not commit, call out, or raise for
ordinary conditions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

OrderListener = Callable[[Any], None]
MemberListener = Callable[[Any], None]
_order_listeners: list[OrderListener] = []
_withdrawal_listeners: list[MemberListener] = []


def on_order_changed(listener: OrderListener) -> OrderListener:
    """Register a listener (usable as a decorator); registering twice is a no-op."""
    if listener not in _order_listeners:
        _order_listeners.append(listener)
    return listener


def order_changed(order: Any) -> None:
    """Tell every listener that `order` changed state; called inside the caller's transaction."""
    for listener in list(_order_listeners):
        listener(order)


def on_link_withdrawn(listener: MemberListener) -> MemberListener:
    """Register a listener for "this member left BrandPay" (usable as a decorator)."""
    if listener not in _withdrawal_listeners:
        _withdrawal_listeners.append(listener)
    return listener


def link_withdrawn(member: Any) -> None:
    """Tell every listener that `member`'s BrandPay link is now withdrawn; called inside
    the caller's transaction."""
    for listener in list(_withdrawal_listeners):
        listener(member)
