"""Benchmark: cost of each descriptor set, and what the per-snippet descriptor cache saves in cross-validation.

Run: ``.venv/bin/python bench/bench_descriptors.py [--infants 6] [--duration 50] [--arch movement]``.

A small synthetic cohort (``--infants`` normal and as many abnormal, ``--duration`` seconds each, 2-D model,
``both`` features, ``body`` normalisation) is cut into 300-frame snippets. Printed: seconds per 100 snippets
for every descriptor set (uncached), then the seconds of a 5-fold infant-grouped cross-validation of
``--arch`` with the cache off and on, their ratio, and the cache's hits and misses.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from gmdesk.evaluation.protocol import cross_validate
from gmdesk.io.skeletons import load_skeleton
from gmdesk.learning import descriptors
from gmdesk.learning.classifiers import make_classifier
from gmdesk.pipeline.cohort import cohort_features, cut_cohort, read_cohort
from gmdesk.pipeline.descriptor_sets import DESCRIPTOR_SETS, compute_descriptors
from gmdesk.pipeline.features import feature_layout
from gmdesk.synthetic.cohorts import generate_cohort
from gmdesk.synthetic.settings import SynthSettings


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--infants", type=int, default=6, help="normal infants (as many abnormal)")
    ap.add_argument("--duration", type=float, default=50.0, help="seconds per infant")
    ap.add_argument("--arch", default="movement", help="descriptor family for the cross-validation")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    sk = load_skeleton()
    with tempfile.TemporaryDirectory() as tmp:
        table = generate_cohort(Path(tmp), args.infants, args.infants, 0, 0, seed=args.seed,
                                settings=SynthSettings(duration_s=(args.duration, args.duration), model="2d"))
        recs = cohort_features(read_cohort(table), sk, "both", normalisation="body")
    snips = cut_cohort(recs, sk, 300, 150)
    layout = feature_layout(sk, "both", "body")
    clf = make_classifier(args.arch, sk, layout, seed=args.seed)
    lay = clf.descriptor_layout()
    print(f"cohort: {len(snips)} snippets of {2 * args.infants} infants")
    print(f"{'descriptor set':<14} {'columns':>8} {'s / 100 snippets':>17}")
    for name in DESCRIPTOR_SETS:
        t0 = time.perf_counter()
        D = compute_descriptors(name, snips.X, lay)
        per100 = (time.perf_counter() - t0) / len(snips) * 100
        print(f"{name:<14} {D.shape[1]:>8} {per100:>17.3f}")
    timings = {}
    for label, max_bytes in (("off", 0), ("on", 256 * 2**20)):
        descriptors.DESCRIPTOR_CACHE.clear()
        descriptors.DESCRIPTOR_CACHE.max_bytes = max_bytes
        t0 = time.perf_counter()
        res = cross_validate(snips, clf, "infant", n_splits=5)
        timings[label] = time.perf_counter() - t0
        c = descriptors.DESCRIPTOR_CACHE
        print(f"5-fold grouped CV of {args.arch}, cache {label}: {timings[label]:.2f} s "
              f"(hits {c.hits}, misses {c.misses}); out-of-fold snippet AUC {_auc(snips.label, res.oof_scores):.2f}")
    print(f"cache speed-up: {timings['off'] / timings['on']:.2f}x")


def _auc(y: np.ndarray, p: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, p)) if len(np.unique(y)) == 2 else float("nan")


if __name__ == "__main__":
    main()
