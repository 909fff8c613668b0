"""Benchmark: the paper's protocol on a 13-infant synthetic cohort (10 internal, 3 external).

For each classifier family and feature set at overlap 150: snippet-level 5-fold CV (the
paper's), infant-grouped 5-fold CV, and external validation on the 3 unseen infants. Prints
the table and wall times and writes ``bench_models.csv``.

Run (hours on 2 CPU cores for LSTM/ViT with 250 epochs)::

    .venv/bin/python bench/bench_models.py --out out/bench_models
    .venv/bin/python bench/bench_models.py --models svm-rbf,cnn1d-2 --epochs 250   # faster subset
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from gmdesk.evaluation.protocol import cross_validate, external_validation, write_table
from gmdesk.io.skeletons import load_skeleton
from gmdesk.learning.classifiers import classifier_for
from gmdesk.pipeline.cohort import cohort_features, cut_cohort, read_cohort
from gmdesk.pipeline.features import feature_layout
from gmdesk.synthetic.cohorts import generate_cohort


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="out/bench_models")
    ap.add_argument("--models", default="svm-rbf,lstm-2,cnn1d-2,vit-2")
    ap.add_argument("--feature-sets", default="coords,angles,both")
    ap.add_argument("--epochs", type=int, default=250)
    ap.add_argument("--overlap", type=int, default=150)
    ap.add_argument("--seed", type=int, default=2026, help="cohort seed")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table = out / "cohort" / "cohort.csv"
    if not table.is_file():
        generate_cohort(out / "cohort", seed=args.seed)
    sk = load_skeleton()
    entries = read_cohort(table)
    internal = [e for e in entries if e.set == "internal"]
    external = [e for e in entries if e.set == "external"]
    rows = []
    t_all = time.perf_counter()
    print(f"{'classifier':>9} {'features':>8} {'snippets':>8} | {'snippet-CV acc':>14} {'infant-CV acc':>14} "
          f"{'infant-CV inf.':>14} | {'external':>8} {'ext. inf.':>9} | {'seconds':>8}")
    for fs in args.feature_sets.split(","):
        train = cut_cohort(cohort_features(internal, sk, fs), sk, 300, args.overlap)
        test = cut_cohort(cohort_features(external, sk, fs), sk, 300, args.overlap)
        lay = feature_layout(sk, fs)
        for m in args.models.split(","):
            est = classifier_for(m, epochs=args.epochs, mirror_columns=tuple(int(c) for c in lay.mirror_columns),
                                 mirror_signs=tuple(float(v) for v in lay.mirror_signs))
            t0 = time.perf_counter()
            snip = cross_validate(train, est, "snippet")
            grp = cross_validate(train, est, "infant")
            _, ext = external_validation(train, test, est)
            secs = time.perf_counter() - t0
            n_ok = sum(i["correct"] for i in ext["infants"])
            row = {"classifier": m, "feature_set": fs, "overlap": args.overlap, "snippets": len(train),
                   "snippet_cv_acc": snip.summary["accuracy"][0], "snippet_cv_acc_sd": snip.summary["accuracy"][1],
                   "infant_cv_acc": grp.summary["accuracy"][0], "infant_cv_acc_sd": grp.summary["accuracy"][1],
                   "infant_cv_infant_acc": grp.summary["infant_accuracy"][0],
                   "external_snippets": ext["n_snippets"], "external_acc": ext["accuracy"],
                   "external_infants_correct": f"{n_ok}/{len(ext['infants'])}", "seconds": round(secs, 1)}
            rows.append(row)
            sn, sn_sd = 100 * row["snippet_cv_acc"], 100 * row["snippet_cv_acc_sd"]
            print(f"{m:>9} {fs:>8} {len(train):>8} | {sn:6.1f}±{sn_sd:5.1f} % "
                  f"{100 * row['infant_cv_acc']:6.1f}±{100 * row['infant_cv_acc_sd']:5.1f} % "
                  f"{100 * row['infant_cv_infant_acc']:12.1f} % | {100 * ext['accuracy']:6.1f} % "
                  f"{row['external_infants_correct']:>9} "
                  f"| {secs:8.1f}", flush=True)
            write_table(rows, out / "bench_models.csv")
    print(f"total {time.perf_counter() - t_all:.0f} s; wrote {out / 'bench_models.csv'}")


if __name__ == "__main__":
    main()
