"""How much each GET page shows, portal against the minimal app (issue 16).

    .venv/bin/python -m bench sizes        # or: python -m bench.sizes

One bench world (`bench/pages.py`: seeded database, sandbox, logged-in clients); each
GET page of the page list asked once of each app, as the bench asks it (the portal in
Korean, its default). Per page and app: the body's size in bytes, how many tags it
has (`<` counted) and how many visible words (the text between tags, split on
blanks). A baseline that shows less than the portal makes the ratio portal ÷ minimal
price content rather than features; this table is how that was seen and checked.
"""

from __future__ import annotations

import logging
import re

from bench import pages

_TAG = re.compile(r"<[^>]+>")


def measure(body: str) -> tuple[int, int, int]:
    """(bytes as characters, tags, visible words) of one page."""
    return len(body), body.count("<"), len(_TAG.sub(" ", body).split())


def main() -> None:
    """Print one line per GET page: the portal's numbers, then the minimal app's."""
    logging.disable(logging.CRITICAL)  # the sandbox's access lines
    with pages.world() as w:
        for page in w.pages:
            if page.method != "GET":
                continue
            shown = []
            for app in ("portal", "minimal"):
                size, tags, words = measure(
                    pages._requester(w, app, page)().get_data(as_text=True)
                )
                shown.append(f"{app} {size:6d}B {tags:5d} tags {words:5d} words")
            print(f"{page.name:28s} | " + " | ".join(shown))


if __name__ == "__main__":
    main()
