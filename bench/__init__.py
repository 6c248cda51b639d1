"""Benchmarks of the wallet portal: `python -m bench` (see bench/README.md)."""
