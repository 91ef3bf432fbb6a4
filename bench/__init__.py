"""Benchmarks for Calango (run them as modules: ``python -m bench.ttft``); not tests."""
