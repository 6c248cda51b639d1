"""The OpenAPI 3.1 document of the merchant API (served at /api/v1/openapi.json).

Kept as one dict next to the routes it describes; a test checks that every /api/v1 rule
is in `paths` and every path here is a rule, and schemathesis checks the answers.
"""

from __future__ import annotations

from typing import Any

from wallet.models.order import MAX_AMOUNT, MAX_ORDER_NAME, MIN_AMOUNT, STATUSES


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": schema}},
    }


_ERROR_TEXT = {
    400: "The request is not valid (body, parameters or Idempotency-Key).",
    401: "Missing, unknown or revoked API key.",
    404: "No such order (or not this merchant's).",
    409: "Conflicts with the order's state, or the same Idempotency-Key is in flight.",
    422: "Idempotency-Key reused with another request, or return_url not allowed.",
    429: "Rate limit per API key reached.",
    502: "Toss could not be reached; nothing was refunded. Retry with the same key.",
}


def _errors(*statuses: int) -> dict[str, Any]:
    return {str(s): _json(_ref("Error"), _ERROR_TEXT[s]) for s in statuses}


_READ_ERRORS = (400, 401, 404, 429)
_WRITE_ERRORS = (400, 401, 404, 409, 422, 429)

_ORDER_ID = {
    "name": "order_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{6,64}$"},
}
_IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": True,
    "description": "Same key + same request replays the first response; "
    "same key + another request is refused with 422.",
    "schema": {"type": "string", "pattern": "^[!-~]{1,255}$"},
}
_REQUEST_ID = {
    "name": "request_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^rfq_[A-Za-z0-9_-]{1,36}$"},
}
_URL = {"type": "string", "minLength": 1, "maxLength": 2000}
_TIME = {"type": "string", "format": "date-time"}
_EXPIRES_IN = {"type": "integer", "minimum": 30, "maximum": 600}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                },
            }
        },
    },
    "Order": {
        "type": "object",
        "required": [
            "order_id",
            "order_name",
            "amount",
            "currency",
            "status",
            "return_url",
            "created_at",
            "expires_at",
        ],
        "properties": {
            "order_id": {"type": "string"},
            "order_name": {"type": "string"},
            "amount": {"type": "integer", "minimum": MIN_AMOUNT},
            "currency": {"const": "KRW"},
            "status": {"enum": list(STATUSES)},
            "return_url": {"type": ["string", "null"]},
            "created_at": _TIME,
            "expires_at": _TIME,
        },
    },
    "OrderList": {
        "type": "object",
        "required": ["data", "next_cursor"],
        "properties": {
            "data": {"type": "array", "items": _ref("Order")},
            "next_cursor": {"type": ["string", "null"]},
        },
    },
    "NewOrder": {
        "type": "object",
        "additionalProperties": False,
        "required": ["amount", "order_name"],
        "properties": {
            "amount": {"type": "integer", "minimum": MIN_AMOUNT, "maximum": MAX_AMOUNT},
            "order_name": {
                "type": "string",
                "minLength": 1,
                "maxLength": MAX_ORDER_NAME,
            },
            "return_url": _URL,
        },
    },
    "NewPayLink": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "return_url": _URL,
            "max_amount": {"type": "integer", "minimum": 1, "maximum": MAX_AMOUNT},
            "expires_in": _EXPIRES_IN,
        },
    },
    "NewManageLink": {
        "type": "object",
        "additionalProperties": False,
        "required": ["action", "return_url"],
        "properties": {
            "action": {"const": "manage"},
            "return_url": _URL,
            "expires_in": _EXPIRES_IN,
        },
    },
    "WalletLink": {
        "type": "object",
        "required": ["url", "token", "action", "expires_at"],
        "properties": {
            "url": {"type": "string"},
            "token": {"type": "string"},
            "action": {"enum": ["pay", "manage"]},
            "expires_at": _TIME,
        },
    },
    "NewRefund": {
        "type": "object",
        "additionalProperties": False,
        "required": ["reason"],
        "properties": {
            "amount": {"type": "integer", "minimum": 1, "maximum": MAX_AMOUNT},
            "reason": {"type": "string", "minLength": 1, "maxLength": 200},
        },
    },
    "RefundRequest": {
        "type": "object",
        "required": [
            "request_id",
            "order_id",
            "status",
            "reason",
            "amount",
            "refundable_amount",
            "decision_reason",
            "refunded_amount",
            "created_at",
            "decided_at",
        ],
        "properties": {
            "request_id": {"type": "string"},
            "order_id": {"type": "string"},
            "status": {"enum": ["OPEN", "APPROVED", "DECLINED"]},
            "reason": {"type": "string"},
            "amount": {"type": "integer"},
            "refundable_amount": {"type": "integer"},
            "decision_reason": {"type": ["string", "null"]},
            "refunded_amount": {"type": ["integer", "null"]},
            "created_at": _TIME,
            "decided_at": {"type": ["string", "null"], "format": "date-time"},
        },
    },
    "RefundRequestList": {
        "type": "object",
        "required": ["data", "next_cursor"],
        "properties": {
            "data": {"type": "array", "items": _ref("RefundRequest")},
            "next_cursor": {"type": ["string", "null"]},
        },
    },
    "ApproveRefundRequest": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "amount": {"type": "integer", "minimum": 1, "maximum": MAX_AMOUNT},
        },
    },
    "DeclineRefundRequest": {
        "type": "object",
        "additionalProperties": False,
        "required": ["reason"],
        "properties": {
            "reason": {"type": "string", "minLength": 1, "maxLength": 200},
        },
    },
    "Payment": {
        "type": "object",
        "required": [
            "order_id",
            "status",
            "method",
            "pay_way",
            "total_amount",
            "balance_amount",
            "approved_at",
            "cancels",
        ],
        "properties": {
            "order_id": {"type": "string"},
            "status": {"type": "string"},
            "method": {"type": ["string", "null"]},
            "pay_way": {
                "enum": ["BRANDPAY", "CARD", "FOREIGN_CARD", None],
                "description": "Which window paid: BrandPay, Toss's card window "
                "or the international card window.",
            },
            "total_amount": {"type": "integer"},
            "balance_amount": {"type": "integer"},
            "approved_at": {"type": ["string", "null"]},
            "cancels": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["amount", "reason", "status", "canceled_at"],
                    "properties": {
                        "amount": {"type": "integer"},
                        "reason": {"type": "string"},
                        "status": {"enum": ["PENDING", "DONE", "FAILED"]},
                        "canceled_at": {"type": ["string", "null"]},
                    },
                },
            },
        },
    },
}


def _body(name: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": _ref(name)}}}


PATHS: dict[str, Any] = {
    "/openapi.json": {
        "get": {
            "operationId": "getOpenApi",
            "summary": "This document.",
            "security": [],
            "responses": {
                "200": {
                    "description": "The OpenAPI document.",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                }
            },
        }
    },
    "/orders": {
        "post": {
            "operationId": "createOrder",
            "summary": "Create an order for a member to pay in the wallet.",
            "parameters": [_IDEMPOTENCY_KEY],
            "requestBody": _body("NewOrder"),
            "responses": {"201": _json(_ref("Order"), "The new order.")}
            | _errors(*_WRITE_ERRORS),
        },
        "get": {
            "operationId": "listOrders",
            "summary": "The merchant's orders, newest first (keyset pagination).",
            "parameters": [
                {
                    "name": "limit",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": 100},
                },
                {"name": "cursor", "in": "query", "schema": {"type": "string"}},
            ],
            "responses": {"200": _json(_ref("OrderList"), "A page of orders.")}
            | _errors(400, 401, 429),
        },
    },
    "/orders/{order_id}": {
        "get": {
            "operationId": "getOrder",
            "summary": "One order.",
            "parameters": [_ORDER_ID],
            "responses": {"200": _json(_ref("Order"), "The order.")}
            | _errors(*_READ_ERRORS),
        }
    },
    "/orders/{order_id}/wallet-links": {
        "post": {
            "operationId": "createPayLink",
            "summary": "A signed single-use wallet link to pay this order.",
            "parameters": [_ORDER_ID, _IDEMPOTENCY_KEY],
            "requestBody": _body("NewPayLink"),
            "responses": {"201": _json(_ref("WalletLink"), "The link.")}
            | _errors(*_WRITE_ERRORS),
        }
    },
    "/wallet-links": {
        "post": {
            "operationId": "createManageLink",
            "summary": "A signed wallet link to manage payment methods.",
            "parameters": [_IDEMPOTENCY_KEY],
            "requestBody": _body("NewManageLink"),
            "responses": {"201": _json(_ref("WalletLink"), "The link.")}
            | _errors(400, 401, 409, 422, 429),
        }
    },
    "/payments/{order_id}": {
        "get": {
            "operationId": "getPayment",
            "summary": "The payment of an order (404 until paid).",
            "parameters": [_ORDER_ID],
            "responses": {"200": _json(_ref("Payment"), "The payment.")}
            | _errors(*_READ_ERRORS),
        }
    },
    "/orders/{order_id}/refunds": {
        "post": {
            "operationId": "createRefund",
            "summary": "Refund all (no amount) or part of a paid order.",
            "parameters": [_ORDER_ID, _IDEMPOTENCY_KEY],
            "requestBody": _body("NewRefund"),
            "responses": {
                "201": _json(_ref("Payment"), "Refunded; the payment as it is now."),
                "202": _json(
                    _ref("Payment"),
                    "Sent, but Toss's answer was lost; it is finished shortly.",
                ),
            }
            | _errors(*_WRITE_ERRORS, 502),
        }
    },
    "/refund-requests": {
        "get": {
            "operationId": "listRefundRequests",
            "summary": "Members' refund requests for your orders, newest first.",
            "parameters": [
                {
                    "name": "status",
                    "in": "query",
                    "schema": {"enum": ["OPEN", "APPROVED", "DECLINED", "ALL"]},
                },
                {
                    "name": "limit",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": 100},
                },
                {
                    "name": "cursor",
                    "in": "query",
                    "schema": {"type": "string", "pattern": "^[0-9]{1,10}$"},
                },
            ],
            "responses": {
                "200": _json(_ref("RefundRequestList"), "A page of requests.")
            }
            | _errors(400, 401, 429),
        }
    },
    "/refund-requests/{request_id}": {
        "get": {
            "operationId": "getRefundRequest",
            "summary": "One refund request.",
            "parameters": [_REQUEST_ID],
            "responses": {"200": _json(_ref("RefundRequest"), "The request.")}
            | _errors(*_READ_ERRORS),
        }
    },
    "/refund-requests/{request_id}/approve": {
        "post": {
            "operationId": "approveRefundRequest",
            "summary": "Approve: refund all (no amount) or part of the order.",
            "parameters": [_REQUEST_ID, _IDEMPOTENCY_KEY],
            "requestBody": _body("ApproveRefundRequest"),
            "responses": {
                "201": _json(_ref("RefundRequest"), "Approved and refunded."),
                "202": _json(
                    _ref("RefundRequest"),
                    "Approved; Toss's answer to the refund was lost, it is finished "
                    "shortly.",
                ),
            }
            | _errors(*_WRITE_ERRORS, 502),
        }
    },
    "/refund-requests/{request_id}/decline": {
        "post": {
            "operationId": "declineRefundRequest",
            "summary": "Decline, with a reason the member reads.",
            "parameters": [_REQUEST_ID, _IDEMPOTENCY_KEY],
            "requestBody": _body("DeclineRefundRequest"),
            "responses": {"200": _json(_ref("RefundRequest"), "Declined.")}
            | _errors(*_WRITE_ERRORS),
        }
    },
}

SPEC: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "BrandPay wallet merchant API",
        "version": "1.0.0",
        "description": "Orders, wallet links, payments and refunds for merchants. "
        "Money is integer KRW. Every POST needs an Idempotency-Key.",
    },
    "servers": [{"url": "/api/v1"}],
    "security": [{"apiKey": []}],
    "paths": PATHS,
    "components": {
        "schemas": SCHEMAS,
        "securitySchemes": {
            "apiKey": {"type": "http", "scheme": "bearer", "description": "bpk_… key"}
        },
    },
}
