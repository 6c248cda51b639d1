"""Contract §3 payment methods and §5 withdrawal, over real HTTP."""

from __future__ import annotations

from collections.abc import Callable

from wallet.sandbox.testing import SandboxServer

from .helpers import REDIRECT, Api, Customer, first_method, new_key

CARD_FIELDS = {
    "id",
    "methodKey",
    "alias",
    "cardName",
    "cardNumber",
    "issuerCode",
    "acquirerCode",
    "ownerType",
    "cardType",
    "installmentMinimumAmount",
    "registeredAt",
    "status",
    "icon",
    "iconUrl",
    "cardImgUrl",
    "color",
    "promotions",
}


def test_methods_bearer_lists_registered_card(
    api: Api, link: Callable[..., Customer]
) -> None:
    customer = link()
    resp = api.get("/v1/brandpay/payments/methods", token=customer.access)
    assert resp.status_code == 200
    body = resp.json()
    assert set(body) == {"cards", "accounts", "isIdentified", "selectedMethodId"}
    (card,) = body["cards"]
    assert set(card) == CARD_FIELDS
    assert card["cardNumber"] == "43301234****123*"  # contract §3 masking
    assert card["status"] == "ENABLED"
    assert card["registeredAt"].endswith("+09:00")
    assert body["selectedMethodId"] == card["id"]


def test_methods_basic_by_customer_key_same_as_bearer(
    api: Api, link: Callable[..., Customer]
) -> None:
    customer = link()
    by_key = api.get(f"/v1/brandpay/payments/methods/{customer.key}").json()
    by_token = api.get("/v1/brandpay/payments/methods", token=customer.access).json()
    assert by_key == by_token


def test_methods_unknown_customer_empty_list(api: Api) -> None:
    body = api.get(f"/v1/brandpay/payments/methods/{new_key()}").json()
    assert body == {
        "cards": [],
        "accounts": [],
        "isIdentified": False,
        "selectedMethodId": None,
    }


def test_methods_account_registered_masked_and_selected(
    toss: SandboxServer, api: Api, link: Callable[..., Customer]
) -> None:
    customer = link()
    toss.add_account(customer.key, REDIRECT, "1002123456789", "20")
    body = api.get("/v1/brandpay/payments/methods", token=customer.access).json()
    (account,) = body["accounts"]
    assert account["accountNumber"] == "100******6789"
    assert account["bankCode"] == "20"
    assert body["selectedMethodId"] == account["id"]  # most recently registered


def test_methods_card_remove_returns_disabled_and_unlists(
    api: Api, link: Callable[..., Customer]
) -> None:
    customer = link()
    card = first_method(api, customer.key)
    resp = api.post(
        "/v1/brandpay/payments/methods/card/remove",
        {"methodKey": card["methodKey"]},
        token=customer.access,
    )
    assert resp.status_code == 200
    assert resp.json()["status"] == "DISABLED"
    assert resp.json()["methodKey"] == card["methodKey"]
    after = api.get("/v1/brandpay/payments/methods", token=customer.access).json()
    assert after["cards"] == []
    assert after["selectedMethodId"] is None


def test_methods_card_remove_twice_404_not_found_method(
    api: Api, link: Callable[..., Customer]
) -> None:
    customer = link()
    key = first_method(api, customer.key)["methodKey"]
    path = "/v1/brandpay/payments/methods/card/remove"
    assert api.post(path, {"methodKey": key}, token=customer.access).ok
    again = api.post(path, {"methodKey": key}, token=customer.access)
    assert (again.status_code, again.json()["code"]) == (404, "NOT_FOUND_METHOD")


def test_methods_remove_foreign_method_404_not_found_method(
    api: Api, link: Callable[..., Customer]
) -> None:
    owner, other = link(), link()
    key = first_method(api, owner.key)["methodKey"]
    resp = api.post(
        "/v1/brandpay/payments/methods/card/remove",
        {"methodKey": key},
        token=other.access,
    )
    assert (resp.status_code, resp.json()["code"]) == (404, "NOT_FOUND_METHOD")
    assert api.get(f"/v1/brandpay/payments/methods/{owner.key}").json()["cards"]


def test_methods_account_remove_with_card_key_404_not_found_method(
    api: Api, link: Callable[..., Customer]
) -> None:
    customer = link()
    key = first_method(api, customer.key)["methodKey"]
    resp = api.post(
        "/v1/brandpay/payments/methods/account/remove",
        {"methodKey": key},
        token=customer.access,
    )
    assert (resp.status_code, resp.json()["code"]) == (404, "NOT_FOUND_METHOD")


def test_methods_account_remove_returns_disabled(
    toss: SandboxServer, api: Api, link: Callable[..., Customer]
) -> None:
    customer = link()
    toss.add_account(customer.key, REDIRECT)
    account = first_method(api, customer.key, "accounts")
    resp = api.post(
        "/v1/brandpay/payments/methods/account/remove",
        {"methodKey": account["methodKey"]},
        token=customer.access,
    )
    assert resp.status_code == 200
    assert resp.json()["status"] == "DISABLED"


def test_customer_remove_withdraws_and_kills_tokens_and_methods(
    api: Api, link: Callable[..., Customer]
) -> None:
    customer = link()
    method_key = first_method(api, customer.key)["methodKey"]
    resp = api.post("/v1/brandpay/customers/remove", token=customer.access)
    assert resp.status_code == 200
    assert resp.json() == {"customerKey": customer.key, "success": True}
    dead = api.get("/v1/brandpay/payments/methods", token=customer.access)
    assert (dead.status_code, dead.json()["code"]) == (401, "UNAUTHORIZED_KEY")
    assert (
        api.get(f"/v1/brandpay/payments/methods/{customer.key}").json()["cards"] == []
    )
    refresh = api.post(
        "/v1/brandpay/authorizations/access-token",
        {
            "customerKey": customer.key,
            "grantType": "RefreshToken",
            "refreshToken": customer.refresh,
        },
    )
    assert refresh.status_code == 400
    assert method_key  # the methodKey is unusable: the customer is gone


def test_customer_remove_relink_starts_fresh(
    toss: SandboxServer, api: Api, link: Callable[..., Customer]
) -> None:
    customer = link()
    api.post("/v1/brandpay/customers/remove", token=customer.access)
    terms = api.get(f"/v1/brandpay/terms?customerKey={customer.key}&scope=REGISTER")
    assert not any(t["agreed"] for t in terms.json())
    toss.link_customer(customer.key, REDIRECT)
    assert len(toss.methods(customer.key)["cards"]) == 1
