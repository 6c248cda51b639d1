"""The standard card window, the international card window and card billing auth.

`payment({customerKey}).requestPayment({method: "CARD", ...})` opens `/_hosted/card`:
the domestic card window, or with `card.useInternationalCardOnly` the multi-language
window for overseas cards (English by default; Korean, Chinese and Japanese on a
switch; KRW with an estimated USD amount at the fixed test rate). A payment made
here is `type: NORMAL`, confirmed with `POST /v1/payments/confirm` (contract §6.1).
`payment.requestBillingAuth({method: "CARD", ...})` opens `/_hosted/card-billing`
and ends at `successUrl?authKey&customerKey`.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue

from .api import english
from .catalog import (
    FOREIGN_CARDS,
    INSTALLMENT_MINIMUM,
    INSTALLMENT_MONTHS,
    TEST_CARDS,
    TEST_PIN,
    USD_RATE,
    TestCard,
    card_for,
    usd_estimate,
)
from .control import sandbox
from .errors import ApiError
from .hosted import page_error, window_view
from .state import random_id
from .windows import Outcome, finish, with_query

bp = Blueprint("cards", __name__)

LANGUAGES = ("en", "ko", "zh", "ja")
# The international window's words; the sandbox's other pages are Korean like Toss's.
INTL_TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "Pay by card",
        "order": "Order",
        "amount": "Amount",
        "estimate": "Estimated amount",
        "rate": "test rate 1 USD = {rate:,} KRW; your card company sets the final amount",
        "cards": "Visa, Mastercard, JCB and UnionPay cards issued outside Korea",
        "number": "Card number",
        "expiry": "Expiry (MM/YY)",
        "cvc": "Security code (CVC)",
        "name": "Name on card",
        "pay": "Pay",
        "cancel": "Cancel",
        "language": "Language",
        "tests": "Test cards",
        "declined": "declined",
        "approved": "approved",
    },
    "ko": {
        "title": "해외 카드 결제",
        "order": "주문",
        "amount": "결제 금액",
        "estimate": "예상 결제 금액",
        "rate": "테스트 환율 1 USD = {rate:,}원, 최종 금액은 카드사가 정합니다",
        "cards": "해외에서 발급된 Visa, Mastercard, JCB, UnionPay 카드",
        "number": "카드번호",
        "expiry": "유효기간 (MM/YY)",
        "cvc": "보안코드 (CVC)",
        "name": "카드 소유자 이름",
        "pay": "결제하기",
        "cancel": "취소",
        "language": "언어",
        "tests": "테스트 카드",
        "declined": "거절",
        "approved": "승인",
    },
    "zh": {
        "title": "银行卡支付",
        "order": "订单",
        "amount": "支付金额",
        "estimate": "预计金额",
        "rate": "测试汇率 1 USD = {rate:,} KRW，最终金额以发卡机构为准",
        "cards": "韩国境外发行的 Visa、Mastercard、JCB、银联卡",
        "number": "卡号",
        "expiry": "有效期 (MM/YY)",
        "cvc": "安全码 (CVC)",
        "name": "持卡人姓名",
        "pay": "支付",
        "cancel": "取消",
        "language": "语言",
        "tests": "测试卡",
        "declined": "拒绝",
        "approved": "批准",
    },
    "ja": {
        "title": "カード決済",
        "order": "ご注文",
        "amount": "決済金額",
        "estimate": "予想決済金額",
        "rate": "テストレート 1 USD = {rate:,} KRW、最終金額はカード会社が決定します",
        "cards": "韓国国外で発行された Visa・Mastercard・JCB・UnionPay カード",
        "number": "カード番号",
        "expiry": "有効期限 (MM/YY)",
        "cvc": "セキュリティコード (CVC)",
        "name": "カード名義",
        "pay": "支払う",
        "cancel": "キャンセル",
        "language": "言語",
        "tests": "テストカード",
        "declined": "拒否",
        "approved": "承認",
    },
}
LANGUAGE_NAMES = {"en": "English", "ko": "한국어", "zh": "中文", "ja": "日本語"}


def _language(window: dict[str, Any], asked: str | None) -> str:
    """The switch's choice, else `card.language`, else English (the window's default)."""
    if asked in LANGUAGES:
        return str(asked)
    given = (window["params"].get("language") or "").lower()
    return given if given in LANGUAGES else "en"


def _entered_card(window: dict[str, Any], number: str) -> TestCard:
    """The test card for the number typed into this window, or the refusal."""
    international = window["params"]["international"]
    accepted, other = (
        (FOREIGN_CARDS, TEST_CARDS) if international else (TEST_CARDS, FOREIGN_CARDS)
    )
    card = card_for(number, accepted)
    if card is not None:
        return card
    if card_for(number, other) is not None:
        # [G] A domestic card in the international window (or an overseas card in
        # the domestic one): the public copies give no code; this is the closest.
        raise ApiError("NOT_SUPPORTED_CARD_TYPE")
    raise ApiError("INVALID_CARD_NUMBER")


def _installments(params: dict[str, Any]) -> list[int]:
    if params["international"] or params["amount"] < INSTALLMENT_MINIMUM:
        return []
    if params.get("cardInstallmentPlan") is not None:
        return []  # fixed by the request
    ceiling = params.get("maxCardInstallmentPlan")
    ceiling = 12 if ceiling is None else ceiling
    return [m for m in INSTALLMENT_MONTHS if m <= ceiling]


def _page(window: dict[str, Any], status: int = 200, **ctx: Any) -> Any:
    params = window["params"]
    if params["international"]:
        lang = _language(window, request.values.get("lang"))
        text = {
            k: v.format(rate=USD_RATE) if "{rate" in v else v
            for k, v in INTL_TEXT[lang].items()
        }
        html = render_template(
            "intl.html",
            window=window,
            params=params,
            lang=lang,
            text=text,
            languages=LANGUAGE_NAMES,
            usd=usd_estimate(params["amount"]),
            cards=FOREIGN_CARDS,
            **ctx,
        )
        return html, status
    html = render_template(
        "card.html",
        window=window,
        params=params,
        cards=TEST_CARDS,
        installments=_installments(params),
        **ctx,
    )
    return html, status


@bp.route("/_hosted/card", methods=["GET", "POST"])
@window_view(("card",))
def card(window: dict[str, Any], form: Any) -> ResponseReturnValue:
    """Enter a test card; a NORMAL payment session, then successUrl or failUrl."""
    params = window["params"]
    if request.method == "GET":
        return _page(window)
    try:
        entered = _entered_card(window, form.get("cardNumber", ""))
        if params["useEscrow"] and form.get("escrow") != "on":
            # v2 typings: with useEscrow the buyer must agree to escrow to pay.
            raise ApiError("NEED_AGREEMENT_WITH_TERMS", "에스크로 적용에 동의해주세요.")
    except ApiError as exc:
        return _page(window, 422, error=page_error(exc), form=form)
    choices = dict(params)
    months = form.get("installment")
    if params.get("cardInstallmentPlan") is None:
        choices["cardInstallmentPlan"] = (
            int(months)
            if months and months.isdigit() and int(months) in _installments(params)
            else 0
        )
    if form.get("pointShown"):
        choices["useCardPoint"] = form.get("useCardPoint") == "on"
    try:
        payment = sandbox().engine.authorize_card(
            window["mid"], window["customerKey"], choices, entered
        )
    except ApiError as exc:
        fail = Outcome("fail", code=exc.code, order_id=params["orderId"])
        return finish(window, fail, english())
    window["paymentKey"] = payment["paymentKey"]
    amount = payment["totalAmount"]
    location = None
    if window["mode"] == "redirect":
        location = with_query(
            params["successUrl"],
            amount=amount,
            orderId=payment["orderId"],
            paymentKey=payment["paymentKey"],
        )
    value = {
        "paymentKey": payment["paymentKey"],
        "orderId": payment["orderId"],
        "amount": {"currency": "KRW", "value": amount},
    }
    return finish(window, Outcome("success", value=value, location=location), english())


@bp.route("/_hosted/card-billing", methods=["GET", "POST"])
@window_view(("card-billing",))
def card_billing(window: dict[str, Any], form: Any) -> ResponseReturnValue:
    """requestBillingAuth({method: "CARD"}): register a card for billing.

    Ends at `successUrl?authKey&customerKey` (v2 typings). The billing-key API that
    exchanges the authKey is not in the contract and is not emulated.
    """
    params = window["params"]

    def page(status: int = 200, **ctx: Any) -> Any:
        html = render_template(
            "card_billing.html", window=window, cards=TEST_CARDS, pin=TEST_PIN, **ctx
        )
        return html, status

    if request.method == "GET":
        return page()
    entered = card_for(form.get("cardNumber", ""), TEST_CARDS)
    if entered is None:
        error = page_error(ApiError("INVALID_CARD_NUMBER"))
        return page(422, error=error, form=form)
    if entered.reject:
        return finish(window, Outcome("fail", code=entered.reject), english())
    auth_key = random_id("bln_", 24)
    sandbox().store.put(
        "billingAuth",
        auth_key,
        {
            "authKey": auth_key,
            "mId": window["mid"],
            "customerKey": window["customerKey"],
            "cardNumber": entered.number,
            "at": sandbox().clock.time(),
        },
    )
    location = with_query(
        params["successUrl"], authKey=auth_key, customerKey=window["customerKey"]
    )
    return finish(window, Outcome("success", location=location), english())
