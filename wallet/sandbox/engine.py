"""The emulated BrandPay back end: merchants, customers, tokens, methods, payments.

Shared by the REST API, the hosted pages and the control API, so every path
changes state the same way. Raises `ApiError` with contract §8 codes.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any

from .catalog import (
    BANKS,
    CUSTOMER_KEY_PATTERN,
    DOC_CLIENT_KEY,
    DOC_MID,
    DOC_SECRET_KEY,
    SCOPES,
    TERMS,
    TEST_PIN,
    TestCard,
    card_for,
    mask_account,
    mask_card,
)
from .errors import ApiError
from .payments import Notify, PaymentEngine
from .state import Clock, Store, random_id

CODE_TTL = 600  # [G] authorization codes live 10 minutes, single use (§2, §11.2)
SELECTED_RECENCY = 30 * 86400  # contract §3: "used within a month"


def _pin_hash(pin: str) -> str:
    # Test equipment: a plain digest keeps even sandbox PINs out of the state file.
    return hashlib.sha256(("sandbox-pin:" + pin).encode()).hexdigest()


class Engine(PaymentEngine):
    """All sandbox state transitions; `notify` receives (eventType, data) webhooks."""

    def __init__(
        self, store: Store, clock: Clock, notify: Notify, token_ttl: int = 2592000
    ) -> None:
        self.store = store
        self.clock = clock
        self.notify = notify
        self.token_ttl = token_ttl
        self.public_url = ""  # set from config or the first request
        if store.get("merchant", DOC_MID) is None:
            self._put_merchant(DOC_MID, DOC_CLIENT_KEY, DOC_SECRET_KEY)

    # -- merchants ---------------------------------------------------------
    def _put_merchant(
        self, mid: str, client_key: str, secret_key: str, one_touch: bool = True
    ) -> None:
        doc = {
            "mId": mid,
            "clientKey": client_key,
            "secretKey": secret_key,
            # The developer-centre switch behind NEED_MERCHANT_ONE_TOUCH_SETTING.
            "oneTouch": one_touch,
        }
        self.store.put("merchant", mid, doc)

    def create_merchant(self, one_touch: bool = True) -> tuple[str, str]:
        """A new test merchant; returns (client_key, secret_key)."""
        mid = random_id("tsandbox", 8).lower()
        pair = (random_id("test_ck_"), random_id("test_sk_"))
        self._put_merchant(mid, *pair, one_touch=one_touch)
        return pair

    def merchant_by_secret(self, secret_key: str) -> dict[str, Any] | None:
        """The merchant owning this secret key, if any."""
        found = self.store.find("merchant", secretKey=secret_key)
        return found[0] if found else None

    def merchant_by_client(self, client_key: str) -> dict[str, Any] | None:
        """The merchant owning this client key, if any."""
        found = self.store.find("merchant", clientKey=client_key)
        return found[0] if found else None

    # -- customers and terms (contract §2, §5) -------------------------------
    @staticmethod
    def check_customer_key(customer_key: Any) -> str:
        """Validate the customerKey format of contract §10."""
        if not isinstance(customer_key, str) or not re.match(
            CUSTOMER_KEY_PATTERN, customer_key
        ):
            raise ApiError("INVALID_CUSTOMER_KEY")
        return customer_key

    def customer(self, mid: str, customer_key: str) -> dict[str, Any] | None:
        """The active customer record, or None (never registered or withdrawn)."""
        doc = self.store.get("customer", f"{mid}:{customer_key}")
        return doc if doc and doc["status"] == "ACTIVE" else None

    def agree(self, mid: str, customer_key: str, term_ids: list[int]) -> str:
        """Record agreement (creating the customer) and return a fresh code."""
        with self.store.transaction():
            doc = self.customer(mid, customer_key)
            created = doc is None
            if doc is None:
                doc = {
                    "mId": mid,
                    "customerKey": customer_key,
                    "status": "ACTIVE",
                    "agreedTerms": [],
                    "isIdentified": False,
                    "oneTouch": False,
                }
            doc["agreedTerms"] = sorted(set(doc["agreedTerms"]) | set(term_ids))
            self.store.put("customer", f"{mid}:{customer_key}", doc)
            code = self.issue_code(mid, customer_key)
        if created:
            self._customer_event(customer_key, "CREATED")
        return code

    def terms(self, mid: str, customer_key: str, scopes: list[str]) -> list[dict]:
        """The Terms objects of `scopes` with this customer's `agreed` flags."""
        self.check_scopes(scopes)
        agreed = set((self.customer(mid, customer_key) or {}).get("agreedTerms", []))
        return [
            {
                "id": t.id,
                "title": t.title,
                "version": t.version,
                "url": f"{self.public_url}/_hosted/terms/{t.id}",
                "required": t.required,
                "agreed": t.id in agreed,
            }
            for t in TERMS
            if t.scope in scopes
        ]

    @staticmethod
    def check_scopes(scopes: list[str]) -> None:
        """contract §5: at most 2 scopes, "REGISTER + one method"."""
        if (
            not scopes
            or len(scopes) > 2
            or any(s not in SCOPES for s in scopes)
            or (len(scopes) == 2 and "REGISTER" not in scopes)
            or len(set(scopes)) != len(scopes)
        ):
            raise ApiError("INVALID_REQUEST")

    def agree_terms(
        self, mid: str, customer_key: str, scopes: list[str], term_ids: list[int]
    ) -> str:
        """POST terms/agree: every required term of the scopes must be agreed."""
        self.check_scopes(scopes)
        wanted = {t.id for t in TERMS if t.scope in scopes}
        required = {t.id for t in TERMS if t.scope in scopes and t.required}
        ids = set(term_ids)
        if not required <= ids or not ids <= wanted:
            raise ApiError("INVALID_REQUEST")  # [G] no documented code
        return self.agree(mid, customer_key, sorted(ids))

    def issue_code(self, mid: str, customer_key: str) -> str:
        """A single-use, 10-minute authorization code (contract §2 [G])."""
        code = random_id(length=24)
        self.store.put(
            "code",
            code,
            {
                "code": code,
                "mId": mid,
                "customerKey": customer_key,
                "expiresAt": self.clock.time() + CODE_TTL,
                "used": False,
            },
        )
        return code

    def _customer_event(self, customer_key: str, status: str) -> None:
        data = {
            "customerKey": customer_key,
            "status": status,
            "changedAt": self.clock.iso(),
        }
        self.notify("CUSTOMER_STATUS_CHANGED", data)

    def check_pin(self, mid: str, customer_key: str, pin: str) -> bool:
        """Whether `pin` is this customer's payment password (TEST_PIN until changed)."""
        doc = self.customer(mid, customer_key)
        digest = (doc or {}).get("pinHash") or _pin_hash(TEST_PIN)
        return hmac.compare_digest(digest, _pin_hash(pin or ""))

    def change_pin(self, mid: str, customer_key: str, old: str, new: str) -> None:
        """changePassword(): the old PIN, then a new one of 6 digits."""
        with self.store.transaction():
            doc = self.customer(mid, customer_key)
            if doc is None:
                raise ApiError("NOT_FOUND_CUSTOMER")
            if not self.check_pin(mid, customer_key, old):
                raise ApiError("INVALID_PASSWORD")
            if not (len(new) == 6 and new.isdigit()):
                raise ApiError("INVALID_PARAMETERS")
            doc["pinHash"] = _pin_hash(new)
            self.store.put("customer", f"{mid}:{customer_key}", doc)
        self._customer_event(customer_key, "PASSWORD_CHANGED")  # contract §5, §7

    def set_one_touch(self, mid: str, customer_key: str, enabled: bool) -> bool:
        """Switch one-touch pay (an SDK-only setting, contract §5)."""
        doc = self.customer(mid, customer_key)
        if doc is None:
            raise ApiError("NOT_FOUND_CUSTOMER")
        doc["oneTouch"] = enabled
        self.store.put("customer", f"{mid}:{customer_key}", doc)
        status = "ONE_TOUCH_ACTIVATED" if enabled else "ONE_TOUCH_DEACTIVATED"
        self._customer_event(customer_key, status)
        return enabled

    # -- tokens (contract §2) -------------------------------------------------
    def _token_response(self, token: dict[str, Any]) -> dict[str, Any]:
        return {
            "accessToken": token["access"],
            "refreshToken": token["refresh"],
            "tokenType": "bearer",
            "expiresIn": self.token_ttl,
        }

    def grant_code(self, mid: str, customer_key: str, code: str) -> dict[str, Any]:
        """AuthorizationCode grant: first token, or extend the current one (§2)."""
        with self.store.transaction():
            doc = self.store.get("code", code) if isinstance(code, str) else None
            if (
                doc is None
                or doc["used"]
                or doc["mId"] != mid
                or doc["customerKey"] != customer_key
                or doc["expiresAt"] <= self.clock.time()
                or self.customer(mid, customer_key) is None
            ):
                raise ApiError("INVALID_REQUEST")  # contract §8 emulator suggestion [G]
            doc["used"] = True
            self.store.put("code", code, doc)
            live = self.store.find(
                "token", mId=mid, customerKey=customer_key, revoked=False
            )
            if live:  # contract §2: an existing token is extended, not replaced
                token = live[-1]
                token["expiresAt"] = self.clock.time() + self.token_ttl
            else:
                token = self._new_token(mid, customer_key)
            self.store.put("token", token["id"], token)
            self._log_grant(mid, customer_key, "AuthorizationCode")
        return self._token_response(token)

    def grant_refresh(
        self, mid: str, customer_key: str, refresh_token: str
    ) -> dict[str, Any]:
        """RefreshToken grant: rotate both tokens, the old pair dies [G]."""
        with self.store.transaction():
            found = (
                self.store.find("token", refresh=refresh_token, revoked=False)
                if isinstance(refresh_token, str)
                else []
            )
            if not found or (found[0]["mId"], found[0]["customerKey"]) != (
                mid,
                customer_key,
            ):
                raise ApiError("INVALID_REQUEST")
            old = found[0]
            old["revoked"] = True
            self.store.put("token", old["id"], old)
            token = self._new_token(mid, customer_key)
            self.store.put("token", token["id"], token)
            self._log_grant(mid, customer_key, "RefreshToken")
        return self._token_response(token)

    def _new_token(self, mid: str, customer_key: str) -> dict[str, Any]:
        return {
            "id": random_id(length=12),
            "access": random_id(length=40),
            "refresh": random_id(length=40),
            "mId": mid,
            "customerKey": customer_key,
            "expiresAt": self.clock.time() + self.token_ttl,
            "revoked": False,
        }

    def _log_grant(self, mid: str, customer_key: str, grant_type: str) -> None:
        doc = {
            "mId": mid,
            "customerKey": customer_key,
            "grantType": grant_type,
            "at": self.clock.time(),
        }
        self.store.put("grant", random_id(length=12), doc)

    def bearer(self, access_token: str) -> tuple[str, str]:
        """(mId, customerKey) of a live access token; else 401 UNAUTHORIZED_KEY [G]."""
        found = self.store.find("token", access=access_token, revoked=False)
        if not found or found[0]["expiresAt"] <= self.clock.time():
            raise ApiError("UNAUTHORIZED_KEY")
        return found[0]["mId"], found[0]["customerKey"]

    def tokens_issued(
        self, customer_key: str | None = None, grant_type: str | None = None
    ) -> int:
        """How many access-token grants succeeded (optionally filtered)."""
        filters = {"customerKey": customer_key, "grantType": grant_type}
        return len(self.store.find("grant", **{k: v for k, v in filters.items() if v}))

    # -- methods (contract §3) ----------------------------------------------
    def register_card(
        self, mid: str, customer_key: str, card: TestCard, alias: str = ""
    ) -> dict[str, Any]:
        """Add a test card to an existing customer."""
        return self._register(
            mid,
            customer_key,
            {
                "kind": "CARD",
                "id": random_id("m_", 16),
                "number": card.number,
                "alias": alias or card.card_name,
            },
        )

    def register_account(
        self, mid: str, customer_key: str, bank_code: str, number: str, alias: str = ""
    ) -> dict[str, Any]:
        """Add a test bank account to an existing customer."""
        if bank_code not in BANKS or not (number.isdigit() and 10 <= len(number) <= 14):
            raise ApiError("INVALID_ACCOUNT_NUMBER")
        return self._register(
            mid,
            customer_key,
            {
                "kind": "ACCOUNT",
                "id": random_id("b_", 16),
                "number": number,
                "bankCode": bank_code,
                "alias": alias or f"{BANKS[bank_code][0]} 계좌",
            },
        )

    def _register(self, mid: str, customer_key: str, doc: dict) -> dict[str, Any]:
        if self.customer(mid, customer_key) is None:
            raise ApiError("NOT_FOUND_CUSTOMER")
        now = self.clock.time()
        doc |= {
            "methodKey": random_id("mk_", 24),
            "mId": mid,
            "customerKey": customer_key,
            "status": "ENABLED",
            "registeredAt": now,
            "lastUsedAt": now,
        }
        self.store.put("method", doc["id"], doc)
        self._method_event(doc)
        return doc

    def _method_event(self, doc: dict[str, Any]) -> None:
        data = {
            "customerKey": doc["customerKey"],
            "methodKey": doc["methodKey"],
            "status": doc["status"],
        }
        self.notify("METHOD_UPDATED", data)

    def enabled_methods(self, mid: str, customer_key: str) -> list[dict[str, Any]]:
        """The customer's ENABLED method records, oldest first."""
        return self.store.find(
            "method", mId=mid, customerKey=customer_key, status="ENABLED"
        )

    def selected_method_id(self, methods: list[dict[str, Any]]) -> str | None:
        """contract §3: most recently registered or used-within-a-month method."""
        recent = [
            m
            for m in methods
            if self.clock.time() - m["lastUsedAt"] <= SELECTED_RECENCY
        ]
        return max(recent, key=lambda m: m["lastUsedAt"])["id"] if recent else None

    def methods(self, mid: str, customer_key: str) -> dict[str, Any]:
        """The BrandPayMethod object of contract §3 ([G] empty for unknown)."""
        customer = self.customer(mid, customer_key)
        found = self.enabled_methods(mid, customer_key) if customer else []
        return {
            "cards": [self.method_json(m) for m in found if m["kind"] == "CARD"],
            "accounts": [self.method_json(m) for m in found if m["kind"] == "ACCOUNT"],
            "isIdentified": bool(customer and customer["isIdentified"]),
            "selectedMethodId": self.selected_method_id(found),
        }

    def remove_method(
        self, mid: str, customer_key: str, kind: str, method_key: Any
    ) -> dict[str, Any]:
        """Disable a card/account; foreign or unknown keys are NOT_FOUND_METHOD."""
        with self.store.transaction():  # two concurrent removals: one wins
            found = (
                self.store.find("method", methodKey=method_key)
                if isinstance(method_key, str)
                else []
            )
            if (
                not found
                or found[0]["kind"] != kind
                or found[0]["status"] != "ENABLED"
                or (found[0]["mId"], found[0]["customerKey"]) != (mid, customer_key)
            ):
                raise ApiError("NOT_FOUND_METHOD")
            doc = found[0] | {"status": "DISABLED"}
            self.store.put("method", doc["id"], doc)
        self._method_event(doc)
        return self.method_json(doc)

    def method_json(self, m: dict[str, Any]) -> dict[str, Any]:
        """BrandPayCard / BrandPayBankAccount of the REST API (contract §3)."""
        common = {
            "id": m["id"],
            "methodKey": m["methodKey"],
            "alias": m["alias"],
            "registeredAt": self.clock.iso(m["registeredAt"]),
            "status": m["status"],
            "promotions": [],
        }
        if m["kind"] == "ACCOUNT":
            name, enum = BANKS[m["bankCode"]]
            return common | {
                "accountName": f"{name}은행 입출금",
                "accountNumber": mask_account(m["number"]),
                "bankCode": m["bankCode"],
                "icon": f"icn-bank-square-{enum.lower()}",
                "iconUrl": f"{self.public_url}/_hosted/static/method.svg",
                "color": {"background": "#3182f6", "text": "#ffffff"},
            }
        card = card_for(m["number"])
        assert card is not None  # noqa: S101 - only catalogue cards are stored
        return common | {
            "cardName": card.card_name,
            "cardNumber": mask_card(card.number),
            "issuerCode": card.issuer_code,
            "acquirerCode": card.issuer_code,
            "ownerType": card.owner_type,
            "cardType": card.card_type,
            "installmentMinimumAmount": 50000,  # contract §9
            "icon": f"icn-bank-square-{card.icon}",
            "iconUrl": f"{self.public_url}/_hosted/static/method.svg",
            "cardImgUrl": f"{self.public_url}/_hosted/static/method.svg",
            "color": {"background": card.color, "text": "#ffffff"},
        }

    def withdraw(self, mid: str, customer_key: str) -> dict[str, Any]:
        """contract §5: customer removed, methods and tokens die immediately."""
        with self.store.transaction():
            doc = self.customer(mid, customer_key)
            if doc is None:
                raise ApiError("NOT_FOUND_CUSTOMER")  # §8 emulator suggestion [G]
            self.store.put(
                "customer", f"{mid}:{customer_key}", doc | {"status": "REMOVED"}
            )
            for m in self.enabled_methods(mid, customer_key):
                self.store.put("method", m["id"], m | {"status": "DISABLED"})
            for t in self.store.find("token", mId=mid, customerKey=customer_key):
                self.store.put("token", t["id"], t | {"revoked": True})
            for c in self.store.find("code", mId=mid, customerKey=customer_key):
                self.store.put("code", c["code"], c | {"used": True})
        self._customer_event(customer_key, "REMOVED")
        return {"customerKey": customer_key, "success": True}
