"""`make run`: the portal on :5000 and the Toss sandbox on :5001, in one process."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from werkzeug.serving import make_server, run_simple

from wallet import ROOT, create_app

HOST = os.environ.get("WALLET_HOST", "127.0.0.1")
PORTAL_PORT = int(os.environ.get("WALLET_PORT", "5000"))
SANDBOX_PORT = int(os.environ.get("WALLET_SANDBOX_PORT", "5001"))


def _start_sandbox(portal_url: str) -> str | None:
    """Serve the sandbox in a background thread unless real Toss is configured."""
    if os.environ.get("WALLET_TOSS_API_BASE"):
        return None  # pointed at another Toss (real or a separately run sandbox)
    from wallet.sandbox import create_app as create_sandbox

    instance = ROOT / "instance"
    instance.mkdir(exist_ok=True)
    sandbox = create_sandbox(
        {
            "SANDBOX_DATABASE": str(Path(instance) / "sandbox.sqlite3"),
            "SANDBOX_WEBHOOK_URL": f"{portal_url}/webhooks/toss",
            "SANDBOX_PUBLIC_URL": f"http://{HOST}:{SANDBOX_PORT}",
        }
    )
    server = make_server(HOST, SANDBOX_PORT, sandbox, threaded=True)
    threading.Thread(target=server.serve_forever, name="sandbox", daemon=True).start()
    return f"http://{HOST}:{SANDBOX_PORT}"


def main() -> None:
    """Start both servers and print where they are."""
    portal_url = f"http://{HOST}:{PORTAL_PORT}"
    sandbox_url = _start_sandbox(portal_url)
    app = create_app()
    app.config.setdefault("PUBLIC_URL", portal_url)
    from wallet.services import demo

    print("\n  BrandPay wallet portal")
    print(f"    portal   {portal_url}/")
    if sandbox_url:
        print(f"    sandbox  {sandbox_url}/  (offline Toss emulator)")
    print("    logins:")
    for line in demo.describe():
        print(f"    {line}")
    print()
    run_simple(HOST, PORTAL_PORT, app, threaded=True, use_reloader=False)


if __name__ == "__main__":
    main()
