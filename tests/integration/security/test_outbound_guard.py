"""Issue 13 I2: merchant webhook URLs cannot make the portal call its own network.

Most tests run with the guard on (OUTBOUND_ALLOW_PRIVATE false, as in production);
DevConfig and TestConfig turn it off only so that the example shop on 127.0.0.1 works.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import select

from tests.integration.merchants.conftest import Receiver
from tests.integration.security.conftest import Browser, Shop, reauth
from wallet import outbound
from wallet.extensions import db
from wallet.models.merchant import Merchant
from wallet.models.outbox import WebhookDelivery
from wallet.services import merchants, outbox

GUARDED = outbound.Policy(require_https=False, allow_private=False)
PRODUCTION = outbound.Policy(require_https=True, allow_private=False)
REFUSED = (
    "127.0.0.1",
    "127.8.9.10",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",  # CGNAT
    "100.100.100.200",  # Alibaba metadata
    "0.0.0.0",  # noqa: S104 - an address refused, not bound
    "224.0.0.1",  # multicast
    "255.255.255.255",
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "fd00:ec2::254",
    "ff02::1",
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:169.254.169.254",
    "2002:7f00:1::",  # 6to4 around 127.0.0.1
    "64:ff9b::a00:1",  # NAT64 around 10.0.0.1
)


@pytest.mark.parametrize("address", REFUSED)
def test_outbound_refuses_non_public_addresses(address: str) -> None:
    assert outbound.refused_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "93.184.216.34", "2001:4860::8888"])
def test_outbound_allows_public_addresses(address: str) -> None:
    assert not outbound.refused_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:5002/webhooks",
        "https://127.0.0.1/hook",
        "https://[::1]/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://10.0.0.5/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://localhost/hook",  # a name that resolves to loopback
        "https://user:pw@8.8.8.8/hook",
        "ftp://8.8.8.8/hook",
    ],
)
def test_outbound_check_url_refuses(app: Flask, url: str) -> None:
    with app.app_context(), pytest.raises(outbound.UnsafeURLError):
        outbound.check_url(url, GUARDED)


def test_outbound_check_url_in_production_https_only(app: Flask) -> None:
    with app.app_context():
        with pytest.raises(outbound.UnsafeURLError):
            outbound.check_url("http://8.8.8.8/hook", PRODUCTION)
        assert outbound.check_url("https://8.8.8.8/hook", PRODUCTION)


def test_outbound_name_resolving_to_a_private_address_refused(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        outbound, "_resolve", lambda host, port: [ipaddress.ip_address("10.0.0.7")]
    )
    with app.app_context(), pytest.raises(outbound.UnsafeURLError):
        outbound.check_url("https://hooks.shop.example/x", GUARDED)


def test_outbound_admin_cannot_save_a_loopback_webhook(
    app: Flask, browser: Callable[..., Browser], shop: Shop
) -> None:
    # Attack (I2): webhook URLs took http://127.0.0.1 and https to IP literals.
    app.config["OUTBOUND_ALLOW_PRIVATE"] = False
    admin = browser(role="admin")
    reauth(admin)
    page = f"/admin/merchants/{shop.id}"
    for url in ("http://127.0.0.1:6379/", "https://169.254.169.254/latest"):
        resp = admin.post_form(
            page,
            page,
            {"name": "Tea shop", "origins": "https://shop.example", "webhook_url": url},
        )
        assert resp.status_code == 400, url
        assert "private or local network" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Merchant, shop.id).webhook_url is None


def _deliveries(app: Flask) -> list[WebhookDelivery]:
    with app.app_context():
        rows = db.session.scalars(select(WebhookDelivery)).all()
        db.session.expunge_all()
        return list(rows)


def _order_event(app: Flask, shop_id: int) -> None:
    with app.app_context():
        outbox.enqueue(db.session.get(Merchant, shop_id), "order.done", {"x": 1})
        db.session.commit()


def test_outbound_delivery_to_a_private_address_refused_when_guarded(
    app: Flask, shop_factory: Callable[..., Shop], receiver: Receiver
) -> None:
    hooked = shop_factory(name="Hooked", webhook_url=receiver.url)  # saved in "dev"
    app.config["OUTBOUND_ALLOW_PRIVATE"] = False  # then the guard is on
    _order_event(app, hooked.id)
    with app.app_context():
        outbox.run_once("w1")
    assert receiver.received == []
    [attempt] = _deliveries(app)
    assert attempt.succeeded is False
    assert attempt.error.startswith("refused:")


def test_outbound_dns_rebinding_after_save_is_refused_at_delivery(
    app: Flask,
    shop_factory: Callable[..., Shop],
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app.config["OUTBOUND_ALLOW_PRIVATE"] = False
    port = int(receiver.url.rsplit(":", 1)[1].split("/")[0])
    answers = {"now": "93.184.216.34"}  # public when the URL is saved ...
    monkeypatch.setattr(
        outbound, "_resolve", lambda host, p: [ipaddress.ip_address(answers["now"])]
    )
    url = f"https://hooks.shop.example:{port}/hook"
    with app.app_context():
        merchant = db.session.get(Merchant, shop_factory(name="Rebind").id)
        merchants.update_settings(
            merchant, ["https://shop.example"], url, False, True, "test"
        )
        merchant_id = merchant.id
    answers["now"] = "127.0.0.1"  # ... and loopback when it is called
    _order_event(app, merchant_id)
    with app.app_context():
        outbox.run_once("w1")
    assert receiver.received == []
    [attempt] = _deliveries(app)
    assert attempt.error.startswith("refused:")


def test_outbound_connects_only_to_the_address_it_checked(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    # DNS that answers public for the check and loopback right after: the connection
    # goes to the checked (public, here unreachable) address, never to loopback.
    port = int(receiver.url.rsplit(":", 1)[1].split("/")[0])
    calls: list[str] = []

    def resolve(host: str, p: int) -> list[Any]:
        calls.append(host)
        first = len(calls) == 1
        return [ipaddress.ip_address("93.184.216.34" if first else "127.0.0.1")]

    monkeypatch.setattr(outbound, "_resolve", resolve)
    with pytest.raises(requests.RequestException):
        outbound.post(
            f"http://rebind.example:{port}/hook",
            data=b"{}",
            headers={},
            timeout=(0.5, 0.5),
            rules=GUARDED,
        )
    assert calls == ["rebind.example"]  # resolved once, for the check
    assert receiver.received == []


def test_outbound_connected_peer_is_checked_again(receiver: Receiver) -> None:
    port = int(receiver.url.rsplit(":", 1)[1].split("/")[0])
    with pytest.raises(outbound.BlockedAddressError):
        outbound._connect(
            [ipaddress.ip_address("127.0.0.1")], port, 2.0, None, None, GUARDED
        )


def test_outbound_ignores_proxy_settings_and_redirects(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    allow = outbound.Policy(require_https=False, allow_private=True)
    receiver.statuses = [302]
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9/")  # would fail if used
    resp = outbound.post(
        receiver.url, data=b"{}", headers={}, timeout=(2, 2), rules=allow
    )
    assert resp.status_code == 302  # answered, not followed
    assert len(receiver.received) == 1  # directly, not through the proxy


def test_outbound_module_resolves_with_getaddrinfo() -> None:
    found = outbound._resolve("localhost", 80)
    assert found
    assert all(ip.is_loopback for ip in found)
