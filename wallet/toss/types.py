"""Typed, immutable views of Toss's JSON objects (contract §2-§5)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from types import MappingProxyType
from typing import Any, Self

__all__ = [
    "KST",
    "AccessToken",
    "BrandPayAccount",
    "BrandPayCard",
    "BrandPayMethods",
    "CashReceipt",
    "CashReceiptRequest",
    "EasyPay",
    "MethodColor",
    "Payment",
    "PaymentCancel",
    "PaymentCard",
    "PaymentTransfer",
    "Terms",
]

# Toss reports times in Korea Standard Time; webhook envelopes omit the offset (§7).
KST = timezone(timedelta(hours=9), "KST")


def _obj(data: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise TypeError(f"{what}: expected a JSON object, got {type(data).__name__}")
    return data


def _str(data: Mapping[str, Any], key: str) -> str:
    """A required string field."""
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"missing or invalid field {key!r}")
    return value


def _opt_str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"invalid field {key!r}")
    return str(value)  # some codes arrive as numbers in older API versions


def _int(data: Mapping[str, Any], key: str) -> int:
    """A required integer (money is integer KRW; a bool is not a number here)."""
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"missing or invalid integer field {key!r}")
    return value


def _opt_int(data: Mapping[str, Any], key: str) -> int | None:
    return None if data.get(key) is None else _int(data, key)


def _bool(data: Mapping[str, Any], key: str, default: bool = False) -> bool:
    value = data.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise ValueError(f"invalid boolean field {key!r}")
    return value


def _dt(data: Mapping[str, Any], key: str) -> datetime | None:
    """ISO-8601 to an aware datetime; naive values are Toss's KST."""
    value = data.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"invalid timestamp field {key!r}")
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=KST)


def _dict(data: Mapping[str, Any], key: str) -> Mapping[str, Any] | None:
    value = data.get(key)
    if value is None:
        return None
    # Read-only, so the frozen dataclasses holding it stay effectively immutable.
    return MappingProxyType(dict(_obj(value, key)))


def _list(data: Mapping[str, Any], key: str) -> list[Any]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"invalid list field {key!r}")
    return value


@dataclass(frozen=True)
class AccessToken:
    """A customer's BrandPay tokens (§2); repr never shows the token strings."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    token_type: str
    expires_in: int  # seconds

    @classmethod
    def from_json(cls, data: Any) -> Self:
        """Parse the access-token response."""
        d = _obj(data, "AccessToken")
        return cls(
            access_token=_str(d, "accessToken"),
            refresh_token=_str(d, "refreshToken"),
            token_type=_opt_str(d, "tokenType") or "bearer",
            expires_in=_int(d, "expiresIn"),
        )

    def expires_at(self, issued_at: datetime) -> datetime:
        """When the access token stops working, given when it was issued."""
        return issued_at + timedelta(seconds=self.expires_in)


@dataclass(frozen=True)
class MethodColor:
    """A method's display colours (hex strings)."""

    background: str | None
    text: str | None

    @classmethod
    def from_json(cls, data: Any) -> Self:
        """Parse a `color` object."""
        d = _obj(data, "color")
        return cls(background=_opt_str(d, "background"), text=_opt_str(d, "text"))


def _color(data: Mapping[str, Any]) -> MethodColor | None:
    value = data.get("color")
    return None if value is None else MethodColor.from_json(value)


def _promotions(data: Mapping[str, Any]) -> tuple[Mapping[str, Any], ...]:
    return tuple(
        MappingProxyType(dict(_obj(p, "promotion"))) for p in _list(data, "promotions")
    )


@dataclass(frozen=True)
class BrandPayCard:
    """A registered card; `card_number` is already masked by Toss (§3)."""

    id: str
    method_key: str
    alias: str | None
    card_name: str | None
    card_number: str | None
    issuer_code: str | None
    acquirer_code: str | None
    owner_type: str | None
    card_type: str | None
    registered_at: datetime | None
    status: str
    icon: str | None = None
    icon_url: str | None = None
    card_img_url: str | None = None
    color: MethodColor | None = None
    installment_minimum_amount: int | None = None
    promotions: tuple[Mapping[str, Any], ...] = field(default=(), compare=False)

    @classmethod
    def from_json(cls, data: Any) -> Self:
        """Parse a BrandPayCard object."""
        d = _obj(data, "BrandPayCard")
        return cls(
            id=_str(d, "id"),
            method_key=_str(d, "methodKey"),
            alias=_opt_str(d, "alias"),
            card_name=_opt_str(d, "cardName"),
            card_number=_opt_str(d, "cardNumber"),
            issuer_code=_opt_str(d, "issuerCode"),
            acquirer_code=_opt_str(d, "acquirerCode"),
            owner_type=_opt_str(d, "ownerType"),
            card_type=_opt_str(d, "cardType"),
            registered_at=_dt(d, "registeredAt"),
            status=_opt_str(d, "status") or "ENABLED",  # §3: lists hold ENABLED only
            icon=_opt_str(d, "icon"),
            icon_url=_opt_str(d, "iconUrl"),
            card_img_url=_opt_str(d, "cardImgUrl"),
            color=_color(d),
            installment_minimum_amount=_opt_int(d, "installmentMinimumAmount"),
            promotions=_promotions(d),
        )


@dataclass(frozen=True)
class BrandPayAccount:
    """A registered bank account; `account_number` is already masked by Toss (§3)."""

    id: str
    method_key: str
    alias: str | None
    account_name: str | None
    account_number: str | None
    bank_code: str | None
    registered_at: datetime | None
    status: str
    icon: str | None = None
    icon_url: str | None = None
    color: MethodColor | None = None
    promotions: tuple[Mapping[str, Any], ...] = field(default=(), compare=False)

    @classmethod
    def from_json(cls, data: Any) -> Self:
        """Parse a BrandPayBankAccount object."""
        d = _obj(data, "BrandPayBankAccount")
        return cls(
            id=_str(d, "id"),
            method_key=_str(d, "methodKey"),
            alias=_opt_str(d, "alias"),
            account_name=_opt_str(d, "accountName"),
            account_number=_opt_str(d, "accountNumber"),
            bank_code=_opt_str(d, "bankCode"),
            registered_at=_dt(d, "registeredAt"),
            status=_opt_str(d, "status") or "ENABLED",
            icon=_opt_str(d, "icon"),
            icon_url=_opt_str(d, "iconUrl"),
            color=_color(d),
            promotions=_promotions(d),
        )


@dataclass(frozen=True)
class BrandPayMethods:
    """A customer's enabled cards and accounts (§3 BrandPayMethod)."""

    cards: tuple[BrandPayCard, ...]
    accounts: tuple[BrandPayAccount, ...]
    is_identified: bool
    selected_method_id: str | None

    @classmethod
    def from_json(cls, data: Any) -> Self:
        """Parse a BrandPayMethod object."""
        d = _obj(data, "BrandPayMethods")
        return cls(
            cards=tuple(BrandPayCard.from_json(c) for c in _list(d, "cards")),
            accounts=tuple(BrandPayAccount.from_json(a) for a in _list(d, "accounts")),
            is_identified=_bool(d, "isIdentified"),
            selected_method_id=_opt_str(d, "selectedMethodId"),
        )

    def all(self) -> tuple[BrandPayCard | BrandPayAccount, ...]:
        """Cards then accounts."""
        return (*self.cards, *self.accounts)

    @property
    def selected(self) -> BrandPayCard | BrandPayAccount | None:
        """The method `selected_method_id` points at, if it is listed."""
        for method in self.all():
            if method.id == self.selected_method_id:
                return method
        return None

    def find(self, method_key: str) -> BrandPayCard | BrandPayAccount | None:
        """The listed method with this methodKey, if any."""
        for method in self.all():
            if method.method_key == method_key:
                return method
        return None


@dataclass(frozen=True)
class Terms:
    """One BrandPay terms document (§5)."""

    id: int
    title: str | None
    version: str | None
    url: str | None
    required: bool
    agreed: bool

    @classmethod
    def from_json(cls, data: Any) -> Self:
        """Parse a Terms object."""
        d = _obj(data, "Terms")
        return cls(
            id=_int(d, "id"),
            title=_opt_str(d, "title"),
            version=_opt_str(d, "version"),
            url=_opt_str(d, "url"),
            required=_bool(d, "required"),
            agreed=_bool(d, "agreed"),
        )


@dataclass(frozen=True)
class PaymentCancel:
    """One entry of `Payment.cancels` (§4)."""

    cancel_amount: int
    cancel_reason: str | None
    canceled_at: datetime | None
    transaction_key: str | None
    cancel_status: str | None
    tax_free_amount: int | None = None
    refundable_amount: int | None = None
    receipt_key: str | None = None
    cancel_request_id: str | None = None

    @classmethod
    def from_json(cls, data: Any) -> Self:
        """Parse a cancels[] item."""
        d = _obj(data, "PaymentCancel")
        return cls(
            cancel_amount=_int(d, "cancelAmount"),
            cancel_reason=_opt_str(d, "cancelReason"),
            canceled_at=_dt(d, "canceledAt"),
            transaction_key=_opt_str(d, "transactionKey"),
            cancel_status=_opt_str(d, "cancelStatus"),
            tax_free_amount=_opt_int(d, "taxFreeAmount"),
            refundable_amount=_opt_int(d, "refundableAmount"),
            receipt_key=_opt_str(d, "receiptKey"),
            cancel_request_id=_opt_str(d, "cancelRequestId"),
        )


@dataclass(frozen=True)
class PaymentCard:
    """`Payment.card` (§4, §6.1): the number is masked by Toss; approve_no is the
    card company's approval number (Toss's test mode may print "00000000")."""

    amount: int | None
    number: str | None
    issuer_code: str | None
    acquirer_code: str | None
    card_type: str | None  # 신용 | 체크 | 기프트
    owner_type: str | None  # 개인 | 법인
    installment_plan_months: int
    is_interest_free: bool
    approve_no: str | None
    use_card_point: bool
    acquire_status: str | None = None

    @classmethod
    def from_json(cls, data: Any) -> Self:
        """Parse a `card` object."""
        d = _obj(data, "card")
        return cls(
            amount=_opt_int(d, "amount"),
            number=_opt_str(d, "number"),
            issuer_code=_opt_str(d, "issuerCode"),
            acquirer_code=_opt_str(d, "acquirerCode"),
            card_type=_opt_str(d, "cardType"),
            owner_type=_opt_str(d, "ownerType"),
            installment_plan_months=_opt_int(d, "installmentPlanMonths") or 0,
            is_interest_free=_bool(d, "isInterestFree"),
            approve_no=_opt_str(d, "approveNo"),
            use_card_point=_bool(d, "useCardPoint"),
            acquire_status=_opt_str(d, "acquireStatus"),
        )


@dataclass(frozen=True)
class PaymentTransfer:
    """`Payment.transfer`: a bank-account payment (BrandPay accounts, §4)."""

    bank_code: str | None
    settlement_status: str | None

    @classmethod
    def from_json(cls, data: Any) -> Self:
        """Parse a `transfer` object."""
        d = _obj(data, "transfer")
        return cls(
            bank_code=_opt_str(d, "bankCode"),
            settlement_status=_opt_str(d, "settlementStatus"),
        )


@dataclass(frozen=True)
class CashReceipt:
    """`Payment.cashReceipt`: the receipt issued for an account payment."""

    type: str | None  # 소득공제 | 지출증빙
    receipt_key: str | None
    issue_number: str | None
    receipt_url: str | None
    amount: int | None
    tax_free_amount: int | None

    @classmethod
    def from_json(cls, data: Any) -> Self:
        """Parse a `cashReceipt` object."""
        d = _obj(data, "cashReceipt")
        return cls(
            type=_opt_str(d, "type"),
            receipt_key=_opt_str(d, "receiptKey"),
            issue_number=_opt_str(d, "issueNumber"),
            receipt_url=_opt_str(d, "receiptUrl"),
            amount=_opt_int(d, "amount"),
            tax_free_amount=_opt_int(d, "taxFreeAmount"),
        )


@dataclass(frozen=True)
class EasyPay:
    """`Payment.easyPay`: set for easy-pay methods (null for BrandPay cards, §4)."""

    provider: str | None
    amount: int | None
    discount_amount: int | None

    @classmethod
    def from_json(cls, data: Any) -> Self:
        """Parse an `easyPay` object."""
        d = _obj(data, "easyPay")
        return cls(
            provider=_opt_str(d, "provider"),
            amount=_opt_int(d, "amount"),
            discount_amount=_opt_int(d, "discountAmount"),
        )


# v2 typings / autopay: which registration numbers each receipt type takes.
_RECEIPT_NUMBER_TYPES = {
    "소득공제": ("MOBILE", "CASH_RECEIPT_CARD"),
    "지출증빙": ("BUSINESS_REGISTRATION", "CASH_RECEIPT_CARD"),
}


@dataclass(frozen=True)
class CashReceiptRequest:
    """A cash receipt to issue with an account payment (autopay `cashReceipt`).

    type 소득공제 (income deduction: a phone or cash-receipt card number) or 지출증빙
    (expense proof: a business or cash-receipt card number). The number is personal
    data: repr shows its last four digits only.
    """

    type: str
    registration_number: str = field(repr=False)
    registration_number_type: str

    def __post_init__(self) -> None:
        kinds = _RECEIPT_NUMBER_TYPES.get(self.type)
        if kinds is None:
            raise ValueError("cash receipt type must be 소득공제 or 지출증빙")
        if self.registration_number_type not in kinds:
            raise ValueError(f"{self.type} takes a registration number of {kinds}")
        number = self.registration_number
        if not (number.isdigit() and 8 <= len(number) <= 20):
            raise ValueError("registration_number must be 8-20 digits")

    def to_json(self) -> dict[str, str]:
        """The request object Toss expects."""
        return {
            "type": self.type,
            "registrationNumber": self.registration_number,
            "registrationNumberType": self.registration_number_type,
        }


def _typed(data: Mapping[str, Any], key: str, parse: Any) -> Any:
    value = data.get(key)
    return None if value is None else parse(value)


def _metadata(data: Mapping[str, Any]) -> Mapping[str, str] | None:
    value = data.get("metadata")
    if value is None:
        return None
    d = _obj(value, "metadata")
    # Toss keeps string values (v2 typings); anything else is shown, not refused, so
    # an odd metadata never makes a real payment unreadable.
    return MappingProxyType(
        {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in d.items()}
    )


@dataclass(frozen=True)
class Payment:
    """A Toss Payment object (§4); `raw` keeps every field, including `secret`."""

    payment_key: str
    order_id: str
    order_name: str | None
    status: str  # READY, IN_PROGRESS, WAITING_FOR_DEPOSIT, DONE, CANCELED, ...
    type: str | None
    method: str | None
    total_amount: int
    balance_amount: int
    currency: str
    requested_at: datetime | None
    approved_at: datetime | None
    receipt_url: str | None
    cancels: tuple[PaymentCancel, ...]
    card: Mapping[str, Any] | None = field(default=None, compare=False)
    failure_code: str | None = None
    failure_message: str | None = None
    last_transaction_key: str | None = None
    version: str | None = None
    # The v2 fields: card details, where the card was issued, what the merchant sent.
    card_details: PaymentCard | None = field(default=None, compare=False)
    transfer: PaymentTransfer | None = field(default=None, compare=False)
    easy_pay: EasyPay | None = field(default=None, compare=False)
    cash_receipt: CashReceipt | None = field(default=None, compare=False)
    country: str | None = None
    metadata: Mapping[str, str] | None = field(default=None, compare=False)
    supplied_amount: int | None = None
    vat: int | None = None
    tax_free_amount: int | None = None
    culture_expense: bool = False
    use_escrow: bool = False
    raw: Mapping[str, Any] = field(
        default_factory=lambda: MappingProxyType({}), repr=False, compare=False
    )

    @classmethod
    def from_json(cls, data: Any) -> Self:
        """Parse a Payment object."""
        d = _obj(data, "Payment")
        receipt = _dict(d, "receipt")
        failure = _dict(d, "failure")
        return cls(
            payment_key=_str(d, "paymentKey"),
            order_id=_str(d, "orderId"),
            order_name=_opt_str(d, "orderName"),
            status=_str(d, "status"),
            type=_opt_str(d, "type"),
            method=_opt_str(d, "method"),
            total_amount=_int(d, "totalAmount"),
            balance_amount=_int(d, "balanceAmount"),
            currency=_opt_str(d, "currency") or "KRW",  # BrandPay is KRW only (§4)
            requested_at=_dt(d, "requestedAt"),
            approved_at=_dt(d, "approvedAt"),
            receipt_url=_opt_str(receipt, "url") if receipt else None,
            cancels=tuple(PaymentCancel.from_json(c) for c in _list(d, "cancels")),
            card=_dict(d, "card"),
            failure_code=_opt_str(failure, "code") if failure else None,
            failure_message=_opt_str(failure, "message") if failure else None,
            last_transaction_key=_opt_str(d, "lastTransactionKey"),
            version=_opt_str(d, "version"),
            card_details=_typed(d, "card", PaymentCard.from_json),
            transfer=_typed(d, "transfer", PaymentTransfer.from_json),
            easy_pay=_typed(d, "easyPay", EasyPay.from_json),
            cash_receipt=_typed(d, "cashReceipt", CashReceipt.from_json),
            country=_opt_str(d, "country"),
            metadata=_metadata(d),
            supplied_amount=_opt_int(d, "suppliedAmount"),
            vat=_opt_int(d, "vat"),
            tax_free_amount=_opt_int(d, "taxFreeAmount"),
            culture_expense=_bool(d, "cultureExpense"),
            use_escrow=_bool(d, "useEscrow"),
            raw=MappingProxyType(dict(d)),
        )

    @property
    def is_normal(self) -> bool:
        """A standard/international window payment (core confirm), not BrandPay."""
        return self.type == "NORMAL"

    @property
    def canceled_amount(self) -> int:
        """Total refunded so far."""
        return self.total_amount - self.balance_amount

    @property
    def is_fully_canceled(self) -> bool:
        """Whether nothing is left to refund; status may say PARTIAL_CANCELED (§4)."""
        return (
            self.status in {"CANCELED", "PARTIAL_CANCELED"} and self.balance_amount == 0
        )
