"""`make run`: the portal on :5000, the Toss sandbox on :5001, the example shop on
:5002 and an SMTP sink on :5025, in one process, with demo data and the outbox worker
(merchant webhooks and member mail)."""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.serving import make_server, run_simple

from wallet import ROOT, create_app
from wallet.files import private_dir, private_file

HOST = os.environ.get("WALLET_HOST", "127.0.0.1")
PORTAL_PORT = int(os.environ.get("WALLET_PORT", "5000"))
SANDBOX_PORT = int(os.environ.get("WALLET_SANDBOX_PORT", "5001"))
SHOP_PORT = int(os.environ.get("WALLET_SHOP_PORT", "5002"))
MAIL_PORT = int(os.environ.get("WALLET_MAIL_PORT", "5025"))

log = logging.getLogger("wallet.devserver")


def _serve(app: Any, port: int, name: str) -> str | None:
    """Serve a WSGI app on HOST:port in a daemon thread; None if the port is taken."""
    try:
        server = make_server(HOST, port, app, threaded=True)
    except OSError as exc:
        print(f"  ! {name} not started: port {port} is busy ({exc.strerror})")
        return None
    threading.Thread(target=server.serve_forever, name=name, daemon=True).start()
    return f"http://{HOST}:{port}"


def _start_sandbox(portal_url: str, instance: Path) -> str | None:
    """Serve the sandbox (state in instance/sandbox.sqlite3) in a background thread."""
    from wallet.sandbox import create_app as create_sandbox

    state = private_file(instance / "sandbox.sqlite3")  # 0600 before SQLite opens it
    sandbox = create_sandbox(
        {
            "SANDBOX_DATABASE": str(state),
            "SANDBOX_WEBHOOK_URL": f"{portal_url}/webhooks/toss",
            "SANDBOX_PUBLIC_URL": f"http://{HOST}:{SANDBOX_PORT}",
        }
    )
    return _serve(sandbox, SANDBOX_PORT, "sandbox")


def _start_mail_sink(mailbox: Path) -> str | None:
    """Serve the SMTP sink (mail filed in instance/mailbox) in a background thread."""
    from wallet.devmail import MailSink

    try:
        MailSink(mailbox, host=HOST, port=MAIL_PORT).start()
    except (OSError, RuntimeError) as exc:
        print(f"  ! mail sink not started: port {MAIL_PORT} is busy ({exc})")
        return None
    return f"{HOST}:{MAIL_PORT}"


def _load_shop_factory() -> Any:
    """examples/merchant_shop.py's create_shop (the examples folder is not a package)."""
    path = ROOT / "examples" / "merchant_shop.py"
    spec = importlib.util.spec_from_file_location("merchant_shop", path)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.create_shop


def _seed(app: Flask, portal_url: str, sandbox_url: str | None) -> list[str]:
    """Demo member, wallet, history and merchant + shop; never stops `make run`."""
    # The sandbox's access log would bury the banner under the seeding's requests.
    access_log = logging.getLogger("werkzeug")
    level = access_log.level
    access_log.setLevel(logging.WARNING)
    try:
        # A request context: services build URLs and translate as in a request.
        with app.test_request_context("/", base_url=portal_url):
            return _seed_demo(app, portal_url, sandbox_url)
    finally:
        access_log.setLevel(level or logging.INFO)  # werkzeug would default to INFO


def _seed_demo(app: Flask, portal_url: str, sandbox_url: str | None) -> list[str]:
    from wallet.services import demo

    lines: list[str] = []
    shop_url = f"http://{HOST}:{SHOP_PORT}"
    demo.seed()
    merchant = None
    try:
        store = Path(app.instance_path) / "demo-merchant.json"
        merchant = demo.seed_merchant(shop_url, store)
        shop = _load_shop_factory()(
            portal_url,
            merchant.api_key,
            merchant.signing_secret,
            merchant.public_id,
            public_url=shop_url,
        )
        if _serve(shop, SHOP_PORT, "example-shop"):
            lines.append(f"example shop  {shop_url}/  (merchant {merchant.public_id})")
            lines.append(
                f"subscribe     {shop_url}/subscribe  (a mandate, then charges)"
            )
            # Only the key's public prefix: secrets stay out of terminals and logs.
            prefix = "_".join(merchant.api_key.split("_")[:2])
            lines.append(f"shop API key  {prefix}_…  (full key in {store}, mode 600)")
    except Exception as exc:  # the demo is a nicety; the portal still runs
        log.exception("demo merchant not seeded")
        lines.append(f"! demo merchant or shop not started: {exc!r}")
    if sandbox_url:
        try:
            client_key = app.config["TOSS_CLIENT_KEY"]
            shop_id = merchant.public_id if merchant else None
            wallet = demo.seed_wallet(sandbox_url, portal_url, client_key, shop_id)
            lines.insert(0, wallet)
        except Exception as exc:
            log.exception("demo wallet not seeded")
            lines.insert(0, f"! demo wallet not seeded: {exc!r}")
    return lines


def _next_steps(portal_url: str) -> list[str]:
    """Where a newcomer goes after the banner: consoles, test cards, the PIN."""
    from wallet.sandbox.catalog import TEST_CARDS, TEST_PIN

    def spaced(number: str) -> str:
        return " ".join(number[i : i + 4] for i in range(0, len(number), 4))

    cards = [c for c in TEST_CARDS if not c.reject]
    declined = [c for c in TEST_CARDS if c.reject]
    lines = [
        f"  admin console     {portal_url}/admin/  (log in as admin)",
        f"  merchant console  {portal_url}/merchant  (log in as shop)",
        f"  forgot password   {portal_url}/auth/forgot  (the link arrives in the mailbox)",
        f"  payment PIN       {TEST_PIN}",
        "  test cards        "
        + ", ".join(f"{spaced(c.number)} ({c.company} {c.card_type})" for c in cards),
    ]
    lines += [f"  declined card     {spaced(c.number)} ({c.reject})" for c in declined]
    return lines


def main() -> None:
    """Start everything, seed the demo, print where things are."""
    from wallet.services import demo, outbox

    portal_url = f"http://{HOST}:{PORTAL_PORT}"
    # Our own sandbox unless WALLET_TOSS_API_BASE points at another Toss (real or not),
    # and our own SMTP sink unless WALLET_MAIL_SERVER names a real one.
    own_sandbox = not os.environ.get("WALLET_TOSS_API_BASE")
    own_mail = not os.environ.get("WALLET_MAIL_SERVER")
    overrides: dict[str, Any] = (
        {"TOSS_API_BASE": f"http://{HOST}:{SANDBOX_PORT}"} if own_sandbox else {}
    )
    instance = Path(os.environ.get("WALLET_INSTANCE_PATH") or ROOT / "instance")
    mailbox = instance / "mailbox"
    if own_mail:
        overrides |= {
            "MAIL_SERVER": HOST,
            "MAIL_PORT": MAIL_PORT,
            "DEV_MAILBOX_DIR": str(mailbox),
        }
    app = create_app(overrides=overrides)
    if not app.config.get("PUBLIC_URL"):
        app.config["PUBLIC_URL"] = portal_url
    instance = private_dir(Path(app.instance_path))
    sink = _start_mail_sink(mailbox) if own_mail else None
    sandbox_url = _start_sandbox(portal_url, instance) if own_sandbox else None
    notes = _seed(app, portal_url, sandbox_url)
    # Merchant webhooks and member mail (the demo's receipts too), in this process.
    outbox.start_worker_thread(app)

    print("\n  BrandPay wallet portal (development)")
    print(f"    portal        {portal_url}/")
    if sandbox_url:
        print(f"    sandbox       {sandbox_url}/  (offline Toss emulator; PIN 123456)")
    for line in notes:
        print(f"    {line}")
    if sink:
        print(f"    mailbox       {portal_url}/_dev/mailbox  (SMTP sink on {sink})")
    print("    logins:")
    for line in demo.describe():
        print(f"    {line}")
    print("    next:")
    for line in _next_steps(portal_url):
        print(f"    {line}")
    print()
    run_simple(HOST, PORTAL_PORT, app, threaded=True, use_reloader=False)


if __name__ == "__main__":
    main()
