"""Real server processes on 127.0.0.1: gunicorn in its own process group."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType

import requests

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).with_name("gunicorn")
_LISTENING = re.compile(rb"Listening at: (http://127\.0\.0\.1:\d+)")


class Gunicorn:
    """`gunicorn <app>` on a free loopback port; `kill()` SIGKILLs master and workers.

    The process gets its own session (process group), so stopping it never touches
    anything else, and a SIGKILLed master cannot leave a worker finishing requests.
    """

    def __init__(
        self,
        app: str,
        env: dict[str, str],
        *,
        workers: int = 2,
        threads: int = 4,
        health: str = "/healthz",
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.proc = subprocess.Popen(  # noqa: S603 - our own venv's gunicorn
            [
                str(GUNICORN),
                f"--workers={workers}",
                f"--threads={threads}",
                "--worker-class=gthread",
                "--bind=127.0.0.1:0",
                "--graceful-timeout=2",
                "--timeout=120",
                "--log-level=info",  # the "Listening at" line gives the port
                *extra_args,
                app,
            ],
            cwd=ROOT,
            env=env,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self.url = self._wait_listening()
        self._wait_healthy(health)

    def _wait_listening(self) -> str:
        stderr = self.proc.stderr
        assert stderr is not None
        deadline = time.monotonic() + 30
        seen = b""
        while time.monotonic() < deadline:
            line = stderr.readline()
            seen += line
            found = _LISTENING.search(line)
            if found:
                # Keep draining stderr so the server never blocks on a full pipe.
                threading.Thread(target=stderr.read, daemon=True).start()
                return found.group(1).decode()
            if not line and self.proc.poll() is not None:
                break
        self.kill()
        raise RuntimeError(f"gunicorn {self.proc.args} did not start:\n{seen.decode()}")

    def _wait_healthy(self, path: str) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + path, timeout=2).status_code < 500:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"{self.url}{path} never answered")

    def kill(self) -> None:
        """SIGKILL the process group: the server dies mid-request, like a crash."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM (graceful), then SIGKILL if it lingers."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> Gunicorn:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def portal_env(
    database_url: str,
    toss_api_base: str,
    vault_keys: str,
    instance_path: str,
    **extra: str,
) -> dict[str, str]:
    """Environment for `gunicorn 'wallet:create_app()'`: development config, no rate
    limits, this database and this Toss (sandbox); nothing from the caller's WALLET_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WALLET_")}
    return (
        env
        | {
            "WALLET_CONFIG": "development",
            "WALLET_INSTANCE_PATH": instance_path,
            "WALLET_DATABASE_URL": database_url,
            "WALLET_TOSS_API_BASE": toss_api_base,
            "WALLET_SECRET_KEY": "local-bench-secret-key-not-for-production",
            "WALLET_VAULT_KEYS": vault_keys,
            "WALLET_RATELIMIT_ENABLED": "false",
        }
        | {f"WALLET_{k}": v for k, v in extra.items()}
    )


def worker_pids(master: int) -> list[int]:
    """The processes whose parent is `master` (a gunicorn master's workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().split()
        except OSError:
            continue
        if int(stat[3]) == master:
            found.append(int(entry.name))
    return found
