"""Toss error codes, their HTTP statuses and messages (contract §8)."""

from __future__ import annotations

# contract §8: HTTP status per error code. Also the set of codes that
# `TossPayments-Test-Code` may force (contract §9); anything else there is
# INVALID_TEST_CODE.
STATUS: dict[str, int] = {
    **dict.fromkeys(
        (
            "INVALID_REQUEST",
            "ALREADY_PROCESSED_PAYMENT",
            "DUPLICATED_ORDER_ID",
            "INVALID_API_KEY",
            "INVALID_CUSTOMER_KEY",
            "INVALID_ORDER_ID",
            "INVALID_ORDER_NAME",
            "BELOW_MINIMUM_AMOUNT",
            "BELOW_ZERO_AMOUNT",
            "INVALID_REQUIRED_PARAM",
            "INVALID_TEST_CODE",
            "INVALID_IDEMPOTENCY_KEY",
            "PROVIDER_ERROR",
            "NOT_MATCHES_REFUNDABLE_AMOUNT",
            "ALREADY_CANCELED_PAYMENT",
            "MAINTAINED_METHOD",
            "RESTRICTED_TRANSFER_ACCOUNT",
            "EXCEED_MAX_CARD_INSTALLMENT_PLAN",
            "INVALID_STOPPED_CARD",
            "INVALID_REJECT_CARD",
            "NOT_SUPPORTED_CARD_TYPE",
            "INVALID_CARD_INSTALLMENT_PLAN",
            "NOT_SUPPORTED_INSTALLMENT_PLAN_CARD_OR_MERCHANT",
        ),
        400,
    ),
    "UNAUTHORIZED_KEY": 401,
    **dict.fromkeys(
        (
            "REJECT_CARD_COMPANY",
            "REJECT_CARD_PAYMENT",
            "REJECT_ACCOUNT_PAYMENT",
            "INVALID_PASSWORD",
            "FORBIDDEN_REQUEST",
            "FORBIDDEN_CONSECUTIVE_REQUEST",
            "INCORRECT_BASIC_AUTH_FORMAT",
            "NOT_CANCELABLE_PAYMENT",
            "NOT_CANCELABLE_AMOUNT",
            "EXCEED_MAX_REFUND_DUE",
            "FDS_ERROR",
            "NEED_AGREEMENT_WITH_TERMS",  # [G] autopay without a billing agreement
        ),
        403,
    ),
    **dict.fromkeys(
        (
            "NOT_FOUND",
            "NOT_FOUND_PAYMENT",
            "NOT_FOUND_PAYMENT_SESSION",
            "NOT_FOUND_METHOD",
            "NOT_FOUND_METHOD_OWNERSHIP",
            "NOT_FOUND_MERCHANT",
            "NOT_FOUND_CUSTOMER",  # contract §8 emulator suggestion
        ),
        404,
    ),
    "IDEMPOTENT_REQUEST_PROCESSING": 409,
    **dict.fromkeys(
        (
            "COMMON_ERROR",
            "FAILED_DB_PROCESSING",
            "FAILED_INTERNAL_SYSTEM_PROCESSING",
            "FAILED_PAYMENT_INTERNAL_SYSTEM_PROCESSING",
            "UNKNOWN_PAYMENT_ERROR",
        ),
        500,
    ),
}

# (Korean, English) messages; `Accept-Language: en-US` picks English (§1).
MESSAGES: dict[str, tuple[str, str]] = {
    "INVALID_REQUEST": ("잘못된 요청입니다.", "Bad Request."),
    "ALREADY_PROCESSED_PAYMENT": (
        "이미 처리된 결제 입니다.",
        "This is a payment that has already been processed.",
    ),
    "DUPLICATED_ORDER_ID": (
        "이미 승인 및 취소가 진행된 중복된 주문번호 입니다.",
        "This order ID has already been approved or canceled.",
    ),
    "INVALID_CUSTOMER_KEY": (
        "올바르지 않은 customerKey 입니다.",
        "Invalid customerKey.",
    ),
    "BELOW_MINIMUM_AMOUNT": (
        "결제 금액이 최소 결제 금액보다 작습니다.",
        "The amount is below the minimum payment amount.",
    ),
    "BELOW_ZERO_AMOUNT": ("금액은 0보다 커야 합니다.", "The amount must be over zero."),
    "INVALID_TEST_CODE": ("테스트 코드가 올바르지 않습니다.", "Invalid test code."),
    "INVALID_IDEMPOTENCY_KEY": (
        "멱등키는 300자 이하여야 합니다.",
        "Idempotency-Key must be 300 characters or less.",
    ),
    "NOT_MATCHES_REFUNDABLE_AMOUNT": (
        "잔액 결과가 일치하지 않습니다.",
        "The refundable amount does not match.",
    ),
    "ALREADY_CANCELED_PAYMENT": (
        "이미 취소된 결제 입니다.",
        "Already canceled payment.",
    ),
    "UNAUTHORIZED_KEY": (
        "인증되지 않은 시크릿 키 혹은 클라이언트 키 입니다.",
        "Unauthorized secret key or client key.",
    ),
    "REJECT_CARD_COMPANY": (
        "결제 승인이 거절되었습니다.",
        "The card company rejected the payment.",
    ),
    "REJECT_CARD_PAYMENT": (
        "한도초과 혹은 잔액부족으로 결제에 실패했습니다.",
        "Payment failed: limit exceeded or insufficient balance.",
    ),
    "REJECT_ACCOUNT_PAYMENT": (
        "잔액부족으로 결제에 실패했습니다.",
        "Payment failed due to insufficient account balance.",
    ),
    "INVALID_PASSWORD": (
        "결제 비밀번호가 일치하지 않습니다.",
        "The payment password does not match.",
    ),
    "FORBIDDEN_REQUEST": ("허용되지 않은 요청입니다.", "Forbidden request."),
    "FORBIDDEN_CONSECUTIVE_REQUEST": (
        "반복적인 요청은 허용되지 않습니다. 잠시 후 다시 시도해주세요.",
        "Consecutive requests are not allowed. Please try again later.",
    ),
    "INCORRECT_BASIC_AUTH_FORMAT": (
        "잘못된 요청입니다. ':' 를 포함해 인코딩해주세요.",
        "Bad request. Encode the key including ':'.",
    ),
    "NOT_CANCELABLE_PAYMENT": (
        "취소 할 수 없는 결제 입니다.",
        "Not a cancelable payment.",
    ),
    "NOT_CANCELABLE_AMOUNT": (
        "취소 할 수 없는 금액 입니다.",
        "The amount cannot be canceled.",
    ),
    "NOT_FOUND": ("존재하지 않는 정보 입니다.", "Not found."),
    "NOT_FOUND_PAYMENT": ("존재하지 않는 결제 입니다.", "The payment does not exist."),
    "NOT_FOUND_PAYMENT_SESSION": (
        "결제 시간이 만료되어 결제 진행 데이터가 존재하지 않습니다.",
        "The payment session has expired and no longer exists.",
    ),
    "NOT_FOUND_METHOD": (
        "존재하지 않는 결제수단 입니다.",
        "The payment method does not exist.",
    ),
    "NOT_FOUND_CUSTOMER": (
        "존재하지 않는 고객 입니다.",
        "The customer does not exist.",
    ),
    "IDEMPOTENT_REQUEST_PROCESSING": (
        "이전 멱등 요청이 처리 중입니다. 잠시 후 다시 시도해주세요.",
        "A previous request with this Idempotency-Key is still processing.",
    ),
    "FAILED_INTERNAL_SYSTEM_PROCESSING": (
        "내부 시스템 처리 작업이 실패했습니다. 잠시 후 다시 시도해주세요.",
        "Internal system processing failed. Please try again later.",
    ),
    "PAY_PROCESS_CANCELED": (
        "사용자에 의해 결제가 취소되었습니다.",
        "The payment was canceled by the user.",
    ),
    "NOT_REGISTERED_REDIRECT_URL": (
        "등록되지 않은 리다이렉트 URL 입니다.",
        "The redirect URL is not registered.",
    ),
    "INVALID_PARAMETERS": ("잘못된 파라미터 입니다.", "Invalid parameters."),
    "INVALID_CARD_NUMBER": (
        "카드번호를 다시 확인해주세요. (샌드박스 테스트 카드만 사용 가능)",
        "Check the card number (only the sandbox test cards work).",
    ),
    "INVALID_ACCOUNT_NUMBER": (
        "계좌번호를 다시 확인해주세요.",
        "Check the account number.",
    ),
    "NEED_AGREEMENT_WITH_TERMS": (
        "필수 약관에 동의해주세요.",
        "Agree to the required terms.",
    ),
    "INSECURE_KEY_USAGE": (
        "시크릿 키는 브라우저에서 사용할 수 없습니다.",
        "A secret key must not be used in the browser.",
    ),
    "NOT_FOUND_METHOD_OWNERSHIP": (
        "결제수단의 소유자가 아닙니다.",
        "The payment method does not belong to this customer.",
    ),
    "INVALID_ORDER_ID": (
        "orderId는 영문 대소문자, 숫자, 특수문자(-, _, =)로 이루어진 6자 이상 64자 이하의 문자열이어야 합니다.",
        "orderId must be 6-64 characters of letters, digits, '-', '_' or '='.",
    ),
    "INVALID_ORDER_NAME": (
        "주문명은 1자 이상 100자 이하여야 합니다.",
        "orderName must be 1 to 100 characters.",
    ),
    "NOT_SUPPORTED_CARD_TYPE": (
        "지원되지 않는 카드 종류입니다.",
        "This card type is not supported.",
    ),
    "INVALID_CARD_INSTALLMENT_PLAN": (
        "할부 개월 정보가 잘못되었습니다.",
        "Invalid installment plan.",
    ),
    "NOT_SUPPORTED_INSTALLMENT_PLAN_CARD_OR_MERCHANT": (
        "할부가 지원되지 않는 카드 또는 가맹점 입니다.",
        "Installments are not supported for this card, merchant or amount.",
    ),
    # Browser SDK errors (PublicError codes of the v2 typings).
    "USER_CANCEL": ("사용자가 취소했습니다.", "The user canceled."),
    "INVALID_CLIENT_KEY": (
        "클라이언트 키가 올바르지 않습니다.",
        "The client key is not valid.",
    ),
    "NOT_SUPPORTED_WIDGET_KEY": (
        "결제위젯 연동 키는 지원하지 않습니다. API 개별 연동 키를 사용하세요.",
        "Widget keys are not supported here; use an API individual key.",
    ),
    "NOT_SUPPORTED_API_INDIVIDUAL_KEY": (
        "API 개별 연동 키는 지원하지 않습니다. 결제위젯 연동 키를 사용하세요.",
        "API individual keys are not supported here; use a widget key.",
    ),
    "INVALID_METHOD_TRANSACTION": (
        "이미 다른 요청을 수행하고 있습니다.",
        "Another request is already in progress.",
    ),
    "INVALID_AMOUNT_VALUE": (
        "결제금액이 올바르지 않습니다.",
        "The amount is not valid.",
    ),
    "INVALID_AMOUNT_CURRENCY": (
        "잘못된 통화 값입니다.",
        "The currency is not valid.",
    ),
    "INCORRECT_SUCCESS_URL_FORMAT": (
        "잘못된 successUrl 입니다.",
        "Invalid successUrl.",
    ),
    "INCORRECT_FAIL_URL_FORMAT": ("잘못된 failUrl 입니다.", "Invalid failUrl."),
    "INVALID_METADATA": (
        "metadata는 최대 5개의 키-값 쌍이며, 키는 '[', ']'를 쓰지 않는 40자 이하, 값은 2000자 이하여야 합니다.",
        "metadata: at most 5 keys of up to 40 characters without '[' or ']', values up to 2000 characters.",
    ),
    "NEED_MERCHANT_ONE_TOUCH_SETTING": (
        "가맹점의 원터치 결제 설정이 필요합니다.",
        "The merchant has not enabled one-touch payment.",
    ),
    "NOT_SUPPORTED_PROMISE": (
        "이 환경에서는 Promise 방식을 지원하지 않습니다. successUrl과 failUrl을 사용하세요.",
        "Promise mode is not supported here; pass successUrl and failUrl.",
    ),
    "NOT_SUPPORTED_METHOD": (
        "지원하지 않는 결제수단입니다.",
        "This payment method is not supported.",
    ),
    "PAYMENT_REQUEST_ABORTED": (
        "결제 요청이 중단되었습니다.",
        "The payment request was aborted.",
    ),
    "NO_ACTIVE_PAYMENT_REQUEST": (
        "진행 중인 결제 요청이 없습니다.",
        "There is no payment request in progress.",
    ),
    "UNKNOWN": ("알 수 없는 오류가 발생했습니다.", "An unknown error occurred."),
    "SANDBOX_NOT_EMULATED": (
        "샌드박스에서 지원하지 않는 기능입니다.",
        "This feature is not emulated by the sandbox.",
    ),
    "V1_METHOD_NOT_SUPPORTED": (
        "v1 SDK에서는 지원하지 않는 메서드입니다.",
        "This method exists in the v2 SDK only.",
    ),
}


class ApiError(Exception):
    """A Toss error: `code`, its §8 HTTP status and an optional detail."""

    def __init__(self, code: str, detail: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.status = STATUS.get(code, 400)
        self.detail = detail

    def body(self, english: bool = False) -> dict[str, str]:
        """The `{code, message}` error object of contract §8."""
        return {
            "code": self.code,
            "message": self.detail or message(self.code, english),
        }


def message(code: str, english: bool = False) -> str:
    """Human message for `code` in Korean (default) or English."""
    ko, en = MESSAGES.get(code, (code, code.replace("_", " ").capitalize() + "."))
    return en if english else ko
