"""Benchmark: which recipe holds on every fidgety-age phenotype, and what selection costs.

Run: ``.venv/bin/python bench/bench_selection.py --out out/selection [--quick] [--classifiers ...]``.

Two synthetic 3-D cohorts with phenotypes (:mod:`gmdesk.synthetic.movements`), neither used by a test:

* **tuning** (seed 101, the generator's defaults): where recipes are compared;
* **held out** (seed 4242, 16 normal and 16 abnormal infants, 4 per phenotype, another camera: closer and
  further, tilted up to 40°, rolled up to 60°, weaker fidgety movements, noisier detector): settings no recipe
  was chosen on and no code was tuned on (run once, at the end).

For each classifier (fixed recipe: feature set ``both``, normalisation ``body``, overlap ``--overlap``: the
paper's 150 by default, the selection's 250 to compare) and each cohort it
prints and writes (``selection.csv``) leave-one-phenotype-out and infant-grouped 5-fold figures: infant accuracy
per phenotype (each abnormal phenotype tested by a model that never saw it; normal infants each tested once),
overall accuracy, sensitivity, specificity and infant AUC with 95 % intervals, and the rank test's p-value.
Then it times nested selection over the default selection grid (overlap 250) on the 20-infant tuning cohort (``gmdesk train``'s
and ``gmdesk evaluate``'s default procedure, with its test against chance), under infant-grouped 5-fold,
leave-one-infant-out and leave-one-phenotype-out.
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

from gmdesk.evaluation.metrics import per_phenotype
from gmdesk.evaluation.protocol import Recipe, cross_validate, nested_selection
from gmdesk.evaluation.significance import infant_rank_test
from gmdesk.io.skeletons import load_skeleton
from gmdesk.learning.architectures import (
    SELECTION_CLASSIFIERS,
    SELECTION_FEATURE_SETS,
    SELECTION_NORMALISATIONS,
    SELECTION_OVERLAPS,
)
from gmdesk.learning.classifiers import make_classifier
from gmdesk.pipeline.cohort import cohort_features, cut_cohort, read_cohort
from gmdesk.pipeline.features import feature_layout
from gmdesk.synthetic.cohorts import generate_cohort
from gmdesk.synthetic.settings import SynthSettings

CANDIDATES = ("fidgety-findings", "fidgety-core", "fidgety-normative", "fidgety", "normative", "kinematics",
              "kinematics-gb", "histograms", "joint-stats", "spectral", "complexity", "asymmetry", "movement")
HELD_OUT_MIX = "absent-fm=4,sporadic-fm=4,abnormal-fm=4,cramped-synchronised=4"


def fmt(d: dict) -> str:
    if d.get("value") is None:
        return "n/a"
    lo, hi = d.get("ci") or (None, None)
    return f"{100 * d['value']:.0f} [{100 * lo:.0f}-{100 * hi:.0f}]" if lo is not None else f"{100 * d['value']:.0f}"


def cohorts(out: Path, quick: bool) -> dict[str, Path]:
    dur = (40.0, 50.0) if quick else (60.0, 75.0)
    n = (5, 5) if quick else (10, 10)
    tuning = generate_cohort(out / "tuning", n[0], n[1], 0, 0, seed=101, settings=SynthSettings(duration_s=dur))
    held = SynthSettings(duration_s=dur, camera_distance_cm=(50.0, 160.0), tilt_deg=40.0, roll_deg=60.0,
                         fm_amplitude=(0.5, 1.1), noise_body=(0.003, 0.008))
    m = (4, 4) if quick else (16, 16)
    held_out = generate_cohort(out / "held_out", m[0], m[1], 0, 0, seed=4242, settings=held,
                               phenotypes=None if quick else HELD_OUT_MIX)
    return {"tuning": tuning, "held out": held_out}


def compare(name: str, table: Path, classifiers: list[str], sk, rows: list[dict], overlap: int = 150) -> None:
    entries = read_cohort(table)
    phen = {e.infant_id: e.phenotype for e in entries}
    snips = cut_cohort(cohort_features(entries, sk, "both", normalisation="body"), sk, 300, overlap)
    layout = feature_layout(sk, "both", "body")
    for clf in classifiers:
        for scheme in ("lopo", "infant"):
            t0 = time.perf_counter()
            res = cross_validate(snips, make_classifier(clf, sk, layout), scheme, 5, 42, phenotypes=phen)
            lvl = res.infant_level
            sig = infant_rank_test(res.oof_scores, snips.label, snips.infant_id)
            per = {k: v["accuracy"] for k, v in per_phenotype(lvl["per_infant"]).items()}
            row = {"cohort": name, "classifier": clf, "overlap": overlap, "scheme": scheme, "accuracy": fmt(lvl["accuracy"]),
                   "sensitivity": fmt(lvl["sensitivity"]), "specificity": fmt(lvl["specificity"]),
                   "infant_auc": fmt(lvl["auc"]), "p_value": sig["p_value"],
                   "seconds": round(time.perf_counter() - t0, 1)} | {f"acc_{k}": f"{v['k']}/{v['n']}" for k, v in per.items()}
            rows.append(row)
            print("  ".join(f"{k}={v}" for k, v in row.items()), flush=True)


def time_selection(table: Path, sk, scheme: str) -> dict:
    entries = read_cohort(table)
    phen = {e.infant_id: e.phenotype for e in entries}
    t0 = time.perf_counter()
    recipes = [Recipe(c, fs, n, ov) for c in SELECTION_CLASSIFIERS for fs in SELECTION_FEATURE_SETS
               for n in SELECTION_NORMALISATIONS for ov in SELECTION_OVERLAPS]
    data = {}
    for fs in SELECTION_FEATURE_SETS:
        for n in SELECTION_NORMALISATIONS:
            recs = cohort_features(entries, sk, fs, normalisation=n)
            for ov in SELECTION_OVERLAPS:
                data[(fs, n, ov)] = cut_cohort(recs, sk, 300, ov)
    t1 = time.perf_counter()

    def make(r):
        return make_classifier(r.classifier, sk, feature_layout(sk, r.feature_set, r.normalisation))

    sel = nested_selection(data, recipes, make, scheme=scheme, phenotypes=phen)
    sig = infant_rank_test(sel["oof_scores"], sel["labels"], sel["infant_ids"])
    t2 = time.perf_counter()
    out = {"scheme": scheme, "infants": len(entries), "recipes": len(recipes), "features_s": round(t1 - t0, 1),
           "selection_s": round(t2 - t1, 1), "accuracy": fmt(sel["infant_level"]["accuracy"]),
           "infant_auc": fmt(sel["infant_level"]["auc"]), "p_value": sig["p_value"],
           "chosen": " ".join(sorted(set(sel["chosen"])))}
    print("  ".join(f"{k}={v}" for k, v in out.items()), flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="out/selection")
    ap.add_argument("--classifiers", default=",".join(CANDIDATES))
    ap.add_argument("--cohorts", default="tuning,held out")
    ap.add_argument("--no-timing", action="store_true")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--overlap", type=int, default=150, help="the fixed recipes' overlap (frames)")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    sk = load_skeleton()
    tables = cohorts(out, args.quick)
    rows: list[dict] = []
    for name in args.cohorts.split(","):
        compare(name, tables[name], args.classifiers.split(","), sk, rows, args.overlap)
    with open(out / "selection.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(dict.fromkeys(k for r in rows for k in r)))
        w.writeheader()
        w.writerows(rows)
    if not args.no_timing:
        for scheme in ("infant", "loio", "lopo"):
            time_selection(tables["tuning"], sk, scheme)


if __name__ == "__main__":
    main()
