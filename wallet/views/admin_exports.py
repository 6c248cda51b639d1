"""Admin: CSV export of payments for a range of Korean dates (streamed, audited)."""

from __future__ import annotations

from flask import Response, render_template, stream_with_context
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms.fields import DateField
from wtforms.validators import DataRequired

from wallet.security import reauth_required
from wallet.services import exports
from wallet.views.admin import bp  # admin.bp's before_request: admins only


class ExportForm(FlaskForm):
    """A range of Korean (Asia/Seoul) dates, both days included."""

    start = DateField(
        _l("From (Korea time)"),
        validators=[DataRequired(message=_l("Enter a date like 2026-01-31."))],
    )
    end = DateField(
        _l("To, inclusive (Korea time)"),
        validators=[DataRequired(message=_l("Enter a date like 2026-01-31."))],
    )


def _form_page(form: ExportForm, status: int = 200) -> ResponseReturnValue:
    return render_template("admin/export.html", form=form), status


@bp.get("/payments/export")
def payments_export_form() -> ResponseReturnValue:
    """Choose the dates to export."""
    return _form_page(ExportForm(formdata=None))


@bp.post("/payments/export")
@reauth_required(_l("Export payments as CSV"))
def payments_export() -> ResponseReturnValue:
    """Stream the CSV as a download (POST: it is audited, so CSRF-protected)."""
    form = ExportForm()
    if not form.validate_on_submit():
        return _form_page(form, 400)
    try:
        period = exports.date_range(form.start.data, form.end.data)
    except exports.ExportRangeError as exc:
        form.end.errors = [exc.message]
        return _form_page(form, exc.status)
    stream = exports.payments_csv(period, current_user.email)
    return Response(
        stream_with_context(stream),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{period.filename}"'},
    )
