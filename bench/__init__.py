"""Benchmarks run by hand (``make bench-import``); not part of the site."""
