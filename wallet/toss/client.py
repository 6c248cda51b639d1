"""The only code that talks to Toss: BrandPay and core payment endpoints over HTTPS."""

from __future__ import annotations

import base64
import logging
import re
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, TypeVar
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter

from wallet.toss.errors import (
    TossError,
    TossServerError,
    TossUnavailableError,
    error_from_response,
)
from wallet.toss.types import (
    AccessToken,
    BrandPayAccount,
    BrandPayCard,
    BrandPayMethods,
    CashReceiptRequest,
    Payment,
    Terms,
)

__all__ = ["TossClient"]

log = logging.getLogger(__name__)

_Method = Literal["GET", "POST"]
_T = TypeVar("_T")
_USER_AGENT = "brandpay-wallet/0.1"
_POOL_SIZE = 32  # gunicorn threads share one client; keep connections warm
# contract §4: Idempotency-Key at most 300 chars; printable ASCII keeps headers clean.
_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,300}")
_TEST_CODE = re.compile(r"[A-Z0-9_]{1,100}")
# contract §10: BrandPay customerKey format.
_CUSTOMER_KEY = re.compile(r"[A-Za-z0-9\-_=.@]{2,50}")
_SCOPES = frozenset({"REGISTER", "ACCOUNT", "BILLING", "CARD"})  # contract §5
_MAX_CANCEL_REASON = 200  # contract §4
_ORDER_ID = re.compile(r"[A-Za-z0-9_\-=]{6,64}")  # contract §10, v2 typings
_MAX_ORDER_NAME = 100
_INSTALLMENT_MONTHS = frozenset({0, *range(2, 13)})  # contract §4: 0 or 2-12
_INSTALLMENT_MINIMUM = 50000  # contract §4: installments only from 50,000 KRW

# Retry budgets. Each retry of a POST reuses its Idempotency-Key, so Toss answers a
# replay with the first result instead of acting twice (contract §4).
_CONSECUTIVE_RETRIES = 1  # FORBIDDEN_CONSECUTIVE_REQUEST: wait 1 s, try once more
_CONSECUTIVE_WAIT = 1.0
_CONNECT_RETRIES = 2
_CONNECT_BACKOFF = (0.2, 0.5)
_GET_SERVER_RETRIES = 1  # a GET changes nothing, so one more try after a 5xx is safe
_GET_SERVER_WAIT = 0.5


def _check_amount(amount: object, name: str = "amount") -> int:
    """Money is a positive int of KRW; bool is an int in Python but never an amount."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise TypeError(f"{name} must be an int of KRW")
    if amount <= 0:
        raise ValueError(f"{name} must be > 0")
    return amount


def _check_text(value: object, name: str, max_len: int = 200) -> str:
    if not isinstance(value, str) or not value or len(value) > max_len:
        raise ValueError(
            f"{name} must be a non-empty string of at most {max_len} chars"
        )
    return value


def _check_customer_key(value: object) -> str:
    if not isinstance(value, str) or not _CUSTOMER_KEY.fullmatch(value):
        raise ValueError("customer_key must match ^[A-Za-z0-9\\-_=.@]{2,50}$")
    return value


def _check_scope(scope: Sequence[str]) -> list[str]:
    # A bare str is a Sequence[str] too; "REGISTER" would become R, E, G, ...
    if isinstance(scope, str):
        raise TypeError("scope must be a sequence of scope names, not a str")
    values = list(scope)
    if not 1 <= len(values) <= 2 or not set(values) <= _SCOPES:
        raise ValueError(f"scope must be 1-2 of {sorted(_SCOPES)}")
    return values


def _check_order_id(value: object) -> str:
    if not isinstance(value, str) or not _ORDER_ID.fullmatch(value):
        raise ValueError("order_id must be 6-64 of A-Z a-z 0-9 - _ =")
    return value


def _check_flag(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool")
    return value


def _segment(value: str, name: str) -> str:
    """A path segment, percent-encoded so ids can never add path parts."""
    return quote(_check_text(value, name, 300), safe="")


class TossClient:
    """HTTP client for Toss BrandPay: timeouts, idempotency keys, typed errors."""

    def __init__(
        self,
        base_url: str,
        secret_key: str,
        *,
        timeout: tuple[float, float] = (3.05, 10.0),
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        accept_language: str | None = None,
        proxy: str | None = None,
    ) -> None:
        if not re.match(r"https?://[^/]", base_url):
            raise ValueError("base_url must be an http(s) URL")
        # contract §1/§10: a stray BOM, newline or colon silently breaks Basic auth.
        if not secret_key or not re.fullmatch(r"[\x21-\x39\x3b-\x7e]+", secret_key):
            raise ValueError("secret_key is empty or has whitespace, a BOM or ':'")
        connect, read = (float(t) for t in timeout)
        if connect <= 0 or read <= 0:
            raise ValueError("timeouts must be > 0")
        self._base = base_url.rstrip("/")
        self._timeout = (connect, read)
        self._sleep = sleep
        # contract §1: user = secret key, empty password; the colon is mandatory.
        token = base64.b64encode(f"{secret_key}:".encode("ascii")).decode("ascii")
        self._basic_auth = f"Basic {token}"
        self._live = not secret_key.startswith("test_")
        self._owns_session = session is None
        self._http = session if session is not None else self._new_session(proxy)
        # Per request, not on the session: a caller's shared session stays untouched.
        self._headers = {"User-Agent": _USER_AGENT, "Accept": "application/json"}
        if accept_language:
            self._headers["Accept-Language"] = accept_language  # contract §1

    @staticmethod
    def _new_session(proxy: str | None = None) -> requests.Session:
        session = requests.Session()
        # No proxy or credentials from the environment (HTTPS_PROXY, ~/.netrc): the way
        # to Toss is configured (TOSS_PROXY), not picked up; and requests looked both
        # up again on every call (issue 16: ~0.2 ms of each Toss call).
        session.trust_env = False
        if proxy:
            session.proxies = {"https": proxy, "http": proxy}
        # urllib3 must not retry by itself: only this class knows what is safe to retry.
        adapter = HTTPAdapter(
            pool_connections=4, pool_maxsize=_POOL_SIZE, max_retries=0
        )
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        return session

    def __repr__(self) -> str:
        mode = "live" if self._live else "test"
        return f"TossClient(base_url={self._base!r}, mode={mode!r})"

    def close(self) -> None:
        """Release pooled connections (only when this client created the session)."""
        if self._owns_session:
            self._http.close()

    def __enter__(self) -> TossClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- customer authorization (contract §2) -------------------------------------

    def issue_access_token(
        self,
        customer_key: str,
        code: str,
        *,
        idempotency_key: str | None = None,
        test_code: str | None = None,
    ) -> AccessToken:
        """Exchange an authorization code for tokens (grantType AuthorizationCode)."""
        grant = {
            "grantType": "AuthorizationCode",
            "code": _check_text(code, "code", 1000),
        }
        return self._access_token(
            "issue_access_token", customer_key, grant, idempotency_key, test_code
        )

    def refresh_access_token(
        self,
        customer_key: str,
        refresh_token: str,
        *,
        idempotency_key: str | None = None,
        test_code: str | None = None,
    ) -> AccessToken:
        """Get new access and refresh tokens (grantType RefreshToken)."""
        grant = {
            "grantType": "RefreshToken",
            "refreshToken": _check_text(refresh_token, "refresh_token", 1000),
        }
        return self._access_token(
            "refresh_access_token", customer_key, grant, idempotency_key, test_code
        )

    def _access_token(
        self,
        operation: str,
        customer_key: str,
        grant: Mapping[str, str],
        idempotency_key: str | None,
        test_code: str | None,
    ) -> AccessToken:
        data = self._call(
            operation,
            "POST",
            "/v1/brandpay/authorizations/access-token",
            auth=self._basic_auth,
            body={"customerKey": _check_customer_key(customer_key), **grant},
            # Callers may omit the key: a fresh one still makes our retries replay-safe.
            idempotency_key=idempotency_key or self._fresh_key(),
            test_code=test_code,
        )
        return self._parse(operation, "POST", AccessToken.from_json, data)

    # -- terms (contract §5) ------------------------------------------------------

    def get_terms(
        self, customer_key: str, scope: Sequence[str], *, test_code: str | None = None
    ) -> list[Terms]:
        """The terms the customer must agree to for `scope` (e.g. REGISTER, CARD)."""
        params = {
            "customerKey": _check_customer_key(customer_key),
            "scope": ",".join(_check_scope(scope)),  # contract §5: comma-separated [L]
        }
        data = self._call(
            "get_terms",
            "GET",
            "/v1/brandpay/terms",
            auth=self._basic_auth,
            params=params,
            test_code=test_code,
        )

        def parse(items: Any) -> list[Terms]:
            if not isinstance(items, list):
                raise TypeError("terms: expected a JSON array")
            return [Terms.from_json(item) for item in items]

        return self._parse("get_terms", "GET", parse, data)

    def agree_terms(
        self,
        customer_key: str,
        scope: Sequence[str],
        terms_ids: Sequence[int],
        *,
        idempotency_key: str,
        test_code: str | None = None,
    ) -> str:
        """Record agreement; returns a code usable as an authorization code (§2)."""
        ids = list(terms_ids)
        if not ids or any(isinstance(i, bool) or not isinstance(i, int) for i in ids):
            raise ValueError("terms_ids must be a non-empty sequence of ints")
        body = {
            "customerKey": _check_customer_key(customer_key),
            "scope": _check_scope(scope),
            "termsId": ids,
        }
        data = self._call(
            "agree_terms",
            "POST",
            "/v1/brandpay/terms/agree",
            auth=self._basic_auth,
            body=body,
            idempotency_key=idempotency_key,
            test_code=test_code,
        )

        def parse(obj: Any) -> str:
            code = obj.get("code") if isinstance(obj, Mapping) else None
            if not isinstance(code, str) or not code:
                raise ValueError("agree: no code in response")
            return code

        return self._parse("agree_terms", "POST", parse, data)

    # -- payment methods (contract §3) -------------------------------------------

    def get_methods(
        self, access_token: str, *, test_code: str | None = None
    ) -> BrandPayMethods:
        """The customer's enabled cards and accounts, using their access token."""
        data = self._call(
            "get_methods",
            "GET",
            "/v1/brandpay/payments/methods",
            auth=self._bearer(access_token),
            test_code=test_code,
        )
        return self._parse("get_methods", "GET", BrandPayMethods.from_json, data)

    def get_methods_by_customer(
        self, customer_key: str, *, test_code: str | None = None
    ) -> BrandPayMethods:
        """The customer's enabled methods via the secret key (e.g. after a webhook)."""
        key = quote(_check_customer_key(customer_key), safe="")
        data = self._call(
            "get_methods_by_customer",
            "GET",
            f"/v1/brandpay/payments/methods/{key}",
            auth=self._basic_auth,
            test_code=test_code,
        )
        return self._parse(
            "get_methods_by_customer", "GET", BrandPayMethods.from_json, data
        )

    def remove_card(
        self,
        access_token: str,
        method_key: str,
        *,
        idempotency_key: str,
        test_code: str | None = None,
    ) -> BrandPayCard:
        """Remove a card; Toss returns it with status DISABLED."""
        return self._remove_method(
            "card",
            BrandPayCard.from_json,
            access_token,
            method_key,
            idempotency_key,
            test_code,
        )

    def remove_account(
        self,
        access_token: str,
        method_key: str,
        *,
        idempotency_key: str,
        test_code: str | None = None,
    ) -> BrandPayAccount:
        """Remove a bank account; Toss returns it with status DISABLED."""
        return self._remove_method(
            "account",
            BrandPayAccount.from_json,
            access_token,
            method_key,
            idempotency_key,
            test_code,
        )

    def _remove_method(
        self,
        kind: Literal["card", "account"],
        parse: Callable[[Any], _T],
        access_token: str,
        method_key: str,
        idempotency_key: str,
        test_code: str | None,
    ) -> _T:
        # contract §3: REST removal takes the methodKey, not the SDK's method id.
        data = self._call(
            f"remove_{kind}",
            "POST",
            f"/v1/brandpay/payments/methods/{kind}/remove",
            auth=self._bearer(access_token),
            body={"methodKey": _check_text(method_key, "method_key", 300)},
            idempotency_key=idempotency_key,
            test_code=test_code,
        )
        return self._parse(f"remove_{kind}", "POST", parse, data)

    # -- payments (contract §4) ---------------------------------------------------

    def confirm_payment(
        self,
        payment_key: str,
        order_id: str,
        amount: int,
        customer_key: str,
        *,
        idempotency_key: str,
        test_code: str | None = None,
    ) -> Payment:
        """Confirm an authenticated BrandPay payment (within 10 minutes, §4)."""
        body = {
            "paymentKey": _check_text(payment_key, "payment_key", 200),
            "orderId": _check_text(order_id, "order_id", 64),
            "amount": _check_amount(amount),
            "customerKey": _check_customer_key(customer_key),
        }
        return self._post_payment(
            "confirm_payment",
            "/v1/brandpay/payments/confirm",
            body,
            idempotency_key,
            test_code,
            payment_key=payment_key,
            order_id=order_id,
        )

    def confirm_card_payment(
        self,
        payment_key: str,
        order_id: str,
        amount: int,
        *,
        idempotency_key: str,
        test_code: str | None = None,
    ) -> Payment:
        """Confirm a standard or international card window payment (§6.1).

        `POST /v1/payments/confirm` within 10 minutes of the window; the answer is a
        `type: NORMAL` Payment. BrandPay payments use `confirm_payment` instead.
        """
        body = {
            "paymentKey": _check_text(payment_key, "payment_key", 200),
            "orderId": _check_text(order_id, "order_id", 64),
            "amount": _check_amount(amount),
        }
        return self._post_payment(
            "confirm_card_payment",
            "/v1/payments/confirm",
            body,
            idempotency_key,
            test_code,
            payment_key=payment_key,
            order_id=order_id,
        )

    def brandpay_autopay(
        self,
        customer_key: str,
        method_key: str,
        amount: int,
        order_id: str,
        order_name: str,
        *,
        idempotency_key: str,
        card_installment_plan: int | None = None,
        tax_free_amount: int | None = None,
        use_card_point: bool | None = None,
        culture_expense: bool | None = None,
        cash_receipt: CashReceiptRequest | None = None,
        customer_email: str | None = None,
        discount_code: str | None = None,
        shipping_address: str | None = None,
        test_code: str | None = None,
    ) -> Payment:
        """Charge a saved BrandPay method without the customer (autopay, §4).

        The customer must have a billing agreement (requestBillingAuth); the answer is
        a DONE `type: BRANDPAY` Payment. Retried only under the same Idempotency-Key,
        so a retry can never charge twice.
        """
        amount = _check_amount(amount)
        body: dict[str, Any] = {
            "customerKey": _check_customer_key(customer_key),
            "methodKey": _check_text(method_key, "method_key", 300),
            "amount": amount,
            "orderId": _check_order_id(order_id),
            "orderName": _check_text(order_name, "order_name", _MAX_ORDER_NAME),
        }
        if card_installment_plan is not None:
            months = card_installment_plan
            if isinstance(months, bool) or months not in _INSTALLMENT_MONTHS:
                raise ValueError("card_installment_plan must be 0 or 2-12")
            if months and amount < _INSTALLMENT_MINIMUM:
                raise ValueError("installments need an amount of 50,000 KRW or more")
            body["cardInstallmentPlan"] = months
        if tax_free_amount is not None:
            if isinstance(tax_free_amount, bool) or not isinstance(
                tax_free_amount, int
            ):
                raise TypeError("tax_free_amount must be an int of KRW")
            if not 0 <= tax_free_amount <= amount:
                raise ValueError("tax_free_amount must be between 0 and the amount")
            body["taxFreeAmount"] = tax_free_amount
        if use_card_point is not None:
            body["useCardPoint"] = _check_flag(use_card_point, "use_card_point")
        if culture_expense is not None:
            body["cultureExpense"] = _check_flag(culture_expense, "culture_expense")
        if cash_receipt is not None:
            if not isinstance(cash_receipt, CashReceiptRequest):
                raise TypeError("cash_receipt must be a CashReceiptRequest")
            body["cashReceipt"] = cash_receipt.to_json()
        for name, value, limit in (
            ("customerEmail", customer_email, 100),
            ("discountCode", discount_code, 100),
            ("shippingAddress", shipping_address, 500),
        ):
            if value is not None:
                body[name] = _check_text(value, name, limit)
        # The paymentKey is Toss's to choose: only the orderId can be checked here.
        return self._post_payment(
            "brandpay_autopay",
            "/v1/brandpay/payments",
            body,
            idempotency_key,
            test_code,
            order_id=order_id,
        )

    def has_billing_agreement(
        self, customer_key: str, *, test_code: str | None = None
    ) -> bool:
        """Whether the customer agreed to every required BILLING term (autopay's
        precondition; `brandpay.requestBillingAuth()` records it, contract §5)."""
        terms = self.get_terms(customer_key, ["BILLING"], test_code=test_code)
        required = [t for t in terms if t.required]
        return bool(required) and all(t.agreed for t in required)

    def get_payment(self, payment_key: str, *, test_code: str | None = None) -> Payment:
        """Look a payment up by paymentKey (use it to reconcile unknown outcomes)."""
        data = self._call(
            "get_payment",
            "GET",
            f"/v1/payments/{_segment(payment_key, 'payment_key')}",
            auth=self._basic_auth,
            test_code=test_code,
        )
        return self._parse("get_payment", "GET", Payment.from_json, data)

    def get_payment_by_order(
        self, order_id: str, *, test_code: str | None = None
    ) -> Payment:
        """Look a payment up by the merchant's orderId."""
        data = self._call(
            "get_payment_by_order",
            "GET",
            f"/v1/payments/orders/{_segment(order_id, 'order_id')}",
            auth=self._basic_auth,
            test_code=test_code,
        )
        return self._parse("get_payment_by_order", "GET", Payment.from_json, data)

    def cancel_payment(
        self,
        payment_key: str,
        reason: str,
        *,
        amount: int | None = None,
        idempotency_key: str,
        test_code: str | None = None,
    ) -> Payment:
        """Refund all (`amount=None`) or part of a payment (core cancel API, §4)."""
        body: dict[str, Any] = {
            "cancelReason": _check_text(reason, "reason", _MAX_CANCEL_REASON)
        }
        if amount is not None:  # omitted means a full cancel (contract §4)
            body["cancelAmount"] = _check_amount(amount)
        return self._post_payment(
            "cancel_payment",
            f"/v1/payments/{_segment(payment_key, 'payment_key')}/cancel",
            body,
            idempotency_key,
            test_code,
            payment_key=payment_key,
        )

    # -- membership (contract §5) -------------------------------------------------

    def remove_customer(
        self, access_token: str, *, idempotency_key: str, test_code: str | None = None
    ) -> None:
        """Withdraw the customer from BrandPay: every method is deleted at once."""
        data = self._call(
            "remove_customer",
            "POST",
            "/v1/brandpay/customers/remove",
            auth=self._bearer(access_token),
            body=None,  # contract §5: no body
            idempotency_key=idempotency_key,
            test_code=test_code,
        )
        # A 2xx without success=true is no confirmed withdrawal: make the caller check.
        if not isinstance(data, Mapping) or data.get("success") is not True:
            raise TossUnavailableError(
                "remove_customer", "withdrawal not confirmed", method="POST"
            )

    # -- plumbing -----------------------------------------------------------------

    @staticmethod
    def _fresh_key() -> str:
        return f"wallet-{uuid.uuid4().hex}"

    @staticmethod
    def _bearer(access_token: str) -> str:
        # contract §1: customer-token endpoints use the customer's access token.
        if not isinstance(access_token, str) or not re.fullmatch(
            r"[\x21-\x7e]+", access_token
        ):
            raise ValueError("access_token must be a non-empty printable string")
        return f"Bearer {access_token}"

    def _post_payment(
        self,
        operation: str,
        path: str,
        body: Mapping[str, Any],
        idempotency_key: str,
        test_code: str | None,
        *,
        payment_key: str | None = None,
        order_id: str | None = None,
    ) -> Payment:
        """POST (Basic) that answers a Payment, checked to be the one asked about."""
        data = self._call(
            operation,
            "POST",
            path,
            auth=self._basic_auth,
            body=body,
            idempotency_key=idempotency_key,
            test_code=test_code,
        )
        payment = self._parse(operation, "POST", Payment.from_json, data)
        return self._check_same(
            operation, payment, payment_key=payment_key, order_id=order_id
        )

    @staticmethod
    def _check_same(
        operation: str,
        payment: Payment,
        *,
        payment_key: str | None = None,
        order_id: str | None = None,
    ) -> Payment:
        # contract §4/§10: a reused Idempotency-Key replays the FIRST request's answer,
        # even for another payment. Never report that as this payment's outcome.
        if (payment_key is not None and payment.payment_key != payment_key) or (
            order_id is not None and payment.order_id != order_id
        ):
            raise TossUnavailableError(
                operation, "answer is for another payment (key reused?)", method="POST"
            )
        return payment

    @staticmethod
    def _parse(
        operation: str, method: _Method, parse: Callable[[Any], _T], data: Any
    ) -> _T:
        """Unexpected 2xx shape: TossUnavailableError (a POST may have acted)."""
        try:
            return parse(data)
        except (TypeError, ValueError, KeyError) as exc:
            raise TossUnavailableError(
                operation,
                f"unexpected response shape ({type(exc).__name__})",
                method=method,
            ) from None

    def _call(
        self,
        operation: str,
        method: _Method,
        path: str,
        *,
        auth: str,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
        test_code: str | None = None,
    ) -> Any:
        """Send one logical request with the safe retries; return the decoded JSON."""
        headers = {**self._headers, "Authorization": auth}
        if method == "POST":
            # contract §4: every POST carries one; it makes our own retries safe.
            if not isinstance(idempotency_key, str) or not _IDEMPOTENCY_KEY.fullmatch(
                idempotency_key
            ):
                raise ValueError("idempotency_key must be 1-300 printable ASCII chars")
            headers["Idempotency-Key"] = idempotency_key
        if test_code is not None:
            if not _TEST_CODE.fullmatch(test_code):
                raise ValueError("test_code must be an upper-case Toss error code")
            headers["TossPayments-Test-Code"] = test_code  # contract §9
        url = self._base + path
        consecutive_left, connect_left = _CONSECUTIVE_RETRIES, _CONNECT_RETRIES
        server_left = _GET_SERVER_RETRIES if method == "GET" else 0
        attempt = 0
        while True:
            attempt += 1
            started = time.monotonic()
            try:
                resp = self._http.request(
                    method,
                    url,
                    params=params,
                    json=body,
                    headers=headers,
                    timeout=self._timeout,
                    allow_redirects=False,  # a redirect is misconfiguration, see below
                )
            except requests.exceptions.SSLError as exc:
                raise self._unavailable(operation, method, exc) from exc
            except requests.ConnectionError as exc:
                # Includes ConnectTimeout (a ReadTimeout is not a ConnectionError).
                # Mostly the request never left; if it did, a POST's replay under the
                # same Idempotency-Key gets the first answer or a 409, never a 2nd act.
                if connect_left > 0:
                    wait = _CONNECT_BACKOFF[_CONNECT_RETRIES - connect_left]
                    connect_left -= 1
                    log.warning("toss %s: %s, retrying", operation, type(exc).__name__)
                    self._sleep(wait)
                    continue
                raise self._unavailable(operation, method, exc) from exc
            except requests.RequestException as exc:
                # Read timeouts and broken responses: Toss may have acted, never retry.
                raise self._unavailable(operation, method, exc) from exc
            elapsed_ms = (time.monotonic() - started) * 1000
            log.info(
                "toss %s %s -> %s in %.0f ms (attempt %d)",
                operation,
                method,
                resp.status_code,
                elapsed_ms,
                attempt,
            )
            success = 200 <= resp.status_code < 300
            if 300 <= resp.status_code < 400:
                # A redirect means a misconfigured base URL; following it could leak
                # the Authorization header, and a POST may already have acted.
                raise TossUnavailableError(
                    operation, "unexpected redirect", method=method
                )
            try:
                data = resp.json() if resp.content else None
            except ValueError:
                data = None
                if success:
                    raise TossUnavailableError(
                        operation, "unreadable response body", method=method
                    ) from None
            if success:
                return data
            error = error_from_response(resp.status_code, data, method=method)
            if error.code == "FORBIDDEN_CONSECUTIVE_REQUEST" and consecutive_left > 0:
                consecutive_left -= 1
                self._sleep(_CONSECUTIVE_WAIT)  # contract §10; architecture flow 4
                continue
            if isinstance(error, TossServerError) and server_left > 0:
                server_left -= 1
                self._sleep(_GET_SERVER_WAIT)
                continue
            raise error

    @staticmethod
    def _unavailable(
        operation: str, method: _Method, exc: requests.RequestException
    ) -> TossError:
        # Exception class only: requests' messages embed URLs and pool details.
        log.warning("toss %s %s failed: %s", operation, method, type(exc).__name__)
        return TossUnavailableError(operation, type(exc).__name__, method=method)
