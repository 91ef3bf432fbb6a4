"""``flask calango rebuild-stats``: recompute A Cuca's rollup from the recorded calls."""

from __future__ import annotations

import time

import click
from flask.cli import with_appcontext


@click.command("rebuild-stats")
@click.option("--check", is_flag=True, help="Only compare the rollup with the recorded calls.")
@click.option("--user", "email", default=None, help="Only this user's A Cuca (their e-mail).")
@with_appcontext
def rebuild_stats_command(check: bool, email: str | None) -> None:
    """Recompute A Cuca's daily sums from the recorded calls (or, with --check, compare):
    every user's, or only --user's."""
    from calango.cli_user import user_by_email
    from calango.services import call_rollup

    owner_id = user_by_email(email) if email else None
    started = time.monotonic()
    if check:
        problems = call_rollup.check(owner_id=owner_id)
        for problem in problems:
            click.echo(problem, err=True)
        if problems:
            raise SystemExit(1)
        click.echo(f"The rollup matches the recorded calls ({time.monotonic() - started:.1f} s).")
        return
    counted = call_rollup.rebuild(owner_id)
    click.echo(
        f"Rebuilt A Cuca's rollup from {counted:,} calls in {time.monotonic() - started:.1f} s."
    )
