"""``make bench``: every goal of the send and stream path, then 50 people holding 10-turn
conversations at human pace (``bench.users``, about two minutes); each figure is printed
beside its goal and the machine's load average (``uptime``) at the time.

1. time to first token added by Calango (sequential): median ≤ 5 ms;
2. a burst of 50 simultaneous sends: p95 added TTFT ≤ 150 ms;
3. a burst of 200: p95 ≤ 1 s;
4. 200 sustained streams (10 s answers, sends spread over 10 s) whose streams open on a fresh
   connection, as behind a reverse proxy (half land on the other worker): p95 ≤ 50 ms;
5. 50 logged-in people, 10 turns each: p95 added TTFT ≤ 150 ms;

and in every run 0 errors and every answer saved complete. Each runs in its own process (the
concurrency client monkey-patches with gevent). The exit status is 1 when any goal was
missed, 2 when a benchmark could not run.
"""

from __future__ import annotations

import os
import subprocess
import sys

from bench.common import PYTHON, ROOT

RUNS = (
    ["bench.ttft"],
    ["bench.concurrency", "--streams", "50", "--goal-ms", "150"],
    ["bench.concurrency", "--streams", "200", "--goal-ms", "1000"],
    [
        "bench.concurrency", "--streams", "200", "--fresh-connections",
        "--delay", "0.25", "--ramp", "10", "--goal-ms", "50",
    ],
    ["bench.users"],
)  # fmt: skip


def load() -> str:
    """The 1, 5 and 15 minute load averages."""
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f}"


def main() -> int:
    """Run every benchmark, print their reports, then every goal beside its figure."""
    worst = 0
    goals: list[str] = []
    for run in RUNS:
        print(f"$ python -m {' '.join(run)}    ({load()})", flush=True)
        before = load()
        process = subprocess.run(
            [PYTHON, "-m", *run], cwd=ROOT, check=False, capture_output=True, text=True
        )
        sys.stdout.write(process.stdout)
        sys.stderr.write(process.stderr)
        found = [line for line in process.stdout.splitlines() if line.startswith("goal ")]
        goals.extend(f"{line}   [{before} → {load()}]" for line in found)
        if not found:
            goals.append(f"goal of {' '.join(run)}: did not run (exit {process.returncode})")
        worst = max(worst, process.returncode)
        print(flush=True)
    print(f"on {os.cpu_count()} cores; every goal beside its figure:")
    for line in goals:
        print(f"  {line}")
    return worst


if __name__ == "__main__":
    sys.exit(main())
