"""The emulated payment back end (contract §4): sessions, confirms, autopay, cancels.

Three ways in share one Payment document: the BrandPay window (`type: BRANDPAY`,
confirmed with `/v1/brandpay/payments/confirm`), the standard and international card
windows (`type: NORMAL`, confirmed with `/v1/payments/confirm`) and the autopay API
(`POST /v1/brandpay/payments`, DONE at once). Lookups and cancels treat them alike.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from typing import Any

from .catalog import (
    CUSTOMER_KEY_PATTERN,
    DECLINED_TEST_ACCOUNT,
    INSTALLMENT_MINIMUM,
    INSTALLMENT_MONTHS,
    MIN_AMOUNT,
    ORDER_ID_PATTERN,
    TestCard,
    any_card_for,
    mask_card,
)
from .errors import ApiError
from .state import Clock, Store, random_id

CONFIRM_WINDOW = 600  # contract §4: confirm within 10 minutes of authentication
API_VERSION = "2022-11-16"  # contract §4 Payment.version example
BILLING_TERM_ID = 7  # catalog.TERMS: the BILLING scope's term
FINAL = ("DONE", "CANCELED", "PARTIAL_CANCELED")
CASH_RECEIPT_TYPES = {
    # type -> registrationNumberType values the v2 typings allow for it
    "소득공제": ("MOBILE", "CASH_RECEIPT_CARD"),
    "지출증빙": ("BUSINESS_REGISTRATION", "CASH_RECEIPT_CARD"),
    "미발행": (),
}

Notify = Callable[[str, dict[str, Any]], None]


def check_cash_receipt(value: Any) -> dict[str, Any] | None:
    """A cashReceipt object of the v2 typings (or None); ValueError when malformed."""
    if value is None:
        return None
    if not isinstance(value, dict) or value.get("type") not in CASH_RECEIPT_TYPES:
        raise ValueError("cashReceipt.type")
    kinds = CASH_RECEIPT_TYPES[value["type"]]
    number, kind = value.get("registrationNumber"), value.get("registrationNumberType")
    if not kinds:
        if number is not None or kind is not None:
            raise ValueError("미발행 takes no registration number")
        return {"type": "미발행"}
    if kind not in kinds or not isinstance(number, str) or not number.isdigit():
        raise ValueError("cashReceipt.registrationNumber")
    if not 8 <= len(number) <= 20:
        raise ValueError("cashReceipt.registrationNumber")
    return {"type": value["type"], "registrationNumber": number, "kind": kind}


class PaymentEngine:
    """Payment state transitions; mixed into `Engine`, which owns the attributes."""

    store: Store
    clock: Clock
    notify: Notify
    public_url: str

    def customer(self, mid: str, customer_key: str) -> dict[str, Any] | None:
        """Provided by Engine."""
        raise NotImplementedError

    # -- authentication in a hosted window ---------------------------------
    def authorize(
        self, mid: str, customer_key: str, params: dict[str, Any], method_id: str
    ) -> dict[str, Any]:
        """The customer approved a BrandPay payment with their PIN: open a session.

        Raises ApiError with the failUrl code when the payment cannot start.
        """
        method = self.store.get("method", method_id)
        if (
            method is None
            or method["status"] != "ENABLED"
            or (method["mId"], method["customerKey"]) != (mid, customer_key)
        ):
            raise ApiError("NOT_FOUND_METHOD")
        if params["amount"] < MIN_AMOUNT[method["kind"]]:
            raise ApiError("BELOW_MINIMUM_AMOUNT")  # contract §9
        source = self._method_source(method, params)
        return self._open(mid, customer_key, "BRANDPAY", params, source)

    def authorize_card(
        self, mid: str, customer_key: str, params: dict[str, Any], card: TestCard
    ) -> dict[str, Any]:
        """A card was entered in the standard or international window (type NORMAL)."""
        if params["amount"] < MIN_AMOUNT["CARD"]:
            raise ApiError("BELOW_MINIMUM_AMOUNT")  # contract §9
        source = {
            "kind": "CARD",
            "cardNumber": card.number,
            "installment": self._installment(params, params["amount"]),
            "useCardPoint": bool(params.get("useCardPoint")),
        }
        return self._open(mid, customer_key, "NORMAL", params, source)

    @staticmethod
    def _installment(params: dict[str, Any], amount: int) -> int:
        # v2 typings: installments "apply only from 50,000 KRW"; below, lump sum.
        months = params.get("cardInstallmentPlan") or 0
        return months if amount >= INSTALLMENT_MINIMUM else 0

    def _method_source(
        self, method: dict[str, Any], params: dict[str, Any]
    ) -> dict[str, Any]:
        """What a BrandPay method contributes to a Payment (card or account)."""
        if method["kind"] == "CARD":
            return {
                "kind": "CARD",
                "methodId": method["id"],
                "cardNumber": method["number"],
                "installment": self._installment(params, params["amount"]),
                "useCardPoint": bool(params.get("useCardPoint")),
            }
        return {
            "kind": "ACCOUNT",
            "methodId": method["id"],
            "accountNumber": method["number"],
            "bankCode": method["bankCode"],
            "cashReceipt": params.get("cashReceipt"),
        }

    def _open(
        self,
        mid: str,
        customer_key: str,
        payment_type: str,
        params: dict[str, Any],
        source: dict[str, Any],
    ) -> dict[str, Any]:
        """Store an IN_PROGRESS session (or an ABORTED one for a declined method)."""
        with self.store.transaction():
            for old in self.store.find("payment", mId=mid, orderId=params["orderId"]):
                if old["status"] in FINAL:
                    raise ApiError("DUPLICATED_ORDER_ID")
                if old["status"] == "IN_PROGRESS":  # [G] a newer session wins
                    self._set_status(old, "EXPIRED")
            payment, reject = self._new_payment(
                mid, customer_key, payment_type, params, source
            )
            self.store.put("payment", payment["paymentKey"], payment)
        if reject:
            self.notify("PAYMENT_STATUS_CHANGED", self.payment_json(payment))
            raise ApiError(reject)
        return payment

    @staticmethod
    def _rejection(source: dict[str, Any]) -> str | None:
        if source["kind"] == "ACCOUNT":
            declined = source["accountNumber"] == DECLINED_TEST_ACCOUNT
            return "REJECT_ACCOUNT_PAYMENT" if declined else None
        card = any_card_for(source["cardNumber"])
        return card.reject if card else None

    def _new_payment(
        self,
        mid: str,
        customer_key: str,
        payment_type: str,
        params: dict[str, Any],
        source: dict[str, Any],
    ) -> tuple[dict[str, Any], str | None]:
        """A new IN_PROGRESS payment, or ABORTED with the code a declined method gets."""
        amount = params["amount"]
        card = source["kind"] == "CARD"
        payment = {
            "mId": mid,
            "version": API_VERSION,
            "paymentKey": random_id("tbp" if payment_type != "NORMAL" else "tnp", 45),
            "type": payment_type,
            "orderId": params["orderId"],
            "orderName": params["orderName"],
            "currency": "KRW",
            "method": "카드" if card else "계좌이체",  # §4 [G] for accounts
            "totalAmount": amount,
            "balanceAmount": amount,
            "taxFreeAmount": params.get("taxFreeAmount") or 0,
            "taxExemptionAmount": 0,
            "status": "IN_PROGRESS",
            "requestedAt": self.clock.iso(),
            "approvedAt": None,
            "useEscrow": bool(params.get("useEscrow")),
            "cultureExpense": bool(params.get("cultureExpense")) and not card,
            "lastTransactionKey": None,
            "isPartialCancelable": True,
            "cancels": None,
            "failure": None,
            "metadata": params.get("metadata"),
            "secret": None,
            "_sb": source
            | {
                "customerKey": customer_key,
                "authenticatedAt": self.clock.time(),
                "approveNo": None,
                # Accepted and kept; the sandbox runs no promotions (contract §3).
                "discountCode": params.get("discountCode"),
                "customerEmail": params.get("customerEmail"),
                "customerName": params.get("customerName"),
            },
        }
        reject = self._rejection(source)
        if reject:
            payment["status"] = "ABORTED"
            payment["failure"] = ApiError(reject).body()
        return payment, reject

    # -- state --------------------------------------------------------------
    def _set_status(self, payment: dict[str, Any], status: str) -> None:
        payment["status"] = status
        self.store.put("payment", payment["paymentKey"], payment)
        self.notify("PAYMENT_STATUS_CHANGED", self.payment_json(payment))

    def _expire_if_due(self, payment: dict[str, Any]) -> dict[str, Any]:
        """An unconfirmed session older than 10 minutes becomes EXPIRED (§4)."""
        elapsed = self.clock.time() - payment["_sb"]["authenticatedAt"]
        if payment["status"] == "IN_PROGRESS" and elapsed > CONFIRM_WINDOW:
            self._set_status(payment, "EXPIRED")
        return payment

    def payment(self, mid: str | None, payment_key: str) -> dict[str, Any]:
        """Stored payment of this merchant (None = any), else NOT_FOUND_PAYMENT."""
        doc = self.store.get("payment", payment_key)
        if doc is None or (mid is not None and doc["mId"] != mid):
            raise ApiError("NOT_FOUND_PAYMENT")
        return self._expire_if_due(doc)

    def payment_by_order(self, mid: str | None, order_id: str) -> dict[str, Any]:
        """Latest payment for orderId, else NOT_FOUND_PAYMENT."""
        filters = {"orderId": order_id} | ({"mId": mid} if mid else {})
        found = self.store.find("payment", **filters)
        if not found:
            raise ApiError("NOT_FOUND_PAYMENT")
        return self._expire_if_due(found[-1])

    # -- confirm -------------------------------------------------------------
    def confirm(self, mid: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST /v1/brandpay/payments/confirm (contract §4)."""
        return self._confirm(mid, body, "BRANDPAY")

    def confirm_core(self, mid: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST /v1/payments/confirm for the standard/international window (§6.1)."""
        return self._confirm(mid, body, "NORMAL")

    def _confirm(
        self, mid: str, body: dict[str, Any], payment_type: str
    ) -> dict[str, Any]:
        with self.store.transaction():
            doc = self.store.get("payment", body["paymentKey"])
            # [G] Each confirm API knows only its own sessions: a BrandPay session
            # at the core confirm (or the reverse) is no session there.
            if doc is None or doc["type"] != payment_type:
                raise ApiError("NOT_FOUND_PAYMENT_SESSION")
            if doc["mId"] != mid:  # seed guides: keys that don't match the request
                raise ApiError("FORBIDDEN_REQUEST")
            self._expire_if_due(doc)
            if doc["status"] in ("EXPIRED", "ABORTED"):
                raise ApiError("NOT_FOUND_PAYMENT_SESSION")
            if doc["status"] != "IN_PROGRESS":
                raise ApiError("ALREADY_PROCESSED_PAYMENT")
            if body["orderId"] != doc["orderId"]:  # seed guides: FORBIDDEN_REQUEST
                raise ApiError("FORBIDDEN_REQUEST")
            if body["amount"] != doc["totalAmount"] or (
                payment_type == "BRANDPAY"
                and body["customerKey"] != doc["_sb"]["customerKey"]
            ):
                raise ApiError("INVALID_REQUEST")  # [G] no documented code
            method_id = doc["_sb"].get("methodId")
            if method_id:
                method = self.store.get("method", method_id)
                if method is None or method["status"] != "ENABLED":
                    raise ApiError("NOT_FOUND_METHOD")
                method["lastUsedAt"] = self.clock.time()
                self.store.put("method", method["id"], method)
            self._approve(doc)
            self._set_status(doc, "DONE")
        return self.payment_json(doc)

    def _approve(self, doc: dict[str, Any]) -> None:
        """Approval facts fixed once: approvedAt, the card approval number."""
        doc["approvedAt"] = self.clock.iso()
        doc["lastTransactionKey"] = random_id("txrd_", 24)
        # A stable 8-digit number set here, never changed by later cancels.
        doc["_sb"]["approveNo"] = f"{secrets.randbelow(10**8):08d}"
        receipt = doc["_sb"].get("cashReceipt")
        if receipt and receipt["type"] != "미발행":
            doc["_sb"]["cashReceiptKey"] = random_id("cr_", 16)
            doc["_sb"]["cashReceiptNo"] = f"{secrets.randbelow(10**9):09d}"

    # -- autopay (contract §4, issue 15) ---------------------------------------
    def autopay(self, mid: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST /v1/brandpay/payments: charge a saved method, DONE at once."""
        params = self._autopay_params(body)
        customer_key = params["customerKey"]
        with self.store.transaction():
            customer = self.customer(mid, customer_key)
            if customer is None:
                raise ApiError("NOT_FOUND_CUSTOMER")
            found = self.store.find("method", methodKey=params["methodKey"])
            method = found[0] if found else None
            if method is None or method["mId"] != mid or method["status"] != "ENABLED":
                raise ApiError("NOT_FOUND_METHOD")
            if method["customerKey"] != customer_key:
                raise ApiError("NOT_FOUND_METHOD_OWNERSHIP")
            if BILLING_TERM_ID not in customer["agreedTerms"]:
                raise ApiError("NEED_AGREEMENT_WITH_TERMS")  # [G] no billing agreement
            if params["amount"] < MIN_AMOUNT[method["kind"]]:
                raise ApiError("BELOW_MINIMUM_AMOUNT")
            months = params.get("cardInstallmentPlan") or 0
            if (
                method["kind"] == "CARD"
                and months
                and (params["amount"] < INSTALLMENT_MINIMUM)
            ):
                raise ApiError("NOT_SUPPORTED_INSTALLMENT_PLAN_CARD_OR_MERCHANT")
            for old in self.store.find("payment", mId=mid, orderId=params["orderId"]):
                if old["status"] not in ("EXPIRED", "ABORTED"):
                    raise ApiError("DUPLICATED_ORDER_ID")
            source = self._method_source(method, params)
            payment, reject = self._new_payment(
                mid, customer_key, "BRANDPAY", params, source
            )
            if not reject:
                self._approve(payment)
                payment["status"] = "DONE"
                method["lastUsedAt"] = self.clock.time()
                self.store.put("method", method["id"], method)
            self.store.put("payment", payment["paymentKey"], payment)
        # contract §7 [G]: no PAYMENT_STATUS_CHANGED for billing-style approvals.
        if reject:
            raise ApiError(reject)
        return self.payment_json(payment)

    @staticmethod
    def _autopay_params(body: dict[str, Any]) -> dict[str, Any]:
        """Validate the autopay body; each rule has its contract §8 code."""

        def text(name: str, limit: int) -> str | None:
            value = body.get(name)
            if value is not None and (not isinstance(value, str) or len(value) > limit):
                raise ApiError("INVALID_REQUEST")
            return value

        def integer(name: str) -> int | None:
            value = body.get(name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int)
            ):
                raise ApiError("INVALID_REQUEST")
            return value

        def flag(name: str) -> bool:
            value = body.get(name)
            if value is not None and not isinstance(value, bool):
                raise ApiError("INVALID_REQUEST")
            return bool(value)

        customer_key = body.get("customerKey")
        if not isinstance(customer_key, str) or not re.match(
            CUSTOMER_KEY_PATTERN, customer_key
        ):
            raise ApiError("INVALID_CUSTOMER_KEY")
        method_key = body.get("methodKey")
        if not isinstance(method_key, str) or not method_key:
            raise ApiError("INVALID_REQUEST")
        amount = integer("amount")
        if amount is None:
            raise ApiError("INVALID_REQUEST")
        if amount <= 0:
            raise ApiError("BELOW_ZERO_AMOUNT")
        order_id = body.get("orderId")
        if not isinstance(order_id, str) or not re.match(ORDER_ID_PATTERN, order_id):
            raise ApiError("INVALID_ORDER_ID")
        order_name = body.get("orderName")
        if not isinstance(order_name, str) or not 1 <= len(order_name) <= 100:
            raise ApiError("INVALID_ORDER_NAME")
        months = integer("cardInstallmentPlan")
        if months is not None and months not in INSTALLMENT_MONTHS:
            raise ApiError("INVALID_CARD_INSTALLMENT_PLAN")
        tax_free = integer("taxFreeAmount")
        if tax_free is not None and not 0 <= tax_free <= amount:
            raise ApiError("INVALID_REQUEST")
        try:
            cash_receipt = check_cash_receipt(body.get("cashReceipt"))
        except ValueError:
            raise ApiError("INVALID_REQUEST") from None
        return {
            "customerKey": customer_key,
            "methodKey": method_key,
            "amount": amount,
            "orderId": order_id,
            "orderName": order_name,
            "cardInstallmentPlan": months or 0,
            "taxFreeAmount": tax_free or 0,
            "useCardPoint": flag("useCardPoint"),
            "cultureExpense": flag("cultureExpense"),
            "cashReceipt": cash_receipt,
            "customerEmail": text("customerEmail", 100),
            "discountCode": text("discountCode", 100),
            "shippingAddress": text("shippingAddress", 500),
        }

    # -- cancel ---------------------------------------------------------------
    def cancel(self, mid: str, payment_key: str, body: dict[str, Any]) -> dict:
        """POST /v1/payments/{paymentKey}/cancel: full or partial (contract §4)."""
        reason = body.get("cancelReason")
        amount = body.get("cancelAmount")
        if not isinstance(reason, str) or not reason or len(reason) > 200:
            raise ApiError("INVALID_REQUEST")
        if amount is not None and (not isinstance(amount, int) or amount is True):
            raise ApiError("INVALID_REQUEST")
        if amount is not None and amount <= 0:
            raise ApiError("BELOW_ZERO_AMOUNT")
        with self.store.transaction():
            doc = self.payment(mid, payment_key)
            if doc["status"] == "CANCELED":
                raise ApiError("ALREADY_CANCELED_PAYMENT")
            if doc["status"] not in ("DONE", "PARTIAL_CANCELED"):
                raise ApiError("NOT_CANCELABLE_PAYMENT")
            balance = doc["balanceAmount"]
            refundable = body.get("refundableAmount")
            if refundable is not None and refundable != balance:
                raise ApiError("NOT_MATCHES_REFUNDABLE_AMOUNT")  # deprecated field
            amount = balance if amount is None else amount
            if amount > balance:
                raise ApiError("NOT_CANCELABLE_AMOUNT")
            tax_free = body.get("taxFreeAmount") or 0
            transaction_key = random_id("txrd_", 24)
            doc["cancels"] = (doc["cancels"] or []) + [
                {
                    "transactionKey": transaction_key,
                    "cancelReason": reason,
                    "taxExemptionAmount": 0,
                    "canceledAt": self.clock.iso(),
                    "easyPayDiscountAmount": 0,
                    "receiptKey": random_id("rc_", 16),
                    "cancelAmount": amount,
                    "taxFreeAmount": tax_free,
                    "refundableAmount": balance - amount,
                    "cancelStatus": "DONE",
                    "cancelRequestId": None,
                }
            ]
            doc["balanceAmount"] = balance - amount
            doc["taxFreeAmount"] = max(0, doc["taxFreeAmount"] - tax_free)
            doc["lastTransactionKey"] = transaction_key
            # [G] CANCELED once nothing is left, even through partial cancels.
            full = doc["balanceAmount"] == 0
            self._set_status(doc, "CANCELED" if full else "PARTIAL_CANCELED")
        return self.payment_json(doc)

    # -- the Payment object -----------------------------------------------------
    def payment_json(self, p: dict[str, Any]) -> dict[str, Any]:
        """The full Payment object of contract §4."""
        out = {k: v for k, v in p.items() if k != "_sb"}
        sb = p["_sb"]
        taxable = p["balanceAmount"] - p["taxFreeAmount"]
        supplied = round(taxable / 1.1)
        receipt_url = f"{self.public_url}/_hosted/receipt/{p['paymentKey']}"
        out |= {
            "suppliedAmount": supplied,
            "vat": taxable - supplied,
            "transactionKey": p["lastTransactionKey"],
            "receipt": {"url": receipt_url},
            "checkout": {"url": receipt_url},
            "country": "KR",
            "card": None,
            "transfer": None,
            "virtualAccount": None,
            "mobilePhone": None,
            "giftCertificate": None,
            "easyPay": None,  # contract §4: BrandPay card payments have easyPay null
            "cashReceipt": None,
            "cashReceipts": None,
            "discount": None,
        }
        approved = p["status"] not in ("IN_PROGRESS", "ABORTED", "EXPIRED")
        if sb["kind"] == "CARD":
            card = any_card_for(sb["cardNumber"])
            assert card is not None  # noqa: S101 - only catalogue cards are stored
            out["country"] = card.country
            out["card"] = {
                "amount": p["totalAmount"],
                "issuerCode": card.issuer_code,
                "acquirerCode": card.issuer_code,
                "number": mask_card(card.number),
                "installmentPlanMonths": sb["installment"],
                "isInterestFree": False,
                "interestPayer": None,
                "approveNo": sb["approveNo"] or "00000000",
                "useCardPoint": sb["useCardPoint"],
                "cardType": card.card_type,
                "ownerType": card.owner_type,
                "acquireStatus": "READY",
            }
        else:
            status = "COMPLETED" if approved else "INCOMPLETED"
            out["transfer"] = {"bankCode": sb["bankCode"], "settlementStatus": status}
            receipt = sb.get("cashReceipt")
            if approved and receipt and sb.get("cashReceiptKey"):
                out["cashReceipt"] = {
                    "type": receipt["type"],
                    "receiptKey": sb["cashReceiptKey"],
                    "issueNumber": sb["cashReceiptNo"],
                    "receiptUrl": f"{receipt_url}?cashReceipt=1",
                    "amount": p["totalAmount"],
                    "taxFreeAmount": p["taxFreeAmount"],
                }
        return out
