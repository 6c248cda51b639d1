"""Admin: merchants — create, settings, API keys, link-signing secret rotation, staff."""

from __future__ import annotations

from flask import abort, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, StringField, TextAreaField
from wtforms.validators import URL, DataRequired, Email, Length, Optional

from wallet.errors import NotFoundError
from wallet.forms import ConfirmForm, member_cancel_days_field
from wallet.models.merchant import Merchant
from wallet.security import keep_shown_once, pop_shown_once, reauth_required
from wallet.services import merchants
from wallet.services.merchants import MerchantError
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
    member_cancel_days = member_cancel_days_field()
    active = BooleanField(_l("Active"), default=True)


class KeyForm(FlaskForm):
    """A label for a new API key (required: a key nobody can name is never revoked)."""

    label = StringField(
        _l("Label"),
        validators=[
            DataRequired(
                message=_l("Give the key a label, for example: production server.")
            ),
            Length(max=80),
        ],
    )


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
    key_form: KeyForm | None = None,
    staff_form: StaffForm | None = None,
) -> ResponseReturnValue:
    if form is None:
        form = MerchantForm(formdata=None, obj=merchant)
        form.origins.data = "\n".join(merchant.origins)
    # A credential made by the previous POST is shown on this page once (PRG, issue 14).
    secret = pop_shown_once("link_secret", merchant=merchant.id)
    new_key = pop_shown_once("api_key", merchant=merchant.id)
    return render_template(
        "admin/merchants_detail.html",
        merchant=merchant,
        form=form,
        key_form=key_form or KeyForm(formdata=None),
        staff_form=staff_form or StaffForm(formdata=None),
        keys=merchants.api_keys(merchant),
        secret=secret,
        new_key=new_key,
    ), status


def _back_to(merchant: Merchant, anchor: str | None = None) -> ResponseReturnValue:
    url = url_for("admin.merchant_detail", merchant_id=merchant.id)
    return redirect(f"{url}#{anchor}" if anchor else url, code=303)


@bp.get("/merchants", endpoint="merchants")
def merchants_index() -> ResponseReturnValue:
    """Every merchant and the form to add one."""
    return _index(MerchantForm(formdata=None))


@bp.post("/merchants")
@reauth_required(_l("Create a merchant"))
def create_merchant() -> ResponseReturnValue:
    """Create a merchant; its signing secret is shown once, on the page after."""
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
    keep_shown_once("link_secret", secret.secret, merchant=merchant.id)
    return _back_to(merchant, "secret-shown")


@bp.get("/merchants/<int:merchant_id>")
def merchant_detail(merchant_id: int) -> ResponseReturnValue:
    """A merchant's settings, keys, secret rotation and staff."""
    return _detail(merchants.get(merchant_id))


@bp.post("/merchants/<int:merchant_id>")
@reauth_required(_l("Save the merchant's settings"))
def merchant_update(merchant_id: int) -> ResponseReturnValue:
    """Save a merchant's allow-list, webhook URL, framing, refund policy, active flag."""
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
            member_cancel_days=form.member_cancel_days.data,
        )
    except MerchantError as exc:
        form.origins.errors = [exc.message]
        return _detail(merchant, 400, form=form)
    return _back_to(merchant)


@bp.post("/merchants/<int:merchant_id>/keys")
@reauth_required(_l("Issue an API key"))
def merchant_issue_key(merchant_id: int) -> ResponseReturnValue:
    """Issue an API key; the page after shows it once (a reload mints nothing)."""
    merchant = merchants.get(merchant_id)
    form = KeyForm()
    if not form.validate_on_submit():
        return _detail(merchant, 400, key_form=form)
    _key, raw = merchants.issue_api_key(
        merchant, form.label.data or "", current_user.email
    )
    keep_shown_once("api_key", raw, merchant=merchant.id)
    return _back_to(merchant, "key-shown")


@bp.post("/merchants/<int:merchant_id>/keys/<int:key_id>/revoke")
@reauth_required(_l("Revoke an API key"))
def merchant_revoke_key(merchant_id: int, key_id: int) -> ResponseReturnValue:
    """Revoke one API key (the others keep working)."""
    merchant = merchants.get(merchant_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    merchants.revoke_api_key(merchant, key_id, current_user.email)
    return _back_to(merchant, "keys")


@bp.post("/merchants/<int:merchant_id>/rotate-secret")
@reauth_required(_l("Rotate the link-signing secret"))
def merchant_rotate_secret(merchant_id: int) -> ResponseReturnValue:
    """New signing secret (shown once, on the page after); the old one verifies until
    retired."""
    merchant = merchants.get(merchant_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    secret = merchants.rotate_link_secret(merchant, current_user.email)
    keep_shown_once("link_secret", secret.secret, merchant=merchant.id)
    return _back_to(merchant, "secret-shown")


@bp.post("/merchants/<int:merchant_id>/retire-secret")
@reauth_required(_l("Retire the previous signing secret"))
def merchant_retire_secret(merchant_id: int) -> ResponseReturnValue:
    """Finish a rotation: the previous secret stops verifying."""
    merchant = merchants.get(merchant_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    merchants.retire_previous_secret(merchant, current_user.email)
    return _back_to(merchant, "secret")


@bp.post("/merchants/<int:merchant_id>/staff")
@reauth_required(_l("Add merchant staff"))
def merchant_add_staff(merchant_id: int) -> ResponseReturnValue:
    """Let a member see this merchant's dashboard (and manage its keys and refunds)."""
    merchant = merchants.get(merchant_id)
    form = StaffForm()
    if not form.validate_on_submit():
        return _detail(merchant, 400, staff_form=form)
    try:
        merchants.add_staff(merchant, form.email.data or "", current_user.email)
    except NotFoundError as exc:
        form.email.errors = [exc.message]
        return _detail(merchant, 404, staff_form=form)
    return _back_to(merchant, "staff")
