"""Database models; importing this package registers every table with the metadata."""

from __future__ import annotations

from wallet.models.audit import AuditEvent
from wallet.models.brandpay_link import BrandPayLink, LinkAttempt  # noqa: F401
from wallet.models.mandate import Mandate  # noqa: F401
from wallet.models.member import Member
from wallet.models.member_token import MemberToken  # noqa: F401
from wallet.models.merchant import Merchant, MerchantApiKey  # noqa: F401
from wallet.models.notice import MemberNotice  # noqa: F401
from wallet.models.order import Order  # noqa: F401
from wallet.models.outbox import OutboxEvent, WebhookDelivery  # noqa: F401
from wallet.models.payment import Payment, PaymentCancel, TossWebhookEvent  # noqa: F401
from wallet.models.refund_request import RefundRequest  # noqa: F401
from wallet.models.security import (  # noqa: F401
    LoginThrottle,
    MemberSession,
    WebSession,
)

__all__ = ["AuditEvent", "Member"]
