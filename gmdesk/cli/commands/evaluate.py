"""``gmdesk evaluate``: how well a cohort's infants are classified by infants it never saw.

Without recipe options it runs **nested selection** (the recipe — classifier × feature set × normalisation —
chosen by an inner cross-validation inside each outer training fold, over the default selection grid) under
each infant-level scheme of ``--cv`` (default ``infant``; ``loio``; ``lopo`` = leave one abnormal phenotype
out), and prints the outer infant-level figures, the recipe chosen in each fold, the figures per phenotype and
the test against chance. With recipe options (``--classifiers``, ``--feature-sets``, ``--normalise``,
``--overlaps``, ``--sweep``) it cross-validates each recipe of the grid (a comparison; ``--select`` makes it
a nested selection over that grid). ``--external`` tests on the cohort's external set."""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass, field
from pathlib import Path

from gmdesk.cli.args import add_pose_args, classifiers, cohort_entries, command_parser, skeleton_of
from gmdesk.cli.training import (
    add_selection_args,
    add_training_args,
    cohort_features,
    cross_validate_shown,
    estimator,
    nested_shown,
    parallel_backend,
    phenotypes_of,
    recipe_data,
    recipe_grid,
    split_list,
)
from gmdesk.constants import DEFAULT_OVERLAP, PAPER_OVERLAPS, WINDOW
from gmdesk.errors import GmdeskError
from gmdesk.learning.architectures import (
    DEFAULT_CLASSIFIER,
    DEFAULT_FEATURE_SET,
    DEFAULT_NORMALISATION,
    SELECTION_CLASSIFIERS,
    SELECTION_FEATURE_SETS,
    SELECTION_NORMALISATIONS,
    SELECTION_OVERLAPS,
)

logger = logging.getLogger(__name__)


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = command_parser(subparsers, "evaluate", "cross-validation (snippet and infant-grouped), overlap sweep, external test")
    p.add_argument("cohort", help="cohort table (.csv)")
    p.add_argument("-o", "--output", required=True, type=Path, help="folder for tables and plots")
    p.add_argument("--classifiers", "--models", dest="models", default=None, metavar="CLASSIFIERS",
                   type=classifiers,
                   help="comma-separated classifiers to compare (old name: --models); without any recipe option: "
                        f"nested selection among {','.join(SELECTION_CLASSIFIERS)}")
    p.add_argument("--feature-sets", default=None,
                   help=f"comma-separated: coords,angles,both (compared: {DEFAULT_FEATURE_SET}; selection: "
                        f"{','.join(SELECTION_FEATURE_SETS)})")
    p.add_argument("--overlaps", default=None, help=f"comma-separated overlaps (fixed recipe: {DEFAULT_OVERLAP}; "
                                                    f"selection: {','.join(map(str, SELECTION_OVERLAPS))})")
    p.add_argument("--sweep", action="store_true", help="the paper's overlaps 299..100 (Fig. 2)")
    p.add_argument("--normalise", default=None,
                   help=f"comma-separated normalisations: paper, body, body-frame (compared: {DEFAULT_NORMALISATION}; "
                        f"selection: {','.join(SELECTION_NORMALISATIONS)})")
    p.add_argument("--cv", default=None,
                   help="snippet (the paper's: snippets of one infant in train and test), infant (grouped 5-fold), "
                        "loio (leave one infant out) and/or lopo (leave one abnormal phenotype out: needs the cohort's "
                        "phenotype column); default: infant for nested selection, snippet,infant for a comparison")
    p.add_argument("--select", action="store_true",
                   help="nested model selection over the grid given (the default when no recipe option is given): "
                        "the recipe is chosen by an inner CV inside each outer training fold; the outer figures are "
                        "reported")
    p.add_argument("--external", action="store_true", help="train on internal, test the set=external infants")
    add_training_args(p)
    add_selection_args(p)
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


def _grid(args: argparse.Namespace, selecting: bool) -> Grid:
    """The recipes of the command line (defaults: the selection grid when selecting, else the default recipe)."""
    from gmdesk.evaluation.protocol import CV_SCHEMES
    from gmdesk.pipeline.features import FEATURE_SETS, NORMALISATIONS

    def given(value, selection: tuple[str, ...], single: str) -> str:
        return value if value is not None else ",".join(selection) if selecting else single

    overlaps = list(PAPER_OVERLAPS) if args.sweep else [int(o) for o in split_list(
        given(args.overlaps, tuple(map(str, SELECTION_OVERLAPS)), str(DEFAULT_OVERLAP)), "--overlaps")]
    return Grid(split_list(given(args.models, SELECTION_CLASSIFIERS, DEFAULT_CLASSIFIER), "--classifiers"),
                split_list(given(args.feature_sets, SELECTION_FEATURE_SETS, DEFAULT_FEATURE_SET), "--feature-sets",
                           FEATURE_SETS),
                split_list(given(args.normalise, SELECTION_NORMALISATIONS, DEFAULT_NORMALISATION), "--normalise",
                           NORMALISATIONS),
                overlaps, split_list(args.cv or ("infant" if selecting else "snippet,infant"), "--cv", CV_SCHEMES))


def run(args: argparse.Namespace) -> int:
    with parallel_backend(args):  # folds in joblib's processes, or on the Dask cluster of --scheduler
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    from gmdesk.evaluation.protocol import write_table
    from gmdesk.pipeline.cohort import cut_cohort
    from gmdesk.pipeline.features import feature_layout

    sk = skeleton_of(args)
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    internal = cohort_entries(args.cohort, args.subset, learn=True)
    explicit = any(v is not None for v in (args.models, args.feature_sets, args.normalise, args.overlaps)) or args.sweep
    selecting = args.select or not explicit
    grid = _grid(args, selecting)
    tables = Tables()
    if selecting:
        data = recipe_data(args, internal, sk, recipe_grid(grid.classifiers, grid.feature_sets, grid.normalisations,
                                                           grid.overlaps))
        tables.rows += _nested_selection(data, grid, args, sk, out, phenotypes_of(internal))
    else:
        data = {}
        for fs in grid.feature_sets:
            for norm in grid.normalisations:
                recs = cohort_features(args, internal, sk, fs, norm)
                layout = feature_layout(sk, fs, norm)
                for ov in grid.overlaps:
                    snips = cut_cohort(recs, sk, WINDOW, ov)
                    data[(fs, norm, ov)] = snips
                    _cross_validate(snips, sk, layout, (fs, norm, ov), grid, args, out, tables, phenotypes_of(internal))
    print(f"wrote {write_table(tables.rows, out / 'cv_results.csv')}"
          + (f", {write_table(tables.folds, out / 'cv_folds.csv')}" if tables.folds else "")
          + (f" and {write_table(tables.infants, out / 'infant_level.csv')}" if tables.infants else ""))
    if (args.sweep or len(grid.overlaps) > 1) and not selecting:
        from gmdesk.plots.evaluation import plot_overlap_sweep

        print(f"wrote {plot_overlap_sweep(tables.rows, out / 'overlap_sweep.png')}")
    if args.external:
        _external(args, sk, internal, data, grid, out)
    return 0


def _cross_validate(snips, sk, layout, recipe: tuple[str, str, int], grid: Grid, args: argparse.Namespace, out: Path,
                    tables: Tables, phenotypes: dict | None) -> None:
    """Cross-validate every classifier with every scheme on one feature set, normalisation and overlap."""
    from gmdesk.plots.evaluation import plot_infant_level

    fs, norm, ov = recipe
    for m in grid.classifiers:
        est = estimator(m, args, sk, layout)
        for scheme in grid.schemes:
            res = cross_validate_shown(snips, est, scheme, args, f"{m} {fs} {norm} o{ov} {scheme}", phenotypes)
            tables.add(res, snips, fs, norm, ov, scheme)
            if scheme != "snippet":
                png = out / f"infant_level_{res.architecture}_{fs}_{norm}_o{ov}_{scheme}.png"
                print(f"    wrote {plot_infant_level(res, snips, png)}")


def _nested_selection(data: dict, grid: Grid, args: argparse.Namespace, sk, out: Path, phenotypes) -> list[dict]:
    """Nested selection under each infant-level scheme of ``--cv``: one results row per scheme; the recipe
    chosen in each outer fold goes to nested_selection.csv, the outer per-infant table to
    nested_infants.csv."""
    from gmdesk.evaluation.metrics import per_phenotype
    from gmdesk.evaluation.protocol import INFANT_SCHEMES, write_table

    recipes = recipe_grid(grid.classifiers, grid.feature_sets, grid.normalisations, grid.overlaps)
    rows, folds, infants = [], [], []
    for scheme in grid.schemes:
        if scheme not in INFANT_SCHEMES:
            print(f"{scheme} CV is not run with nested selection: its folds share infants between training and test")
            continue
        sel = nested_shown(args, data, recipes, sk, scheme, phenotypes)
        lvl, sig = sel["infant_level"], sel["significance"]
        folds += [{"scheme": scheme} | r for r in sel["per_fold"]]
        infants += [{"scheme": scheme} | r for r in lvl["per_infant"]]
        row = ({"scheme": f"nested-{scheme}", "classifier": "selected per fold", "chosen": " ".join(sel["chosen"]),
                "recipes": len(recipes), "p_value": sig.get("p_value"), "test": sig.get("test")}
               | {f"infant_{k}": lvl[k]["value"] for k in ("accuracy", "sensitivity", "specificity", "npv", "auc")}
               | {"infant_auc_lo": lvl["auc"]["ci"][0], "infant_auc_hi": lvl["auc"]["ci"][1]})
        if phenotypes:
            row |= {f"accuracy_{name}": d["accuracy"]["value"] for name, d in per_phenotype(lvl["per_infant"]).items()}
        rows.append(row)
    if folds:
        print(f"wrote {write_table(folds, out / 'nested_selection.csv')} and "
              f"{write_table(infants, out / 'nested_infants.csv')}")
    return rows


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
