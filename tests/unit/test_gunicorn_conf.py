"""gunicorn.conf.py: what a worker does once it has loaded the app."""

from __future__ import annotations

import gc
import runpy
from pathlib import Path

CONF = Path(__file__).resolve().parents[2] / "gunicorn.conf.py"


def test_worker_freezes_the_loaded_app_out_of_the_collector() -> None:
    settings = runpy.run_path(str(CONF))
    assert settings["logger_class"] == "wallet.logs.GunicornLogger"
    gc.unfreeze()
    try:
        settings["post_worker_init"](object())
        frozen = gc.get_freeze_count()
        assert frozen > 1000  # this test process's modules, like a worker's app
        assert len(gc.get_objects(generation=2)) < frozen // 100  # nothing left to walk
    finally:
        gc.unfreeze()
