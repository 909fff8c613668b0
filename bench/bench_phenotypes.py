"""Benchmark: what the synthetic fidgety-age phenotypes differ in, on OBSERVED tracks (detector noise on).

Run: ``.venv/bin/python bench/bench_phenotypes.py [--n 8] [--seconds 50] [--artefacts] [--model 3d]``.

For ``--n`` infants per phenotype (``--seconds`` long each) it prints per phenotype mean ± sd of the statistics of
:func:`gmdesk.synthetic.checks.movement_stats` (body-length units) and, per statistic, the AUC of normal-fm against
each abnormal phenotype and against all abnormal infants pooled (1 or 0 = that statistic alone separates;
0.5 = no separation). By default only detector noise is planted (``--artefacts`` adds the planted errors too).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from gmdesk.io.skeletons import load_skeleton
from gmdesk.synthetic.checks import auc, movement_stats
from gmdesk.synthetic.cohorts import make_infant
from gmdesk.synthetic.settings import PHENOTYPE_LABEL, PHENOTYPES, SynthSettings

STATS = ("speed", "fm_band", "band_power", "jerk", "sync", "csd", "curvature")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=8, help="infants per phenotype")
    ap.add_argument("--seconds", type=float, default=50.0)
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--model", choices=("3d", "2d"), default="3d")
    ap.add_argument("--artefacts", action="store_true", help="plant the pose-estimator errors too")
    ap.add_argument("--truth", action="store_true", help="statistics of the clean positions instead")
    args = ap.parse_args()
    sk = load_skeleton()
    s = SynthSettings(model=args.model, artefacts=args.artefacts)
    n_frames = int(args.seconds * s.fps)
    t0 = time.time()
    table: dict[str, dict[str, list[float]]] = {}
    for k, p in enumerate(PHENOTYPES):
        rows = table.setdefault(p, {q: [] for q in STATS})
        for i in range(args.n):
            inf = make_infant(f"{p}-{i}", PHENOTYPE_LABEL[p], [args.seed, k, i], s, sk, n_frames, phenotype=p)
            st = movement_stats(inf.truth_xy if args.truth else inf.track.xy, sk, s.fps)
            for q in STATS:
                rows[q].append(st[q])
    what = "clean truth" if args.truth else ("observed, artefacts planted" if args.artefacts else "observed, noise only")
    print(f"{args.n} infants x {len(PHENOTYPES)} phenotypes, {args.seconds:.0f} s each, {args.model} model, {what} "
          f"({time.time() - t0:.0f} s)")
    print("units: body lengths (crown-mid-hip); speed BL/s; curvature 1/BL")
    print(f"{'phenotype':22s}" + "".join(f"{q:>17s}" for q in STATS))
    for p, rows in table.items():
        print(f"{p:22s}" + "".join(f"{np.mean(rows[q]):9.4f}±{np.std(rows[q]):<7.4f}" for q in STATS))
    print("\nAUC normal-fm vs ... (>0.5: higher in the abnormal phenotype)")
    print(f"{'':22s}" + "".join(f"{q:>17s}" for q in STATS))
    normal = table["normal-fm"]
    for p in PHENOTYPES[1:]:
        print(f"{p:22s}" + "".join(f"{auc(normal[q], table[p][q]):17.2f}" for q in STATS))
    pooled = {q: np.concatenate([table[p][q] for p in PHENOTYPES[1:]]) for q in STATS}
    print(f"{'all abnormal':22s}" + "".join(f"{auc(normal[q], pooled[q]):17.2f}" for q in STATS))


if __name__ == "__main__":
    main()
