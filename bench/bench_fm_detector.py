"""Benchmark: how well do snippet descriptors detect fidgety movements (FMs), and what would a perfect detector get?

Run: ``.venv/bin/python bench/bench_fm_detector.py --seed 777 [--camera 55 150 --tilt 35 --roll 45 --fm 0.5 1.15
--noise 0.0025 0.007] [--duration 60 90]``.

The synthetic generator records, per frame, whether the fidgety stream is on (``fm`` in each infant's truth
file). This bench generates a cohort (16 normal infants, 4 per abnormal phenotype; 3-D model) and prints:

1. **The ceiling of the paper's rule**: a *perfect* FM detector (a snippet is abnormal when the truth has FMs in
   fewer than 25 % / 50 % of its frames; an infant abnormal unless more than 60 % of its snippets are normal):
   infants right per phenotype. Whatever a model does, this is what detecting the stream alone can reach.
2. **Each descriptor as an FM detector** (no model, no threshold): the AUC of FM-present (≥ 50 % of frames)
   against FM-free (< 10 %) snippets *within normal infants* (does it see the stream?), of FM-present normal
   snippets against absent-FM snippets (does it see it across infants?), and per abnormal phenotype the infant
   AUC of the 40th percentile of the descriptor over an infant's snippets against normal infants (the verdict
   counts snippets: an infant is abnormal when ≥ 40 % of them are). Values > 0.5 mean higher in normal movement;
   < 0.5 the other way (a two-sided model can use both).

Descriptors: those of :mod:`gmdesk.pipeline.fidgety` on noise-suppressed points, and the circularity of the hands'
and feet's small paths (|signed area| over squared speed in 1-s windows after a 0.5-s Savitzky–Golay filter:
FMs are "small, circular" movements, Prechtl et al. 1997; curvature is lower without them, Kanemaru et al. 2017)
with its unsigned turning (median over windows, all end effectors), and the two descriptors ``fidgety-findings``
adds (:func:`~gmdesk.pipeline.fidgety.fidgety_findings_descriptors`: the stillest limb's fidgety level and the
circularity of the limbs' paths, 75th percentile over windows).
Not used by any test; seeds 101/777/778 are the tuning cohorts of issue #19.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from gmdesk.constants import DEFAULT_OVERLAP, WINDOW
from gmdesk.io.skeletons import load_skeleton
from gmdesk.learning.classifiers import make_classifier
from gmdesk.pipeline.body_frame import body_points
from gmdesk.pipeline.cohort import cohort_features, cut_cohort, read_cohort
from gmdesk.pipeline.features import feature_layout
from gmdesk.pipeline.fidgety import (
    FIDGETY_FINDINGS_NAMES,
    FIDGETY_NAMES,
    descriptor_columns,
    fidgety_findings_descriptors,
    suppress_detector_noise,
    window_turning,
)
from gmdesk.synthetic.cohorts import generate_cohort
from gmdesk.synthetic.settings import SynthSettings

ABNORMAL = ("absent-fm", "sporadic-fm", "abnormal-fm", "cramped-synchronised")
THRESHOLD = 0.6


def circularity(p: np.ndarray, fps: float) -> dict[str, np.ndarray]:
    """Median over 1-s windows of the net and the total turning of the paths (:func:`~gmdesk.pipeline.fidgety.
    window_turning`: circular paths high, back-and-forth and straight paths low; turning regardless of sense),
    mean over the points ``p`` ``(n, T, L, 2)``."""
    net, total = window_turning(p, fps)
    return {"circularity": np.median(net, axis=1).mean(axis=1), "turning": np.median(total, axis=1).mean(axis=1)}


def _auc(positive: np.ndarray, negative: np.ndarray) -> float:
    if not len(positive) or not len(negative):
        return float("nan")
    return float(roc_auc_score(np.r_[np.ones(len(positive)), np.zeros(len(negative))], np.r_[positive, negative]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=777)
    ap.add_argument("--duration", type=float, nargs=2, default=(60.0, 90.0))
    ap.add_argument("--camera", type=float, nargs=2, default=None, help="camera distance range (cm)")
    ap.add_argument("--tilt", type=float, default=None)
    ap.add_argument("--roll", type=float, default=None)
    ap.add_argument("--fm", type=float, nargs=2, default=None, help="fidgety-movement amplitude range")
    ap.add_argument("--noise", type=float, nargs=2, default=None, help="detector white noise (share of body length)")
    ap.add_argument("--out", type=Path, default=None, help="folder for the cohort (default: a temporary one)")
    args = ap.parse_args()
    kw: dict = {"duration_s": tuple(args.duration)}
    for name, value in (("camera_distance_cm", args.camera), ("tilt_deg", args.tilt), ("roll_deg", args.roll),
                        ("fm_amplitude", args.fm), ("noise_body", args.noise)):
        if value is not None:
            kw[name] = tuple(value) if isinstance(value, list) else value
    settings = SynthSettings(**kw)
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        t0 = time.perf_counter()
        table = generate_cohort(out, 16, 16, 0, 0, args.seed, settings,
                                phenotypes=",".join(f"{p}=4" for p in ABNORMAL))
        entries = read_cohort(table)
        sk = load_skeleton()
        snips = cut_cohort(cohort_features(entries, sk, "both", normalisation="body"), sk, WINDOW, DEFAULT_OVERLAP)
        phen = {e.infant_id: e.phenotype for e in entries}
        fm_on = {e.infant_id: np.load(out / f"{e.infant_id}.truth.npz")["fm"].astype(float) for e in entries}
        print(f"seed {args.seed}, {len(entries)} infants, {len(snips)} snippets ({time.perf_counter() - t0:.0f} s); "
              f"settings {kw}")
    ids = snips.infant_id
    infants = list(dict.fromkeys(ids.tolist()))
    ph = np.array([phen[i] for i in ids])
    iph = np.array([phen[i] for i in infants])
    share = np.array([fm_on[i][int(s):int(s) + snips.X.shape[1]].mean() for i, s in zip(ids, snips.start, strict=True)])

    print("\n1. a perfect FM detector under the paper's rule: infants right per phenotype")
    for cut in (0.25, 0.5):
        right: dict[str, list[int]] = {}
        for i in infants:
            abnormal = np.mean(share[ids == i] >= cut) <= THRESHOLD
            right.setdefault(phen[i], []).append(int(abnormal == (phen[i] != "normal-fm")))
        print(f"   snippet abnormal when FMs in < {cut:.0%} of its frames: "
              + ", ".join(f"{k} {sum(v)}/{len(v)}" for k, v in sorted(right.items())))

    layout = make_classifier("fidgety-core", sk, feature_layout(sk, "both", "body")).descriptor_layout()
    ee = list(layout.end_effectors)
    raw = body_points(snips.X, layout.coord_columns)
    cols = descriptor_columns(suppress_detector_noise(raw, layout.fps), layout, FIDGETY_NAMES)
    cols |= circularity(suppress_detector_noise(raw, layout.fps, 0.5)[:, :, ee], layout.fps)
    findings = fidgety_findings_descriptors(snips.X, layout)
    cols |= {f"{name} (findings)": findings[:, j] for j, name in enumerate(FIDGETY_FINDINGS_NAMES)
             if name in ("limb_fm_level", "small_path_circularity")}
    normal = ph == "normal-fm"
    present, free = normal & (share >= 0.5), normal & (share < 0.1)
    print("\n2. descriptors as FM detectors (AUC; > 0.5: higher in normal movement)")
    print(f"   {'descriptor':34s} {'within normal':>13s} {'normal vs absent':>16s}   infants (40th pct): "
          + "  ".join(a[:8] for a in ABNORMAL))
    for name, v in cols.items():
        q40 = np.array([np.percentile(v[ids == i], 40) for i in infants])
        per = [_auc(q40[iph == "normal-fm"], q40[iph == a]) for a in ABNORMAL]
        print(f"   {name:34s} {_auc(v[present], v[free]):13.2f} {_auc(v[present], v[ph == 'absent-fm']):16.2f}   "
              + "  ".join(f"{x:8.2f}" for x in per))


if __name__ == "__main__":
    main()
