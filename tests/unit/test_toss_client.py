"""TossClient against a fake transport: requests sent, errors mapped, safe retries."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from requests.adapters import BaseAdapter

from wallet.toss import (
    AccessToken,
    BrandPayMethods,
    CashReceiptRequest,
    Payment,
    TossAlreadyProcessedError,
    TossApiError,
    TossAuthError,
    TossClient,
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

BASE = "https://api.toss.test"
SECRET = "test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R"
BASIC = "Basic " + base64.b64encode(f"{SECRET}:".encode()).decode()
ACCESS = "Xy0EQM5Ab4kL9access"
REFRESH = "vG45refreshT0ken"
CUSTOMER = "cust_7Jq2mZ9xWq"
IDEM = "confirm-order-0001"
PAYMENT_KEY = "pk_5EnNZRJGvaBX7zk2yd8ydw26XvwXkLrx9POLqKQjmAw4b0e1"

PAYMENT = {
    "mId": "tvivarepublica",
    "version": "2022-11-16",
    "paymentKey": PAYMENT_KEY,
    "type": "BRANDPAY",
    "orderId": "order_0001",
    "orderName": "Coffee",
    "currency": "KRW",
    "method": "카드",
    "totalAmount": 15000,
    "balanceAmount": 15000,
    "status": "DONE",
    "requestedAt": "2024-02-13T12:17:57+09:00",
    "approvedAt": "2024-02-13T12:18:14+09:00",
    "card": {"issuerCode": "61", "number": "43301234****123*", "amount": 15000},
    "receipt": {"url": "https://dashboard.tosspayments.com/receipt/x"},
    "cancels": None,
    "failure": None,
    "secret": "ps_should_not_show",
    "someFutureField": {"x": 1},
}
# A standard-window payment as the core confirm returns it (contract §6.1).
NORMAL_PAYMENT = {
    **PAYMENT,
    "type": "NORMAL",
    "country": "US",
    "metadata": {"cart": "c-17"},
    "suppliedAmount": 13636,
    "vat": 1364,
    "taxFreeAmount": 0,
    "useEscrow": True,
    "card": {
        "amount": 15000,
        "issuerCode": "4V",
        "acquirerCode": "4V",
        "number": "42424242****424*",
        "installmentPlanMonths": 3,
        "isInterestFree": False,
        "approveNo": "04744968",
        "useCardPoint": True,
        "cardType": "신용",
        "ownerType": "개인",
        "acquireStatus": "READY",
    },
}
ACCOUNT_PAYMENT = {
    **PAYMENT,
    "method": "계좌이체",
    "card": None,
    "cultureExpense": True,
    "transfer": {"bankCode": "88", "settlementStatus": "COMPLETED"},
    "cashReceipt": {
        "type": "소득공제",
        "receiptKey": "cr_1",
        "issueNumber": "123456789",
        "receiptUrl": "https://receipt/1",
        "amount": 15000,
        "taxFreeAmount": 0,
    },
    "easyPay": {"provider": "토스페이", "amount": 15000, "discountAmount": 0},
}
CANCELED = {
    **PAYMENT,
    "status": "PARTIAL_CANCELED",
    "balanceAmount": 10000,
    "cancels": [
        {
            "cancelAmount": 5000,
            "cancelReason": "changed mind",
            "canceledAt": "2024-02-13T13:00:00+09:00",
            "transactionKey": "tk_1",
            "cancelStatus": "DONE",
        }
    ],
}
CARD = {
    "id": "m_Zzorzo1AJbaD78l5",
    "methodKey": "mk_card_1",
    "alias": "My card",
    "cardName": "현대카드",
    "cardNumber": "43301234****123*",
    "issuerCode": "61",
    "acquirerCode": "31",
    "ownerType": "개인",
    "cardType": "신용",
    "registeredAt": "2024-02-01T10:00:00+09:00",
    "status": "ENABLED",
    "iconUrl": "https://static.toss.im/icon.png",
    "color": {"background": "#000000", "text": "#ffffff"},
    "promotions": [],
}
ACCOUNT = {
    "id": "b_aPz8LBLadxD6WVy4",
    "methodKey": "mk_acct_1",
    "accountName": "입출금",
    "accountNumber": "123***7890",
    "alias": None,
    "bankCode": "88",
    "registeredAt": "2024-02-02T10:00:00+09:00",
    "status": "ENABLED",
}
METHODS = {
    "cards": [CARD],
    "accounts": [ACCOUNT],
    "isIdentified": True,
    "selectedMethodId": "b_aPz8LBLadxD6WVy4",
}
TOKEN = {
    "accessToken": ACCESS,
    "refreshToken": REFRESH,
    "tokenType": "bearer",
    "expiresIn": 2592000,
}
TERMS = [
    {
        "id": 1,
        "title": "서비스 이용약관",
        "version": "1",
        "url": "https://t/1",
        "required": True,
        "agreed": False,
    },
    {"id": 4, "title": "제3자 제공", "required": False, "agreed": False},
]


@dataclass
class Sent:
    """One request as the transport saw it."""

    method: str
    url: str
    headers: dict[str, str]
    body: Any
    timeout: Any

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.url).query)


Reply = tuple[int, Any] | tuple[int, Any, bytes] | BaseException


class FakeTransport(BaseAdapter):
    """Records requests and answers from a script; never touches the network."""

    def __init__(self, *replies: Reply) -> None:
        super().__init__()
        self.replies = list(replies)
        self.sent: list[Sent] = []

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        raw = request.body
        body = json.loads(raw) if isinstance(raw, str | bytes) and raw else None
        headers = {k: str(v) for k, v in request.headers.items()}
        self.sent.append(
            Sent(str(request.method), str(request.url), headers, body, timeout)
        )
        if not self.replies:
            raise AssertionError("unexpected extra request")
        reply = self.replies.pop(0)
        if isinstance(reply, BaseException):
            raise reply
        resp = requests.Response()
        resp.status_code = reply[0]
        resp._content = reply[2] if len(reply) == 3 else json.dumps(reply[1]).encode()
        resp.headers["Content-Type"] = "application/json"
        resp.encoding = "utf-8"
        resp.request = request
        resp.url = str(request.url)
        return resp

    def close(self) -> None:
        """Nothing pooled."""


@dataclass
class Harness:
    client: TossClient
    transport: FakeTransport
    sleeps: list[float]


@pytest.fixture
def make() -> Callable[..., Harness]:
    def build(*replies: Reply, **kwargs: Any) -> Harness:
        transport = FakeTransport(*replies)
        session = requests.Session()
        session.trust_env = False  # no proxy/netrc lookups from the environment
        session.mount("https://", transport)
        sleeps: list[float] = []
        client = TossClient(
            BASE, SECRET, session=session, sleep=sleeps.append, **kwargs
        )
        return Harness(client, transport, sleeps)

    return build


def err(status: int, code: str, message: str = "msg") -> tuple[int, Any]:
    return (status, {"code": code, "message": message})


# -- request shapes -------------------------------------------------------------

BEARER = f"Bearer {ACCESS}"

CASES: list[tuple[str, Callable[[TossClient], Any], Any, str, str, str, Any, bool]] = [
    # id, call, reply, method, path, auth, body, has idempotency key
    (
        "issue_access_token",
        lambda c: c.issue_access_token(CUSTOMER, "code123", idempotency_key=IDEM),
        TOKEN,
        "POST",
        "/v1/brandpay/authorizations/access-token",
        BASIC,
        {"customerKey": CUSTOMER, "grantType": "AuthorizationCode", "code": "code123"},
        True,
    ),
    (
        "refresh_access_token",
        lambda c: c.refresh_access_token(CUSTOMER, REFRESH, idempotency_key=IDEM),
        TOKEN,
        "POST",
        "/v1/brandpay/authorizations/access-token",
        BASIC,
        {"customerKey": CUSTOMER, "grantType": "RefreshToken", "refreshToken": REFRESH},
        True,
    ),
    (
        "get_terms",
        lambda c: c.get_terms(CUSTOMER, ["REGISTER", "CARD"]),
        TERMS,
        "GET",
        "/v1/brandpay/terms",
        BASIC,
        None,
        False,
    ),
    (
        "agree_terms",
        lambda c: c.agree_terms(
            CUSTOMER, ["REGISTER", "CARD"], [1, 2, 3, 4], idempotency_key=IDEM
        ),
        {"code": "RnYX2w532omp6gDQgVNeyqAp"},
        "POST",
        "/v1/brandpay/terms/agree",
        BASIC,
        {
            "customerKey": CUSTOMER,
            "scope": ["REGISTER", "CARD"],
            "termsId": [1, 2, 3, 4],
        },
        True,
    ),
    (
        "get_methods",
        lambda c: c.get_methods(ACCESS),
        METHODS,
        "GET",
        "/v1/brandpay/payments/methods",
        BEARER,
        None,
        False,
    ),
    (
        "get_methods_by_customer",
        lambda c: c.get_methods_by_customer(CUSTOMER),
        METHODS,
        "GET",
        f"/v1/brandpay/payments/methods/{CUSTOMER}",
        BASIC,
        None,
        False,
    ),
    (
        "remove_card",
        lambda c: c.remove_card(ACCESS, "mk_card_1", idempotency_key=IDEM),
        {**CARD, "status": "DISABLED"},
        "POST",
        "/v1/brandpay/payments/methods/card/remove",
        BEARER,
        {"methodKey": "mk_card_1"},
        True,
    ),
    (
        "remove_account",
        lambda c: c.remove_account(ACCESS, "mk_acct_1", idempotency_key=IDEM),
        {**ACCOUNT, "status": "DISABLED"},
        "POST",
        "/v1/brandpay/payments/methods/account/remove",
        BEARER,
        {"methodKey": "mk_acct_1"},
        True,
    ),
    (
        "confirm_payment",
        lambda c: c.confirm_payment(
            PAYMENT_KEY, "order_0001", 15000, CUSTOMER, idempotency_key=IDEM
        ),
        PAYMENT,
        "POST",
        "/v1/brandpay/payments/confirm",
        BASIC,
        {
            "paymentKey": PAYMENT_KEY,
            "orderId": "order_0001",
            "amount": 15000,
            "customerKey": CUSTOMER,
        },
        True,
    ),
    (
        "confirm_card_payment",
        lambda c: c.confirm_card_payment(
            PAYMENT_KEY, "order_0001", 15000, idempotency_key=IDEM
        ),
        NORMAL_PAYMENT,
        "POST",
        "/v1/payments/confirm",
        BASIC,
        {"paymentKey": PAYMENT_KEY, "orderId": "order_0001", "amount": 15000},
        True,
    ),
    (
        "brandpay_autopay",
        lambda c: c.brandpay_autopay(
            CUSTOMER, "mk_card_1", 15000, "order_0001", "Coffee", idempotency_key=IDEM
        ),
        PAYMENT,
        "POST",
        "/v1/brandpay/payments",
        BASIC,
        {
            "customerKey": CUSTOMER,
            "methodKey": "mk_card_1",
            "amount": 15000,
            "orderId": "order_0001",
            "orderName": "Coffee",
        },
        True,
    ),
    (
        "get_payment",
        lambda c: c.get_payment(PAYMENT_KEY),
        PAYMENT,
        "GET",
        f"/v1/payments/{PAYMENT_KEY}",
        BASIC,
        None,
        False,
    ),
    (
        "get_payment_by_order",
        lambda c: c.get_payment_by_order("order_0001"),
        PAYMENT,
        "GET",
        "/v1/payments/orders/order_0001",
        BASIC,
        None,
        False,
    ),
    (
        "cancel_payment_full",
        lambda c: c.cancel_payment(PAYMENT_KEY, "refund", idempotency_key=IDEM),
        CANCELED,
        "POST",
        f"/v1/payments/{PAYMENT_KEY}/cancel",
        BASIC,
        {"cancelReason": "refund"},
        True,
    ),
    (
        "cancel_payment_partial",
        lambda c: c.cancel_payment(
            PAYMENT_KEY, "refund", amount=5000, idempotency_key=IDEM
        ),
        CANCELED,
        "POST",
        f"/v1/payments/{PAYMENT_KEY}/cancel",
        BASIC,
        {"cancelReason": "refund", "cancelAmount": 5000},
        True,
    ),
    (
        "remove_customer",
        lambda c: c.remove_customer(ACCESS, idempotency_key=IDEM),
        {"customerKey": CUSTOMER, "success": True},
        "POST",
        "/v1/brandpay/customers/remove",
        BEARER,
        None,
        True,
    ),
]


@pytest.mark.parametrize(
    ("call", "reply", "method", "path", "auth", "body", "idempotent"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_client_method_sends_expected_request(
    make: Callable[..., Harness],
    call: Callable[[TossClient], Any],
    reply: Any,
    method: str,
    path: str,
    auth: str,
    body: Any,
    idempotent: bool,
) -> None:
    h = make((200, reply))
    call(h.client)
    [sent] = h.transport.sent
    assert sent.method == method
    assert sent.path == path
    assert sent.url.startswith(BASE + "/")
    assert sent.headers["Authorization"] == auth
    assert sent.body == body
    assert sent.timeout == (3.05, 10.0)
    assert "TossPayments-Test-Code" not in sent.headers
    if idempotent:
        assert sent.headers["Idempotency-Key"] == IDEM
    else:
        assert "Idempotency-Key" not in sent.headers


def test_basic_auth_header_is_secret_key_and_colon(
    make: Callable[..., Harness],
) -> None:
    h = make((200, PAYMENT))
    h.client.get_payment("pk_1")
    encoded = h.transport.sent[0].headers["Authorization"].removeprefix("Basic ")
    assert base64.b64decode(encoded).decode() == SECRET + ":"  # contract §1


def test_get_terms_sends_comma_separated_scope(make: Callable[..., Harness]) -> None:
    h = make((200, TERMS))
    terms = h.client.get_terms(CUSTOMER, ["REGISTER", "CARD"])
    assert h.transport.sent[0].query == {
        "customerKey": [CUSTOMER],
        "scope": ["REGISTER,CARD"],
    }
    assert [t.id for t in terms] == [1, 4]
    assert terms[0].required
    assert not terms[1].required


def test_path_ids_are_percent_encoded(make: Callable[..., Harness]) -> None:
    h = make((200, PAYMENT))
    h.client.get_payment_by_order("a/../b")
    assert h.transport.sent[0].url == f"{BASE}/v1/payments/orders/a%2F..%2Fb"


def test_test_code_and_accept_language_headers_sent(
    make: Callable[..., Harness],
) -> None:
    h = make((200, PAYMENT), accept_language="en-US", timeout=(1.0, 2.0))
    h.client.get_payment("pk_1", test_code="NOT_FOUND_PAYMENT")
    sent = h.transport.sent[0]
    assert sent.headers["TossPayments-Test-Code"] == "NOT_FOUND_PAYMENT"
    assert sent.headers["Accept-Language"] == "en-US"
    assert sent.timeout == (1.0, 2.0)


def test_token_call_without_key_gets_generated_idempotency_key(
    make: Callable[..., Harness],
) -> None:
    h = make(requests.ConnectionError("refused"), (200, TOKEN))
    h.client.issue_access_token(CUSTOMER, "code123")
    first, second = h.transport.sent
    assert first.headers["Idempotency-Key"]
    # The retry must replay the same key, or Toss could act twice.
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"]


# -- validation before sending --------------------------------------------------


@pytest.mark.parametrize("amount", [True, False, 0, -100, 100.0, "15000", None])
def test_confirm_bad_amount_rejected_before_sending(
    make: Callable[..., Harness], amount: Any
) -> None:
    h = make()
    with pytest.raises((TypeError, ValueError)):
        h.client.confirm_payment(
            "pk_1", "order_0001", amount, CUSTOMER, idempotency_key=IDEM
        )
    assert h.transport.sent == []


@pytest.mark.parametrize("amount", [True, 0, -1, 1.5])
def test_cancel_bad_amount_rejected_before_sending(
    make: Callable[..., Harness], amount: Any
) -> None:
    h = make()
    with pytest.raises((TypeError, ValueError)):
        h.client.cancel_payment("pk_1", "refund", amount=amount, idempotency_key=IDEM)
    assert h.transport.sent == []


@pytest.mark.parametrize("key", ["", "x" * 301, "has space", "new\nline", "한글"])
def test_bad_idempotency_key_rejected_before_sending(
    make: Callable[..., Harness], key: str
) -> None:
    h = make()
    with pytest.raises(ValueError, match="idempotency_key"):
        h.client.remove_customer(ACCESS, idempotency_key=key)
    assert h.transport.sent == []


def test_idempotency_key_of_300_chars_accepted(make: Callable[..., Harness]) -> None:
    h = make((200, {"customerKey": CUSTOMER, "success": True}))
    h.client.remove_customer(ACCESS, idempotency_key="k" * 300)
    assert len(h.transport.sent[0].headers["Idempotency-Key"]) == 300


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.get_terms(CUSTOMER, "REGISTER"),  # a bare str
        lambda c: c.get_terms(CUSTOMER, ["REGISTER", "CARD", "ACCOUNT"]),
        lambda c: c.get_terms(CUSTOMER, ["PAYMENT"]),
        lambda c: c.get_methods_by_customer("bad key!"),
        lambda c: c.agree_terms(CUSTOMER, ["REGISTER"], [True], idempotency_key=IDEM),
        lambda c: c.cancel_payment("pk_1", "x" * 201, idempotency_key=IDEM),
        lambda c: c.get_methods("token with\nnewline"),
        lambda c: c.get_payment("pk_1", test_code="bad code"),
    ],
)
def test_bad_arguments_rejected_before_sending(
    make: Callable[..., Harness], call: Callable[[TossClient], Any]
) -> None:
    h = make()
    with pytest.raises((TypeError, ValueError)):
        call(h.client)
    assert h.transport.sent == []


def test_constructor_rejects_secret_with_bom_or_colon() -> None:
    for bad in ("\ufefftest_sk_x", "test_sk_x:", "", "test_sk_x\n"):
        with pytest.raises(ValueError, match="secret_key") as info:
            TossClient(BASE, bad)
        assert "test_sk_x" not in str(info.value)


# -- typed results --------------------------------------------------------------


def test_confirm_returns_typed_payment(make: Callable[..., Harness]) -> None:
    h = make((200, PAYMENT))
    p = h.client.confirm_payment(
        PAYMENT_KEY, "order_0001", 15000, CUSTOMER, idempotency_key=IDEM
    )
    assert isinstance(p, Payment)
    assert (p.status, p.total_amount, p.balance_amount, p.type) == (
        "DONE",
        15000,
        15000,
        "BRANDPAY",
    )
    assert p.approved_at == datetime(2024, 2, 13, 3, 18, 14, tzinfo=UTC)
    assert p.receipt_url == "https://dashboard.tosspayments.com/receipt/x"
    assert p.cancels == ()
    assert p.card is not None
    assert p.card["issuerCode"] == "61"
    assert p.raw["someFutureField"] == {"x": 1}
    assert "ps_should_not_show" not in repr(p)


def test_cancel_returns_payment_with_cancels(make: Callable[..., Harness]) -> None:
    h = make((200, CANCELED))
    p = h.client.cancel_payment(
        PAYMENT_KEY, "refund", amount=5000, idempotency_key=IDEM
    )
    [cancel] = p.cancels
    assert (cancel.cancel_amount, cancel.cancel_status) == (5000, "DONE")
    assert cancel.canceled_at is not None
    assert cancel.canceled_at.utcoffset() == timedelta(hours=9)
    assert p.canceled_amount == 5000
    assert not p.is_fully_canceled


def test_methods_parsed_with_selected_method(make: Callable[..., Harness]) -> None:
    h = make((200, {**METHODS, "unknownField": 1}))
    m = h.client.get_methods(ACCESS)
    assert isinstance(m, BrandPayMethods)
    assert [c.card_number for c in m.cards] == ["43301234****123*"]
    assert m.accounts[0].bank_code == "88"
    assert m.selected is m.accounts[0]
    assert m.find("mk_card_1") is m.cards[0]
    assert m.cards[0].color is not None
    assert m.cards[0].color.background == "#000000"
    assert m.cards[0].registered_at is not None
    assert m.cards[0].registered_at.tzinfo is not None


def test_empty_methods_parsed(make: Callable[..., Harness]) -> None:
    h = make(
        (
            200,
            {
                "cards": [],
                "accounts": [],
                "isIdentified": False,
                "selectedMethodId": None,
            },
        )
    )
    m = h.client.get_methods_by_customer(CUSTOMER)
    assert (m.cards, m.accounts, m.selected) == ((), (), None)


def test_access_token_parsed_and_repr_hides_tokens(
    make: Callable[..., Harness],
) -> None:
    h = make((200, TOKEN))
    token = h.client.issue_access_token(CUSTOMER, "code123", idempotency_key=IDEM)
    assert isinstance(token, AccessToken)
    assert (token.access_token, token.refresh_token) == (ACCESS, REFRESH)
    assert token.expires_in == 2592000
    text = repr(token) + str(token)
    assert ACCESS not in text
    assert REFRESH not in text
    issued = datetime(2024, 1, 1, tzinfo=UTC)
    assert token.expires_at(issued) == issued + timedelta(days=30)


def test_agree_terms_returns_code(make: Callable[..., Harness]) -> None:
    h = make((200, {"code": "RnYX2w532omp6gDQgVNeyqAp"}))
    code = h.client.agree_terms(CUSTOMER, ["REGISTER"], [1, 2], idempotency_key=IDEM)
    assert code == "RnYX2w532omp6gDQgVNeyqAp"


def test_remove_customer_without_success_is_not_trusted(
    make: Callable[..., Harness],
) -> None:
    h = make((200, {"customerKey": CUSTOMER, "success": False}))
    with pytest.raises(TossUnavailableError) as info:
        h.client.remove_customer(ACCESS, idempotency_key=IDEM)
    assert info.value.outcome_unknown


@pytest.mark.parametrize(
    ("method", "call"),
    [
        (
            "POST",
            lambda c: c.confirm_payment(
                "pk", "order_01", 100, CUSTOMER, idempotency_key=IDEM
            ),
        ),
        ("GET", lambda c: c.get_payment("pk")),
    ],
)
def test_unexpected_2xx_shape_is_unavailable(
    make: Callable[..., Harness], method: str, call: Callable[[TossClient], Any]
) -> None:
    h = make((200, {"paymentKey": "pk"}))
    with pytest.raises(TossUnavailableError) as info:
        call(h.client)
    assert info.value.outcome_unknown is (method == "POST")


def test_unparseable_2xx_body_on_post_is_unknown_outcome(
    make: Callable[..., Harness],
) -> None:
    h = make((200, None, b"<html>gateway</html>"))
    with pytest.raises(TossUnavailableError) as info:
        h.client.confirm_payment("pk", "order_01", 100, CUSTOMER, idempotency_key=IDEM)
    assert info.value.outcome_unknown
    assert len(h.transport.sent) == 1


# -- error mapping --------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (401, "UNAUTHORIZED_KEY", TossAuthError),
        (403, "INCORRECT_BASIC_AUTH_FORMAT", TossAuthError),
        (403, "FORBIDDEN_REQUEST", TossAuthError),
        (404, "NOT_FOUND_PAYMENT_SESSION", TossNotFoundError),
        (404, "NOT_FOUND_METHOD", TossNotFoundError),
        (404, "NOT_FOUND_CUSTOMER", TossNotFoundError),
        (400, "ALREADY_PROCESSED_PAYMENT", TossAlreadyProcessedError),
        (403, "REJECT_CARD_COMPANY", TossRejectedError),
        (403, "REJECT_ACCOUNT_PAYMENT", TossRejectedError),
        (403, "INVALID_PASSWORD", TossRejectedError),
        (403, "FDS_ERROR", TossRejectedError),
        (403, "NOT_CANCELABLE_AMOUNT", TossRejectedError),
        (403, "EXCEED_MAX_REFUND_DUE", TossRejectedError),
        (400, "INVALID_REQUEST", TossInvalidRequestError),
        (400, "BELOW_MINIMUM_AMOUNT", TossInvalidRequestError),
        (409, "IDEMPOTENT_REQUEST_PROCESSING", TossConflictError),
        (500, "FAILED_INTERNAL_SYSTEM_PROCESSING", TossServerError),
        (502, "UNKNOWN", TossServerError),
    ],
)
def test_error_from_response_maps_code_family(
    status: int, code: str, cls: type
) -> None:
    error = error_from_response(status, {"code": code, "message": "m"}, method="POST")
    assert type(error) is cls
    assert (error.status, error.code, error.message) == (status, code, "m")


@pytest.mark.parametrize("body", [None, "oops", [1], {"code": 5}, {}])
def test_error_from_response_tolerates_foreign_bodies(body: Any) -> None:
    error = error_from_response(400, body)
    assert isinstance(error, TossInvalidRequestError)
    assert error.code == "UNKNOWN"


def test_api_error_raised_with_toss_message(make: Callable[..., Harness]) -> None:
    h = make(err(404, "NOT_FOUND_PAYMENT_SESSION", "결제 시간이 만료되었습니다."))
    with pytest.raises(TossNotFoundError) as info:
        h.client.confirm_payment("pk", "order_01", 100, CUSTOMER, idempotency_key=IDEM)
    assert info.value.message == "결제 시간이 만료되었습니다."
    assert (
        str(info.value)
        == "NOT_FOUND_PAYMENT_SESSION (404): 결제 시간이 만료되었습니다."
    )
    assert not info.value.outcome_unknown
    assert h.sleeps == []


def test_expired_bearer_token_is_auth_error(make: Callable[..., Harness]) -> None:
    h = make(err(401, "UNAUTHORIZED_KEY"))
    with pytest.raises(TossAuthError):
        h.client.get_methods(ACCESS)


def test_conflict_on_post_means_outcome_unknown(make: Callable[..., Harness]) -> None:
    h = make(err(409, "IDEMPOTENT_REQUEST_PROCESSING"))
    with pytest.raises(TossConflictError) as info:
        h.client.confirm_payment("pk", "order_01", 100, CUSTOMER, idempotency_key=IDEM)
    assert info.value.outcome_unknown
    assert len(h.transport.sent) == 1


# -- retries --------------------------------------------------------------------


def test_consecutive_request_retried_after_one_second(
    make: Callable[..., Harness],
) -> None:
    h = make(err(403, "FORBIDDEN_CONSECUTIVE_REQUEST"), (200, PAYMENT))
    p = h.client.confirm_payment(
        PAYMENT_KEY, "order_0001", 15000, CUSTOMER, idempotency_key=IDEM
    )
    assert p.status == "DONE"
    assert h.sleeps == [1.0]
    assert [s.headers["Idempotency-Key"] for s in h.transport.sent] == [IDEM, IDEM]


def test_consecutive_request_twice_raises_rate_limited(
    make: Callable[..., Harness],
) -> None:
    h = make(
        err(403, "FORBIDDEN_CONSECUTIVE_REQUEST"),
        err(403, "FORBIDDEN_CONSECUTIVE_REQUEST"),
    )
    with pytest.raises(TossRateLimitedError):
        h.client.get_payment("pk")
    assert h.sleeps == [1.0]
    assert len(h.transport.sent) == 2


def test_read_timeout_on_post_not_retried(make: Callable[..., Harness]) -> None:
    h = make(requests.ReadTimeout("read timed out"), (200, PAYMENT))
    with pytest.raises(TossUnavailableError) as info:
        h.client.confirm_payment("pk", "order_01", 100, CUSTOMER, idempotency_key=IDEM)
    assert info.value.outcome_unknown is True
    assert len(h.transport.sent) == 1
    assert h.sleeps == []


def test_server_error_on_post_not_retried(make: Callable[..., Harness]) -> None:
    h = make(err(500, "FAILED_INTERNAL_SYSTEM_PROCESSING"), (200, CANCELED))
    with pytest.raises(TossServerError) as info:
        h.client.cancel_payment("pk", "refund", idempotency_key=IDEM)
    assert info.value.outcome_unknown is True
    assert len(h.transport.sent) == 1


def test_server_error_on_get_retried_once(make: Callable[..., Harness]) -> None:
    h = make(err(503, "UNKNOWN"), (200, PAYMENT))
    assert h.client.get_payment("pk").status == "DONE"
    assert len(h.transport.sent) == 2
    assert len(h.sleeps) == 1


def test_server_error_on_get_twice_raises_known_outcome(
    make: Callable[..., Harness],
) -> None:
    h = make(err(500, "COMMON_ERROR"), err(500, "COMMON_ERROR"))
    with pytest.raises(TossServerError) as info:
        h.client.get_payment("pk")
    assert info.value.outcome_unknown is False
    assert len(h.transport.sent) == 2


def test_connection_error_on_get_retried(make: Callable[..., Harness]) -> None:
    h = make(
        requests.ConnectionError("refused"),
        requests.ConnectTimeout("slow"),
        (200, METHODS),
    )
    m = h.client.get_methods(ACCESS)
    assert len(m.cards) == 1
    assert len(h.transport.sent) == 3
    assert len(h.sleeps) == 2
    assert all(0 < s <= 1 for s in h.sleeps)


def test_connection_error_on_post_retried_with_same_key(
    make: Callable[..., Harness],
) -> None:
    h = make(requests.ConnectionError("refused"), (200, PAYMENT))
    h.client.confirm_payment(
        PAYMENT_KEY, "order_0001", 15000, CUSTOMER, idempotency_key=IDEM
    )
    assert [s.headers["Idempotency-Key"] for s in h.transport.sent] == [IDEM, IDEM]


def test_connection_errors_exhausted_raise_unavailable(
    make: Callable[..., Harness],
) -> None:
    h = make(*(requests.ConnectionError("refused") for _ in range(3)))
    with pytest.raises(TossUnavailableError) as info:
        h.client.get_payment("pk")
    assert info.value.outcome_unknown is False  # a GET changed nothing
    assert len(h.transport.sent) == 3


def test_read_timeout_on_get_raises_unavailable(make: Callable[..., Harness]) -> None:
    h = make(requests.ReadTimeout("read timed out"))
    with pytest.raises(TossUnavailableError) as info:
        h.client.get_payment("pk")
    assert not info.value.outcome_unknown
    assert isinstance(info.value, TossError)


def test_redirect_not_followed(make: Callable[..., Harness]) -> None:
    h = make((301, {}))
    with pytest.raises(TossUnavailableError):
        h.client.get_payment("pk")
    assert len(h.transport.sent) == 1


# -- secrets stay secret --------------------------------------------------------


def test_secret_not_in_client_repr_or_str() -> None:
    client = TossClient(BASE, SECRET)
    encoded = BASIC.removeprefix("Basic ")
    for text in (repr(client), str(client)):
        assert SECRET not in text
        assert encoded not in text
    assert repr(client) == f"TossClient(base_url={BASE!r}, mode='test')"
    client.close()


def test_secret_and_tokens_not_in_errors_or_logs(
    make: Callable[..., Harness], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="wallet.toss")
    h = make(
        requests.ConnectionError(f"refused {SECRET}"),
        requests.ReadTimeout("timeout"),
        err(401, "UNAUTHORIZED_KEY", "인증되지 않은 키"),
    )
    errors: list[TossError] = []
    for call in (
        lambda: h.client.refresh_access_token(CUSTOMER, REFRESH, idempotency_key=IDEM),
        lambda: h.client.get_methods(ACCESS),
    ):
        with pytest.raises(TossError) as info:
            call()
        errors.append(info.value)
    encoded = BASIC.removeprefix("Basic ")
    texts = [str(e) for e in errors] + [repr(e) for e in errors] + [caplog.text]
    for text in texts:
        for secret in (SECRET, encoded, ACCESS, REFRESH):
            assert secret not in text
    assert isinstance(errors[0], TossUnavailableError)
    assert isinstance(errors[1], TossApiError)


# -- types on their own ----------------------------------------------------------


def test_payment_naive_timestamp_read_as_kst() -> None:
    p = Payment.from_json({**PAYMENT, "approvedAt": "2024-02-13T12:18:14"})
    assert p.approved_at == datetime(2024, 2, 13, 3, 18, 14, tzinfo=UTC)


@pytest.mark.parametrize(
    "change",
    [
        {"totalAmount": True},
        {"totalAmount": "15000"},
        {"balanceAmount": 1.5},
        {"paymentKey": None},
    ],
)
def test_payment_rejects_non_int_amounts_and_missing_keys(
    change: dict[str, Any],
) -> None:
    with pytest.raises(ValueError, match="field"):
        Payment.from_json({**PAYMENT, **change})


def test_payment_full_cancel_detected_by_balance() -> None:
    p = Payment.from_json({**CANCELED, "balanceAmount": 0})
    assert p.is_fully_canceled
    assert p.canceled_amount == 15000


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.confirm_payment(
            PAYMENT_KEY, "order_0002", 15000, CUSTOMER, idempotency_key=IDEM
        ),
        lambda c: c.cancel_payment("pk_other", "refund", idempotency_key=IDEM),
    ],
)
def test_replayed_answer_for_another_payment_not_trusted(
    make: Callable[..., Harness], call: Callable[[TossClient], Any]
) -> None:
    # contract §10: a reused Idempotency-Key returns the first request's response.
    h = make((200, PAYMENT))
    with pytest.raises(TossUnavailableError) as info:
        call(h.client)
    assert info.value.outcome_unknown


# -- v2: the core confirm, autopay, billing agreement, the new Payment fields --------


def test_payment_v2_card_fields_parsed() -> None:
    p = Payment.from_json(NORMAL_PAYMENT)
    assert p.is_normal
    assert (p.country, p.supplied_amount, p.vat, p.tax_free_amount) == (
        "US",
        13636,
        1364,
        0,
    )
    assert p.metadata == {"cart": "c-17"}
    assert p.use_escrow is True
    card = p.card_details
    assert card is not None
    assert (card.number, card.issuer_code, card.acquirer_code) == (
        "42424242****424*",
        "4V",
        "4V",
    )
    assert (card.installment_plan_months, card.is_interest_free) == (3, False)
    assert (card.approve_no, card.use_card_point) == ("04744968", True)
    assert (card.card_type, card.owner_type) == ("신용", "개인")
    assert p.card is not None  # the raw mapping stays for existing callers
    assert p.card["number"] == "42424242****424*"


def test_payment_v2_account_fields_parsed() -> None:
    p = Payment.from_json(ACCOUNT_PAYMENT)
    assert not p.is_normal
    assert p.card_details is None
    assert p.transfer is not None
    assert (p.transfer.bank_code, p.transfer.settlement_status) == ("88", "COMPLETED")
    assert p.cash_receipt is not None
    assert (p.cash_receipt.type, p.cash_receipt.amount) == ("소득공제", 15000)
    assert p.easy_pay is not None
    assert p.easy_pay.provider == "토스페이"
    assert p.culture_expense is True


def test_payment_odd_metadata_values_shown_not_refused() -> None:
    p = Payment.from_json({**PAYMENT, "metadata": {"n": 3, "ok": "yes"}})
    assert p.metadata == {"n": "3", "ok": "yes"}


def test_confirm_card_payment_returns_normal_payment(
    make: Callable[..., Harness],
) -> None:
    h = make((200, NORMAL_PAYMENT))
    p = h.client.confirm_card_payment(
        PAYMENT_KEY, "order_0001", 15000, idempotency_key=IDEM
    )
    assert (p.type, p.status, p.country) == ("NORMAL", "DONE", "US")


@pytest.mark.parametrize("amount", [True, 0, -1, 1.0, "100", None])
def test_confirm_card_payment_bad_amount_rejected_before_sending(
    make: Callable[..., Harness], amount: Any
) -> None:
    h = make()
    with pytest.raises((TypeError, ValueError)):
        h.client.confirm_card_payment(
            "pk_1", "order_0001", amount, idempotency_key=IDEM
        )
    assert h.transport.sent == []


def test_confirm_card_payment_read_timeout_outcome_unknown_not_retried(
    make: Callable[..., Harness],
) -> None:
    h = make(requests.ReadTimeout("slow"), (200, NORMAL_PAYMENT))
    with pytest.raises(TossUnavailableError) as info:
        h.client.confirm_card_payment(
            PAYMENT_KEY, "order_0001", 15000, idempotency_key=IDEM
        )
    assert info.value.outcome_unknown
    assert len(h.transport.sent) == 1


def test_brandpay_autopay_options_sent(make: Callable[..., Harness]) -> None:
    h = make((200, PAYMENT))
    receipt = CashReceiptRequest("소득공제", "01012345678", "MOBILE")
    h.client.brandpay_autopay(
        CUSTOMER,
        "mk_card_1",
        60000,
        "order_0001",
        "구독",
        idempotency_key=IDEM,
        card_installment_plan=3,
        tax_free_amount=1000,
        use_card_point=True,
        culture_expense=False,
        cash_receipt=receipt,
        customer_email="m@example.com",
        discount_code="D1",
        shipping_address="서울",
    )
    body = h.transport.sent[0].body
    assert body == {
        "customerKey": CUSTOMER,
        "methodKey": "mk_card_1",
        "amount": 60000,
        "orderId": "order_0001",
        "orderName": "구독",
        "cardInstallmentPlan": 3,
        "taxFreeAmount": 1000,
        "useCardPoint": True,
        "cultureExpense": False,
        "cashReceipt": {
            "type": "소득공제",
            "registrationNumber": "01012345678",
            "registrationNumberType": "MOBILE",
        },
        "customerEmail": "m@example.com",
        "discountCode": "D1",
        "shippingAddress": "서울",
    }


@pytest.mark.parametrize(
    "kwargs",
    [
        {"amount": True},
        {"amount": 0},
        {"order_id": "short"},
        {"order_id": "has space 123"},
        {"order_name": "x" * 101},
        {"customer_key": "x"},
        {"card_installment_plan": 1},
        {"card_installment_plan": 13},
        {"card_installment_plan": True},
        {"card_installment_plan": 3, "amount": 49999},
        {"tax_free_amount": 20000},
        {"tax_free_amount": 1.5},
        {"use_card_point": "yes"},
        {"cash_receipt": {"type": "소득공제"}},
    ],
)
def test_brandpay_autopay_bad_arguments_rejected_before_sending(
    make: Callable[..., Harness], kwargs: dict[str, Any]
) -> None:
    h = make()
    args = {
        "customer_key": CUSTOMER,
        "method_key": "mk_card_1",
        "amount": 15000,
        "order_id": "order_0001",
        "order_name": "Coffee",
    }
    with pytest.raises((TypeError, ValueError)):
        h.client.brandpay_autopay(**(args | kwargs), idempotency_key=IDEM)
    assert h.transport.sent == []


@pytest.mark.parametrize(
    ("kind", "number", "number_type"),
    [
        ("미발행", "01012345678", "MOBILE"),
        ("소득공제", "1234567890", "BUSINESS_REGISTRATION"),
        ("지출증빙", "01012345678", "MOBILE"),
        ("소득공제", "010-1234-5678", "MOBILE"),
    ],
)
def test_cash_receipt_request_refuses_mismatched_numbers(
    kind: str, number: str, number_type: str
) -> None:
    with pytest.raises(ValueError, match="cash receipt|registration"):
        CashReceiptRequest(kind, number, number_type)


def test_cash_receipt_request_repr_hides_number() -> None:
    receipt = CashReceiptRequest("지출증빙", "1234567890", "BUSINESS_REGISTRATION")
    assert "1234567890" not in repr(receipt)


def test_brandpay_autopay_answer_for_another_order_not_trusted(
    make: Callable[..., Harness],
) -> None:
    h = make((200, PAYMENT))  # orderId order_0001
    with pytest.raises(TossUnavailableError) as info:
        h.client.brandpay_autopay(
            CUSTOMER, "mk_card_1", 15000, "order_0002", "Coffee", idempotency_key=IDEM
        )
    assert info.value.outcome_unknown


def test_brandpay_autopay_connection_error_retried_with_same_key(
    make: Callable[..., Harness],
) -> None:
    h = make(requests.ConnectionError("refused"), (200, PAYMENT))
    h.client.brandpay_autopay(
        CUSTOMER, "mk_card_1", 15000, "order_0001", "Coffee", idempotency_key=IDEM
    )
    assert [s.headers["Idempotency-Key"] for s in h.transport.sent] == [IDEM, IDEM]


def test_brandpay_autopay_server_error_not_retried_outcome_unknown(
    make: Callable[..., Harness],
) -> None:
    h = make(err(500, "FAILED_INTERNAL_SYSTEM_PROCESSING"), (200, PAYMENT))
    with pytest.raises(TossServerError) as info:
        h.client.brandpay_autopay(
            CUSTOMER, "mk_card_1", 15000, "order_0001", "Coffee", idempotency_key=IDEM
        )
    assert info.value.outcome_unknown
    assert len(h.transport.sent) == 1


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (404, "NOT_FOUND_METHOD_OWNERSHIP", TossNotFoundError),
        (403, "NEED_AGREEMENT_WITH_TERMS", TossRejectedError),
        (
            400,
            "NOT_SUPPORTED_INSTALLMENT_PLAN_CARD_OR_MERCHANT",
            TossInvalidRequestError,
        ),
        (400, "DUPLICATED_ORDER_ID", TossInvalidRequestError),
        (403, "REJECT_CARD_COMPANY", TossRejectedError),
    ],
)
def test_brandpay_autopay_refusals_typed(
    make: Callable[..., Harness], status: int, code: str, cls: type
) -> None:
    h = make(err(status, code))
    with pytest.raises(cls) as info:
        h.client.brandpay_autopay(
            CUSTOMER, "mk_card_1", 15000, "order_0001", "Coffee", idempotency_key=IDEM
        )
    assert not info.value.outcome_unknown


@pytest.mark.parametrize(
    ("terms", "agreed"),
    [
        ([{"id": 7, "required": True, "agreed": True}], True),
        ([{"id": 7, "required": True, "agreed": False}], False),
        ([], False),
    ],
)
def test_has_billing_agreement_reads_billing_terms(
    make: Callable[..., Harness], terms: list[dict[str, Any]], agreed: bool
) -> None:
    h = make((200, terms))
    assert h.client.has_billing_agreement(CUSTOMER) is agreed
    assert h.transport.sent[0].query["scope"] == ["BILLING"]


class _Recorder:
    """A loopback HTTP server answering every GET with PAYMENT; keeps request lines."""

    def __init__(self) -> None:
        import http.server
        import threading

        lines: list[str] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                lines.append(self.requestline)
                body = json.dumps(PAYMENT).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                pass

        self.lines = lines
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_client_ignores_environment_proxies_and_uses_the_configured_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Issue 16: no proxy or netrc lookups from the environment on each call; the way
    # to Toss is TOSS_PROXY. A dead proxy in the environment must change nothing.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    toss, proxy = _Recorder(), _Recorder()
    try:
        with TossClient(toss.url, SECRET, timeout=(2, 2)) as direct:
            assert direct.get_payment(PAYMENT_KEY).payment_key == PAYMENT_KEY
        assert toss.lines == [f"GET /v1/payments/{PAYMENT_KEY} HTTP/1.1"]
        # Through the configured proxy: it receives the absolute URL (RFC 9112 §3.2.2).
        with TossClient(
            "http://toss.invalid", SECRET, timeout=(2, 2), proxy=proxy.url
        ) as proxied:
            assert proxied.get_payment(PAYMENT_KEY).status == "DONE"
        assert proxy.lines == [
            f"GET http://toss.invalid/v1/payments/{PAYMENT_KEY} HTTP/1.1"
        ]
    finally:
        toss.close()
        proxy.close()
