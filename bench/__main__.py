"""`python -m bench [throughput|growth|races|pages|paired|sustained|scaleout|sizes|all]`: see bench/README.md."""

from __future__ import annotations

import argparse
import time

from bench import (
    growth,
    pages,
    paired,
    races,
    scaleout,
    sizes,
    sustained,
    throughput,
)


def main() -> None:
    """Parse arguments and run the chosen benchmarks (all by default)."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "which",
        nargs="?",
        default="all",
        choices=(
            "throughput",
            "growth",
            "races",
            "pages",
            "paired",
            "sustained",
            "scaleout",
            "sizes",
            "all",
        ),
    )
    parser.add_argument("--duration", type=float, default=10, help="seconds per target")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--sizes",
        default=None,
        help="payments for the growth bench, e.g. 10000,100000,1000000 "
        "(default: up to 1M on PostgreSQL, up to 100k on SQLite)",
    )
    parser.add_argument(
        "--minutes", type=float, default=5, help="sustained: minutes at 80%% of peak"
    )
    parser.add_argument("--samples", type=int, default=30, help="requests per page")
    parser.add_argument(
        "--clients", type=int, default=50, help="race: concurrent clients"
    )
    parser.add_argument(
        "--rounds", type=int, default=None, help="race: rounds (3); pages: rounds (200)"
    )
    args = parser.parse_args()
    started = time.monotonic()
    if args.which in ("throughput", "all"):
        throughput.main(args.duration, args.connections)
    if args.which in ("growth", "all"):
        counts = [int(s) for s in args.sizes.split(",")] if args.sizes else None
        growth.main(counts, args.samples)
    if args.which in ("races", "all"):
        races.main(args.clients, args.rounds or 3)
    if args.which in ("pages", "all"):
        pages.main(args.rounds or 200)
    if args.which in ("paired", "all"):
        paired.main(args.duration, args.connections)
    if args.which == "sustained":  # minutes long: never part of "all"
        sustained.main(args.minutes, args.connections)
    if args.which == "scaleout":  # PostgreSQL and Redis only: never part of "all"
        scaleout.main()
    if args.which == "sizes":  # a page-size table, not a benchmark: never part of "all"
        sizes.main()
    print(f"# done in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
