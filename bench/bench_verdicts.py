"""Benchmark: classifiers on unseen infants — snippet CV (the paper's) beside infant-level figures.

Run: ``.venv/bin/python bench/bench_verdicts.py --out out/verdicts [--families ...] [--quick]``.

Two synthetic 3-D cohorts the tests never use: an internal one (default camera ranges) for
infant-grouped 5-fold CV and the paper's snippet 5-fold CV, and an external one filmed with another
camera (closer, tilted up to 35°, rolled up to 45°) and another seed, for external validation of a model
trained on all internal infants. For every classifier × feature set × normalisation it writes a row
(appended to ``verdicts.csv`` as it goes, so a long run can be resumed): snippet-CV accuracy, infant-level
accuracy, sensitivity, specificity, NPV, infant AUC (with 95 % intervals) under grouped CV, the same on
the external cohort, and seconds. ``--quick`` uses small cohorts (a smoke run).
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

from sklearn.base import clone

from gmdesk.evaluation.metrics import infant_level
from gmdesk.evaluation.protocol import cross_validate
from gmdesk.io.skeletons import load_skeleton
from gmdesk.learning.classifiers import make_classifier
from gmdesk.pipeline.cohort import cohort_features, cut_cohort, read_cohort
from gmdesk.pipeline.features import feature_layout
from gmdesk.synthetic.cohorts import generate_cohort
from gmdesk.synthetic.settings import SynthSettings

FAMILIES = ("kinematics", "kinematics-gb", "svm-rbf", "cnn1d-2", "lstm-2", "vit-2")


def fmt(d: dict) -> str:
    if d.get("value") is None:
        return "n/a"
    lo, hi = d.get("ci") or (None, None)
    return f"{100 * d['value']:.0f} [{100 * lo:.0f}-{100 * hi:.0f}]" if lo is not None else f"{100 * d['value']:.0f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="out/verdicts")
    ap.add_argument("--families", default=",".join(FAMILIES))
    ap.add_argument("--feature-sets", default="coords,angles,both")
    ap.add_argument("--normalisations", default="paper,body")
    ap.add_argument("--seed", type=int, default=2027)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--external-severity", default="0.7,1.0",
                    help="strength of the abnormal pattern in the external cohort (lo,hi); a milder phenotype "
                         "than training's (e.g. 0.35,0.65) asks whether a model learnt the movement or the generator")
    ap.add_argument("--external-normal-share", type=float, default=0.25,
                    help="share of normal-like periods in the external cohort's abnormal infants")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    sk = load_skeleton()
    n_int, n_ext, dur = ((6, 4), (3, 2), (60, 70)) if args.quick else ((12, 8), (6, 4), (90, 120))
    internal_dir, external_dir = out / "internal", out / "external"
    if not (internal_dir / "cohort.csv").exists():
        generate_cohort(internal_dir, n_int[0], n_int[1], 0, 0, seed=args.seed, settings=SynthSettings(duration_s=dur))
    if not (external_dir / "cohort.csv").exists():
        lo, hi = (float(v) for v in args.external_severity.split(","))
        close = SynthSettings(duration_s=dur, camera_distance_cm=(55.0, 85.0), tilt_deg=35.0, roll_deg=45.0,
                              severity=(lo, hi), normal_share=args.external_normal_share)
        generate_cohort(external_dir, n_ext[0], n_ext[1], 0, 0, seed=args.seed + 1, settings=close)
    internal, external = read_cohort(internal_dir / "cohort.csv"), read_cohort(external_dir / "cohort.csv")
    table = out / "verdicts.csv"
    done = set()
    if table.exists():
        done = {(r["classifier"], r["feature_set"], r["normalisation"]) for r in csv.DictReader(open(table))}
    print(f"internal: {len(internal)} infants; external (another camera): {len(external)} infants; results in {table}")
    cache: dict = {}
    for norm in args.normalisations.split(","):
        for fs in args.feature_sets.split(","):
            key = (fs, norm)
            if key not in cache:
                cache[key] = (cut_cohort(cohort_features(internal, sk, fs, normalisation=norm), sk, 300, 150),
                              cut_cohort(cohort_features(external, sk, fs, normalisation=norm), sk, 300, 150))
            tr, ext = cache[key]
            for fam in args.families.split(","):
                if (fam, fs, norm) in done:
                    continue
                est = make_classifier(fam, sk, feature_layout(sk, fs, norm), seed=42)
                t0 = time.perf_counter()
                snip = cross_validate(tr, est, "snippet", seed=42)
                grp = cross_validate(tr, est, "infant", seed=42)
                fitted = clone(est).fit(tr.X, tr.label)
                p = fitted.score_snippets(ext.X)
                ex = infant_level(p, ext.label, ext.infant_id, seed=42)
                secs = time.perf_counter() - t0
                g = grp.infant_level
                row = {"classifier": fam, "feature_set": fs, "normalisation": norm,
                       "snippet_cv_accuracy": round(snip.summary["accuracy"][0], 4),
                       "grouped_snippet_accuracy": round(float(((grp.oof_scores >= 0.5) == tr.label).mean()), 4)}
                for name, fig in (("grouped", g), ("external", ex)):
                    for k in ("accuracy", "sensitivity", "specificity", "npv", "balanced_accuracy", "auc"):
                        d = fig[k]
                        ci = d.get("ci") or [None, None]
                        row[f"{name}_{k}"], row[f"{name}_{k}_lo"], row[f"{name}_{k}_hi"] = d.get("value"), ci[0], ci[1]
                row["seconds"] = round(secs, 1)
                new = not table.exists()
                with open(table, "a", newline="") as fh:
                    w = csv.DictWriter(fh, fieldnames=list(row))
                    if new:
                        w.writeheader()
                    w.writerow(row)
                print(f"{fam:>13} {fs:>6} {norm:>5}: snippet CV {100 * row['snippet_cv_accuracy']:.0f} % | grouped: "
                      f"infants {fmt(g['accuracy'])}, sens {fmt(g['sensitivity'])}, spec {fmt(g['specificity'])}, "
                      f"AUC {g['auc']['value'] if g['auc']['value'] is None else round(g['auc']['value'], 2)} | external: "
                      f"infants {fmt(ex['accuracy'])}, AUC {ex['auc']['value']} | {secs:.0f} s", flush=True)
    rows = list(csv.DictReader(open(table)))
    best = max(rows, key=lambda r: (float(r["grouped_balanced_accuracy"] or 0), float(r["grouped_auc"] or 0),
                                    float(r["external_balanced_accuracy"] or 0)))
    print(f"best by grouped infant-level balanced accuracy (then AUC): {best['classifier']} {best['feature_set']} "
          f"{best['normalisation']}")


if __name__ == "__main__":
    main()
