"""Domain errors and the handlers that turn them and HTTP errors into pages or JSON."""

from __future__ import annotations

import logging

from flask import Flask, Request, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class WalletError(Exception):
    """A failure the user can be told about; `message` is safe to show."""

    status = 400
    code = "BAD_REQUEST"
    default_message = _l("The request could not be processed.")

    def __init__(
        self, message: str | None = None, *, status: int | None = None
    ) -> None:
        self.message = message or str(self.default_message)
        if status is not None:
            self.status = status
        super().__init__(self.message)


class NotFoundError(WalletError):
    """The thing asked for does not exist (or is not the caller's)."""

    status = 404
    code = "NOT_FOUND"
    default_message = _l("We could not find that.")


class ForbiddenError(WalletError):
    """The caller may not do this."""

    status = 403
    code = "FORBIDDEN"
    default_message = _l("You are not allowed to do that.")


class ConflictError(WalletError):
    """The request clashes with the current state."""

    status = 409
    code = "CONFLICT"
    default_message = _l("That conflicts with the current state; reload and try again.")


class UpstreamError(WalletError):
    """Toss could not be reached or answered with a failure."""

    status = 502
    code = "UPSTREAM_ERROR"
    default_message = _l(
        "The payment service is not answering right now. Please try again."
    )


def wants_json(req: Request) -> bool:
    """API and webhook routes answer JSON; people get pages."""
    return req.path.startswith(("/api/", "/webhooks/")) or (
        req.accept_mimetypes.best == "application/json"
    )


def _error_response(status: int, code: str, message: str) -> ResponseReturnValue:
    if wants_json(request):
        return jsonify(error={"code": code, "message": message}), status
    return render_template("errors/error.html", status=status, message=message), status


def init_app(app: Flask) -> None:
    """Register handlers; no internals ever reach the response."""

    @app.errorhandler(WalletError)
    def _wallet_error(exc: WalletError) -> ResponseReturnValue:
        return _error_response(exc.status, exc.code, exc.message)

    @app.errorhandler(CSRFError)
    def _csrf_error(exc: CSRFError) -> ResponseReturnValue:
        msg = str(
            _l(
                "Your form expired or was sent from elsewhere. Reload the page and try again."
            )
        )
        return _error_response(400, "CSRF_FAILED", msg)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> ResponseReturnValue:
        status = exc.code or 500
        response = _error_response(
            status, exc.name.upper().replace(" ", "_"), _describe(status)
        )
        if status == 429 and exc.response is not None:
            # Keep Flask-Limiter's Retry-After and rate-limit headers on our own page.
            body, code = response  # type: ignore[misc]
            headers = {
                k: v
                for k, v in exc.response.headers.items()
                if k.lower().startswith(("retry-after", "x-ratelimit"))
            }
            return body, code, headers
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> ResponseReturnValue:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return _error_response(500, "INTERNAL_ERROR", _describe(500))


def _describe(status: int) -> str:
    messages = {
        400: _l("The request was not valid."),
        401: _l("Please log in first."),
        403: _l("You are not allowed to do that."),
        404: _l("We could not find that page."),
        405: _l("That action is not allowed here."),
        413: _l("The request was too large."),
        429: _l("Too many attempts. Please wait a moment and try again."),
        500: _l("Something went wrong on our side. Please try again in a moment."),
    }
    return str(messages.get(status, _l("The request could not be processed.")))
