"""A merchant's pre-approval endpoint on 127.0.0.1 (issue 15), for the hook tests:
it answers as `mode` says (yes, no, slow, garbage, a string "true", a 500) and keeps
what it received."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, request
from werkzeug.serving import make_server

ANSWERS: dict[str, tuple[Any, int]] = {
    "yes": ({"approve": True}, 200),
    "no": ({"approve": False, "reason": "Sold out"}, 200),
    "garbage": ("yes please", 200),
    "string": ({"approve": "true"}, 200),
    "error": ({"approve": True}, 500),
}
SLOW_SECONDS = 2.0  # longer than the tests' PREAPPROVAL_TIMEOUT


@dataclass
class Hook:
    """The endpoint's URL, how it answers, and the requests it got."""

    url: str = ""
    mode: str = "yes"
    received: list[dict[str, Any]] = field(default_factory=list)
    during: Callable[[dict[str, Any]], None] | None = None  # runs before answering


@contextmanager
def serve_hook() -> Iterator[Hook]:
    """Serve a Hook until the block ends."""
    app = Flask("hook")
    state = Hook()

    @app.post("/confirm")
    def _confirm() -> Any:
        body = request.get_data()
        state.received.append({"headers": dict(request.headers), "body": body})
        if state.during is not None:
            state.during(json.loads(body))
        if state.mode == "slow":
            time.sleep(SLOW_SECONDS)
            return {"approve": True}, 200
        return ANSWERS[state.mode]

    server = make_server("127.0.0.1", 0, app, threaded=True)
    state.url = f"http://127.0.0.1:{server.server_port}/confirm"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        thread.join(timeout=5)
