"""Toss Payments client: the only package that talks to Toss (no Flask, no DB)."""

from __future__ import annotations

from wallet.toss.client import TossClient
from wallet.toss.errors import (
    TossAlreadyProcessedError,
    TossApiError,
    TossAuthError,
    TossConflictError,
    TossError,
    TossInvalidRequestError,
    TossNotFoundError,
    TossRateLimitedError,
    TossRejectedError,
    TossServerError,
    TossUnavailableError,
    error_from_response,
)
from wallet.toss.types import (
    AccessToken,
    BrandPayAccount,
    BrandPayCard,
    BrandPayMethods,
    CashReceipt,
    CashReceiptRequest,
    EasyPay,
    MethodColor,
    Payment,
    PaymentCancel,
    PaymentCard,
    PaymentTransfer,
    Terms,
)

__all__ = [
    "AccessToken",
    "BrandPayAccount",
    "BrandPayCard",
    "BrandPayMethods",
    "CashReceipt",
    "CashReceiptRequest",
    "EasyPay",
    "MethodColor",
    "Payment",
    "PaymentCancel",
    "PaymentCard",
    "PaymentTransfer",
    "Terms",
    "TossAlreadyProcessedError",
    "TossApiError",
    "TossAuthError",
    "TossClient",
    "TossConflictError",
    "TossError",
    "TossInvalidRequestError",
    "TossNotFoundError",
    "TossRateLimitedError",
    "TossRejectedError",
    "TossServerError",
    "TossUnavailableError",
    "error_from_response",
]
