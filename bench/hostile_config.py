"""Hostile and maximal configuration files: how long an import takes and how much it allocates.

``python -m bench.hostile_config`` builds each file in memory, imports it with
``import_config`` into a fresh SQLite database in a temporary CALANGO_HOME, and prints the
outcome, the wall and CPU time and the peak of Python allocations (``tracemalloc``). Exit
status 1 when any file takes more than 2 s or allocates more than 100 MiB (issue #8's bound).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import tracemalloc

LIMIT_SECONDS = 2.0
LIMIT_MIB = 100.0


def _personas(count: int, prompt_chars: int) -> str:
    prompt = "x" * prompt_chars
    return "personas:\n" + "".join(
        f"  - name: persona {i}\n    prompt: {prompt}\n" for i in range(count)
    )


def _files() -> dict[str, str]:
    laughs = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        laughs.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    models = ", ".join(f"m{i}" for i in range(900))
    return {
        "billion laughs": "\n".join(laughs) + "\n",
        "5,000-deep nesting": "providers: " + "[" * 5000 + "]" * 5000 + "\n",
        "14,000 personas (13 MB)": _personas(14_000, 900),
        "duplicate key": "providers:\n  groq: {}\n  groq: {}\n",
        "10 providers x 900 models": "providers:\n"
        + "".join(f"  p{p}:\n    models: [{models}]\n" for p in range(10)),
        "1,000 personas of 1,000 chars": _personas(1000, 1000),
    }


def main() -> int:
    """Import each file once and print one line per file; 1 when a bound is exceeded."""
    os.environ["CALANGO_HOME"] = tempfile.mkdtemp(prefix="calango-bench-")
    os.environ.pop("CALANGO_MODE", None)
    from flask_migrate import upgrade

    from calango import create_app
    from calango.services.config_io import ConfigImportError, import_config

    app = create_app()
    worst = 0
    with app.app_context():
        upgrade()
        for name, text in _files().items():
            tracemalloc.start()
            started, cpu = time.perf_counter(), time.process_time()
            try:
                outcome = f"imported {len(import_config(text, environ={}).created)}"
            except ConfigImportError as exc:
                outcome = "refused: " + exc.message[:60]
            elapsed = time.perf_counter() - started
            cpu = time.process_time() - cpu
            peak = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
            over = elapsed > LIMIT_SECONDS or peak > LIMIT_MIB
            worst = max(worst, int(over))
            flag = "  OVER" if over else ""
            print(
                f"{name:30} {elapsed:6.3f} s wall {cpu:6.3f} s CPU {peak:6.1f} MiB  {outcome}{flag}"
            )
    return worst


if __name__ == "__main__":
    sys.exit(main())
