"""The Markdown renderer on a typical answer (a paragraph with a bare link and inline code, a
table, a highlighted code block): milliseconds per message, best of several rounds.

Rendering runs once per finished message (its HTML is stored, calango.services.message_html)
and again for every stored row when ``RENDER_VERSION`` changes. No goal: a number to compare
two versions of ``calango/rendering.py`` on the same machine (run both, alternately).

    .venv/bin/python -m bench.render [--rounds 10] [--per-round 50]
"""

from __future__ import annotations

import argparse
import os
import time

SAMPLE = (
    "Some *text* with `code` and a link https://example.com/docs\n\n"
    "| model | input | output |\n|---|---|---|\n| a | $1.00 | $2.00 |\n\n"
    "```python\ndef f(x: int) -> int:\n    return x * 2\n```\n"
)


def main(argv: list[str] | None = None) -> int:
    """Print the best per-message time over the rounds, and the load average."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--per-round", type=int, default=50)
    args = parser.parse_args(argv)
    from calango.rendering import render_markdown

    render_markdown(SAMPLE)  # builds the parser, imports the lexer
    best = float("inf")
    for _ in range(args.rounds):
        start = time.perf_counter()
        for _ in range(args.per_round):
            render_markdown(SAMPLE)
        best = min(best, (time.perf_counter() - start) / args.per_round * 1000)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"render_markdown: {best:.2f} ms per message (best of {args.rounds}), load {load}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
