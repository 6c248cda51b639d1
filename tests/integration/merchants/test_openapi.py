"""The OpenAPI document matches the routes, and schemathesis finds no 5xx and no answer
that breaks the schema when it fuzzes the live API over real HTTP."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from tests.integration.merchants.conftest import Shop
from wallet.views.merchant_api_spec import SPEC

_CONVERTER = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")


@pytest.fixture
def app_overrides() -> dict[str, Any]:
    """The fuzzer sends hundreds of requests with one key; don't rate-limit it."""
    return {"API_RATELIMIT": "100000 per minute"}


def test_openapi_paths_match_url_map_both_ways(app: Flask) -> None:
    rules = {
        (_CONVERTER.sub(r"{\1}", r.rule.removeprefix("/api/v1")), m.lower())
        for r in app.url_map.iter_rules()
        if r.rule.startswith("/api/v1/")
        for m in r.methods - {"HEAD", "OPTIONS"}
    }
    documented = {
        (path, method) for path, item in SPEC["paths"].items() for method in item
    }
    assert rules == documented
    assert SPEC["openapi"].startswith("3.1")


def test_openapi_served_without_key(client: Any) -> None:
    resp = client.get("/api/v1/openapi.json")
    assert resp.status_code == 200
    assert resp.get_json() == SPEC


@pytest.fixture
def api_schema(live_portal: str, shop: Shop) -> Any:
    """The schema as served by the live portal, authenticated as the test merchant."""
    schema = schemathesis.openapi.from_url(f"{live_portal}/api/v1/openapi.json")
    schema.config.update(base_url=f"{live_portal}/api/v1", headers=shop.headers())
    return schema


def test_openapi_schemathesis_no_5xx_and_schema_conformance(
    api_schema: Any, new_order: Any
) -> None:
    # schemathesis' pytest plugin does not run under this pytest, so drive it directly:
    # bounded Hypothesis runs per operation, positive and negative, on random ids and
    # on a real order of this merchant.
    checks = [
        schemathesis.checks.not_a_server_error,
        schemathesis.checks.status_code_conformance,
        schemathesis.checks.content_type_conformance,
        schemathesis.checks.response_schema_conformance,
    ]
    operations = [result.ok() for result in api_schema.get_all_operations()]
    documented = {f"{m.upper()} {p}" for p, item in SPEC["paths"].items() for m in item}
    # schemathesis leaves out the document's own URL; it is checked above.
    assert {o.label for o in operations} == documented - {"GET /openapi.json"}
    real = {"order_id": new_order()}
    seen: Counter[tuple[str, int]] = Counter()
    for operation in operations:
        variants: list[tuple[GenerationMode, dict[str, Any]]] = [
            (GenerationMode.POSITIVE, {}),
            (GenerationMode.NEGATIVE, {}),
        ]
        if "{order_id}" in operation.path:
            variants.append((GenerationMode.POSITIVE, {"path_parameters": real}))
        for mode, extra in variants:

            @given(case=operation.as_strategy(mode, **extra))
            @settings(
                max_examples=10,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def run(case: Any) -> None:
                response = case.call()
                seen[(case.operation.label, response.status_code)] += 1
                case.validate_response(response, checks=checks)

            run()
    statuses = {status for _label, status in seen}
    assert not any(s >= 500 for s in statuses)
    # The fuzzer really got through auth and reached the handlers.
    assert seen[("POST /orders", 201)] > 0
    assert seen[("GET /orders", 200)] > 0
    assert seen[("GET /orders/{order_id}", 200)] > 0
    assert seen[("POST /orders/{order_id}/wallet-links", 201)] > 0
    assert {400, 404}.issubset(statuses)
