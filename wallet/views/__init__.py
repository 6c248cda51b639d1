"""Blueprints, thin: parse input, call one service, render/redirect/JSON.

The admin_* modules add their routes to `admin.bp`; importing them registers the routes.
"""

from __future__ import annotations

from wallet.views import (  # noqa: F401 (admin_* are imported for their routes)
    account,
    admin,
    admin_audit,
    admin_exports,
    admin_links,
    admin_mandates,
    admin_merchants,
    admin_payments,
    auth,
    email_change,
    mandates,
    merchant,
    merchant_api,
    notices,
    password_reset,
    pay,
    portal,
    wallet,
    webhooks,
)

BLUEPRINTS = (
    auth.bp,
    portal.bp,
    admin.bp,
    wallet.bp,
    pay.bp,
    webhooks.bp,
    merchant.bp,
    merchant_api.bp,
    notices.bp,
    password_reset.bp,
    email_change.bp,
    account.bp,
    mandates.bp,
)
