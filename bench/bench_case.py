"""Benchmark: 10,000 single-point edits on a case file, then the time to open it (replay).

Run: ``.venv/bin/python bench/bench_case.py [--edits 10000]``. Each edit is its own durable
transaction (WAL, synchronous=FULL), as in the application.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from gmdesk.io.skeletons import load_skeleton
from gmdesk.record.case import create_case, open_case
from gmdesk.synthetic.cohorts import make_infant


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--edits", type=int, default=10_000)
    ap.add_argument("--dir", default=None, help="folder for the case file (default: a temporary folder)")
    args = ap.parse_args()
    sk = load_skeleton()
    inf = make_infant("B", 0, [9, 9], skeleton=sk, n_frames=5394)
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 5394, args.edits)
    lms = rng.integers(0, sk.n_landmarks, args.edits)
    with tempfile.TemporaryDirectory(dir=args.dir) as d:
        path = Path(d) / "bench.gmcase"
        t0 = time.perf_counter()
        case = create_case(path, inf.track)
        case.clean(sk)
        t1 = time.perf_counter()
        lat = np.empty(args.edits)
        for k in range(args.edits):
            a = time.perf_counter()
            case.move(int(frames[k]), sk.landmarks[lms[k]], float(k), float(k))
            lat[k] = time.perf_counter() - a
        t2 = time.perf_counter()
        case.close()
        size = path.stat().st_size + sum(p.stat().st_size for p in Path(d).glob("bench.gmcase-*"))
        opens = []
        for _ in range(3):
            a = time.perf_counter()
            c = open_case(path)
            c.current_track()
            opens.append(time.perf_counter() - a)
            c.close()
    print(f"case: 5394 frames x 24 landmarks; create + clean {t1 - t0:.2f} s; file {size / 1e6:.1f} MB after edits")
    print(f"{args.edits} single-point edits: {args.edits / (t2 - t1):.0f} edits/s "
          f"(latency p50 {np.median(lat) * 1e3:.2f} ms, p95 {np.percentile(lat, 95) * 1e3:.2f} ms, "
          f"max {lat.max() * 1e3:.1f} ms)")
    print(f"open + replay {args.edits} edits: median {np.median(opens) * 1e3:.0f} ms (best {min(opens) * 1e3:.0f} ms)")


if __name__ == "__main__":
    main()
