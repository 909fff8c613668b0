"""Benchmark: how long ``gmdesk --help`` takes (the command line must answer at once: lazy imports).

Run: ``.venv/bin/python bench/bench_cli.py [--repeats 10]``. Prints the median and best wall time of
``python -m gmdesk --help`` and of ``gmdesk clean --help`` in fresh processes (target: under 0.5 s).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=10)
    args = ap.parse_args()
    for argv in (["--help"], ["clean", "--help"]):
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "gmdesk", *argv], check=True, capture_output=True)
            times.append(time.perf_counter() - t0)
        print(f"gmdesk {' '.join(argv):<14}: median {statistics.median(times):.3f} s, best {min(times):.3f} s "
              f"({args.repeats} runs)")


if __name__ == "__main__":
    main()
