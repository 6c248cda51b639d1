"""Toss's official npm loaders load the sandbox's scripts and give the typed objects."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wallet.sandbox.testing import SandboxServer

from .site import MerchantSite


def test_load_toss_payments_official_loader_resolves_typed_sdk(
    shop: Callable[..., Any], js_errors: list[str]
) -> None:
    page = shop("v2")
    kinds = page.evaluate(
        """() => ({
          sdk: Object.keys(tp).sort(),
          anonymous: harness.ANONYMOUS,
          global: window.TossPayments.ANONYMOUS,
          brandpay: typeof tp.brandpay({customerKey: "ck_loader01"}).requestPayment,
        })"""
    )
    assert kinds == {
        "sdk": ["brandpay", "payment", "widgets"],
        "anonymous": "@@ANONYMOUS",
        "global": "@@ANONYMOUS",
        "brandpay": "function",
    }
    assert js_errors == []


def test_load_brandpay_official_v1_loader_resolves_instance(
    shop: Callable[..., Any], site: MerchantSite, toss: SandboxServer
) -> None:
    page = shop("v1", None, "ck_loader02", {"redirectUrl": site.redirect_url})
    kinds = page.evaluate(
        "() => ['requestPayment', 'addPaymentMethod', 'getPaymentMethods'].map(m => typeof bp[m])"
    )
    assert kinds == ["function", "function", "function"]
