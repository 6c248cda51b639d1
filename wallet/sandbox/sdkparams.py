"""What the browser SDK checks before a window opens (v2 typings, contract §6.1).

The shim sends every call's parameters here (`POST /_hosted/api/windows`), so the
rules live once, in Python, and the hosted pages reach the same normalised values.
Each refusal is an `ApiError` whose code is the typings' `PublicError` code, e.g.
`INVALID_AMOUNT_VALUE` for `PublicError.Payment.InvalidAmountValueError`.

Parameter names are checked too: a name the typings do not declare is refused with
`INVALID_PARAMETERS` ("unknown parameter"), so a typo never passes silently. Names
the typings mark `@ignore` are accepted and have no effect in the sandbox.
"""

from __future__ import annotations

import math
import re
from typing import Any
from urllib.parse import urlsplit

from .catalog import (
    ANONYMOUS,
    CUSTOMER_KEY_PATTERN,
    INSTALLMENT_MONTHS,
    ORDER_ID_PATTERN,
)
from .errors import ApiError
from .payments import check_cash_receipt

# Parameter names of the v2 typings (types/index.d.ts of tosspayments-sdk 2.8.1);
# tests/sdk checks at test time that the typings declare nothing outside them.
BRANDPAY_CARD = frozenset(
    {
        "cardInstallmentPlan",
        "useCardPoint",
        "discountCode",
        "affiliateCards",
        "orderProductCode",
        "dividedSettlements",
    }
)
BRANDPAY_TRANSFER = frozenset(
    {
        "cashReceipt",
        "isCulturalExpenses",
        "discountCode",
        "orderProductCode",
        "dividedSettlements",
    }
)
BRANDPAY_REQUEST = frozenset(
    {
        "amount",
        "orderId",
        "orderName",
        "customerEmail",
        "customerName",
        "taxFreeAmount",
        "methodId",
        "metadata",
        "shippingAddress",
        "card",
        "transfer",
        "successUrl",
        "failUrl",
    }
)
PAYMENT_REQUEST = frozenset(
    {
        "method",
        "amount",
        "orderName",
        "orderId",
        "customerName",
        "customerEmail",
        "customerMobilePhone",
        "taxFreeAmount",
        "windowTarget",
        "pendingUrl",
        "metadata",
        "orderProductCode",
        "sandbox",
        "subOrders",
        "card",
        "successUrl",
        "failUrl",
    }
)
PAYMENT_CARD = frozenset(
    {
        "useEscrow",
        "taxExemptionAmount",
        "flowMode",
        "cardCompany",
        "easyPay",
        "cardInstallmentPlan",
        "maxCardInstallmentPlan",
        "freeInstallmentPlans",
        "useCardPoint",
        "useAppCardOnly",
        "discountCode",
        "validHours",
        "dueDate",
        "escrowProducts",
        "useInternationalCardOnly",
        "language",
        "showEstimatedAmount",
        "threeDS",
        "appScheme",
        "keyin",
        "showMobileAppHeader",
        "affiliateCards",
        "dividedSettlements",
    }
)
BILLING_REQUEST = frozenset(
    {
        "method",
        "successUrl",
        "failUrl",
        "customerName",
        "customerEmail",
        "windowTarget",
        "selectableCardTypes",
        "flowMode",
        "easyPay",
        "cardCompany",
        "transfer",
    }
)
AMOUNT = frozenset({"value", "currency"})
# v1 `PaymentParams` (@tosspayments/brandpay__types 1.16.1): a flat request.
V1_REQUEST = frozenset(
    {
        "amount",
        "orderId",
        "orderName",
        "successUrl",
        "failUrl",
        "methodId",
        "customerEmail",
        "shippingAddress",
        "taxFreeAmount",
        "cardInstallmentPlan",
        "useCardPoint",
        "discountCode",
        "cashReceipt",
        "userAgent",
        "productCode",
        "metadata",
    }
)
LANGUAGES = ("KO", "EN", "JA", "ZH")
METADATA_KEYS, METADATA_KEY_LEN, METADATA_VALUE_LEN = 5, 40, 2000
TEXT_LEN = 100  # customerName, customerEmail, orderName (v2 typings)
SECRET_KEY = re.compile(r"^(test|live)_g?sk_")
CLIENT_KEY = re.compile(r"^(test|live)_g?ck_[A-Za-z0-9_]+$")


def refuse(code: str, detail: str | None = None) -> ApiError:
    """The typed SDK error for the shim (HTTP 400 with `{code, message}`)."""
    return ApiError(code, detail)


# -- keys (TossPayments(clientKey).brandpay / .payment) ----------------------------
def check_client_key(client_key: Any, widget: bool = False) -> str:
    """clientKey: an API individual key (`_ck_`), or a widget key for widgets()."""
    if not isinstance(client_key, str) or not client_key:
        raise refuse("INVALID_CLIENT_KEY")
    if SECRET_KEY.match(client_key):
        raise refuse("INSECURE_KEY_USAGE")  # contract §10
    if not CLIENT_KEY.match(client_key):
        raise refuse("INVALID_CLIENT_KEY")
    is_widget = "_gck_" in client_key
    if is_widget and not widget:
        raise refuse("NOT_SUPPORTED_WIDGET_KEY")  # contract §1, §6.1
    if widget and not is_widget:
        raise refuse("NOT_SUPPORTED_API_INDIVIDUAL_KEY")
    return client_key


def check_customer_key(customer_key: Any, anonymous: bool = False) -> str:
    """customerKey 2-50 of `[A-Za-z0-9_=.@-]`; never a secret key; maybe ANONYMOUS."""
    if isinstance(customer_key, str) and SECRET_KEY.match(customer_key):
        raise refuse("INSECURE_KEY_USAGE")
    if customer_key == ANONYMOUS:  # a valid-looking key, but only payment() takes it
        if anonymous:
            return customer_key
        raise refuse("INVALID_CUSTOMER_KEY")
    if not isinstance(customer_key, str) or not re.match(
        CUSTOMER_KEY_PATTERN, customer_key
    ):
        raise refuse("INVALID_CUSTOMER_KEY")
    return customer_key


# -- value rules ---------------------------------------------------------------
def known(params: Any, names: frozenset[str], where: str = "") -> dict[str, Any]:
    """`params` as a dict whose keys the typings declare."""
    if params is None:
        return {}
    if not isinstance(params, dict):
        raise refuse("INVALID_PARAMETERS", f"{where or 'parameters'} must be an object")
    unknown = sorted(set(params) - names)
    if unknown:
        raise refuse("INVALID_PARAMETERS", f"unknown parameter: {where}{unknown[0]}")
    return params


def _text(params: dict[str, Any], name: str, limit: int = TEXT_LEN) -> str | None:
    value = params.get(name)
    if value is not None and (not isinstance(value, str) or len(value) > limit):
        raise refuse("INVALID_PARAMETERS", f"{name}: a string of at most {limit}")
    return value


def _flag(params: dict[str, Any], name: str, where: str = "") -> bool | None:
    value = params.get(name)
    if value is not None and not isinstance(value, bool):
        raise refuse("INVALID_PARAMETERS", f"{where}{name}: true or false")
    return value


def _months(params: dict[str, Any], name: str, where: str = "") -> int | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or value not in INSTALLMENT_MONTHS:
        raise refuse("INVALID_PARAMETERS", f"{where}{name}: 0 or 2-12")
    return int(value)


def _integer_amount(value: Any) -> int:
    """A finite whole number (JSON turns NaN and Infinity into null)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise refuse("INVALID_AMOUNT_VALUE")
    if not math.isfinite(value) or value != int(value):
        raise refuse("INVALID_AMOUNT_VALUE")
    if value < 0:
        raise refuse("BELOW_ZERO_AMOUNT")
    return int(value)


def amount_object(value: Any, currency_code: str) -> int:
    """`amount: {currency: "KRW", value}`; the bad-currency code differs per API."""
    if not isinstance(value, dict):
        raise refuse("INVALID_AMOUNT_VALUE")
    known(value, AMOUNT, "amount.")
    krw = _integer_amount(value.get("value"))
    if value.get("currency") != "KRW":  # contract §4/§9: KRW only
        raise refuse(currency_code)
    return krw


def order(params: dict[str, Any]) -> tuple[str, str]:
    """orderId 6-64 of `[A-Za-z0-9_=-]` and orderName 1-100 (v2 typings)."""
    order_id, order_name = params.get("orderId"), params.get("orderName")
    if not isinstance(order_id, str) or not re.match(ORDER_ID_PATTERN, order_id):
        raise refuse("INVALID_PARAMETERS", "orderId: 6-64 of A-Z a-z 0-9 - _ =")
    if not isinstance(order_name, str) or not 1 <= len(order_name) <= TEXT_LEN:
        raise refuse("INVALID_PARAMETERS", "orderName: 1-100 characters")
    return order_id, order_name


def tax_free(params: dict[str, Any], amount: int) -> int:
    """taxFreeAmount: a whole number of KRW between 0 and the amount."""
    value = params.get("taxFreeAmount")
    if value is None:
        return 0
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not 0 <= value <= amount
    ):
        raise refuse("INVALID_PARAMETERS", "taxFreeAmount: 0 to the amount")
    return value


def metadata(value: Any) -> dict[str, str] | None:
    """At most 5 keys of up to 40 characters without `[`/`]`, values up to 2000."""
    if value is None:
        return None
    if not isinstance(value, dict) or len(value) > METADATA_KEYS:
        raise refuse("INVALID_METADATA")
    out: dict[str, str] = {}
    for key, item in value.items():
        if len(key) > METADATA_KEY_LEN or "[" in key or "]" in key:
            raise refuse("INVALID_METADATA")
        if isinstance(item, bool):
            item = "true" if item else "false"
        elif isinstance(item, int | float):
            item = str(item)
        if not isinstance(item, str) or len(item) > METADATA_VALUE_LEN:
            raise refuse("INVALID_METADATA")
        out[key] = item
    return out


def is_http_url(url: Any) -> bool:
    """An absolute http(s) URL with a host."""
    if not isinstance(url, str):
        return False
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def redirection(params: dict[str, Any], required: bool = False) -> str:
    """ "redirect" with absolute successUrl and failUrl, "promise" with neither."""
    success, fail = params.get("successUrl"), params.get("failUrl")
    if success is None and fail is None and not required:
        return "promise"
    if success is not None and not is_http_url(success):
        raise refuse("INCORRECT_SUCCESS_URL_FORMAT")
    if fail is not None and not is_http_url(fail):
        raise refuse("INCORRECT_FAIL_URL_FORMAT")
    if success is None:
        raise refuse(
            "INCORRECT_SUCCESS_URL_FORMAT" if required else "INVALID_PARAMETERS"
        )
    if fail is None:
        raise refuse("INCORRECT_FAIL_URL_FORMAT" if required else "INVALID_PARAMETERS")
    return "redirect"


def _payment_common(p: dict[str, Any], currency_code: str) -> dict[str, Any]:
    """The fields every payment request shares, checked in the SDK's order."""
    amount = amount_object(p.get("amount"), currency_code)
    order_id, order_name = order(p)
    return {
        "mode": redirection(p),
        "amount": amount,
        "orderId": order_id,
        "orderName": order_name,
        "customerEmail": _text(p, "customerEmail"),
        "customerName": _text(p, "customerName"),
        "taxFreeAmount": tax_free(p, amount),
        "metadata": metadata(p.get("metadata")),
        "successUrl": p.get("successUrl"),
        "failUrl": p.get("failUrl"),
    }


def _card_method(params: Any) -> Any:
    """`method: "CARD"`; the typings' other methods are not emulated."""
    method = params.get("method") if isinstance(params, dict) else None
    if isinstance(method, str) and method != "CARD":
        raise refuse("NOT_SUPPORTED_METHOD", f"method {method} is not emulated")
    if method is None:
        raise refuse("INVALID_PARAMETERS", "method is required")
    return params


def _window_target(params: dict[str, Any]) -> str | None:
    target = params.get("windowTarget")
    if target not in (None, "iframe", "self"):
        raise refuse("INVALID_PARAMETERS", "windowTarget: iframe or self")
    return target


# -- requests --------------------------------------------------------------------
def brandpay_payment(params: Any) -> dict[str, Any]:
    """`brandpay.requestPayment(BrandpayPaymentRequest)` normalised."""
    p = known(params, BRANDPAY_REQUEST)
    common = _payment_common(p, "INVALID_PARAMETERS")
    card = known(p.get("card"), BRANDPAY_CARD, "card.")
    transfer = known(p.get("transfer"), BRANDPAY_TRANSFER, "transfer.")
    try:
        cash_receipt = check_cash_receipt(transfer.get("cashReceipt"))
    except ValueError as exc:
        raise refuse("INVALID_PARAMETERS", f"transfer.cashReceipt: {exc}") from None
    method_id = p.get("methodId")
    if method_id is not None and not isinstance(method_id, str):
        raise refuse("INVALID_PARAMETERS", "methodId: a string")
    return common | {
        "methodId": method_id,
        # None: the buyer picks in the window; 0 fixes a lump sum (v2 typings).
        "cardInstallmentPlan": _months(card, "cardInstallmentPlan", "card."),
        "useCardPoint": bool(_flag(card, "useCardPoint", "card.")),
        "discountCode": _text(card, "discountCode") or _text(transfer, "discountCode"),
        "cashReceipt": cash_receipt,
        "cultureExpense": bool(_flag(transfer, "isCulturalExpenses", "transfer.")),
    }


def card_payment(params: Any) -> dict[str, Any]:
    """`payment.requestPayment(CardPaymentRequest)` normalised (CARD only)."""
    p = known(_card_method(params), PAYMENT_REQUEST)
    common = _payment_common(p, "INVALID_AMOUNT_CURRENCY")
    card = known(p.get("card"), PAYMENT_CARD, "card.")
    phone = p.get("customerMobilePhone")
    if phone is not None and not (
        isinstance(phone, str) and phone.isdigit() and 8 <= len(phone) <= 15
    ):
        raise refuse("INVALID_PARAMETERS", "customerMobilePhone: 8-15 digits")
    target = _window_target(p)
    fixed = _months(card, "cardInstallmentPlan", "card.")
    ceiling = _months(card, "maxCardInstallmentPlan", "card.")
    if fixed is not None and ceiling is not None:
        raise refuse("INVALID_PARAMETERS", "cardInstallmentPlan with maxCard...")
    flow = card.get("flowMode")
    if flow not in (None, "DEFAULT", "DIRECT"):
        raise refuse("INVALID_PARAMETERS", "card.flowMode: DEFAULT or DIRECT")
    language = card.get("language")
    if language not in (None, *LANGUAGES):
        raise refuse("INVALID_PARAMETERS", "card.language: KO, EN, JA or ZH")
    estimated = _flag(card, "showEstimatedAmount", "card.")
    return common | {
        "customerMobilePhone": phone,
        "windowTarget": target,
        "useEscrow": bool(_flag(card, "useEscrow", "card.")),
        "useCardPoint": bool(_flag(card, "useCardPoint", "card.")),
        "useAppCardOnly": bool(_flag(card, "useAppCardOnly", "card.")),
        "international": bool(_flag(card, "useInternationalCardOnly", "card.")),
        "cardInstallmentPlan": fixed,
        "maxCardInstallmentPlan": ceiling,
        "flowMode": flow or "DEFAULT",
        "language": language,
        "showEstimatedAmount": estimated is not False,  # typings: default true
        "discountCode": _text(card, "discountCode"),
    }


def billing_auth(params: Any) -> dict[str, Any]:
    """`payment.requestBillingAuth(CardBillingAuthRequest)` (redirect only)."""
    p = known(_card_method(params), BILLING_REQUEST)
    target = _window_target(p)
    return {
        "mode": redirection(p, required=True),
        "customerEmail": _text(p, "customerEmail"),
        "customerName": _text(p, "customerName"),
        "windowTarget": target,
        "successUrl": p["successUrl"],
        "failUrl": p["failUrl"],
    }


def v1_payment(params: Any) -> dict[str, Any]:
    """v1 `requestPayment(PaymentParams)`: a flat request, amount a number.

    Checked by name, then read as the v2 request it corresponds to.
    """
    p = known(params, V1_REQUEST)
    as_v2 = {
        "amount": {"currency": "KRW", "value": p.get("amount")},
        "card": {
            k: p[k]
            for k in ("cardInstallmentPlan", "useCardPoint", "discountCode")
            if k in p
        },
        "transfer": {"cashReceipt": p["cashReceipt"]} if "cashReceipt" in p else {},
    } | {k: p[k] for k in BRANDPAY_REQUEST & set(p) if k != "amount"}
    return brandpay_payment(as_v2)
