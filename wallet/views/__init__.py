"""Blueprints, thin: parse input, call one service, render/redirect/JSON."""

from __future__ import annotations

from wallet.views import admin, admin_audit, admin_links, auth, portal, wallet  # noqa: F401 (admin_*: routes on admin.bp)
from wallet.views import admin_payments, pay, webhooks  # noqa: F401 (issue 5)
from wallet.views import admin_merchants, merchant, merchant_api  # noqa: F401 (issue 6)

BLUEPRINTS = (auth.bp, portal.bp, admin.bp, wallet.bp, pay.bp, webhooks.bp, merchant.bp, merchant_api.bp)
