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
    """Re-encrypt stored BrandPay tokens under the newest vault key (safe to re-run)."""
    from wallet.services import brandpay_tokens

    result = brandpay_tokens.rotate_all(batch_size)
    click.echo(f"re-encrypted {result.changed} link rows")
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
    from wallet.services import payments

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
    from wallet.services import audit

    problems = audit.verify()
    if problems:
        for problem in problems:
            click.echo(f"entry {problem.seq}: {problem.problem}", err=True)
        raise SystemExit(1)
    click.echo(f"audit log intact ({audit.count()} entries)")


wallet_cli.add_command(audit_cli)


def init_app(app: Flask) -> None:
    """Attach the command group."""
    app.cli.add_command(wallet_cli)
