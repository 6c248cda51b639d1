"""Admin: read the audit log (read-only; nothing in the app can edit it)."""

from __future__ import annotations

from flask import render_template, request
from flask.typing import ResponseReturnValue

from wallet import labels
from wallet.security import db_int
from wallet.services import audit
from wallet.views.admin import bp


@bp.get("/audit")
def audit_log() -> ResponseReturnValue:
    """Newest entries first, keyset-paginated by seq; filter by action or subject."""
    before = request.args.get("before", type=db_int)  # a huge number is no cursor
    action = (request.args.get("action") or "").strip()[:64]
    subject = (request.args.get("subject") or "").strip()[:120]
    page = audit.page(before=before, action=action or None, subject=subject or None)
    return render_template(
        "admin/audit.html",
        page=page,
        action=action,
        subject=subject,
        action_choices=sorted(
            ((code, str(name)) for code, name in labels.AUDIT_ACTION.items()),
            key=lambda item: item[1],
        ),
    )


@bp.post("/audit/verify")
def audit_verify() -> ResponseReturnValue:
    """Check the hash chain now and show the result (CSRF-protected: it is work)."""
    problems = audit.verify()
    return render_template(
        "admin/audit_verify.html", problems=problems, total=audit.count()
    )
