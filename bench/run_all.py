"""``make bench``: the time-to-first-token benchmark, 50 and 200 concurrent streams, then 50
people holding 10-turn conversations at human pace (``bench.users``, about two minutes).

Each runs in its own process (the concurrency client monkey-patches with gevent). The exit
status is 1 when any goal was missed, 2 when a benchmark could not run.
"""

from __future__ import annotations

import subprocess
import sys

from bench.common import PYTHON, ROOT

RUNS = (
    ["bench.ttft"],
    ["bench.concurrency", "--streams", "50"],
    ["bench.concurrency", "--streams", "200"],
    ["bench.users"],
)


def main() -> int:
    """Run every benchmark, print their reports, return the worst exit status."""
    worst = 0
    for run in RUNS:
        print(f"$ python -m {' '.join(run)}", flush=True)
        status = subprocess.run([PYTHON, "-m", *run], cwd=ROOT, check=False).returncode
        worst = max(worst, status)
        print(flush=True)
    return worst


if __name__ == "__main__":
    sys.exit(main())
