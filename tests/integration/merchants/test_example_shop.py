"""The example merchant shop end to end over real HTTP: it creates an order and a signed
link through the API, the member pays on the sandbox, comes back with a signed result
the shop verifies (and a tampered one it rejects), and the webhook arrives signed."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from flask import Flask
from werkzeug.serving import make_server

from examples.merchant_shop import create_shop
from tests.integration.merchants.conftest import Shop, load_order, make_shop
from tests.integration.payments.conftest import Payer, path_of
from wallet.extensions import db
from wallet.models import Member
from wallet.models.merchant import Merchant
from wallet.services import outbox


@pytest.fixture
def shop_server() -> Iterator[tuple[str, dict[str, Any]]]:
    """A port for the shop, served once the shop app exists (its origin is needed first)."""
    holder: dict[str, Any] = {}

    def app(environ: Any, start_response: Any) -> Any:
        return holder["app"](environ, start_response)

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", holder
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def wired(
    app: Flask, live_portal: str, shop_server: tuple[str, dict[str, Any]]
) -> tuple[Shop, Flask]:
    """A merchant allowing the shop's origin, and the shop app pointed at the portal."""
    shop_url, holder = shop_server
    with app.app_context():
        shop = make_shop(
            "Example shop", origins=(shop_url,), webhook_url=f"{shop_url}/webhooks"
        )
    holder["app"] = create_shop(
        live_portal, shop.api_key, shop.secret, shop.public_id, public_url=shop_url
    )
    return shop, holder["app"]


def _paying_member(
    app: Flask, sandbox: Any, member_client: Callable[..., Any]
) -> Payer:
    client, member_id = member_client()
    with app.app_context():
        member = db.session.get(Member, member_id)
        email, key = member.email, member.customer_key
    sandbox.link_customer(key, "http://127.0.0.1/brandpay/callback")
    return Payer(app, client, sandbox, member_id, email, key)


def test_example_shop_full_journey_result_and_webhook_verified(
    app: Flask,
    sandbox: Any,
    wired: tuple[Shop, Flask],
    member_client: Callable[..., Any],
    live_portal: str,
) -> None:
    shop, shop_app = wired
    shop_client = shop_app.test_client()
    page = shop_client.get("/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f'src="{live_portal}/static/js/embed.js"' in html
    link = html.split('href="', 1)[1].split('"', 1)[0]
    assert link.startswith(f"{live_portal}/l/")

    payer = _paying_member(app, sandbox, member_client)
    landing = payer.client.get(urlsplit(link).path)
    assert landing.status_code == 200
    resp = payer.post_form(urlsplit(link).path, urlsplit(link).path, {})
    assert resp.status_code == 303
    order_id = resp.headers["Location"].rsplit("/", 1)[1]
    done = payer.client.get(path_of(payer.authorize(order_id)))
    assert done.status_code == 303
    assert load_order(app, order_id).status == "DONE"

    back = payer.client.get(f"/merchant/return/{order_id}")
    assert back.status_code == 303
    target = urlsplit(back.headers["Location"])
    assert f"{target.scheme}://{target.netloc}" == shop_app.config["SHOP_PUBLIC_URL"]
    verified = shop_client.get(f"{target.path}?{target.query}")
    assert verified.status_code == 200
    assert f"Order {order_id}: DONE" in verified.get_data(as_text=True)

    result = parse_qs(target.query)["wallet_result"][0]
    head, body, sig = result.split(".")
    forged_sig = ("A" if sig[0] != "A" else "B") + sig[1:]
    for forged in (f"{head}.{body}.{forged_sig}", result[:-4], "", "x.y.z"):
        resp = shop_client.get("/return?" + urlencode({"wallet_result": forged}))
        assert resp.status_code == 400

    with app.app_context():
        assert outbox.run_once("test") == 1
    assert len(shop_app.extensions["shop_webhooks"]) == 1

    # The merchant reads the payment and refunds through the API.
    api = app.test_client()
    paid = api.get(f"/api/v1/payments/{order_id}", headers=shop.headers())
    assert paid.status_code == 200
    assert paid.get_json()["balance_amount"] == 12300
    sandbox.advance_clock(2)  # Toss refuses a 2nd request on a payment within 1 s (§10)
    part = api.post(
        f"/api/v1/orders/{order_id}/refunds",
        json={"amount": 2300, "reason": "one box broken"},
        headers=shop.headers("refund-1"),
    )
    assert part.status_code == 201, part.get_json()
    assert part.get_json()["balance_amount"] == 10000
    again = api.post(
        f"/api/v1/orders/{order_id}/refunds",
        json={"amount": 2300, "reason": "one box broken"},
        headers=shop.headers("refund-1"),
    )
    assert again.get_json() == part.get_json()  # replayed, not refunded twice
    sandbox.advance_clock(2)
    rest = api.post(
        f"/api/v1/orders/{order_id}/refunds",
        json={"reason": "returned"},
        headers=shop.headers("refund-2"),
    )
    assert rest.status_code == 201
    assert rest.get_json()["balance_amount"] == 0
    assert [c["amount"] for c in rest.get_json()["cancels"]] == [2300, 10000]
    sandbox.advance_clock(2)
    too_much = api.post(
        f"/api/v1/orders/{order_id}/refunds",
        json={"amount": 1, "reason": "again"},
        headers=shop.headers("refund-3"),
    )
    assert too_much.status_code == 409
    assert sandbox.payment_by_order(order_id)["balanceAmount"] == 0
    with app.app_context():
        assert outbox.run_once("test") == 2  # partially canceled, then canceled
    assert len(shop_app.extensions["shop_webhooks"]) == 3


def test_example_shop_rejects_unsigned_webhook(wired: tuple[Shop, Flask]) -> None:
    _shop, shop_app = wired
    resp = shop_app.test_client().post(
        "/webhooks",
        data=b'{"type":"order.done"}',
        headers={
            "webhook-id": "msg_x",
            "webhook-timestamp": "1",
            "webhook-signature": "v1,AAAA",
        },
    )
    assert resp.status_code == 400
    assert shop_app.extensions["shop_webhooks"] == []


def _confirms(sandbox: Any, order_id: str) -> int:
    return sum(
        1
        for c in sandbox.calls("/v1/brandpay/payments/confirm")
        if (c.get("idempotencyKey") or "").startswith(f"confirm-{order_id}-")
    )


def test_example_shop_pre_approval_says_yes_to_its_own_orders_only(
    app: Flask,
    sandbox: Any,
    wired: tuple[Shop, Flask],
    member_client: Callable[..., Any],
) -> None:
    """The shop's /pre-approve, set as the merchant's hook over real HTTP: its own
    order (made on its product page) is confirmed; an order it never made (created
    with its key by someone else) is declined and never reaches Toss's confirm."""
    shop, shop_app = wired
    with app.app_context():
        merchant = db.session.get(Merchant, shop.id)
        merchant.confirm_url = shop_app.config["SHOP_PUBLIC_URL"] + "/pre-approve"
        db.session.commit()
    html = shop_app.test_client().get("/").get_data(as_text=True)
    link = urlsplit(html.split('href="', 1)[1].split('"', 1)[0]).path
    payer = _paying_member(app, sandbox, member_client)
    payer.client.get(link)
    own = payer.post_form(link, link, {}).headers["Location"].rsplit("/", 1)[1]
    assert payer.client.get(path_of(payer.authorize(own))).status_code == 303
    assert load_order(app, own).status == "DONE"
    assert _confirms(sandbox, own) == 1

    api = app.test_client()
    stranger = api.post(
        "/api/v1/orders",
        json={
            "amount": 12300,
            "order_name": "Not from the shop's page",
            "return_url": shop_app.config["SHOP_PUBLIC_URL"] + "/return",
        },
        headers=shop.headers("stranger-1"),
    )
    assert stranger.status_code == 201
    other = stranger.get_json()["order_id"]
    made = api.post(
        f"/api/v1/orders/{other}/wallet-links", json={}, headers=shop.headers("sl-1")
    )
    assert made.status_code == 201, made.get_json()
    path = urlsplit(made.get_json()["url"]).path
    payer.client.get(path)
    assert payer.post_form(path, path, {}).status_code == 303
    page = payer.client.get(path_of(payer.authorize(other)), follow_redirects=True)
    order = load_order(app, other)
    assert (order.status, order.failure_code) == ("FAILED", "MERCHANT_DECLINED")
    assert order.preapproval_reason == "Not an order of this shop"
    assert _confirms(sandbox, other) == 0
    assert "declined" in page.get_data(as_text=True)

    unsigned = shop_app.test_client().post(
        "/pre-approve", json={"data": {"order_id": own, "amount": 12300}}
    )
    assert unsigned.status_code == 400  # not a yes
