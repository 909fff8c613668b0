"""Benchmark: resampling a recording to the model's 29.97 fps — time, memory and how white the noise stays.

Run: ``.venv/bin/python bench/bench_resample.py [--minutes 10]``.

For 24 landmarks of white detector noise (with a missing point every 500 frames and a 200-px glitch every 1000)
filmed at 25, 30, 50, 59.94 and 120 fps it prints, for the band-limited resampler (:func:`gmdesk.pipeline.
resample.resample_track`) and for linear interpolation: seconds, the share of points resampled band-limited,
and the noise's density in the fidgety band (1-3 Hz) over its density in 5-12 Hz (white: 1; the fidgety
descriptors subtract the noise assuming 1).
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np
from scipy.signal import welch

from gmdesk.constants import DEFAULT_FPS
from gmdesk.core.posetrack import PoseTrack
from gmdesk.pipeline.resample import resample_track


def linear(track: PoseTrack, fps: float) -> np.ndarray:
    """Positions by linear interpolation between the two nearest frames (the resampler before band-limiting)."""
    pos = np.arange(int((track.n_frames - 1) * fps / track.fps) + 1) * (track.fps / fps)
    i0 = np.minimum(np.floor(pos).astype(int), track.n_frames - 1)
    i1 = np.minimum(i0 + 1, track.n_frames - 1)
    w = (pos - i0)[:, None, None]
    return (1 - w) * track.xy[i0] + w * track.xy[i1]


def ratio(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    f, p = welch(x, fs=DEFAULT_FPS, nperseg=512)
    return float(p[(f >= 1) & (f <= 3)].mean() / p[(f >= 5) & (f <= 12)].mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    print(f"{'fps':>7} {'frames':>8} {'band-limited s':>15} {'MB':>6} {'share':>6} {'ratio':>6} {'linear s':>9} {'ratio':>6}")
    for fps in (25.0, 30.0, 50.0, 59.94, 120.0):
        n = int(fps * 60 * args.minutes)
        xy = 300 + 2.0 * rng.standard_normal((n, 24, 2))
        xy[::500, 3] = np.nan
        xy[250::1000, 5] += 200.0
        track = PoseTrack(xy, np.ones((n, 24)), np.zeros((n, 24), dtype=np.uint8), fps, [f"p{j}" for j in range(24)],
                          [], {})
        tracemalloc.start()
        t0 = time.perf_counter()
        out = resample_track(track, DEFAULT_FPS)
        dt = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        t0 = time.perf_counter()
        lin = linear(track, DEFAULT_FPS)
        dl = time.perf_counter() - t0
        share = out.provenance[-1]["summary"]["band_limited_share"]
        print(f"{fps:7.2f} {n:8d} {dt:15.2f} {peak:6.0f} {share:6.3f} {ratio(out.xy[:, 0, 0]):6.2f} {dl:9.2f} "
              f"{ratio(lin[:, 0, 0]):6.2f}")


if __name__ == "__main__":
    main()
