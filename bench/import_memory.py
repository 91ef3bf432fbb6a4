"""Peak memory of the ChatGPT import, then of the full export: a generated conversations.json
of ``--mb`` megabytes imported by ``flask calango import-chatgpt`` in a child process, then
``flask calango export-all``, each child's peak RSS read from the kernel (``ru_maxrss``).
For comparison, the peak RSS of ``json.load`` on the same file (what a non-streaming importer
would need at least).

    .venv/bin/python -m bench.import_memory --mb 200
    .venv/bin/python -m bench.import_memory --mb 20 --db postgresql

Goal: the import's peak RSS does not grow with the file (bounded by the largest conversation):
its peak minus the peak of the same command's ``--help`` (the app and its SDKs loaded, nothing
imported) stays under ``--max-extra-mb`` (default 100). Exit 1 when missed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import PYTHON, ROOT
from tests.fakes.chatgpt_export import write_big_export

TURNS = 20
TEXT = 1000  # characters per message; ~25 kB per conversation in JSON


def generate(path: Path, megabytes: int) -> int:
    """Write a conversations.json of about ``megabytes`` MB; returns the conversations."""
    per_conversation = 25_700
    conversations = max(1, megabytes * 1024 * 1024 // per_conversation)
    with path.open("w", encoding="utf-8") as handle:
        write_big_export(handle, conversations, TURNS, TEXT)
    return conversations


def child_peak_rss(args: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """Run a child; return (peak RSS in MB, seconds, exit status)."""
    started = time.perf_counter()
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    out = proc.stdout.read().decode() if proc.stdout else ""
    err = proc.stderr.read().decode() if proc.stderr else ""
    code = os.waitstatus_to_exitcode(status)
    if code:
        print(out, err[-2000:], sep="\n", file=sys.stderr)
    return usage.ru_maxrss / 1024, elapsed, code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=200, help="size of the generated file")
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--max-extra-mb", type=float, default=100.0)
    parser.add_argument("--skip-json-load", action="store_true")
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="calango-bench-import-") as tmp:
        home = Path(tmp)
        export = home / "conversations.json"
        conversations = generate(export, options.mb)
        size = export.stat().st_size / 1024 / 1024
        env = {**os.environ, "CALANGO_HOME": str(home), "FLASK_APP": "wsgi.py"}
        database = None
        if options.db == "postgresql":
            import psycopg2

            admin = os.environ.get(
                "CALANGO_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres"
            )
            database = f"calango_bench_import_{os.getpid()}"
            conn = psycopg2.connect(admin)
            conn.autocommit = True
            conn.cursor().execute(f'CREATE DATABASE "{database}"')
            conn.close()
            env.update(
                CALANGO_MODE="SERVER",
                DATABASE_URL=admin.rsplit("/", 1)[0] + "/" + database,
                SECRET_KEY="bench-secret-key-bench-secret-key",
                CALANGO_ENCRYPTION_KEY="a" * 43 + "=",
            )
        try:
            flask = [PYTHON, "-m", "flask"]
            subprocess.run(
                [*flask, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True
            )
            command = [*flask, "calango", "import-chatgpt"]
            base_rss, _s, _c = child_peak_rss([*command, "--help"], env)
            rss, seconds, code = child_peak_rss(
                [*flask, "calango", "import-chatgpt", str(export)], env
            )
            print(
                f"file: {size:.0f} MB, {conversations:,} conversations, "
                f"{conversations * TURNS:,} messages ({options.db})"
            )
            print(f"app loaded (import-chatgpt --help): peak RSS {base_rss:.0f} MB")
            print(
                f"import-chatgpt: peak RSS {rss:.0f} MB (+{rss - base_rss:.0f} MB), "
                f"{seconds:.1f} s, exit {code}"
            )
            # Then everything back out: the full export is streamed too.
            out = home / "export.json"
            export_rss, export_seconds, export_code = child_peak_rss(
                [*flask, "calango", "export-all", str(out)], env
            )
            print(
                f"export-all: {out.stat().st_size / 1024 / 1024:.0f} MB written, peak RSS "
                f"{export_rss:.0f} MB (+{export_rss - base_rss:.0f} MB), {export_seconds:.1f} s, "
                f"exit {export_code}"
            )
            code = code or export_code
            rss = max(rss, export_rss)
            if not options.skip_json_load:
                load = [PYTHON, "-c", f"import json; json.load(open({str(export)!r}))"]
                load_rss, load_seconds, _ = child_peak_rss(load, env)
                print(
                    f"json.load (for comparison): peak RSS {load_rss:.0f} MB, {load_seconds:.1f} s"
                )
        finally:
            if database:
                conn = psycopg2.connect(admin)
                conn.autocommit = True
                conn.cursor().execute(f'DROP DATABASE IF EXISTS "{database}"')
                conn.close()
    if code or rss - base_rss > options.max_extra_mb:
        print(f"GOAL MISSED: the import may add at most {options.max_extra_mb:.0f} MB")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
