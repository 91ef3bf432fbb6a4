"""Placeholder replaced by the generation producer."""

from flask import Flask


def mark_abandoned_streams() -> int:
    return 0


def wait_for_generations(app: Flask, timeout: float) -> None:
    return None
