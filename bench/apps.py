"""Baselines served exactly like the portal (gunicorn, same workers and threads).

- `bare`: a Flask route that does nothing; the ceiling of Flask + gunicorn here.
- `direct`: the least an integration can do per request: one Bearer call to the
  sandbox's methods endpoint (contract §3), its JSON passed straight through. No
  session, no database, no templates, no portal logic.
"""

from __future__ import annotations

import os
import threading

import requests
from flask import Flask
from flask.typing import ResponseReturnValue

bare = Flask("bench-bare")
direct = Flask("bench-direct")
_local = threading.local()


@bare.get("/")
@bare.get("/healthz")
@direct.get("/healthz")
def hello() -> ResponseReturnValue:
    """The cheapest possible answer."""
    return "ok"


def _http() -> requests.Session:
    if not hasattr(_local, "session"):
        _local.session = requests.Session()
    return _local.session  # type: ignore[no-any-return]


@direct.get("/methods")
def methods() -> ResponseReturnValue:
    """GET /v1/brandpay/payments/methods with the customer's Bearer token, as is."""
    resp = _http().get(
        os.environ["BENCH_SANDBOX_URL"] + "/v1/brandpay/payments/methods",
        headers={"Authorization": f"Bearer {os.environ['BENCH_ACCESS_TOKEN']}"},
        timeout=(3.05, 10.0),
    )
    return resp.json(), resp.status_code
