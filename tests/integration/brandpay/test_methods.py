"""Methods (contract §3) and withdrawal (§5): Toss decides, the portal follows."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import Flask
from sqlalchemy import update

from tests.integration.brandpay.conftest import Browser, audit_actions, link_row
from wallet.extensions import db
from wallet.models import BrandPayLink
from wallet.services import brandpay
from wallet.toss import codes

_METHOD_KEY_RE = re.compile(
    r'name="kind" value="(\w+)">\s*<input type="hidden" name="method_key" value="([^"]+)"'
)


def _removable(who: Browser) -> list[tuple[str, str]]:
    """(kind, methodKey) of each remove button on the methods page."""
    html = who.client.get("/wallet/methods").get_data(as_text=True)
    return _METHOD_KEY_RE.findall(html)


def _remove(who: Browser, kind: str, method_key: str) -> Any:
    return who.post_form(
        "/wallet/methods",
        "/wallet/methods/remove",
        {"kind": kind, "method_key": method_key},
    )


def test_methods_page_lists_cards_and_accounts_with_selected(
    sandbox: Any, linked: Browser, link: Callable[..., Any]
) -> None:
    link(linked, mode="add", account=True)
    truth = sandbox.methods(linked.customer_key)

    html = linked.client.get("/wallet/methods").get_data(as_text=True)

    card, account = truth["cards"][0], truth["accounts"][0]
    # An English page names the card by its issuer in English (Toss's default alias
    # is the Korean card name).
    assert card["alias"] == card["cardName"]
    assert card["alias"] not in html
    for shown in (
        card["cardNumber"],
        codes.card_company_name(card["issuerCode"], "en"),
        account["accountNumber"],
        account["alias"],
    ):
        assert shown in html
    assert html.count('aria-current="true"') == 1
    assert html.count(">Selected<") == 1
    assert truth["selectedMethodId"] in (card["id"], account["id"])
    assert sorted(_removable(linked)) == sorted(
        [("card", card["methodKey"]), ("account", account["methodKey"])]
    )
    assert 'data-confirm="Remove' in html


def test_methods_page_not_linked_shows_call_to_action(
    browser: Callable[..., Browser],
) -> None:
    who = browser()
    html = who.client.get("/wallet/methods").get_data(as_text=True)
    assert "BrandPay is not linked" in html
    assert 'name="mode" value="link"' in html


def test_methods_remove_card_reflected_at_sandbox_and_portal(
    app: Flask, sandbox: Any, linked: Browser
) -> None:
    [(kind, method_key)] = _removable(linked)

    resp = _remove(linked, kind, method_key)

    assert resp.status_code == 303
    assert sandbox.methods(linked.customer_key)["cards"] == []
    html = linked.client.get("/wallet/methods").get_data(as_text=True)
    assert "was removed" in html
    assert "No payment methods yet" in html  # the empty state
    assert _removable(linked) == []
    assert link_row(app, linked.member_id).method_count == 0
    [event] = audit_actions(app, "brandpay.method_removed")
    assert event.details_dict["kind"] == "card"
    assert [
        c["idempotencyKey"]
        for c in sandbox.calls("/v1/brandpay/payments/methods/card/remove")
    ][-1] == (f"remove:{link_row(app, linked.member_id).id}:{method_key}")


def test_methods_remove_refused_by_toss_changes_nothing(
    app: Flask,
    sandbox: Any,
    linked: Browser,
    browser: Callable[..., Browser],
    link: Callable[..., Any],
) -> None:
    other = browser()
    link(other)
    [(_, foreign_key)] = _removable(other)
    [(_, own_key)] = _removable(linked)
    before = sandbox.methods(linked.customer_key)

    wrong_kind = _remove(linked, "account", own_key)  # a card is not an account
    foreign = _remove(linked, "card", foreign_key)  # not this customer's method

    assert wrong_kind.status_code == foreign.status_code == 303
    html = linked.client.get("/wallet/methods").get_data(as_text=True)
    assert "not found" in html
    assert sandbox.methods(linked.customer_key) == before
    assert len(sandbox.methods(other.customer_key)["cards"]) == 1
    assert audit_actions(app, "brandpay.method_removed") == []
    statuses = [c["status"] for c in sandbox.calls("/v1/brandpay/payments/methods/")]
    assert 404 in statuses


def test_methods_remove_bad_input_refused_before_toss(
    sandbox: Any, linked: Browser
) -> None:
    removals = "/v1/brandpay/payments/methods/"  # the remove POSTs, not the list GET
    before = len(sandbox.calls(removals))
    resp = _remove(linked, "wallet", "x")
    assert resp.status_code == 303
    html = linked.client.get("/wallet/methods").get_data(as_text=True)
    assert "Choose a payment method" in html
    assert len(sandbox.calls(removals)) == before
    assert len(sandbox.methods(linked.customer_key)["cards"]) == 1


def test_methods_remove_without_csrf_is_refused(sandbox: Any, linked: Browser) -> None:
    [(kind, method_key)] = _removable(linked)
    resp = linked.client.post(
        "/wallet/methods/remove", data={"kind": kind, "method_key": method_key}
    )
    assert resp.status_code == 400
    assert len(sandbox.methods(linked.customer_key)["cards"]) == 1


def test_methods_page_toss_unavailable_shows_error_state(
    sandbox: Any, linked: Browser
) -> None:
    sandbox.set_fault("/v1/brandpay/payments/methods", status=503)
    resp = linked.client.get("/wallet/methods")
    assert resp.status_code == 503
    html = resp.get_data(as_text=True)
    assert "BrandPay is not answering" in html
    assert "Try again" in html


def test_withdraw_reflected_at_sandbox_and_portal(
    app: Flask, sandbox: Any, linked: Browser
) -> None:
    page = linked.client.get("/wallet/withdraw").get_data(as_text=True)
    assert "payment history" in page
    assert "data-confirm=" in page

    resp = linked.post_form("/wallet/withdraw", "/wallet/withdraw")

    assert resp.status_code == 303
    assert sandbox.methods(linked.customer_key)["cards"] == []
    remove_calls = sandbox.calls("/v1/brandpay/customers/remove")
    assert [c["status"] for c in remove_calls][-1] == 200
    row = link_row(app, linked.member_id)
    assert row.status == "withdrawn"
    assert row.withdrawn_at is not None
    assert (row.access_token_enc, row.refresh_token_enc) == (None, None)
    assert len(audit_actions(app, "brandpay.withdrawn")) == 1
    html = linked.client.get("/wallet/methods").get_data(as_text=True)
    assert "BrandPay is not linked" in html


def test_withdraw_toss_down_changes_nothing(
    app: Flask, sandbox: Any, linked: Browser
) -> None:
    before = link_row(app, linked.member_id)
    sandbox.set_fault("/v1/brandpay/customers/remove", status=500)

    resp = linked.post_form("/wallet/withdraw", "/wallet/withdraw")

    assert resp.status_code == 303
    assert "did not confirm" in linked.client.get("/wallet/withdraw").get_data(
        as_text=True
    )
    row = link_row(app, linked.member_id)
    assert row.status == "linked"
    assert row.access_token_enc == before.access_token_enc
    assert len(sandbox.methods(linked.customer_key)["cards"]) == 1


def test_withdraw_without_csrf_is_refused(app: Flask, linked: Browser) -> None:
    assert linked.client.post("/wallet/withdraw").status_code == 400
    assert link_row(app, linked.member_id).status == "linked"


def test_webhook_customer_removed_confirmed_by_toss_marks_withdrawn(
    app: Flask, sandbox: Any, linked: Browser
) -> None:
    sandbox.sandbox.engine.withdraw(
        _doc_mid(sandbox), linked.customer_key
    )  # at Toss only

    with app.test_request_context():
        brandpay.handle_customer_status_changed(linked.customer_key)

    row = link_row(app, linked.member_id)
    assert row.status == "withdrawn"
    assert row.access_token_enc is None
    assert [e.actor for e in audit_actions(app, "brandpay.withdrawn_upstream")] == [
        "toss"
    ]


def test_webhook_customer_removed_but_toss_disagrees_changes_nothing(
    app: Flask, linked: Browser
) -> None:
    before = link_row(app, linked.member_id)
    with app.test_request_context():  # a forged (unsigned) REMOVED event
        brandpay.handle_customer_status_changed(linked.customer_key)
        brandpay.handle_customer_status_changed("cus_unknown_key")
    row = link_row(app, linked.member_id)
    assert row.status == "linked"
    assert row.access_token_enc == before.access_token_enc
    assert audit_actions(app, "brandpay.withdrawn_upstream") == []


def test_webhook_method_updated_refreshes_summary_from_toss(
    app: Flask, sandbox: Any, linked: Browser
) -> None:
    with app.app_context():
        db.session.execute(update(BrandPayLink).values(method_count=7))
        db.session.commit()
    with app.test_request_context():
        brandpay.handle_method_updated(linked.customer_key)
    assert link_row(app, linked.member_id).method_count == 1
    assert "1 saved payment method" in linked.client.get("/wallet").get_data(
        as_text=True
    )


def _doc_mid(sandbox: Any) -> str:
    from wallet.sandbox.catalog import DOC_SECRET_KEY

    return sandbox.sandbox.engine.merchant_by_secret(DOC_SECRET_KEY)["mId"]
