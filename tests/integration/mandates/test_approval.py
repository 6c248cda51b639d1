"""Asking for a mandate (POST /api/v1/mandate-links) and the member approving it on the
portal after BrandPay's billing agreement; the signed result back to the shop."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from joserfc import jwt
from joserfc.jwk import OctKey
from sqlalchemy import func, select

from tests.conftest import csrf_token
from wallet.extensions import db
from wallet.models.mandate import Mandate

from .conftest import SHOP, Browser, Shop, load

REDIRECT = "http://127.0.0.1/brandpay/callback"
ASK = {
    "description": "Monthly tea box",
    "max_amount": 30000,
    "max_charges": 2,
    "period": "month",
    "valid_days": 365,
    "return_url": f"{SHOP}/subscribed",
    "reference": "customer-7",
}


def ask(api: Callable[..., Any], **over: Any) -> str:
    resp = api("POST", "/mandate-links", json=ASK | over)
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["action"] == "mandate"
    return str(urlsplit(resp.get_json()["url"]).path)


def approve(who: Browser, path: str, method: str = "selected") -> Any:
    page = who.client.get(path)
    assert page.status_code == 200, page.get_data(as_text=True)[:300]
    return who.client.post(
        f"{path}/mandate",
        data={"csrf_token": csrf_token(page.get_data(as_text=True)), "method": method},
    )


def mandate_rows(app: Flask) -> list[tuple[str, str]]:
    with app.app_context():
        return [(m.status, m.description) for m in db.session.scalars(select(Mandate))]


def test_member_reads_the_terms_agrees_and_returns_with_a_signed_result(
    app: Flask, api: Callable[..., Any], sandbox: Any, shop: Shop, linked: Browser
) -> None:
    path = ask(api)
    page = linked.client.get(path).get_data(as_text=True)
    assert "Monthly tea box" in page
    assert "30,000" in page
    assert 'value="selected"' in page
    assert "js/mandate.js" in page

    # Without BrandPay's billing agreement the portal refuses, and says why.
    refused = approve(linked, path)
    assert refused.status_code == 409
    assert "automatic payments terms" in refused.get_data(as_text=True)
    assert [s for s, _d in mandate_rows(app)] == ["pending"]

    sandbox.billing_auth(linked.customer_key, REDIRECT)  # requestBillingAuth()
    # Agreed already: the page sends the form without opening a second window.
    again = linked.client.get(path).get_data(as_text=True)
    assert 'data-agreed="yes"' in again
    assert 'data-agreed="yes"' not in page
    done = approve(linked, path)
    assert done.status_code == 303
    target = urlsplit(done.headers["Location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == f"{SHOP}/subscribed"
    token = parse_qs(target.query)["wallet_result"][0]
    claims = jwt.decode(token, OctKey.import_key(shop.key)).claims
    assert (claims["status"], claims["reference"], claims["aud"]) == (
        "active",
        "customer-7",
        shop.public_id,
    )
    mandate = load(app, claims["mandate_id"])
    assert (mandate.status, mandate.method_key, mandate.max_charges) == (
        "active",
        None,
        2,
    )
    listed = api("GET", "/mandates").get_json()["data"]
    assert [(m["mandate_id"], m["status"], m["reference"]) for m in listed] == [
        (claims["mandate_id"], "active", "customer-7")
    ]
    # The same link again: already answered, nothing new.
    assert approve(linked, path).status_code == 409
    assert len(mandate_rows(app)) == 1


def test_a_chosen_method_is_kept(
    app: Flask, api: Callable[..., Any], sandbox: Any, shop: Shop, linked: Browser
) -> None:
    path = ask(api)
    sandbox.billing_auth(linked.customer_key, REDIRECT)
    card = sandbox.methods(linked.customer_key)["cards"][0]["methodKey"]
    done = approve(linked, path, card)
    assert done.status_code == 303
    token = parse_qs(urlsplit(done.headers["Location"]).query)["wallet_result"][0]
    mandate_id = jwt.decode(token, OctKey.import_key(shop.key)).claims["mandate_id"]
    assert load(app, mandate_id).method_key == card


def test_someone_elses_method_is_refused(
    app: Flask, api: Callable[..., Any], sandbox: Any, linked: Browser
) -> None:
    path = ask(api)
    sandbox.billing_auth(linked.customer_key, REDIRECT)
    resp = approve(linked, path, "not-my-method-key")
    assert resp.status_code == 409
    assert "no longer registered" in resp.get_data(as_text=True)
    assert [s for s, _d in mandate_rows(app)] == ["pending"]


def test_logged_out_visitor_must_log_in(api: Callable[..., Any], client: Any) -> None:
    path = ask(api)
    resp = client.get(path)
    assert resp.status_code in (302, 401)


def test_a_changed_link_is_refused(
    app: Flask, api: Callable[..., Any], linked: Browser
) -> None:
    path = ask(api)
    resp = linked.client.get(path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB"))
    assert resp.status_code >= 400
    assert mandate_rows(app) == []


def test_a_link_signed_with_bad_terms_is_refused(
    app: Flask, shop: Shop, linked: Browser
) -> None:
    claims = shop.pay_claims("unused", 100, action="mandate")
    claims["mandate"] = {"description": "x", "max_amount": 50, "max_charges": 1}
    resp = linked.client.get(f"/l/{shop.sign(claims)}")
    assert resp.status_code == 400
    assert "what the shop may charge" in resp.get_data(as_text=True)


@pytest.mark.parametrize(
    "over",
    [
        {"period": "year"},
        {"max_charges": 0},
        {"max_amount": 50},
        {"valid_days": 0},
        {"description": ""},
        {"return_url": "https://evil.example/x"},
    ],
)
def test_mandate_link_bad_input_is_refused(
    app: Flask, api: Callable[..., Any], over: dict[str, Any]
) -> None:
    resp = api("POST", "/mandate-links", json=ASK | over)
    assert resp.status_code in (400, 422), resp.get_json()
    assert resp.get_json()["error"]["code"] in (
        "INVALID_REQUEST",
        "RETURN_URL_NOT_ALLOWED",
    )
    with app.app_context():
        assert db.session.scalar(select(func.count(Mandate.id))) == 0
