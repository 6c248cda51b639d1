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
