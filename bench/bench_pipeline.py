"""Benchmark: clean + features + snippets for one 3-min recording (5394 frames, 24 landmarks).

Run: ``.venv/bin/python bench/bench_pipeline.py [--repeats 5]``. Prints median and best wall
times per step (synthetic recording with DLC-like artefacts, seed fixed).
"""

from __future__ import annotations

import argparse
import statistics
import time

from gmdesk.io.skeletons import load_skeleton
from gmdesk.pipeline.cleaning import clean_track
from gmdesk.pipeline.features import compute_features
from gmdesk.pipeline.snippets import cut_snippets
from gmdesk.synthetic.cohorts import make_infant


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--frames", type=int, default=5394)
    args = ap.parse_args()
    sk = load_skeleton()
    inf = make_infant("B1", 1, [2024, 1], skeleton=sk, n_frames=args.frames)
    times: dict[str, list[float]] = {"clean": [], "features": [], "snippets": [], "total": []}
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        cleaned, rep = clean_track(inf.track, sk)
        t1 = time.perf_counter()
        feats, layout = compute_features(cleaned, sk, "both")
        t2 = time.perf_counter()
        snips = cut_snippets(feats, layout, cleaned, "B1", 1, overlap=150)
        t3 = time.perf_counter()
        for k, v in zip(times, (t1 - t0, t2 - t1, t3 - t2, t3 - t0), strict=True):
            v and times[k].append(v)
    print(f"recording: {inf.track.n_frames} frames x {inf.track.n_landmarks} landmarks; "
          f"{len(snips)} snippets kept, {len(snips.dropped)} dropped; imputed {rep.imputed} points")
    for k, v in times.items():
        print(f"{k:>9}: median {statistics.median(v) * 1000:8.1f} ms   best {min(v) * 1000:8.1f} ms   ({len(v)} runs)")


if __name__ == "__main__":
    main()
