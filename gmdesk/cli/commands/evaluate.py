"""``gmdesk evaluate``: cross-validation (snippet and infant-grouped) of a grid of recipes, the overlap sweep,
nested model selection and the external test."""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass, field
from pathlib import Path

from gmdesk.cli.args import ProgressBar, add_pose_args, classifiers, cohort_entries, command_parser, skeleton_of
from gmdesk.cli.training import add_training_args, cohort_features, cross_validate_shown, estimator, split_list
from gmdesk.constants import DEFAULT_OVERLAP, PAPER_OVERLAPS, WINDOW
from gmdesk.errors import GmdeskError
from gmdesk.learning.architectures import DEFAULT_CLASSIFIER, DEFAULT_FEATURE_SET, DEFAULT_NORMALISATION

logger = logging.getLogger(__name__)


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = command_parser(subparsers, "evaluate", "cross-validation (snippet and infant-grouped), overlap sweep, external test")
    p.add_argument("cohort", help="cohort table (.csv)")
    p.add_argument("-o", "--output", required=True, type=Path, help="folder for tables and plots")
    p.add_argument("--classifiers", "--models", dest="models", default=DEFAULT_CLASSIFIER, metavar="CLASSIFIERS",
                   type=classifiers,
                   help="comma-separated classifiers (old name: --models)")
    p.add_argument("--feature-sets", default=DEFAULT_FEATURE_SET, help="comma-separated: coords,angles,both")
    p.add_argument("--overlaps", default=str(DEFAULT_OVERLAP), help="comma-separated overlaps")
    p.add_argument("--sweep", action="store_true", help="the paper's overlaps 299..100 (Fig. 2)")
    p.add_argument("--normalise", default=DEFAULT_NORMALISATION,
                   help="comma-separated normalisations: paper, body, body-frame")
    p.add_argument("--cv", default="snippet,infant",
                   help="snippet (the paper's: snippets of one infant in train and test), infant (grouped 5-fold) and/or "
                        "loio (leave one infant out); infant-level figures with 95 %% intervals are the headline")
    p.add_argument("--select", action="store_true",
                   help="nested model selection: choose classifier x feature set x normalisation x overlap by an inner "
                        "infant-grouped CV inside each outer training fold, and report the outer figures")
    p.add_argument("--external", action="store_true", help="train on internal, test the set=external infants")
    add_training_args(p)
    add_pose_args(p)
    return p


@dataclass
class Grid:
    """The recipes to evaluate (every combination) and the cross-validation schemes."""

    classifiers: list[str]
    feature_sets: list[str]
    normalisations: list[str]
    overlaps: list[int]
    schemes: list[str]


@dataclass
class Tables:
    """The rows of the tables written: one per cross-validation, per fold, and per infant."""

    rows: list[dict] = field(default_factory=list)
    folds: list[dict] = field(default_factory=list)
    infants: list[dict] = field(default_factory=list)

    def add(self, res, snips, fs: str, norm: str, ov: int, scheme: str) -> None:
        recipe = {"classifier": res.architecture, "feature_set": fs, "normalisation": norm, "overlap": ov, "scheme": scheme}
        self.rows.append(res.row() | {"n_snippets": len(snips), "n_normal": int((snips.label == 0).sum()),
                                      "n_abnormal": int((snips.label == 1).sum()), "what": res.label})
        self.folds += [recipe | {k: v for k, v in f.items() if k not in ("test_infants", "shared_infants")}
                       | {"test_infants": " ".join(f["test_infants"]), "infants_in_train_and_test": len(f["shared_infants"])}
                       for f in res.folds]
        self.infants += [recipe | r for r in res.infant_level["per_infant"]]


def run(args: argparse.Namespace) -> int:
    from gmdesk.evaluation.protocol import CV_SCHEMES, write_table
    from gmdesk.pipeline.cohort import cut_cohort
    from gmdesk.pipeline.features import FEATURE_SETS, NORMALISATIONS, feature_layout

    sk = skeleton_of(args)
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    internal = cohort_entries(args.cohort, args.subset)
    grid = Grid(split_list(args.models, "--classifiers"), split_list(args.feature_sets, "--feature-sets", FEATURE_SETS),
                split_list(args.normalise, "--normalise", NORMALISATIONS),
                list(PAPER_OVERLAPS) if args.sweep else [int(o) for o in split_list(args.overlaps, "--overlaps")],
                split_list(args.cv, "--cv", CV_SCHEMES))
    tables = Tables()
    data = {}
    for fs in grid.feature_sets:
        for norm in grid.normalisations:
            recs = cohort_features(args, internal, sk, fs, norm)
            layout = feature_layout(sk, fs, norm)
            for ov in grid.overlaps:
                snips = cut_cohort(recs, sk, WINDOW, ov)
                data[(fs, norm, ov)] = snips
                if not args.select:
                    _cross_validate(snips, sk, layout, (fs, norm, ov), grid, args, out, tables)
    if args.select:
        tables.rows.append(_nested_selection(data, grid, args, sk, out))
    print(f"wrote {write_table(tables.rows, out / 'cv_results.csv')}"
          + (f", {write_table(tables.folds, out / 'cv_folds.csv')}" if tables.folds else "")
          + (f" and {write_table(tables.infants, out / 'infant_level.csv')}" if tables.infants else ""))
    if (args.sweep or len(grid.overlaps) > 1) and not args.select:
        from gmdesk.plots.evaluation import plot_overlap_sweep

        print(f"wrote {plot_overlap_sweep(tables.rows, out / 'overlap_sweep.png')}")
    if args.external:
        _external(args, sk, internal, data, grid, out)
    return 0


def _cross_validate(snips, sk, layout, recipe: tuple[str, str, int], grid: Grid, args: argparse.Namespace, out: Path,
                    tables: Tables) -> None:
    """Cross-validate every classifier with every scheme on one feature set, normalisation and overlap."""
    from gmdesk.plots.evaluation import plot_infant_level

    fs, norm, ov = recipe
    for m in grid.classifiers:
        est = estimator(m, args, sk, layout)
        for scheme in grid.schemes:
            res = cross_validate_shown(snips, est, scheme, args, f"{m} {fs} {norm} o{ov} {scheme}")
            tables.add(res, snips, fs, norm, ov, scheme)
            if scheme != "snippet":
                png = out / f"infant_level_{res.architecture}_{fs}_{norm}_o{ov}_{scheme}.png"
                print(f"    wrote {plot_infant_level(res, snips, png)}")


def _nested_selection(data: dict, grid: Grid, args: argparse.Namespace, sk, out: Path) -> dict:
    """Choose a recipe by an inner infant-grouped CV in each outer training fold; the results row of the
    outer figures (the chosen recipes per fold are written to nested_selection.csv)."""
    from gmdesk.evaluation.metrics import headline
    from gmdesk.evaluation.protocol import Recipe, nested_selection, write_table
    from gmdesk.learning.classifiers import resolve_architecture
    from gmdesk.pipeline.features import feature_layout

    recipes = [Recipe(resolve_architecture(m), fs, norm, ov) for m in grid.classifiers for fs in grid.feature_sets
               for norm in grid.normalisations for ov in grid.overlaps]

    def make(r):
        return estimator(r.classifier, args, sk, feature_layout(sk, r.feature_set, r.normalisation))

    with ProgressBar("nested selection", "fold") as bar:
        sel = nested_selection(data, recipes, make, seed=args.seed, threshold=args.threshold, progress=bar)
    for r in sel["per_fold"]:
        print(f"  outer fold {r['fold']}: chose {r['chosen']} (inner balanced accuracy {r['inner_balanced_accuracy']:.2f})")
    print(f"nested selection over {len(recipes)} recipes, infant-grouped outer CV:\n    {headline(sel['infant_level'])}")
    write_table(sel["per_fold"], out / "nested_selection.csv")
    return ({"scheme": "nested", "classifier": "selected per fold", "chosen": " ".join(sel["chosen"])}
            | {f"infant_{k}": sel["infant_level"][k]["value"] for k in ("accuracy", "sensitivity", "specificity",
                                                                        "npv", "auc")})


def _external(args: argparse.Namespace, sk, internal, data: dict, grid: Grid, out: Path) -> None:
    """Train each classifier on the internal infants (first feature set, normalisation and overlap) and test it
    on the cohort's external infants; writes external_validation.csv."""
    from gmdesk.evaluation.protocol import external_validation, write_table
    from gmdesk.pipeline.cohort import cut_cohort, read_cohort
    from gmdesk.pipeline.features import feature_layout

    ext = [e for e in read_cohort(args.cohort) if e.set == "external"]
    if not ext:
        raise GmdeskError(f"{args.cohort}: no infants with set=external")
    fs, norm, ov = grid.feature_sets[0], grid.normalisations[0], grid.overlaps[0]
    train = data.get((fs, norm, ov)) or cut_cohort(cohort_features(args, internal, sk, fs, norm), sk, WINDOW, ov)
    test = cut_cohort(cohort_features(args, ext, sk, fs, norm), sk, WINDOW, ov)
    ext_rows = []
    for m in grid.classifiers:
        _, res = external_validation(train, test, estimator(m, args, sk, feature_layout(sk, fs, norm)), args.threshold)
        print(f"external validation {m} ({fs}, {norm}, overlap {ov}): {res['n_snippets']} snippets, "
              f"snippet accuracy {100 * res['accuracy']:.1f} %, infants correct "
              f"{sum(i['correct'] for i in res['infants'])}/{len(res['infants'])}")
        for i in res["infants"]:
            print(f"    {i['infant_id']:>6} ({i['label']:>8}): {i['basis']}  [{'correct' if i['correct'] else 'WRONG'}]")
            ext_rows.append({"classifier": m, "feature_set": fs, "normalisation": norm, "overlap": ov} |
                            {k: v for k, v in i.items() if k not in ("basis", "interval")} | {"basis": i["basis"]})
    print(f"wrote {write_table(ext_rows, out / 'external_validation.csv')}")
