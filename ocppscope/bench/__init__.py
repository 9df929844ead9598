"""Benchmarks that print numbers measured in the same run (docs/performance.md)."""
