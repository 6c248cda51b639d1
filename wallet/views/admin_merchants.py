"""Admin: merchants — create, settings, API keys, link-signing secret rotation, staff."""

from __future__ import annotations

from flask import abort, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, StringField, TextAreaField
from wtforms.validators import URL, DataRequired, Email, Length, Optional

from wallet.forms import ConfirmForm
from wallet.models.merchant import Merchant
from wallet.security import reauth_required
from wallet.services import merchants
from wallet.services.merchants import IssuedSecret, MerchantError
from wallet.views.admin import bp

_ORIGINS_HINT = _l(
    "One origin per line, exactly scheme://host[:port], e.g. https://shop.example. "
    "No wildcards; http only for localhost."
)


class MerchantForm(FlaskForm):
    """A new merchant, or a merchant's settings."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    origins = TextAreaField(
        _l("Allowed return origins"), validators=[DataRequired(), Length(max=4000)]
    )
    webhook_url = StringField(
        _l("Webhook URL"),
        validators=[Optional(), Length(max=500), URL(require_tld=False)],
    )
    allow_framing = BooleanField(_l("Allow these origins to frame the wallet pages"))
    active = BooleanField(_l("Active"), default=True)


class KeyForm(FlaskForm):
    """A label for a new API key."""

    label = StringField(_l("Label"), validators=[Optional(), Length(max=80)])


class StaffForm(FlaskForm):
    """A member who may see the merchant dashboard."""

    email = EmailField(
        _l("Member email"),
        validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)],
    )


def _index(
    form: MerchantForm, status: int = 200, **shown: object
) -> ResponseReturnValue:
    return render_template(
        "admin/merchants.html",
        merchants=merchants.list_merchants(),
        form=form,
        origins_hint=_ORIGINS_HINT,
        **shown,
    ), status


def _detail(
    merchant: Merchant,
    status: int = 200,
    *,
    form: MerchantForm | None = None,
    secret: IssuedSecret | None = None,
    new_key: str | None = None,
) -> ResponseReturnValue:
    if form is None:
        form = MerchantForm(formdata=None, obj=merchant)
        form.origins.data = "\n".join(merchant.origins)
    return render_template(
        "admin/merchants_detail.html",
        merchant=merchant,
        form=form,
        key_form=KeyForm(formdata=None),
        staff_form=StaffForm(formdata=None),
        confirm=ConfirmForm(),
        keys=merchants.api_keys(merchant),
        secret=secret,
        new_key=new_key,
    ), status


@bp.get("/merchants", endpoint="merchants")
def merchants_index() -> ResponseReturnValue:
    """Every merchant and the form to add one."""
    return _index(MerchantForm(formdata=None))


@bp.post("/merchants")
@reauth_required
def create_merchant() -> ResponseReturnValue:
    """Create a merchant; its signing secret is shown on this one response only."""
    form = MerchantForm()
    if not form.validate_on_submit():
        return _index(form, 400)
    try:
        merchant, secret = merchants.create_merchant(
            form.name.data or "",
            merchants.parse_origins(form.origins.data or ""),
            form.webhook_url.data,
            allow_framing=bool(form.allow_framing.data),
            actor=current_user.email,
        )
    except MerchantError as exc:
        form.origins.errors = [exc.message]
        return _index(form, 400)
    return _detail(merchant, 201, secret=secret)


@bp.get("/merchants/<int:merchant_id>")
def merchant_detail(merchant_id: int) -> ResponseReturnValue:
    """A merchant's settings, keys, secret rotation and staff."""
    return _detail(merchants.get(merchant_id))


@bp.post("/merchants/<int:merchant_id>")
def merchant_update(merchant_id: int) -> ResponseReturnValue:
    """Save a merchant's allow-list, webhook URL, framing and active flag."""
    merchant = merchants.get(merchant_id)
    form = MerchantForm()
    if not form.validate_on_submit():
        return _detail(merchant, 400, form=form)
    try:
        merchants.update_settings(
            merchant,
            merchants.parse_origins(form.origins.data or ""),
            form.webhook_url.data,
            bool(form.allow_framing.data),
            bool(form.active.data),
            current_user.email,
        )
    except MerchantError as exc:
        form.origins.errors = [exc.message]
        return _detail(merchant, 400, form=form)
    return redirect(url_for("admin.merchant_detail", merchant_id=merchant.id), code=303)


@bp.post("/merchants/<int:merchant_id>/keys")
@reauth_required
def merchant_issue_key(merchant_id: int) -> ResponseReturnValue:
    """Issue an API key, shown once on this response."""
    merchant = merchants.get(merchant_id)
    form = KeyForm()
    if not form.validate_on_submit():
        abort(400)
    _key, raw = merchants.issue_api_key(
        merchant, form.label.data or "", current_user.email
    )
    return _detail(merchant, 201, new_key=raw)


@bp.post("/merchants/<int:merchant_id>/keys/<int:key_id>/revoke")
def merchant_revoke_key(merchant_id: int, key_id: int) -> ResponseReturnValue:
    """Revoke one API key (the others keep working)."""
    merchant = merchants.get(merchant_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    merchants.revoke_api_key(merchant, key_id, current_user.email)
    return redirect(url_for("admin.merchant_detail", merchant_id=merchant.id), code=303)


@bp.post("/merchants/<int:merchant_id>/rotate-secret")
@reauth_required
def merchant_rotate_secret(merchant_id: int) -> ResponseReturnValue:
    """New signing secret (shown once); the previous one verifies until retired."""
    merchant = merchants.get(merchant_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    secret = merchants.rotate_link_secret(merchant, current_user.email)
    return _detail(merchant, 201, secret=secret)


@bp.post("/merchants/<int:merchant_id>/retire-secret")
def merchant_retire_secret(merchant_id: int) -> ResponseReturnValue:
    """Finish a rotation: the previous secret stops verifying."""
    merchant = merchants.get(merchant_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    merchants.retire_previous_secret(merchant, current_user.email)
    return redirect(url_for("admin.merchant_detail", merchant_id=merchant.id), code=303)


@bp.post("/merchants/<int:merchant_id>/staff")
def merchant_add_staff(merchant_id: int) -> ResponseReturnValue:
    """Let a member see this merchant's dashboard."""
    merchant = merchants.get(merchant_id)
    form = StaffForm()
    if not form.validate_on_submit():
        return _detail(merchant, 400)
    merchants.add_staff(merchant, form.email.data or "", current_user.email)
    return redirect(url_for("admin.merchant_detail", merchant_id=merchant.id), code=303)
