"""Typed failures of the Toss client, mapped from `{code, message}` (contract §8)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "TossAlreadyProcessedError",
    "TossApiError",
    "TossAuthError",
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

# Methods that change nothing upstream: when they fail, nothing needs reconciling.
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Toss's messages are meant for people, but cap them so a misbehaving upstream (or the
# sandbox echoing input) cannot flood logs or pages.
_MAX_MESSAGE = 300


def _is_unsafe(method: str | None) -> bool:
    """Unknown method counts as unsafe: callers then reconcile rather than assume."""
    return method is None or method.upper() not in _SAFE_METHODS


class TossError(Exception):
    """Base of every failure talking to Toss."""

    @property
    def outcome_unknown(self) -> bool:
        """True when the request may have acted upstream: look it up, don't guess."""
        return False


class TossApiError(TossError):
    """Toss answered with an error object; `message` is Toss's own, safe to show."""

    def __init__(
        self, status: int, code: str, message: str, *, method: str | None = None
    ) -> None:
        self.status = status
        self.code = code
        self.message = message[:_MAX_MESSAGE]
        self.method = method.upper() if method else None
        # Only status, code and Toss's message: never request bodies, headers or tokens.
        super().__init__(f"{self.code} ({self.status}): {self.message}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status}, code={self.code!r})"


class TossAuthError(TossApiError):
    """Bad secret key or Basic format, or an expired/invalid Bearer token (§1, §8)."""


class TossNotFoundError(TossApiError):
    """Unknown payment, method, customer or session (confirm window passed): 404s."""


class TossAlreadyProcessedError(TossApiError):
    """The payment was already confirmed/canceled: look it up rather than retry."""


class TossRejectedError(TossApiError):
    """Card company, bank, FDS or cancel rules refused; the member may act on it."""


class TossInvalidRequestError(TossApiError):
    """Toss rejected the request's parameters (other 400s): a bug or bad input here."""


class TossConflictError(TossApiError):
    """The same Idempotency-Key is still being processed (409, contract §4)."""

    @property
    def outcome_unknown(self) -> bool:
        """The first request is still in flight, so its result is not known yet."""
        return True


class TossRateLimitedError(TossApiError):
    """FORBIDDEN_CONSECUTIVE_REQUEST persisted after the client's own retry."""


class TossServerError(TossApiError):
    """Toss failed (5xx); for a POST the effect may or may not have happened."""

    @property
    def outcome_unknown(self) -> bool:
        """True for POSTs: Toss may have applied the change before failing."""
        return _is_unsafe(self.method)


class TossUnavailableError(TossError):
    """Toss could not be reached, timed out, or sent an unreadable answer."""

    def __init__(self, operation: str, reason: str, *, method: str | None = None):
        self.operation = operation
        self.reason = reason
        self.method = method.upper() if method else None
        # Operation name and exception class only; URLs may carry keys of other kinds.
        super().__init__(f"Toss unavailable during {operation}: {reason}")

    @property
    def outcome_unknown(self) -> bool:
        """True for POSTs: the request may have reached Toss before the failure."""
        return _is_unsafe(self.method)


_BY_CODE: dict[str, type[TossApiError]] = {
    "UNAUTHORIZED_KEY": TossAuthError,
    "INVALID_API_KEY": TossAuthError,
    "INCORRECT_BASIC_AUTH_FORMAT": TossAuthError,
    "FORBIDDEN_REQUEST": TossAuthError,
    "ALREADY_PROCESSED_PAYMENT": TossAlreadyProcessedError,
    "ALREADY_CANCELED_PAYMENT": TossAlreadyProcessedError,
    "INVALID_PASSWORD": TossRejectedError,
    "FDS_ERROR": TossRejectedError,
    "INVALID_STOPPED_CARD": TossRejectedError,
    "INVALID_REJECT_CARD": TossRejectedError,
    "RESTRICTED_TRANSFER_ACCOUNT": TossRejectedError,
    "FORBIDDEN_DORMANT_OR_WITHDRAWAL_CUSTOMER": TossRejectedError,
    "SUSPECTED_PHISHING_PAYMENT": TossRejectedError,
    "IDEMPOTENT_REQUEST_PROCESSING": TossConflictError,
    "FORBIDDEN_CONSECUTIVE_REQUEST": TossRateLimitedError,
}
# Families by prefix (contract §8 lists more codes than anyone should hard-code).
_BY_PREFIX: tuple[tuple[str, type[TossApiError]], ...] = (
    ("NOT_FOUND", TossNotFoundError),
    ("REJECT_", TossRejectedError),
    ("NOT_CANCELABLE_", TossRejectedError),
    ("EXCEED_", TossRejectedError),
)
_BY_STATUS: dict[int, type[TossApiError]] = {
    401: TossAuthError,
    403: TossRejectedError,  # most 403 codes are refusals (contract §8)
    404: TossNotFoundError,
    409: TossConflictError,
    429: TossRateLimitedError,
}


def error_class_for(status: int, code: str) -> type[TossApiError]:
    """The exception class for an HTTP status and Toss error code."""
    if status >= 500:
        # Whatever the code says, a 5xx leaves a POST's outcome unknown.
        return TossServerError
    if code in _BY_CODE:
        return _BY_CODE[code]
    for prefix, cls in _BY_PREFIX:
        if code.startswith(prefix):
            return cls
    return _BY_STATUS.get(status, TossInvalidRequestError)


def error_from_response(
    status: int, body: Any, *, method: str | None = None
) -> TossApiError:
    """Build the typed error for a non-2xx answer; tolerate bodies not from Toss."""
    code, message = "UNKNOWN", ""
    if isinstance(body, Mapping):
        raw_code, raw_message = body.get("code"), body.get("message")
        if isinstance(raw_code, str) and raw_code:
            code = raw_code
        if isinstance(raw_message, str):
            message = raw_message
    return error_class_for(status, code)(status, code, message, method=method)
