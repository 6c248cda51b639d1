"""gunicorn entry point: `gunicorn wsgi:app` (production config unless WALLET_CONFIG says otherwise)."""

from __future__ import annotations

import os

from wallet import create_app

os.environ.setdefault("WALLET_CONFIG", "production")
app = create_app()
