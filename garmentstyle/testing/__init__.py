"""Helpers for tests and benchmarks (realistic degraded inputs with their ground truth)."""
