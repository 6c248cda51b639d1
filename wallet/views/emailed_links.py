"""The two steps every mailed link takes (password reset, email change).

Opening `/…/<token>` checks the token and keeps only its hash in the session, then
redirects to a URL without the token, where the form lives: the token is not
repeated in browser history, referrers or later access-log lines. Links are checked,
never spent, by a GET (mail scanners open links); a POST on the clean URL spends them.
"""

from __future__ import annotations

from flask import redirect, render_template, session, url_for
from flask.typing import ResponseReturnValue

from wallet.models.member_token import MemberToken
from wallet.services import member_tokens
from wallet.services.member_tokens import InvalidLinkError


def invalid_link(exc: InvalidLinkError | None = None) -> ResponseReturnValue:
    """The page for a spent, expired or unknown link: 400, nothing written."""
    message = exc.message if exc is not None else InvalidLinkError().message
    return render_template("auth/link_invalid.html", message=message), 400


def open_link(purpose: str, token: str, endpoint: str) -> ResponseReturnValue:
    """Check the mailed token, remember its hash, go to the form at `endpoint`."""
    try:
        session[purpose] = member_tokens.check(purpose, token)
    except InvalidLinkError as exc:
        return invalid_link(exc)
    return redirect(url_for(endpoint), 303)


def opened(purpose: str) -> str | None:
    """The hash of the link opened in this session, if any."""
    hashed = session.get(purpose)
    return hashed if isinstance(hashed, str) else None


def usable(purpose: str) -> MemberToken:
    """The open token behind this session's link; InvalidLinkError otherwise."""
    return member_tokens.find_usable(purpose, opened(purpose))
