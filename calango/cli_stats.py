"""``flask calango rebuild-stats``: recompute A Cuca's rollup from the recorded calls."""

from __future__ import annotations

import time

import click
from flask.cli import with_appcontext


@click.command("rebuild-stats")
@click.option("--check", is_flag=True, help="Only compare the rollup with the recorded calls.")
@with_appcontext
def rebuild_stats_command(check: bool) -> None:
    """Recompute A Cuca's daily sums from the recorded calls (or, with --check, compare)."""
    from calango.services import call_rollup

    started = time.monotonic()
    if check:
        problems = call_rollup.check()
        for problem in problems:
            click.echo(problem, err=True)
        if problems:
            raise SystemExit(1)
        click.echo(f"The rollup matches the recorded calls ({time.monotonic() - started:.1f} s).")
        return
    counted = call_rollup.rebuild()
    click.echo(
        f"Rebuilt A Cuca's rollup from {counted:,} calls in {time.monotonic() - started:.1f} s."
    )
