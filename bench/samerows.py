"""Do the list rows render the same pages as whole ORM rows? (issue 16, round four)

    .venv/bin/python -m bench.samerows [--break]

One bench world (`bench/pages.py`): every GET page of the page list, plus deeper and
filtered lists (history's second page, a status and two shop filters, admin payments
by status, the admin member page's second page), in Korean and in English, rendered
with `order_list.listed` (Core rows of the shown columns) and then with it replaced by
the ORM `orders.page` on the same arguments, and compared (normalised as
`bench.samehtml` does). `--break` gives the ORM side one row fewer, to see the check
fail. Exits 1 on a difference.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from typing import Any

from bench import pages, samehtml
from wallet.services import order_list, orders


def _orm_listed(shorter: bool) -> Any:
    def listed(
        *, member: Any = None, merchant: Any = None, limit: int = 20, **where: Any
    ) -> orders.Page:
        if member is not None:
            where["member_id"] = member.id
        if merchant is not None:
            where["merchant_id"] = merchant.id
        return orders.page(limit=limit - shorter, **where)

    return listed


def _render(w: pages.World) -> dict[str, str]:
    shown = {}
    for page in w.pages:
        if page.method != "GET":
            continue
        for lang in ("ko", "en"):
            resp = w.clients[("portal", page.client)].get(
                page.path, headers={"Accept-Language": lang}
            )
            if resp.status_code != page.expect:
                raise RuntimeError(f"{page.path} ({lang}): {resp.status_code}")
            shown[f"{page.name}: {page.path} ({lang})"] = samehtml._normalised(
                page.name, resp.get_data(as_text=True)
            )
    return shown


def _more_pages(w: pages.World) -> list[pages.Page]:
    member, admin = w.clients[("portal", "member")], w.clients[("portal", "admin")]
    history = member.get("/pay/history").get_data(as_text=True)
    after = re.search(r"after=([0-9-]+)", history)
    detail = next(p for p in w.pages if p.name == "admin member")
    older = re.search(r"after=([0-9-]+)", admin.get(detail.path).get_data(as_text=True))
    shop = re.search(r'<option value="(\d+)"', history.split('name="shop"')[1])
    if after is None or older is None:
        raise RuntimeError("no second page to compare")
    more = [
        ("history, 10k payments", f"/pay/history?after={after.group(1)}", "member"),
        ("history, 10k payments", "/pay/history?status=refunded", "member"),
        ("history, 10k payments", "/pay/history?shop=direct", "member"),
        (
            "history, 10k payments",
            f"/pay/history?shop={shop.group(1) if shop else 1}",
            "member",
        ),
        ("admin payments", "/admin/payments?status=PARTIAL_CANCELED", "admin"),
        ("admin member", f"{detail.path}?after={older.group(1)}", "admin"),
    ]
    return [pages.Page(name, "GET", path, client) for name, path, client in more]


def main(shorter: bool) -> int:
    """Render both sides, print each page's verdict (and a diff), count differences."""
    logging.disable(logging.CRITICAL)  # the sandbox's access lines
    rows = order_list.listed
    with pages.world() as w:
        w.pages = [*w.pages, *_more_pages(w)]
        _render(w)  # first views: flashes, cached counts
        after = _render(w)
        order_list.listed = _orm_listed(shorter)  # type: ignore[assignment]
        try:
            before = _render(w)
        finally:
            order_list.listed = rows  # type: ignore[assignment]
    return samehtml.compare(before, after, shown=40)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.samerows")
    parser.add_argument("--break", dest="shorter", action="store_true")
    sys.exit(main(parser.parse_args().shorter))
