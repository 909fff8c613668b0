"""Benchmark: cleaning against planted ground truth on 3-D synthetic infants (issue #11).

Run: ``.venv/bin/python bench/bench_cleaning.py [--infants 8] [--frames 5400] [--seed 2026]``.

For each recording it generates a 3-D infant (camera distance, tilt, roll and aim vary) twice from the
same seed: once with detector noise only (clean ground truth) and once with every planted artefact kind.
It prints, per artefact kind:

* on clean ground truth: correct points the cleaner removed, and correct points that end more than
  15 px from the truth (must both be ≤ 0.5 %), and 300-frame windows lost (must be 0);
* with artefacts: planted points (those the artefact put more than 15 px from the truth) that are
  repaired — removed, or within 15 px of the truth after imputation or swap repair — per kind, and
  for swaps per length (3–10, 11–30, 31–90 frames);
* the makima error of imputed points against the truth, windows kept, and the time to clean one
  recording.

Use a seed the tests never use (default 2026) and ``--camera close`` (30–60 % closer, tilted up to
35°) to check that figures hold on another camera.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import subprocess
import time
from pathlib import Path

import numpy as np

from gmdesk.core.posetrack import PointStatus
from gmdesk.io.skeletons import load_skeleton
from gmdesk.pipeline.cleaning import clean_track
from gmdesk.pipeline.cleaning_settings import CleaningSettings
from gmdesk.pipeline.snippets import snippet_starts
from gmdesk.synthetic.artefacts import ARTEFACT_NAMES, DROPOUT, NOISE_ONLY, SIDE_SWAP, SWAP
from gmdesk.synthetic.cohorts import make_infant
from gmdesk.synthetic.settings import SynthSettings

TOL_PX = 15.0
#: A 14-joint skeleton (origin at the neck, hips hung on the neck, no hands, feet or face points), as
#: other sites label infants; ``--skeleton 14`` scores cleaning on the infant24 recordings cut down to it.
SKELETON14 = """
name = "joints14"
origin = "neck"
landmarks = ["head", "neck", "l_sho", "r_sho", "l_elb", "r_elb", "l_wri", "r_wri",
             "l_hip", "r_hip", "l_kne", "r_kne", "l_ank", "r_ank"]
edges = [["head", "neck"], ["neck", "l_sho"], ["neck", "r_sho"], ["l_sho", "l_elb"], ["l_elb", "l_wri"],
         ["r_sho", "r_elb"], ["r_elb", "r_wri"], ["neck", "l_hip"], ["neck", "r_hip"], ["l_hip", "l_kne"],
         ["l_kne", "l_ank"], ["r_hip", "r_kne"], ["r_kne", "r_ank"]]
mirror_pairs = [["l_sho", "r_sho"], ["l_elb", "r_elb"], ["l_wri", "r_wri"], ["l_hip", "r_hip"],
                ["l_kne", "r_kne"], ["l_ank", "r_ank"]]
"""
MAP14 = ["head_top", "sternum", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist",
         "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle"]
SWAP_BINS = ((3, 10), (11, 30), (31, 90))


def true_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1), strict=True))


def windows_lost(xy: np.ndarray, window: int = 300, overlap: int = 150) -> tuple[int, int]:
    """(windows with any missing value, windows) at the default snippet settings."""
    starts = snippet_starts(len(xy), window, overlap)
    bad = np.isnan(xy).any(axis=(1, 2))
    c = np.concatenate([[0], np.cumsum(bad)])
    return int(((c[starts + window] - c[starts]) > 0).sum()), len(starts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--infants", type=int, default=8)
    ap.add_argument("--frames", type=int, default=5400)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--camera", choices=("default", "close"), default="default")
    ap.add_argument("--skeleton", choices=("24", "14"), default="24",
                    help="score on infant24, or on the recordings cut down to a 14-joint skeleton")
    args = ap.parse_args()
    sk24 = load_skeleton()
    sk = sk24
    if args.skeleton == "14":
        import tempfile

        with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as fh:
            fh.write(SKELETON14)
        sk = load_skeleton(fh.name)
        cols = [sk24.index(n) for n in MAP14]

        def cut(inf):
            t = inf.track.select_landmarks(list(MAP14))
            t.landmarks = sk.landmarks
            return dataclasses.replace(inf, track=t, truth_xy=inf.truth_xy[:, cols], artefact=inf.artefact[:, cols])
    else:
        def cut(inf):
            return inf
    base = SynthSettings(model="3d")
    if args.camera == "close":
        base = dataclasses.replace(base, camera_distance_cm=(55.0, 85.0), tilt_deg=35.0, roll_deg=45.0)
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                cwd=Path(__file__).parent, check=False).stdout.strip()
    except OSError:
        commit = "?"
    print(f"cleaning benchmark: {args.infants} 3-D infants x {args.frames} frames, seed {args.seed}, "
          f"camera {args.camera}, skeleton {sk.name}, commit {commit}")
    clean_removed = clean_moved = clean_total = 0
    lost = total_windows = 0
    planted: dict[str, list[int]] = {}
    swap_bins: dict[str, list[int]] = {f"{a}-{b}": [0, 0] for a, b in SWAP_BINS}
    imput_err: list[np.ndarray] = []
    times: list[float] = []
    art_lost = art_windows = short_lost = 0
    detected: dict[str, list[int]] = {}
    long_err: list[np.ndarray] = []
    for i in range(args.infants):
        seed = [args.seed, i]
        gt = cut(make_infant(f"G{i}", i % 2, seed, dataclasses.replace(base, artefacts=False), sk24, n_frames=args.frames))
        cleaned, rep = clean_track(gt.track, sk)
        truth = gt.truth_xy
        ok = np.isfinite(gt.track.xy).all(-1)
        removed = rep.removed_status == PointStatus.OUTLIER
        far = np.linalg.norm(cleaned.xy - truth, axis=-1) > TOL_PX
        clean_total += int(ok.sum())
        clean_removed += int((removed & ok).sum())
        clean_moved += int((far & ok).sum())  # NaN compares False: removed-and-missing counts as removed
        lo, n = windows_lost(cleaned.xy)
        lost, total_windows = lost + lo, total_windows + n
        inf = cut(make_infant(f"A{i}", i % 2, seed, base, sk24, n_frames=args.frames))
        t0 = time.perf_counter()
        cleaned, rep = clean_track(inf.track, sk)
        times.append(time.perf_counter() - t0)
        err_in = np.linalg.norm(inf.track.xy - inf.truth_xy, axis=-1)
        err_out = np.linalg.norm(cleaned.xy - inf.truth_xy, axis=-1)
        repaired = ~np.isfinite(err_out) | (err_out <= TOL_PX)
        for code, name in ARTEFACT_NAMES.items():
            if code == NOISE_ONLY or code == 0:
                continue
            sel = inf.artefact == code
            if code != DROPOUT:
                sel &= err_in > TOL_PX
            if sel.any():
                got = planted.setdefault(name, [0, 0])
                got[0] += int((sel & repaired).sum())
                got[1] += int(sel.sum())
        for code in (SWAP, SIDE_SWAP):
            for j in range(sk.n_landmarks):
                for a, b in true_runs(inf.artefact[:, j] == code):
                    length = b - a
                    sel = np.zeros(len(inf.artefact), bool)
                    sel[a:b] = True
                    sel &= err_in[:, j] > TOL_PX
                    for lo_, hi_ in SWAP_BINS:
                        if lo_ <= length <= hi_:
                            got = swap_bins[f"{lo_}-{hi_}"]
                            got[0] += int((sel & repaired[:, j]).sum())
                            got[1] += int(sel.sum())
        imp = cleaned.status == PointStatus.IMPUTED
        imput_err.append(err_out[imp])
        caught = rep.removed_status != PointStatus.OBSERVED
        for code, name in ARTEFACT_NAMES.items():
            sel = (inf.artefact == code) & (err_in > TOL_PX)
            if code not in (0, NOISE_ONLY, DROPOUT) and sel.any():
                detected.setdefault(name, [0, 0])
                detected[name][0] += int((sel & caught).sum())
                detected[name][1] += int(sel.sum())
        for name, a, b in rep.long_fills:
            j = sk.index(name)
            long_err.append(err_out[a:b, j])
        lo, n = windows_lost(cleaned.xy)
        art_lost, art_windows = art_lost + lo, art_windows + n
        short, _ = clean_track(inf.track, sk, dataclasses.replace(CleaningSettings(), max_gap_distal=30))
        lo, _ = windows_lost(short.xy)
        short_lost += lo
    print("\nclean ground truth (noise only):")
    print(f"  correct points removed:          {clean_removed:7d} of {clean_total} ({100 * clean_removed / clean_total:.3f} %)")
    print(f"  correct points > {TOL_PX:.0f} px from truth: {clean_moved:7d} of {clean_total} "
          f"({100 * clean_moved / clean_total:.3f} %)")
    print(f"  windows lost (300 frames, overlap 150): {lost} of {total_windows}")
    print("\nplanted artefacts: points repaired (removed, or within 15 px of truth after imputation/repair)")
    tot_ok = tot = 0
    for name, (a, b) in planted.items():
        tot_ok, tot = tot_ok + a, tot + b
        print(f"  {name:>16}: {a:7d} of {b:7d} ({100 * a / max(b, 1):5.1f} %)")
    print(f"  {'overall':>16}: {tot_ok:7d} of {tot:7d} ({100 * tot_ok / max(tot, 1):5.1f} %)")
    for k, (a, b) in swap_bins.items():
        print(f"  swaps {k:>6} frames: {a:7d} of {b:7d} ({100 * a / max(b, 1):5.1f} %)")
    print("\nplanted artefacts caught (removed or swapped back; before imputation):")
    for name, (a, b) in detected.items():
        print(f"  {name:>16}: {a:7d} of {b:7d} ({100 * a / max(b, 1):5.1f} %)")
    err = np.concatenate(imput_err) if imput_err else np.zeros(0)
    err = err[np.isfinite(err)]
    if err.size:
        print(f"\nmakima error vs truth: median {np.median(err):.2f} px, p95 {np.percentile(err, 95):.2f} px "
              f"({err.size} imputed points)")
    print(f"windows kept with artefacts: {art_windows - art_lost} of {art_windows} "
          f"(hand/foot gaps filled only up to 30 frames: {art_windows - short_lost})")
    if long_err:
        le = np.concatenate(long_err)
        print(f"hand/foot gaps of 31-60 frames filled in the parent's frame: {len(long_err)} runs, error median "
              f"{np.median(le):.1f} px, p95 {np.percentile(le, 95):.1f} px")
    print(f"time per {args.frames}-frame recording: median {1000 * statistics.median(times):.0f} ms, "
          f"max {1000 * max(times):.0f} ms")


if __name__ == "__main__":
    main()
