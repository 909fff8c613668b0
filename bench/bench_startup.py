"""Benchmark: start-up of the command line and of the desktop window, in fresh processes.

Run: ``.venv/bin/python bench/bench_startup.py [--repeats 10] [--root CHECKOUT]``. Prints median and best wall
time of ``python -m gmdesk --help`` and of a process that builds the main window, shows it (offscreen) and
quits. ``--root`` measures another checkout of gmdesk with this interpreter (to compare before/after a change).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

WINDOW = ("import time; t0 = time.perf_counter(); from PySide6 import QtWidgets; from app.window import MainWindow; "
          "a = QtWidgets.QApplication([]); w = MainWindow(); w.show(); a.processEvents(); "
          "print(time.perf_counter() - t0); w.close()")


def timed(argv: list[str], env: dict[str, str], repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True, env=env)
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1])
    args = ap.parse_args()
    env = dict(os.environ, PYTHONPATH=str(args.root.resolve()), QT_QPA_PLATFORM="offscreen")
    for name, argv in (("gmdesk --help", [sys.executable, "-m", "gmdesk", "--help"]),
                       ("window shown", [sys.executable, "-c", WINDOW])):
        t = timed(argv, env, args.repeats)
        print(f"{name:<14}: median {statistics.median(t):.3f} s, best {min(t):.3f} s ({args.repeats} runs, {args.root})")


if __name__ == "__main__":
    main()
