"""Blueprints, thin: parse input, call one service, render/redirect/JSON."""

from __future__ import annotations

from wallet.views import admin, admin_audit, auth, portal  # noqa: F401 (admin_*: routes on admin.bp)

BLUEPRINTS = (auth.bp, portal.bp, admin.bp)
