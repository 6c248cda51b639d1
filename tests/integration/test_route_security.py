"""Every route of the app, enumerated from url_map: state changes need CSRF, an API key
or a signature; admin routes refuse members; privileged POSTs need a recent password.
New routes are covered automatically."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import csrf_token

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
# Toss's BrandPay webhooks are unsigned (contract §7): the handler re-fetches the truth
# from Toss before acting, so a forged call cannot change state. Listed here on purpose.
SIGNATURELESS_BY_CONTRACT = {"webhooks.toss"}
# Issue 13 M3: every POST of the admin console and of a merchant's dashboard
# (/merchant/<id>/...) is privileged and carries security.reauth_required. The few that
# need no password, reviewed one by one, with the reason:
REAUTH_NOT_NEEDED = {
    "admin.audit_verify": "recomputes the hash chain and shows the result; it changes, "
    "reveals and exports nothing",
}


def _privileged(rule: Any) -> bool:
    return rule.rule.startswith(("/admin/", "/merchant/<int:merchant_id>/"))


def _url(app: Flask, rule: Any, **given: Any) -> str:
    values = {arg: "zz_placeholder_1" for arg in rule.arguments}
    for arg, conv in rule._converters.items():  # int converters need digits
        if type(conv).__name__ == "IntegerConverter":
            values[arg] = 999999
    values.update({k: v for k, v in given.items() if k in rule.arguments})
    with app.test_request_context():
        return app.url_map.bind("localhost").build(
            rule.endpoint, values, method=sorted(rule.methods - {"HEAD", "OPTIONS"})[0]
        )


def _rules(app: Flask, *, methods: set[str]) -> list[Any]:
    return [
        r
        for r in app.url_map.iter_rules()
        if r.endpoint != "static" and r.methods & methods
    ]


def test_route_every_state_changing_route_is_protected(
    app: Flask,
    client: FlaskClient,
    make_member: Callable[..., Any],
    login: Callable[..., Any],
) -> None:
    make_member("root@example.com", "admin-password-1", role="admin")
    login("root@example.com", "admin-password-1")
    unprotected = []
    checked = 0
    for rule in _rules(app, methods=STATE_CHANGING):
        if rule.endpoint in SIGNATURELESS_BY_CONTRACT:
            continue
        for method in sorted(rule.methods & STATE_CHANGING):
            # Logged in as an admin but without a CSRF token / API key: must be refused.
            resp = client.open(_url(app, rule), method=method, data={"x": "1"})
            checked += 1
            if rule.endpoint.startswith("api."):
                ok = resp.status_code == 401
            else:
                ok = resp.status_code == 400 and (
                    b"CSRF" in resp.data
                    or b"Reload the page" in resp.data
                    or b"\xec\x83\x88\xeb\xa1\x9c" in resp.data
                )
            if not ok:
                unprotected.append(
                    f"{method} {rule.rule} ({rule.endpoint}) → {resp.status_code}"
                )
    assert checked >= 3
    assert unprotected == []


def test_route_every_admin_route_refuses_members_and_visitors(
    app: Flask,
    client: FlaskClient,
    make_member: Callable[..., Any],
    login: Callable[..., Any],
) -> None:
    admin_rules = [
        r for r in app.url_map.iter_rules() if r.endpoint.startswith("admin.")
    ]
    assert admin_rules

    def probe(expected: tuple[int, ...]) -> list[str]:
        # A valid CSRF token rides along, so the admin guard itself is what is tested.
        token = csrf_token(client.get("/auth/login").get_data(as_text=True))
        leaks = []
        for rule in admin_rules:
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                resp = client.open(
                    _url(app, rule), method=method, data={"csrf_token": token}
                )
                if resp.status_code not in expected:
                    leaks.append(f"{method} {rule.rule} → {resp.status_code}")
        return leaks

    assert probe((302, 401)) == []  # visitors are sent to log in
    make_member()
    login()
    assert probe((403,)) == []  # members are refused


def test_route_login_rate_limit_answers_429_with_retry_after(
    app: Flask, client: FlaskClient
) -> None:
    app.config["RATELIMIT_LOGIN"] = "3 per minute"
    token = csrf_token(client.get("/auth/login").get_data(as_text=True))
    form = {"email": "a@example.com", "password": "guess-guess", "csrf_token": token}
    codes = [client.post("/auth/login", data=form).status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    resp = client.post("/auth/login", data=form)
    assert resp.status_code == 429
    assert int(resp.headers["Retry-After"]) > 0
    assert "Too many attempts" in resp.get_data(as_text=True)


def test_route_brandpay_callback_is_rate_limited(
    app: Flask, client: FlaskClient
) -> None:
    codes = [
        client.get("/brandpay/callback?code=x&customerKey=y").status_code
        for _ in range(21)
    ]
    assert codes[:20] == [401] * 20  # refused (not logged in), but counted
    assert codes[20] == 429


def test_route_every_privileged_post_needs_recent_reauth(app: Flask) -> None:
    privileged = [r for r in _rules(app, methods={"POST"}) if _privileged(r)]
    assert len(privileged) >= 15  # admin console + merchant dashboard actions
    missing = [
        f"POST {r.rule} ({r.endpoint})"
        for r in privileged
        if r.endpoint not in REAUTH_NOT_NEEDED
        and not getattr(app.view_functions[r.endpoint], "__reauth_required__", False)
    ]
    assert missing == [], "add @reauth_required(...) or a reviewed REAUTH_NOT_NEEDED"
    # The exceptions name real routes (the list cannot rot unnoticed).
    assert set(REAUTH_NOT_NEEDED) <= {r.endpoint for r in privileged}


def test_route_privileged_posts_without_reauth_go_to_the_password_page(
    app: Flask,
    client: FlaskClient,
    make_member: Callable[..., Any],
    login: Callable[..., Any],
) -> None:
    """Behaviour, not only the marker: an admin who is also the merchant's staff, with
    a valid CSRF token but no recent password, is sent to /auth/reauth every time."""
    from tests.integration.merchants.conftest import make_shop
    from wallet.extensions import db
    from wallet.models.merchant import Merchant
    from wallet.services import merchants

    make_member("root@example.com", "admin-password-1", role="admin")
    with app.app_context():
        shop = make_shop()
        merchants.add_staff(db.session.get(Merchant, shop.id), "root@example.com", "t")
    login("root@example.com", "admin-password-1")
    token = csrf_token(client.get("/merchant").get_data(as_text=True))
    wrong = []
    for rule in _rules(app, methods={"POST"}):
        if not _privileged(rule) or rule.endpoint in REAUTH_NOT_NEEDED:
            continue
        resp = client.post(
            _url(app, rule, merchant_id=shop.id), data={"csrf_token": token, "x": "1"}
        )
        if resp.status_code != 303 or "/auth/reauth" not in resp.headers["Location"]:
            wrong.append(f"POST {rule.rule} → {resp.status_code}")
    assert wrong == []
