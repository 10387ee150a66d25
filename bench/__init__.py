"""Benchmarks: `python -m bench` (or `make bench`). Reports figures; never part of the test run."""
