"""Benchmarks, for developers: `make bench` (bench/measure.py) and `make bench-load` (bench/load.py).
Nothing here runs when a parent types."""
