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
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from tests.integration.merchants.conftest import Shop
from wallet.views.merchant_api_schemas import api_spec

_CONVERTER = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")


@pytest.fixture
def app_overrides() -> dict[str, Any]:
    """The fuzzer sends hundreds of requests with one key; don't rate-limit it."""
    return {"API_RATELIMIT": "100000 per minute"}


def _spec(app: Flask) -> dict[str, Any]:
    with app.app_context():
        return api_spec.spec


def test_openapi_paths_match_url_map_both_ways(app: Flask) -> None:
    rules = {
        (_CONVERTER.sub(r"{\1}", r.rule), m.lower())
        for r in app.url_map.iter_rules()
        if r.rule.startswith("/api/v1/")
        for m in r.methods - {"HEAD", "OPTIONS"}
    }
    spec = _spec(app)
    documented = {
        (path, method) for path, item in spec["paths"].items() for method in item
    }
    assert rules == documented
    assert spec["openapi"].startswith("3.1")


def test_openapi_served_without_key(app: Flask, client: Any) -> None:
    resp = client.get("/api/v1/openapi.json")
    assert resp.status_code == 200
    assert resp.get_json() == _spec(app)


@pytest.fixture
def api_schema(live_portal: str, shop: Shop) -> Any:
    """The schema as served by the live portal, authenticated as the test merchant."""
    schema = schemathesis.openapi.from_url(f"{live_portal}/api/v1/openapi.json")
    schema.config.update(base_url=live_portal, headers=shop.headers())
    return schema


def test_openapi_schemathesis_no_5xx_and_schema_conformance(
    app: Flask, api_schema: Any, new_order: Any
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
    paths = _spec(app)["paths"]
    documented = {f"{m.upper()} {p}" for p, item in paths.items() for m in item}
    # schemathesis leaves out the document's own URL; it is checked above.
    assert {o.label for o in operations} == documented - {"GET /api/v1/openapi.json"}
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

            try:
                run()
            except Unsatisfiable:
                # Nothing of this operation can be made invalid (a free-form path
                # id): the positive runs cover it.
                assert mode is GenerationMode.NEGATIVE, operation.label
    statuses = {status for _label, status in seen}
    assert not any(s >= 500 for s in statuses)
    # The fuzzer really got through auth and reached the handlers.
    assert seen[("POST /api/v1/orders", 201)] > 0
    assert seen[("GET /api/v1/orders", 200)] > 0
    assert seen[("GET /api/v1/orders/{order_id}", 200)] > 0
    assert seen[("POST /api/v1/orders/{order_id}/wallet-links", 201)] > 0
    assert {400, 404}.issubset(statuses)


def test_openapi_declared_once_document_and_validation_share_the_models(
    app: Flask, api: Any
) -> None:
    from wallet.views import merchant_api_schemas as schemas

    spec = _spec(app)
    components = spec["components"]["schemas"]
    # The document's request schema is the model's own JSON schema …
    assert components["NewOrder"] == schemas.NewOrder.model_json_schema()
    body = spec["paths"]["/api/v1/orders"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"]["$ref"].endswith("/NewOrder")
    # … and what it declares is what the route enforces.
    limit = components["NewOrder"]["properties"]["amount"]["maximum"]
    resp = api("POST", "/orders", json={"amount": limit + 1, "order_name": "x"})
    assert resp.status_code == 400
    assert resp.get_json()["error"] == {
        "code": "INVALID_REQUEST",
        "message": f"amount must be at most {limit}.",
    }
    # Every POST documents the Idempotency-Key it requires.
    for path, item in spec["paths"].items():
        if "post" in item:
            names = {p["name"] for p in item["post"]["parameters"]}
            assert "Idempotency-Key" in names, path
