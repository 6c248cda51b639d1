"""Instance files that hold secrets or data are created readable by the owner only.

Creating a file and then chmod-ing it leaves a moment in which it is world-readable
(umask 022 gives 0644); these helpers create it with 0600 from the start (issue 13 L4).
"""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def private_dir(path: Path) -> Path:
    """Make the directory (and parents) if missing; a new one is 0700."""
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    return path


def private_file(path: Path) -> Path:
    """The file exists and is 0600 (created empty if missing, tightened if not)."""
    private_dir(path.parent)
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, PRIVATE_FILE)
    os.close(fd)
    os.chmod(path, PRIVATE_FILE)
    return path


def write_private(path: Path, text: str, *, append: bool = False) -> None:
    """Write (or append) text to a 0600 file."""
    private_file(path)
    flags = os.O_WRONLY | (os.O_APPEND if append else os.O_TRUNC)
    with os.fdopen(os.open(path, flags), "w", encoding="utf-8") as fh:
        fh.write(text)
