"""The shim against the official v2 typings, parsed at test time (typings.mjs).

Every member the typings declare exists on the objects the shim returns; every
parameter name they declare is accepted (never refused as unknown); the ones with
an effect reach the window's session, as the sandbox's control API shows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from wallet.sandbox.catalog import DOC_CLIENT_KEY
from wallet.sandbox.testing import SandboxServer

from .helpers import new_key
from .site import MerchantSite

WIDGET_KEY = "test_gck_docs_Ovk5rk1EwkEbP0W43n07xlzm"  # contract §9 doc widget key

# JS that builds each typed object from the loaded SDK (`a`: customerKey, redirect).
OBJECTS = {
    "TossPaymentsSDK": "tp",
    "TossPaymentsBrandpay": "tp.brandpay({customerKey: a.ck, redirectUrl: a.redirect})",
    "TossPaymentsPayment": "tp.payment({customerKey: harness.ANONYMOUS})",
    "TossPaymentsWidgets": "window.widgetTp.widgets({customerKey: harness.ANONYMOUS})",
}

# Try each name on a valid request: absent names get `null` (every optional field
# of the typings accepts null); a window that opens is closed again at once.
PROBE = """async (a) => {
  const overlay = () => document.querySelector("[data-toss-sandbox=overlay]");
  const settle = (p) => p.then(() => "resolved", (e) => `${e.code}: ${e.message}`);
  const out = {};
  for (const name of a.names) {
    const request = JSON.parse(JSON.stringify(a.base));
    const [top, sub] = name.split(".");
    if (sub === undefined) {
      if (!(top in request)) request[top] = null;
    } else if (!(request[top] && sub in request[top])) {
      request[top] = Object.assign({}, request[top] || {}, {[sub]: null});
    }
    const target = a.kind === "brandpay"
      ? tp.brandpay({customerKey: a.ck, redirectUrl: a.redirect})
      : tp.payment({customerKey: harness.ANONYMOUS});
    const outcome = settle(target.requestPayment(request));
    const first = await Promise.race([
      outcome,
      new Promise((resolve) => {
        const tick = () => (overlay() ? resolve("opened") : setTimeout(tick, 10));
        tick();
      }),
    ]);
    if (first === "opened") {
      overlay().querySelector("button[aria-label]").click();
      out[name] = (await outcome).startsWith("USER_CANCEL") ? "opened" : await outcome;
    } else {
      out[name] = first;
    }
  }
  return out;
}"""


def _load(page: Any) -> None:
    page.evaluate(
        "k => harness.loadV2(k).then(() => { window.widgetTp = TossPayments(k); })",
        WIDGET_KEY,
    )


@pytest.mark.parametrize("interface", list(OBJECTS))
def test_typings_every_member_exists_on_shim_object(
    shop: Callable[..., Any],
    site: MerchantSite,
    typings: dict[str, Any],
    interface: str,
) -> None:
    page = shop("v2")
    _load(page)
    members = sorted(typings[interface])
    assert members, interface  # the parser found the interface
    kinds = page.evaluate(
        f"(a) => {{ const o = {OBJECTS[interface]}; "
        "return Object.fromEntries(a.members.map(m => [m, typeof o[m]])); }",
        {"ck": new_key(), "redirect": site.redirect_url, "members": members},
    )
    assert kinds == dict.fromkeys(members, "function")


def test_typings_init_parameter_names_accepted(
    shop: Callable[..., Any], site: MerchantSite, typings: dict[str, Any]
) -> None:
    page = shop("v2")
    _load(page)
    sdk = typings["TossPaymentsSDK"]
    thrown = page.evaluate(
        """(a) => {
          const out = {};
          const make = {brandpay: (p) => tp.brandpay(p), payment: (p) => tp.payment(p),
                        widgets: (p) => widgetTp.widgets(p)};
          for (const [member, names] of Object.entries(a.names)) {
            const params = {customerKey: member === "brandpay" ? a.ck : harness.ANONYMOUS};
            for (const name of names) {
              const [top, sub] = name.split(".");
              if (top in params && sub === undefined) continue;
              params[top] = sub === undefined ? (top === "redirectUrl" ? a.redirect : null)
                                              : Object.assign({}, params[top], {[sub]: null});
            }
            try { make[member](params); out[member] = "ok"; }
            catch (e) { out[member] = e.code; }
          }
          return out;
        }""",
        {
            "ck": new_key(),
            "redirect": site.redirect_url,
            "names": {m: sdk[m]["*"] for m in ("brandpay", "payment", "widgets")},
        },
    )
    assert thrown == {"brandpay": "ok", "payment": "ok", "widgets": "ok"}


@pytest.mark.parametrize(
    ("kind", "interface", "variant"),
    [
        ("brandpay", "TossPaymentsBrandpay", "*"),
        ("payment", "TossPaymentsPayment", "CARD"),
    ],
)
def test_typings_request_payment_parameter_names_all_accepted(
    shop: Callable[..., Any],
    site: MerchantSite,
    typings: dict[str, Any],
    kind: str,
    interface: str,
    variant: str,
) -> None:
    page = shop("v2")
    names = typings[interface]["requestPayment"][variant]
    base: dict[str, Any] = {
        "amount": {"currency": "KRW", "value": 15000},
        "orderId": new_key("order"),
        "orderName": "typings",
    }
    if kind == "payment":
        base["method"] = "CARD"
    results = page.evaluate(
        PROBE,
        {
            "names": names,
            "base": base,
            "kind": kind,
            "ck": new_key(),
            "redirect": site.redirect_url,
        },
    )
    unknown = {n: r for n, r in results.items() if "unknown parameter" in r}
    assert unknown == {}
    # Setting one absent name to null changes nothing: every call opens its window.
    assert {n for n, r in results.items() if r != "opened"} == set()


def test_typings_payment_other_methods_refused_not_supported_method(
    shop: Callable[..., Any], typings: dict[str, Any]
) -> None:
    page = shop("v2")
    methods = [
        m
        for m in typings["TossPaymentsPayment"]["requestPayment"]
        if m not in ("CARD", "*")
    ]
    assert "VIRTUAL_ACCOUNT" in methods
    codes = page.evaluate(
        """async (methods) => {
          const out = {};
          for (const method of methods) {
            try {
              await tp.payment({customerKey: harness.ANONYMOUS}).requestPayment({
                method, amount: {currency: "KRW", value: 1000}, orderId: "order_" + method,
                orderName: "x"});
              out[method] = "resolved";
            } catch (e) { out[method] = e.code; }
          }
          return out;
        }""",
        methods,
    )
    assert codes == dict.fromkeys(methods, "NOT_SUPPORTED_METHOD")


# name -> (value sent, the window's normalised field, value it must hold there)
BRANDPAY_EFFECTS: dict[str, tuple[Any, str, Any]] = {
    "customerEmail": ("buyer@example.com", "customerEmail", "buyer@example.com"),
    "customerName": ("김토스", "customerName", "김토스"),
    "taxFreeAmount": (3000, "taxFreeAmount", 3000),
    "methodId": ("m_preselected", "methodId", "m_preselected"),
    "metadata": ({"cart": "c1"}, "metadata", {"cart": "c1"}),
    "card.cardInstallmentPlan": (3, "cardInstallmentPlan", 3),
    "card.useCardPoint": (True, "useCardPoint", True),
    "card.discountCode": ("CARD10", "discountCode", "CARD10"),
    "transfer.isCulturalExpenses": (True, "cultureExpense", True),
    "transfer.cashReceipt": (
        {
            "type": "소득공제",
            "registrationNumber": "01012345678",
            "registrationNumberType": "MOBILE",
        },
        "cashReceipt",
        {"type": "소득공제", "registrationNumber": "01012345678", "kind": "MOBILE"},
    ),
}
PAYMENT_EFFECTS: dict[str, tuple[Any, str, Any]] = {
    "customerEmail": ("buyer@example.com", "customerEmail", "buyer@example.com"),
    "customerName": ("Kim", "customerName", "Kim"),
    "customerMobilePhone": ("01012345678", "customerMobilePhone", "01012345678"),
    "taxFreeAmount": (1000, "taxFreeAmount", 1000),
    "metadata": ({"sku": "A-1"}, "metadata", {"sku": "A-1"}),
    "windowTarget": ("iframe", "windowTarget", "iframe"),
    "card.useEscrow": (True, "useEscrow", True),
    "card.useCardPoint": (True, "useCardPoint", True),
    "card.useAppCardOnly": (True, "useAppCardOnly", True),
    "card.maxCardInstallmentPlan": (6, "maxCardInstallmentPlan", 6),
    "card.flowMode": ("DEFAULT", "flowMode", "DEFAULT"),
    "card.useInternationalCardOnly": (True, "international", True),
    "card.language": ("JA", "language", "JA"),
    "card.showEstimatedAmount": (False, "showEstimatedAmount", False),
}


@pytest.mark.parametrize(
    ("kind", "interface", "variant", "effects"),
    [
        ("brandpay", "TossPaymentsBrandpay", "*", BRANDPAY_EFFECTS),
        ("payment", "TossPaymentsPayment", "CARD", PAYMENT_EFFECTS),
    ],
)
def test_typings_effective_parameters_reach_the_window_session(
    shop: Callable[..., Any],
    site: MerchantSite,
    toss: SandboxServer,
    typings: dict[str, Any],
    kind: str,
    interface: str,
    variant: str,
    effects: dict[str, tuple[Any, str, Any]],
) -> None:
    declared = set(typings[interface]["requestPayment"][variant])
    assert set(effects) <= declared  # the effects list names typed parameters only
    request: dict[str, Any] = {
        "amount": {"currency": "KRW", "value": 60000},
        "orderId": new_key("order"),
        "orderName": "effects",
    }
    if kind == "payment":
        request["method"] = "CARD"
    for name, (value, _, _) in effects.items():
        top, _, sub = name.partition(".")
        if sub:
            request.setdefault(top, {})[sub] = value
        else:
            request[top] = value
    customer = new_key()
    page = shop("v2")
    make = (
        "tp.brandpay({customerKey: a.ck, redirectUrl: a.redirect})"
        if kind == "brandpay"
        else "tp.payment({customerKey: a.ck})"
    )
    page.evaluate(
        f"(a) => harness.track({make}.requestPayment(a.request))",
        {"ck": customer, "redirect": site.redirect_url, "request": request},
    )
    page.wait_for_selector("[data-toss-sandbox=overlay]")
    [window] = toss.windows(customer)
    assert window["request"] == request
    held = {name: window["params"][field] for name, (_, field, _) in effects.items()}
    assert held == {name: want for name, (_, _, want) in effects.items()}
    assert window["params"]["amount"] == 60000
    assert window["mode"] == "promise"
    assert window["clientKey"] == DOC_CLIENT_KEY
