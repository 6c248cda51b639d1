"""Admin: every payment, and full or partial refunds with a written reason."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from wallet.errors import NotFoundError
from wallet.labels import krw
from wallet.models.order import PAID, STATUSES, Order
from wallet.security import reauth_required
from wallet.services import order_list, orders, payments
from wallet.views.admin import bp  # admin.bp's before_request: admins only

ADMIN_PAGE_SIZE = 50


class RefundForm(FlaskForm):
    """A refund of a stated amount: an empty amount is refused, never "everything"
    (issue 14); the field starts filled with what remains."""

    amount = IntegerField(
        _l("Amount to refund (won)"),
        validators=[
            InputRequired(message=_l("Enter the amount to refund.")),
            NumberRange(min=1, message=_l("Enter a positive amount in won.")),
        ],
    )
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=200)])


def _order_or_404(order_id: str) -> Order:
    order = orders.find(order_id)
    if order is None:
        raise NotFoundError(_("We could not find that order."))
    return order


@bp.get("/payments", endpoint="payments")
def payments_list() -> ResponseReturnValue:
    """Orders that reached Toss, newest first; filter by status; keyset pages."""
    status = request.args.get("status", "")
    statuses = (status,) if status in STATUSES else orders.HISTORY_STATUSES
    page = order_list.listed(
        statuses=statuses, cursor=request.args.get("after"), limit=ADMIN_PAGE_SIZE
    )
    return render_template(
        "admin/payments.html",
        page=page,
        status=status if status in STATUSES else "",
        statuses=STATUSES,
    )


def _detail_page(
    order: Order, form: RefundForm, status: int = 200
) -> ResponseReturnValue:
    payment = order.payment
    if request.method == "GET" and payment is not None:
        form.amount.data = payment.refundable
    return render_template(
        "admin/payments_detail.html",
        order=order,
        payment=payment,
        form=form,
        refundable=order.status in PAID and order.payment is not None,
    ), status


@bp.get("/payments/<order_id>")
def payment_detail(order_id: str) -> ResponseReturnValue:
    """One order: its payment, cancels and the refund form."""
    return _detail_page(_order_or_404(order_id), RefundForm())


@bp.post("/payments/<order_id>/refund")
@reauth_required(_l("Refund a payment"))
def payment_refund(order_id: str) -> ResponseReturnValue:
    """Refund all or part of a payment, with a reason; audited."""
    order = _order_or_404(order_id)
    form = RefundForm()
    if not form.validate_on_submit():
        return _detail_page(order, form, 400)
    try:
        cancel = payments.refund(
            order, form.amount.data, form.reason.data or "", current_user.email
        )
    except payments.RefundPendingError as exc:
        flash(exc.message, "warning")
    except payments.RefundRefusedError as exc:
        flash(exc.message, "error")
        form.amount.errors = [exc.message]
        return _detail_page(_order_or_404(order_id), form, exc.status)
    else:
        flash(
            _("Refunded %(amount)s.", amount=krw(cancel.amount)),
            "success",
        )
    return redirect(url_for("admin.payment_detail", order_id=order_id), code=303)
