"""wallet.toss.TossClient's v2 methods against the sandbox over real HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from wallet.sandbox.testing import ANONYMOUS, SandboxServer, query_of
from wallet.toss import (
    CashReceiptRequest,
    TossClient,
    TossNotFoundError,
    TossRejectedError,
    TossServerError,
)

from .helpers import FAIL, REDIRECT, SUCCESS, Api, Customer, first_method, new_key


@pytest.fixture
def client(toss: SandboxServer) -> Iterator[TossClient]:
    """The portal's client on the sandbox; its 1 s waits move the sandbox clock."""
    with TossClient(
        toss.base_url,
        toss.secret_key,
        timeout=(2.0, 2.0),
        sleep=lambda seconds: toss.advance_clock(seconds),
    ) as c:
        yield c


def card_session(toss: SandboxServer, **kw: object) -> dict[str, str]:
    order_id = new_key("card")
    location = toss.authorize_card_payment(
        ANONYMOUS, order_id, 27000, "머그컵", SUCCESS, FAIL, **kw
    )
    return query_of(location)


def test_client_confirm_card_payment_typed_normal_payment(
    toss: SandboxServer, client: TossClient
) -> None:
    q = card_session(toss, metadata={"cart": "c-1"}, installment=None)
    p = client.confirm_card_payment(
        q["paymentKey"], q["orderId"], 27000, idempotency_key=new_key("idem")
    )
    assert (p.status, p.type, p.method, p.country) == ("DONE", "NORMAL", "카드", "KR")
    assert p.metadata == {"cart": "c-1"}
    assert p.card_details is not None
    assert len(p.card_details.approve_no or "") == 8
    assert p.supplied_amount is not None
    assert p.vat is not None
    assert p.supplied_amount + p.vat == 27000


def test_client_confirm_card_payment_international_country(
    toss: SandboxServer, client: TossClient
) -> None:
    q = card_session(toss, international=True, card_number="6200000000000005")
    p = client.confirm_card_payment(
        q["paymentKey"], q["orderId"], 27000, idempotency_key=new_key("idem")
    )
    assert (p.country, p.card_details.issuer_code) == ("CN", "3C")  # type: ignore[union-attr]


def test_client_confirm_card_payment_lost_answer_then_lookup(
    toss: SandboxServer, client: TossClient
) -> None:
    q = card_session(toss)
    # The effect happens, the answer is a 500: the client must not claim either way.
    toss.set_fault("/v1/payments/confirm", drop="500", times=1)
    key = new_key("idem")
    with pytest.raises(TossServerError) as info:
        client.confirm_card_payment(
            q["paymentKey"], q["orderId"], 27000, idempotency_key=key
        )
    assert info.value.outcome_unknown
    assert client.get_payment(q["paymentKey"]).status == "DONE"


def test_client_confirm_card_payment_5xx_unknown_then_retry_same_key(
    toss: SandboxServer, client: TossClient
) -> None:
    q = card_session(toss)
    toss.set_fault("/v1/payments/confirm", status=503, times=1)
    key = new_key("idem")
    with pytest.raises(TossServerError) as info:
        client.confirm_card_payment(
            q["paymentKey"], q["orderId"], 27000, idempotency_key=key
        )
    assert info.value.outcome_unknown
    assert client.get_payment(q["paymentKey"]).status == "IN_PROGRESS"
    toss.advance_clock(1.1)
    again = client.confirm_card_payment(
        q["paymentKey"], q["orderId"], 27000, idempotency_key=key
    )
    assert again.status == "DONE"


def test_client_confirm_card_payment_throttle_waits_and_succeeds(
    toss: SandboxServer, client: TossClient, api: Api
) -> None:
    q = card_session(toss)
    api.post("/v1/payments/confirm", {**q, "amount": 1})  # refused, but counted
    p = client.confirm_card_payment(
        q["paymentKey"], q["orderId"], 27000, idempotency_key=new_key("idem")
    )
    assert p.status == "DONE"  # the client's 1 s wait let the throttle pass


def test_client_autopay_with_billing_agreement_done_and_cancellable(
    toss: SandboxServer, client: TossClient, api: Api, link: Callable[..., Customer]
) -> None:
    customer = link()
    assert client.has_billing_agreement(customer.key) is False
    toss.billing_auth(customer.key, REDIRECT)
    assert client.has_billing_agreement(customer.key) is True
    method_key = first_method(api, customer.key)["methodKey"]
    order_id = new_key("sub")
    p = client.brandpay_autopay(
        customer.key,
        method_key,
        60000,
        order_id,
        "월간 구독",
        idempotency_key=new_key("idem"),
        card_installment_plan=2,
        use_card_point=True,
    )
    assert (p.status, p.type) == ("DONE", "BRANDPAY")
    assert p.card_details is not None
    assert (p.card_details.installment_plan_months, p.card_details.use_card_point) == (
        2,
        True,
    )
    assert client.get_payment_by_order(order_id).payment_key == p.payment_key
    toss.advance_clock(1.1)
    canceled = client.cancel_payment(
        p.payment_key, "해지", idempotency_key=new_key("c")
    )
    assert canceled.is_fully_canceled


def test_client_autopay_account_cash_receipt(
    toss: SandboxServer, client: TossClient, api: Api, link: Callable[..., Customer]
) -> None:
    customer = link()
    toss.add_account(customer.key, REDIRECT)
    toss.billing_auth(customer.key, REDIRECT)
    account = first_method(api, customer.key, "accounts")["methodKey"]
    p = client.brandpay_autopay(
        customer.key,
        account,
        9900,
        new_key("sub"),
        "구독",
        idempotency_key=new_key("idem"),
        cash_receipt=CashReceiptRequest("소득공제", "01012345678", "MOBILE"),
        culture_expense=True,
    )
    assert p.cash_receipt is not None
    assert (p.cash_receipt.type, p.culture_expense) == ("소득공제", True)
    assert p.transfer is not None
    assert p.transfer.bank_code == "88"


def test_client_autopay_refusals_typed(
    toss: SandboxServer, client: TossClient, api: Api, link: Callable[..., Customer]
) -> None:
    customer = link()
    method_key = first_method(api, customer.key)["methodKey"]
    with pytest.raises(TossRejectedError) as no_agreement:
        client.brandpay_autopay(
            customer.key, method_key, 1000, new_key("sub"), "x", idempotency_key="k1"
        )
    assert no_agreement.value.code == "NEED_AGREEMENT_WITH_TERMS"
    other = link()
    toss.billing_auth(other.key, REDIRECT)
    with pytest.raises(TossNotFoundError) as ownership:
        client.brandpay_autopay(
            other.key, method_key, 1000, new_key("sub"), "x", idempotency_key="k2"
        )
    assert ownership.value.code == "NOT_FOUND_METHOD_OWNERSHIP"
