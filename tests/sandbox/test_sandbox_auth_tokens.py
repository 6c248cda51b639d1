"""Contract §1 authentication, §2 access tokens and §5 terms, over real HTTP."""

from __future__ import annotations

import base64
from collections.abc import Callable

import requests

from wallet.sandbox.testing import SandboxServer, query_of

from .helpers import REDIRECT, Api, Customer, bearer, new_key

TOKEN_PATH = "/v1/brandpay/authorizations/access-token"


def _code(toss: SandboxServer, key: str) -> str:
    return query_of(toss.link_customer(key, REDIRECT))["code"]


def _grant(api: Api, key: str, code: str) -> requests.Response:
    body = {"customerKey": key, "grantType": "AuthorizationCode", "code": code}
    return api.post(TOKEN_PATH, body)


def test_basic_auth_missing_colon_403_incorrect_format(api: Api) -> None:
    header = base64.b64encode(api.server.secret_key.encode()).decode()
    resp = requests.get(
        api.server.base_url + "/v1/payments/nope",
        headers={"Authorization": f"Basic {header}"},
        timeout=5,
    )
    assert resp.status_code == 403
    assert resp.json()["code"] == "INCORRECT_BASIC_AUTH_FORMAT"


def test_basic_auth_unknown_key_401_unauthorized(api: Api) -> None:
    resp = api.get("/v1/payments/nope", secret="test_sk_doesnotexist")
    assert resp.status_code == 401
    assert resp.json()["code"] == "UNAUTHORIZED_KEY"


def test_basic_auth_missing_header_401_unauthorized(toss: SandboxServer) -> None:
    resp = requests.get(toss.base_url + "/v1/payments/nope", timeout=5)
    assert (resp.status_code, resp.json()["code"]) == (401, "UNAUTHORIZED_KEY")


def test_basic_auth_accept_language_en_english_message(api: Api) -> None:
    ko = api.get("/v1/payments/nope", secret="test_sk_x").json()["message"]
    en = api.get(
        "/v1/payments/nope", secret="test_sk_x", headers={"Accept-Language": "en-US"}
    ).json()["message"]
    assert ko != en
    assert en == "Unauthorized secret key or client key."


def test_basic_auth_created_merchant_keys_work_and_are_isolated(
    toss: SandboxServer, api: Api, link: Callable[..., Customer]
) -> None:
    client_key, secret_key = toss.create_merchant()
    assert client_key.startswith("test_ck_")
    assert secret_key.startswith("test_sk_")
    customer = link()  # a doc-merchant customer
    resp = api.get(f"/v1/brandpay/payments/methods/{customer.key}", secret=secret_key)
    assert resp.status_code == 200
    assert resp.json()["cards"] == []  # another merchant sees nothing


def test_bearer_unknown_token_401_unauthorized(api: Api) -> None:
    resp = api.get("/v1/brandpay/payments/methods", token="not-a-token")
    assert (resp.status_code, resp.json()["code"]) == (401, "UNAUTHORIZED_KEY")


def test_bearer_expired_token_401_unauthorized() -> None:
    with SandboxServer({"SANDBOX_TOKEN_TTL": 60}) as toss:
        api = Api(toss)
        key = new_key()
        tokens = _grant(api, key, _code(toss, key)).json()
        assert tokens["expiresIn"] == 60
        ok = api.get("/v1/brandpay/payments/methods", token=tokens["accessToken"])
        assert ok.status_code == 200
        toss.advance_clock(61)
        resp = api.get("/v1/brandpay/payments/methods", token=tokens["accessToken"])
        assert (resp.status_code, resp.json()["code"]) == (401, "UNAUTHORIZED_KEY")


def test_access_token_code_grant_returns_bearer_pair(
    toss: SandboxServer, api: Api
) -> None:
    key = new_key()
    resp = _grant(api, key, _code(toss, key))
    assert resp.status_code == 200
    body = resp.json()
    assert set(body) == {"accessToken", "refreshToken", "tokenType", "expiresIn"}
    assert body["tokenType"] == "bearer"
    assert body["expiresIn"] == 2592000
    assert toss.tokens_issued(key, "AuthorizationCode") == 1


def test_access_token_code_reused_400_invalid_request(
    toss: SandboxServer, api: Api
) -> None:
    key = new_key()
    code = _code(toss, key)
    assert _grant(api, key, code).status_code == 200
    again = _grant(api, key, code)
    assert (again.status_code, again.json()["code"]) == (400, "INVALID_REQUEST")


def test_access_token_code_other_customer_key_400_invalid_request(
    toss: SandboxServer, api: Api
) -> None:
    key = new_key()
    code = _code(toss, key)
    resp = _grant(api, new_key(), code)
    assert (resp.status_code, resp.json()["code"]) == (400, "INVALID_REQUEST")


def test_access_token_code_after_10_minutes_400_invalid_request(
    toss: SandboxServer, api: Api
) -> None:
    key = new_key()
    code = _code(toss, key)
    toss.advance_clock(601)
    resp = _grant(api, key, code)
    assert (resp.status_code, resp.json()["code"]) == (400, "INVALID_REQUEST")


def test_access_token_code_other_merchant_400_invalid_request(
    toss: SandboxServer, api: Api
) -> None:
    key = new_key()
    code = _code(toss, key)
    _, secret = toss.create_merchant()
    body = {"customerKey": key, "grantType": "AuthorizationCode", "code": code}
    resp = api.post(TOKEN_PATH, body, secret=secret)
    assert (resp.status_code, resp.json()["code"]) == (400, "INVALID_REQUEST")


def test_access_token_second_code_existing_customer_extends_same_token(
    toss: SandboxServer, api: Api
) -> None:
    key = new_key()
    first = _grant(api, key, _code(toss, key)).json()
    code = query_of(toss.add_card(key, REDIRECT, "5310123412341234"))["code"]
    second = _grant(api, key, code).json()
    assert second["accessToken"] == first["accessToken"]  # contract §2: extended


def test_access_token_refresh_rotates_and_revokes_old_pair(
    toss: SandboxServer, api: Api, link: Callable[..., Customer]
) -> None:
    customer = link()
    body = {
        "customerKey": customer.key,
        "grantType": "RefreshToken",
        "refreshToken": customer.refresh,
    }
    resp = api.post(TOKEN_PATH, body)
    assert resp.status_code == 200
    new = resp.json()
    assert new["accessToken"] != customer.access
    assert new["refreshToken"] != customer.refresh
    old_use = api.get("/v1/brandpay/payments/methods", token=customer.access)
    assert old_use.status_code == 401
    assert api.get("/v1/brandpay/payments/methods", token=new["accessToken"]).ok
    replay_old = api.post(TOKEN_PATH, body)
    assert (replay_old.status_code, replay_old.json()["code"]) == (
        400,
        "INVALID_REQUEST",
    )
    assert toss.tokens_issued(customer.key, "RefreshToken") == 1


def test_access_token_refresh_other_customer_key_400_invalid_request(
    api: Api, link: Callable[..., Customer]
) -> None:
    customer = link()
    body = {
        "customerKey": new_key(),
        "grantType": "RefreshToken",
        "refreshToken": customer.refresh,
    }
    resp = api.post(TOKEN_PATH, body)
    assert (resp.status_code, resp.json()["code"]) == (400, "INVALID_REQUEST")


def test_access_token_unknown_grant_type_400_invalid_request(api: Api) -> None:
    resp = api.post(TOKEN_PATH, {"customerKey": new_key(), "grantType": "Password"})
    assert (resp.status_code, resp.json()["code"]) == (400, "INVALID_REQUEST")


def test_terms_get_register_scope_lists_four_terms(api: Api) -> None:
    resp = api.get(f"/v1/brandpay/terms?customerKey={new_key()}&scope=REGISTER")
    assert resp.status_code == 200
    terms = resp.json()
    assert [t["id"] for t in terms] == [1, 2, 3, 4]
    assert set(terms[0]) == {"id", "title", "version", "url", "required", "agreed"}
    assert not any(t["agreed"] for t in terms)


def test_terms_get_invalid_scope_400_invalid_request(api: Api) -> None:
    resp = api.get(f"/v1/brandpay/terms?customerKey={new_key()}&scope=CARD,ACCOUNT")
    assert (resp.status_code, resp.json()["code"]) == (400, "INVALID_REQUEST")


def test_terms_get_bad_customer_key_400_invalid_customer_key(api: Api) -> None:
    resp = api.get("/v1/brandpay/terms?customerKey=a&scope=REGISTER")
    assert (resp.status_code, resp.json()["code"]) == (400, "INVALID_CUSTOMER_KEY")


def test_terms_agree_code_exchanges_for_token(toss: SandboxServer, api: Api) -> None:
    key = new_key()
    body = {"customerKey": key, "scope": ["REGISTER"], "termsId": [1, 2, 3, 4]}
    resp = api.post("/v1/brandpay/terms/agree", body)
    assert resp.status_code == 200
    token = _grant(api, key, resp.json()["code"])
    assert token.status_code == 200
    methods = api.get(
        "/v1/brandpay/payments/methods", token=token.json()["accessToken"]
    )
    assert methods.json() == {
        "cards": [],
        "accounts": [],
        "isIdentified": False,
        "selectedMethodId": None,
    }
    terms = api.get(f"/v1/brandpay/terms?customerKey={key}&scope=REGISTER").json()
    assert all(t["agreed"] for t in terms)


def test_terms_agree_missing_required_term_400_invalid_request(api: Api) -> None:
    body = {"customerKey": new_key(), "scope": ["REGISTER"], "termsId": [1, 2]}
    resp = api.post("/v1/brandpay/terms/agree", body)
    assert (resp.status_code, resp.json()["code"]) == (400, "INVALID_REQUEST")


def test_bearer_header_on_basic_endpoint_401_unauthorized(
    api: Api, link: Callable[..., Customer]
) -> None:
    customer = link()
    resp = requests.get(
        api.server.base_url + "/v1/payments/nope",
        headers=bearer(customer.access),
        timeout=5,
    )
    assert resp.status_code == 401
