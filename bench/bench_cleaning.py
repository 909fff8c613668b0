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


@dataclasses.dataclass
class Tally:
    """What the benchmark counts over the infants."""

    clean_removed: int = 0
    clean_moved: int = 0
    clean_total: int = 0
    lost: int = 0
    total_windows: int = 0
    art_lost: int = 0
    art_windows: int = 0
    short_lost: int = 0
    times: list = dataclasses.field(default_factory=list)
    planted: dict = dataclasses.field(default_factory=dict)
    detected: dict = dataclasses.field(default_factory=dict)
    swap_bins: dict = dataclasses.field(default_factory=lambda: {f"{a}-{b}": [0, 0] for a, b in SWAP_BINS})
    imput_err: list = dataclasses.field(default_factory=list)
    long_err: list = dataclasses.field(default_factory=list)


def _add(counts: dict, name: str, hit: np.ndarray, sel: np.ndarray) -> None:
    got = counts.setdefault(name, [0, 0])
    got[0] += int((sel & hit).sum())
    got[1] += int(sel.sum())


def score_ground_truth(gt, sk, tally: Tally) -> None:
    """A recording without planted artefacts: how much correct movement the cleaning removes or moves."""
    cleaned, rep = clean_track(gt.track, sk)
    ok = np.isfinite(gt.track.xy).all(-1)
    removed = rep.removed_status == PointStatus.OUTLIER
    far = np.linalg.norm(cleaned.xy - gt.truth_xy, axis=-1) > TOL_PX
    tally.clean_total += int(ok.sum())
    tally.clean_removed += int((removed & ok).sum())
    tally.clean_moved += int((far & ok).sum())  # NaN compares False: removed-and-missing counts as removed
    lo, n = windows_lost(cleaned.xy)
    tally.lost, tally.total_windows = tally.lost + lo, tally.total_windows + n


def score_swaps(inf, sk, err_in: np.ndarray, repaired: np.ndarray, tally: Tally) -> None:
    """Planted left/right swaps repaired, by the swap's length."""
    for code in (SWAP, SIDE_SWAP):
        for j in range(sk.n_landmarks):
            for a, b in true_runs(inf.artefact[:, j] == code):
                sel = np.zeros(len(inf.artefact), bool)
                sel[a:b] = True
                sel &= err_in[:, j] > TOL_PX
                for lo_, hi_ in SWAP_BINS:
                    if lo_ <= b - a <= hi_:
                        got = tally.swap_bins[f"{lo_}-{hi_}"]
                        got[0] += int((sel & repaired[:, j]).sum())
                        got[1] += int(sel.sum())


def score_artefacts(inf, sk, tally: Tally) -> None:
    """A recording with planted artefacts: repaired, caught, imputation error, windows kept."""
    t0 = time.perf_counter()
    cleaned, rep = clean_track(inf.track, sk)
    tally.times.append(time.perf_counter() - t0)
    err_in = np.linalg.norm(inf.track.xy - inf.truth_xy, axis=-1)
    err_out = np.linalg.norm(cleaned.xy - inf.truth_xy, axis=-1)
    repaired = ~np.isfinite(err_out) | (err_out <= TOL_PX)
    caught = rep.removed_status != PointStatus.OBSERVED
    for code, name in ARTEFACT_NAMES.items():
        if code in (0, NOISE_ONLY):
            continue
        wrong = err_in > TOL_PX
        sel = (inf.artefact == code) & (wrong if code != DROPOUT else True)
        if sel.any():
            _add(tally.planted, name, repaired, sel)
        if code != DROPOUT and (sel & wrong).any():
            _add(tally.detected, name, caught, sel & wrong)
    score_swaps(inf, sk, err_in, repaired, tally)
    tally.imput_err.append(err_out[cleaned.status == PointStatus.IMPUTED])
    for name, a, b in rep.long_fills:
        tally.long_err.append(err_out[a:b, sk.index(name)])
    lo, n = windows_lost(cleaned.xy)
    tally.art_lost, tally.art_windows = tally.art_lost + lo, tally.art_windows + n
    short, _ = clean_track(inf.track, sk, dataclasses.replace(CleaningSettings(), max_gap_distal=30))
    tally.short_lost += windows_lost(short.xy)[0]


def print_report(t: Tally) -> None:
    print("\nclean ground truth (noise only):")
    print(f"  correct points removed:          {t.clean_removed:7d} of {t.clean_total} "
          f"({100 * t.clean_removed / t.clean_total:.3f} %)")
    print(f"  correct points > {TOL_PX:.0f} px from truth: {t.clean_moved:7d} of {t.clean_total} "
          f"({100 * t.clean_moved / t.clean_total:.3f} %)")
    print(f"  windows lost (300 frames, overlap 150): {t.lost} of {t.total_windows}")
    print("\nplanted artefacts: points repaired (removed, or within 15 px of truth after imputation/repair)")
    tot_ok = tot = 0
    for name, (a, b) in t.planted.items():
        tot_ok, tot = tot_ok + a, tot + b
        print(f"  {name:>16}: {a:7d} of {b:7d} ({100 * a / max(b, 1):5.1f} %)")
    print(f"  {'overall':>16}: {tot_ok:7d} of {tot:7d} ({100 * tot_ok / max(tot, 1):5.1f} %)")
    for k, (a, b) in t.swap_bins.items():
        print(f"  swaps {k:>6} frames: {a:7d} of {b:7d} ({100 * a / max(b, 1):5.1f} %)")
    print("\nplanted artefacts caught (removed or swapped back; before imputation):")
    for name, (a, b) in t.detected.items():
        print(f"  {name:>16}: {a:7d} of {b:7d} ({100 * a / max(b, 1):5.1f} %)")
    err = np.concatenate(t.imput_err) if t.imput_err else np.zeros(0)
    err = err[np.isfinite(err)]
    if err.size:
        print(f"\nmakima error vs truth: median {np.median(err):.2f} px, p95 {np.percentile(err, 95):.2f} px "
              f"({err.size} imputed points)")
    print(f"windows kept with artefacts: {t.art_windows - t.art_lost} of {t.art_windows} "
          f"(hand/foot gaps filled only up to 30 frames: {t.art_windows - t.short_lost})")
    if t.long_err:
        le = np.concatenate(t.long_err)
        print(f"hand/foot gaps of 31-60 frames filled in the parent's frame: {len(t.long_err)} runs, error median "
              f"{np.median(le):.1f} px, p95 {np.percentile(le, 95):.1f} px")


def skeleton_cut(choice: str):
    """The skeleton scored on and how an infant24 recording is cut down to it."""
    sk24 = load_skeleton()
    if choice != "14":
        return sk24, lambda inf: inf
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as fh:
        fh.write(SKELETON14)
    sk = load_skeleton(fh.name)
    cols = [sk24.index(n) for n in MAP14]

    def cut(inf):
        t = inf.track.select_landmarks(list(MAP14))
        t.landmarks = sk.landmarks
        return dataclasses.replace(inf, track=t, truth_xy=inf.truth_xy[:, cols], artefact=inf.artefact[:, cols])

    return sk, cut


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
    sk, cut = skeleton_cut(args.skeleton)
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
    tally = Tally()
    for i in range(args.infants):
        seed = [args.seed, i]
        gt = cut(make_infant(f"G{i}", i % 2, seed, dataclasses.replace(base, artefacts=False), sk24, n_frames=args.frames))
        score_ground_truth(gt, sk, tally)
        score_artefacts(cut(make_infant(f"A{i}", i % 2, seed, base, sk24, n_frames=args.frames)), sk, tally)
    print_report(tally)
    print(f"time per {args.frames}-frame recording: median {1000 * statistics.median(tally.times):.0f} ms, "
          f"max {1000 * max(tally.times):.0f} ms")


if __name__ == "__main__":
    main()
