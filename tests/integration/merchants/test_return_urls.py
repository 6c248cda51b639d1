"""Return URLs: only the merchant's exact registered origins, never anything that a
browser could read as another host (no open redirects)."""

from __future__ import annotations

import pytest
from flask import Flask

from wallet.models.merchant import Merchant
from wallet.services import merchants
from wallet.services.merchants import MerchantError

ORIGINS = "https://shop.example\nhttps://pay.shop.example:8443\nhttp://localhost:5050"

# Each of these must be refused for a merchant allowing exactly ORIGINS.
CRAFTED = [
    "https://evil.example/return",  # another host
    "https://shop.example.evil.example/return",  # allowed name as a prefix
    "https://evilshop.example/return",  # allowed name as a suffix
    "https://shop.example@evil.example/return",  # userinfo trick
    "https://user:pw@shop.example/return",  # any userinfo at all
    "http://shop.example/return",  # scheme downgrade
    "ftp://shop.example/return",  # other scheme
    "javascript:alert(document.domain)//https://shop.example",
    "data:text/html,<script>alert(1)</script>",
    "//evil.example/return",  # scheme-relative
    "//shop.example/return",  # scheme-relative, even to the right host
    "/return",  # relative: not the merchant's origin
    "https:\\\\evil.example\\return",  # backslashes, read as slashes by browsers
    "https://shop.example\\@evil.example/",  # backslash before userinfo
    "https://shop.example:444/return",  # another port
    "https://pay.shop.example/return",  # allowed host, default port (8443 allowed)
    "https://shop.example./return",  # trailing dot
    "https://xn--shp-hpd.example/return",  # punycode look-alike (shоp, Cyrillic o)
    "https://shоp.example/return",  # the same look-alike as Unicode
    "https://shop%2eexample/return",  # percent-escaped host
    "https://shop.example%40evil.example/",  # escaped @
    "https://shop.example\t.evil.example/",  # control character
    "https://shop.example\n/return",
    " https://shop.example/return",  # leading space
    "https://[::1]/return",  # IP literal
    "https://shop.example:/return",  # empty port
    "https://shop.example:99999/return",  # invalid port
    "http://localhost:5051/return",  # loopback, wrong port
    "https:/shop.example/return",  # one slash: no host
    "https://%73hop.example/",  # escaped letter
    "",
]

ACCEPTED = [
    (
        "https://shop.example/return?cart=7#top",
        "https://shop.example/return?cart=7#top",
    ),
    ("https://SHOP.example/return", "https://shop.example/return"),
    ("https://shop.example:443/return", "https://shop.example/return"),
    ("https://shop.example", "https://shop.example/"),
    ("https://pay.shop.example:8443/r", "https://pay.shop.example:8443/r"),
    ("http://localhost:5050/return", "http://localhost:5050/return"),
]


def _merchant() -> Merchant:
    return Merchant(name="m", return_origins=ORIGINS, link_kid="k", link_secret="x")


@pytest.mark.parametrize("url", CRAFTED)
def test_return_url_crafted_outside_allow_list_refused(url: str) -> None:
    assert merchants.allowed_return_url(_merchant(), url) is None


def test_return_url_crafted_list_none_accepted() -> None:
    accepted = [u for u in CRAFTED if merchants.allowed_return_url(_merchant(), u)]
    assert len(CRAFTED) >= 15
    assert accepted == []


@pytest.mark.parametrize(("url", "normalized"), ACCEPTED)
def test_return_url_registered_origin_accepted_normalized(
    url: str, normalized: str
) -> None:
    assert merchants.allowed_return_url(_merchant(), url) == normalized


@pytest.mark.parametrize(
    "origin",
    [
        "https://*.shop.example",
        "https://shop.example/path",
        "https://shop.example?x=1",
        "http://shop.example",
        "https://user@shop.example",
        "shop.example",
        "https://shop.example.",
        "https://shоp.example",
    ],
)
def test_normalize_origin_wildcards_paths_and_lookalikes_refused(
    app: Flask, origin: str
) -> None:
    with app.test_request_context(), pytest.raises(MerchantError):
        merchants.normalize_origin(origin)


def test_normalize_origin_default_port_and_case_normalized() -> None:
    assert (
        merchants.normalize_origin("HTTPS://Shop.Example:443/")
        == "https://shop.example"
    )
    assert merchants.normalize_origin("https://shop.example:8443") == (
        "https://shop.example:8443"
    )
