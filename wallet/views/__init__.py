"""Blueprints, thin: parse input, call one service, render/redirect/JSON."""

from __future__ import annotations

from wallet.views import admin, auth, portal

BLUEPRINTS = (auth.bp, portal.bp, admin.bp)
