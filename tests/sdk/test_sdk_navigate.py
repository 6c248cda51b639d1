"""The sandbox settings for full-page navigation (SANDBOX_REDIRECT_MODE, SANDBOX_V1_TRANSPORT)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from wallet.sandbox.testing import SandboxServer

from .helpers import new_key, outcome, register_card, window_frame
from .site import MerchantSite


@pytest.fixture(scope="module")
def sandbox_config() -> dict[str, Any]:
    return {"SANDBOX_REDIRECT_MODE": "navigate", "SANDBOX_V1_TRANSPORT": "navigate"}


def test_redirect_mode_navigate_sends_the_page_to_redirect_url(
    shop: Callable[..., Any], site: MerchantSite, toss: SandboxServer
) -> None:
    page = shop("v2")
    customer = new_key()
    page.evaluate(
        "(a) => { tp.brandpay({customerKey: a.ck, redirectUrl: a.r}).addPaymentMethod(); }",
        {"ck": customer, "r": site.redirect_url},
    )
    register_card(window_frame(page))
    page.wait_for_url(site.redirect_url + "?**")
    assert re.search(rf"\?code=\w+&customerKey={customer}$", page.url)
    [hit] = site.hits
    assert hit.had_cookie  # a top-level navigation carries the cookies too
    assert len(toss.methods(customer)["cards"]) == 1


def test_v1_navigate_transport_full_page_windows(
    shop: Callable[..., Any], site: MerchantSite, toss: SandboxServer
) -> None:
    customer = new_key()
    page = shop("v1", None, customer, {"redirectUrl": site.redirect_url})
    page.evaluate(
        "() => harness.track(bp.requestPayment({amount: 1000, orderId: 'order_v1nav1', orderName: 'x'}))"
    )
    assert outcome(page)["code"] == "INVALID_PARAMETERS"  # no promise across pages
    page.evaluate("() => { bp.addPaymentMethod(); }")
    page.wait_for_url(re.compile(r".*/_hosted/register\?.*"))
    assert page.url.startswith(toss.base_url)
