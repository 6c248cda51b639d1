"""An admin refunds part of the demo's payment: the amount is typed (an empty one is
refused), the confirmation names that amount and the member, re-authentication keeps
the action, and the payment page shows the member, the shop and the refund."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e import steps
from tests.e2e.test_pages import seeded  # noqa: F401 - the demo data fixture
from wallet.services import demo

pytestmark = pytest.mark.e2e


def test_admin_refund_states_amount_and_member_then_refunds(
    page: Any,
    live_portal: str,
    seeded: dict[str, Any],  # noqa: F811
    shot: Callable[..., Any],
    assert_accessible: Callable[..., None],
) -> None:
    questions: list[str] = []

    def answer(dialog: Any) -> None:
        questions.append(dialog.message)
        dialog.accept()

    page.on("dialog", answer)
    email, password = demo.DEMO_ADMIN
    page.goto(f"{live_portal}/auth/login")
    steps.log_in(page, live_portal, email, password)
    page.wait_for_url(f"{live_portal}/wallet")
    detail = f"{live_portal}/admin/payments/{seeded['order_id']}"
    page.goto(detail)
    main = page.locator("main").inner_text()
    assert demo.DEMO_MEMBER[0] in main  # the member and the shop are on the page
    assert "Direct payment" in main
    amount = page.get_by_label("Amount to refund (won)")
    assert amount.input_value() == "40000"  # what remains, stated, not "empty = all"

    amount.fill("")
    page.get_by_label("Reason").fill("Lid arrived chipped, again")
    page.get_by_role("button", name="Refund", exact=True).click()
    page.wait_for_url(f"{live_portal}/auth/reauth**")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{live_portal}/auth/resume")
    page.get_by_role("button", name="Confirm and finish").click()
    page.wait_for_url(f"{detail}/refund")
    assert "Enter the amount to refund." in page.locator("main").inner_text()
    assert questions == []  # nothing to confirm without an amount

    page.goto(detail)
    page.get_by_label("Amount to refund (won)").fill("5000")
    page.get_by_label("Reason").fill("Lid arrived chipped, again")
    page.get_by_role("button", name="Refund", exact=True).click()
    page.wait_for_url(detail)
    assert questions[-1] == (
        f"Refund ₩5,000 of this payment to {demo.DEMO_MEMBER[0]} through Toss?"
    )
    assert "Refunded ₩5,000." in page.locator(".flashes").inner_text()
    refunds = page.get_by_role("table", name="Refunds").inner_text()
    assert "₩5,000" in refunds
    assert "Lid arrived chipped, again" in refunds
    shot("admin-refunded")
    assert_accessible("admin payment after a refund")
