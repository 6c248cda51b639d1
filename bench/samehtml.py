"""Do two template folders render the same pages? (issue 16: speed-ups that keep the HTML)

    .venv/bin/python -m bench.samehtml OLD_TEMPLATES [--jinja-gettext]
    .venv/bin/python -m bench.samehtml --dump FOLDER   # then diff -r two trees' folders

One bench world (`bench/pages.py`: seeded database, sandbox, logged-in clients): every
GET page of the page list, in Korean and in English, rendered with OLD_TEMPLATES (for
example `templates/` of a `git worktree` of main) and with this tree's `templates/`,
both on this tree's Python, then compared. `--jinja-gettext` renders the old side
with Jinja's own newstyle `_()` instead of `wallet.templating.template_gettext`.

Normalised before comparing: CSRF tokens (signed with the time), clock times, and on
the admin member page the "Admin viewed a member" audit rows that each view adds (and
the blank lines they leave). Each side renders once before it is compared, so the
flashes and counters of the first view are gone from both. Exits 1 on a difference.
"""

from __future__ import annotations

import argparse
import difflib
import logging
import re
import sys
from typing import Any

import jinja2.ext
from jinja2 import BaseLoader, FileSystemLoader

from bench import pages

_TOKEN = re.compile(r'(value|data-csrf)="[A-Za-z0-9._\-]{60,}"')
_CLOCK = re.compile(r"\d{1,2}:\d{2}:\d{2}")
_VIEWED = re.compile(
    r'<tr>\s*<td class="primary">[^<]*<br><span class="muted">#\d+ '
    r"<code>admin.member_viewed</code>.*?</tr>",
    re.S,
)


def _normalised(page: str, text: str) -> str:
    text = _CLOCK.sub("HH:MM:SS", _TOKEN.sub(r'\1="TOKEN"', text))
    if page == "admin member":
        text = re.sub(r"#\d+ <code>", "#N <code>", _VIEWED.sub("", text))
        text = "\n".join(line for line in text.splitlines() if line.strip())
    return text


def _render(w: pages.World, loader: BaseLoader, gettext: Any) -> dict[str, str]:
    env = w.portal.jinja_env
    env.loader = loader
    env.globals["_"] = gettext
    if env.cache is not None:
        env.cache.clear()
    shown = {}
    for page in w.pages:
        if page.method != "GET":
            continue
        for lang in ("ko", "en"):
            client = w.clients[("portal", page.client)]
            resp = client.get(page.path, headers={"Accept-Language": lang})
            if resp.status_code != page.expect:
                raise RuntimeError(f"{page.name} ({lang}): {resp.status_code}")
            shown[f"{page.name} ({lang})"] = _normalised(
                page.name, resp.get_data(as_text=True)
            )
    return shown


def main(old: str, jinja_gettext: bool) -> int:
    """Render both sides, print each page's verdict (and a diff), count differences."""
    logging.disable(logging.CRITICAL)  # the sandbox's access lines
    with pages.world() as w:
        ours = (w.portal.jinja_env.loader, w.portal.jinja_env.globals["_"])
        old_side = (
            FileSystemLoader(old),
            jinja2.ext._gettext_alias if jinja_gettext else ours[1],
        )
        _render(w, *old_side)  # first views: flashes, cached counts
        before = _render(w, *old_side)
        after = _render(w, *ours)
    return compare(before, after)


def compare(before: dict[str, str], after: dict[str, str], shown: int = 60) -> int:
    """Print each page's verdict (and the start of its diff); 1 if any differs."""
    differ = 0
    for name, text in before.items():
        if text == after[name]:
            print(f"same: {name} ({len(text)} characters)")
            continue
        differ += 1
        diff = difflib.unified_diff(
            text.splitlines(), after[name].splitlines(), lineterm="", n=1
        )
        print(f"DIFFERENT: {name}\n" + "\n".join(list(diff)[:shown]))
    print(f"# {differ} of {len(before)} pages differ")
    return 1 if differ else 0


# What differs between two bench worlds however alike their code: random ids and keys,
# the sandbox's port, cursors and times that carry the seeding's clock.
_WORLD = [
    (re.compile(r"127\.0\.0\.1:\d+"), "127.0.0.1:PORT"),
    (re.compile(r"\bbench_[0-9a-f]{8}_"), "bench_RUN_"),
    (re.compile(r"\bbpk_[0-9a-f]{8}"), "bpk_PREFIX"),
    (
        re.compile(
            r"\b(ord|cus|mch|bm|mk|wl|pay|tk|key|mdt|whk|evt)_[A-Za-z0-9_\-]{6,}"
        ),
        r"\1_ID",
    ),
    (re.compile(r"\b\d{13,}-\d+\b"), "CURSOR"),
    (re.compile(r"\d{4}[.\-/] ?\d{1,2}[.\-/] ?\d{1,2}\.?"), "DATE"),
    (re.compile(r"[A-Z][a-z]{2} \d{1,2}, \d{4}"), "DATE"),
    (re.compile(r"(오전|오후|AM|PM)"), "AMPM"),
]


def _world_free(text: str) -> str:
    for pattern, repl in _WORLD:
        text = pattern.sub(repl, text)
    return text


def dump(folder: str) -> int:
    """Save every GET page of a fresh bench world, rendered by this tree's code and
    templates, with the world's random ids replaced: run it in two trees (a worktree
    of main and a branch) and `diff -r` the folders to see what a Python change did."""
    from pathlib import Path

    logging.disable(logging.CRITICAL)
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    with pages.world() as w:
        env = w.portal.jinja_env
        _render(w, env.loader, env.globals["_"])  # first views: flashes, counts
        shown = _render(w, env.loader, env.globals["_"])
    for name, text in shown.items():
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        (out / f"{slug}.html").write_text(_world_free(text), encoding="utf-8")
    print(f"# {len(shown)} pages written to {out}")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.samehtml")
    parser.add_argument("old_templates", nargs="?")
    parser.add_argument("--jinja-gettext", action="store_true")
    parser.add_argument("--dump", metavar="FOLDER", help="save this tree's pages")
    args = parser.parse_args()
    if args.dump:
        sys.exit(dump(args.dump))
    if not args.old_templates:
        parser.error("give OLD_TEMPLATES or --dump FOLDER")
    sys.exit(main(args.old_templates, args.jinja_gettext))
