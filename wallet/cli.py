"""`flask wallet ...` commands."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

wallet_cli = AppGroup("wallet", help="BrandPay wallet portal commands.")


@wallet_cli.command("create-admin")
@click.argument("email")
@click.password_option()
def create_admin(email: str, password: str) -> None:
    """Create an admin account."""
    from wallet.services import members

    member = members.register(email, password, role="admin")
    click.echo(f"admin {member.email} created")


@wallet_cli.command("seed-demo")
def seed_demo() -> None:
    """Create the demo member and admin if they do not exist yet (idempotent)."""
    from wallet.services import demo

    for line in demo.seed():
        click.echo(line)


@wallet_cli.command("rotate-keys")
@click.option("--batch-size", default=200, show_default=True, type=click.IntRange(1))
def rotate_keys(batch_size: int) -> None:
    """Re-encrypt stored BrandPay tokens and queued mail under the newest vault key (safe
    to re-run)."""
    from wallet.services import brandpay_tokens, mail

    result = brandpay_tokens.rotate_all(batch_size)
    click.echo(f"re-encrypted {result.changed} link rows")
    click.echo(f"re-encrypted {mail.rotate_pending()} queued mails")
    if result.unreadable:
        click.echo(
            f"{result.unreadable} link rows do not decrypt with any configured key "
            "(left unchanged)",
            err=True,
        )
        raise SystemExit(1)


@wallet_cli.command("reconcile")
@click.option(
    "--min-age",
    default=60.0,
    show_default=True,
    type=click.FloatRange(0),
    help="Seconds a CONFIRMING order or pending refund must be old to be touched.",
)
def reconcile(min_age: float) -> None:
    """Settle unknown payment outcomes and pending refunds from Toss's truth (cron)."""
    from flask_babel import force_locale

    from wallet.services import payments

    # No request here: pin the locale so translated messages need no session.
    with force_locale("en"):
        summary = payments.reconcile(min_age=min_age)
    for line in summary.details + summary.lines():
        click.echo(line)


@wallet_cli.command("expire-orders")
def expire_orders() -> None:
    """Mark unpaid orders past their expiry as EXPIRED (cron)."""
    from wallet.services import orders

    click.echo(f"expired {orders.expire_orders()} orders")


audit_cli = AppGroup("audit", help="The tamper-evident audit log.")


@audit_cli.command("verify")
def audit_verify() -> None:
    """Check the hash chain; exit 1 and name each broken entry if it was tampered with."""
    from flask_babel import force_locale

    from wallet.services import audit

    problems = audit.verify()
    if problems:
        with force_locale("en"):  # problem texts are lazy; operators read English
            for problem in problems:
                click.echo(f"entry {problem.seq}: {problem.problem}", err=True)
        raise SystemExit(1)
    click.echo(f"audit log intact ({audit.count()} entries)")


@wallet_cli.command("create-merchant")
@click.argument("name")
@click.option(
    "--origin",
    "origins",
    multiple=True,
    required=True,
    help="Allowed return origin (repeat).",
)
@click.option("--webhook-url", default=None, help="Where signed webhooks are POSTed.")
@click.option(
    "--staff", "staff", multiple=True, help="Email of a member who sees the dashboard."
)
def create_merchant(
    name: str, origins: tuple[str, ...], webhook_url: str | None, staff: tuple[str, ...]
) -> None:
    """Create a merchant; prints its signing secret and first API key once."""
    from wallet.errors import WalletError
    from wallet.services import merchants

    try:
        merchant, secret = merchants.create_merchant(
            name, list(origins), webhook_url, actor="cli"
        )
        _key, raw = merchants.issue_api_key(merchant, "created by CLI", "cli")
        for email in staff:
            merchants.add_staff(merchant, email, "cli")
    except WalletError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(
        f"merchant {merchant.public_id} created (store these now; they are not shown again)"
    )
    click.echo(f"  signing secret ({secret.kid}): {secret.secret}")
    click.echo(f"  API key: {raw}")


@wallet_cli.command("worker")
@click.option(
    "--once", is_flag=True, help="Deliver one batch of due webhooks and exit."
)
def worker(once: bool) -> None:
    """Deliver merchant webhooks from the outbox until stopped (run as many as needed)."""
    import signal
    import threading

    from flask import current_app

    from wallet.services import outbox

    if once:
        click.echo(f"{outbox.run_once()} delivery attempts")
        return
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    outbox.run_worker(current_app._get_current_object(), stop)  # type: ignore[attr-defined]


wallet_cli.add_command(audit_cli)


def init_app(app: Flask) -> None:
    """Attach the command group."""
    app.cli.add_command(wallet_cli)
