"""What the commands that fit classifiers share (``train``, ``evaluate``, ``analyse``): their training
options, the classifier a recipe names, cohort features, and cross-validation shown as it runs."""

from __future__ import annotations

import argparse
import contextlib
import logging
from collections.abc import Iterator

from gmdesk.cli.args import COUNT, POSITIVE_INT, SHARE, ProgressBar, number
from gmdesk.constants import DEFAULT_FPS, DEFAULT_THRESHOLD
from gmdesk.errors import GmdeskError
from gmdesk.learning.model_card import percent_mean_sd

logger = logging.getLogger(__name__)


def add_training_args(q: argparse.ArgumentParser, threshold: bool = True) -> None:
    """Epochs, patience, seed, (threshold), augmentation and the cohort set to use."""
    q.add_argument("--epochs", type=POSITIVE_INT, default=250, help="most epochs of a network")
    q.add_argument("--patience", type=COUNT, default=10, help="early-stopping patience in epochs")
    q.add_argument("--seed", type=int, default=42, help="seed of splits, initialisation and shuffling")
    if threshold:
        q.add_argument("--threshold", type=SHARE, default=DEFAULT_THRESHOLD,
                       help="infant verdict: normal if more than this share of snippets is normal")
    q.add_argument("--no-flip", action="store_true", help="no right-left flip augmentation")
    q.add_argument("--augment", type=number(int, 0, 20), default=None,
                   help="augmented copies of each training snippet (random scale, rotation, time warp, jitter) "
                        "beside the flip; 0: none (default: 2 for networks, 0 for the others)")
    q.add_argument("--subset", default="internal", help="cohort set to use ('' for all)")


def split_list(text: str, what: str, allowed: tuple[str, ...] | None = None) -> list[str]:
    """The items of a comma-separated option, each one of ``allowed`` when given."""
    items = [t.strip() for t in text.split(",") if t.strip()]
    bad = [t for t in items if allowed and t not in allowed]
    if not items or bad:
        raise GmdeskError(f"{what}: {bad or text!r} is not one of {allowed}")
    return items


def cohort_features(args: argparse.Namespace, entries, sk, fs: str, normalisation: str = "paper"):
    """Cleaned per-frame features of cohort entries with the command's mapping, fps and individual (each
    track is cleaned once per command, whatever the number of feature sets)."""
    from gmdesk.pipeline.cohort import cohort_features as features

    cache = vars(args).setdefault("_cleaned_tracks", {})
    return features(entries, sk, fs, mapping=args.mapping, fps=args.fps, individual=args.individual,
                    normalisation=normalisation, cleaned=cache)


def add_selection_args(q: argparse.ArgumentParser) -> None:
    """How recipes are chosen and tested against chance."""
    q.add_argument("--inner", choices=("auto", "infant", "loio", "lopo"), default="auto",
                   help="inner cross-validation of the selection: auto = leave-one-phenotype-out when the training "
                        "infants hold two or more abnormal phenotypes (cohort column 'phenotype'), else infant-grouped")
    q.add_argument("--permutations", type=number(int, 0, 10_000), default=0,
                   help="also test against chance by rerunning the whole procedure with labels permuted across "
                        "infants this many times (in parallel); 0: the exact rank test on the pooled out-of-fold "
                        "infant scores only")
    g = q.add_argument_group("parallel folds (joblib): local processes, or a Dask cluster")
    g.add_argument("--jobs", type=number(int, -1, 4096), default=-1,
                   help="folds, outer folds and permutations run at a time (-1: every core; 1: one after another in "
                        "this process); same seed, same numbers")
    where = g.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="run them on this Dask cluster")
    where.add_argument("--scheduler-file", metavar="FILE", help="run them on the Dask cluster of this scheduler file")


@contextlib.contextmanager
def parallel_backend(args: argparse.Namespace) -> Iterator[None]:
    """joblib's ``dask`` backend on the cluster of ``--scheduler``/``--scheduler-file`` while the command runs
    (its workers need gmdesk installed); joblib's local processes otherwise."""
    address, file = getattr(args, "scheduler", None), getattr(args, "scheduler_file", None)
    if not (address or file) or getattr(args, "jobs", 1) == 1:
        yield
        return
    import joblib
    from distributed import Client

    try:
        client = Client(scheduler_file=file, timeout="20s") if file else Client(address, timeout="20s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise GmdeskError(f"cannot reach the Dask scheduler at {address or file}: {exc}") from None
    with client, joblib.parallel_config(backend="dask"):
        yield


def phenotypes_of(entries) -> dict[str, str] | None:
    """Phenotype of each infant from the cohort's ``phenotype`` column (None when no row has one)."""
    ph = {e.infant_id: e.phenotype for e in entries}
    return ph if any(ph.values()) else None


def recipe_grid(classifiers: list[str], feature_sets: list[str], normalisations: list[str], overlaps: list[int]):
    """Every combination as :class:`gmdesk.evaluation.protocol.Recipe`."""
    from gmdesk.evaluation.protocol import Recipe
    from gmdesk.learning.architectures import resolve_architecture

    return [Recipe(resolve_architecture(m), fs, norm, ov) for m in classifiers for fs in feature_sets
            for norm in normalisations for ov in overlaps]


def recipe_data(args: argparse.Namespace, entries, sk, recipes) -> dict:
    """Snippets of the cohort for each (feature set, normalisation, overlap) the recipes use."""
    from gmdesk.constants import WINDOW
    from gmdesk.pipeline.cohort import cut_cohort

    data: dict = {}
    for fs, norm in dict.fromkeys((r.feature_set, r.normalisation) for r in recipes):
        recs = cohort_features(args, entries, sk, fs, norm)
        for ov in dict.fromkeys(r.overlap for r in recipes):
            data[(fs, norm, ov)] = cut_cohort(recs, sk, WINDOW, ov)
    return data


def recipe_maker(args: argparse.Namespace, sk):
    """``make(recipe)``: the unfitted classifier of a recipe with the command's training options."""
    from gmdesk.pipeline.features import feature_layout

    def make(r):
        return estimator(r.classifier, args, sk, feature_layout(sk, r.feature_set, r.normalisation))

    return make


def significance_of(args: argparse.Namespace, scores, labels, infant_ids, procedure=None) -> dict:
    """The infant-level test against chance of out-of-fold scores: the exact rank test, or with
    ``--permutations`` and a ``procedure`` the permutation test of the whole procedure."""
    from gmdesk.evaluation.significance import infant_rank_test, permutation_test

    if getattr(args, "permutations", 0) and procedure is not None:
        labels_by = {str(i): int(labels[infant_ids == i][0]) for i in dict.fromkeys(infant_ids.tolist())}
        with ProgressBar("permutation test", "relabelling") as bar:
            res = permutation_test(procedure, labels_by, args.permutations, seed=args.seed, progress=bar,
                                   n_jobs=getattr(args, "jobs", -1))
        res.pop("null", None)
        return res
    return infant_rank_test(scores, labels, infant_ids, seed=args.seed)


def print_significance(sig: dict, lvl: dict) -> None:
    """The test against chance and whether the figures show a model better than chance."""
    from gmdesk.learning.validity import status_text, validation_status

    p = sig.get("p_value")
    print(f"    against chance: p = {'n/a' if p is None else f'{p:.3g}'} ({sig.get('test')})")
    print(f"    {status_text(validation_status(lvl, sig, None))}")


def estimator(arch: str, args: argparse.Namespace, sk, layout):
    """An unfitted classifier of architecture ``arch`` with the command's training options."""
    from gmdesk.learning.architectures import default_augment
    from gmdesk.learning.classifiers import make_classifier

    augment = getattr(args, "augment", None)
    # every recording reaches the model at its rate (cohort_features resamples; --fps is the files' own rate)
    return make_classifier(arch, sk, layout, fps=DEFAULT_FPS, flip=not args.no_flip,
                           augment=default_augment(arch) if augment is None else augment, epochs=args.epochs,
                           patience=args.patience,
                           seed=args.seed)


def cross_validate_shown(snips, est, scheme: str, args: argparse.Namespace, label: str, phenotypes=None):
    """Cross-validate with a fold progress bar, then print the figures; an infant-level scheme also gets its
    figures per phenotype (when known) and the test against chance (``res.significance``)."""
    from gmdesk.evaluation.metrics import phenotype_lines
    from gmdesk.evaluation.protocol import cross_validate

    with ProgressBar(label, "fold") as bar:
        res = cross_validate(snips, est, scheme, seed=args.seed, threshold=args.threshold, progress=bar,
                             phenotypes=phenotypes, n_jobs=getattr(args, "jobs", 1))
    print_cv(res)
    res.significance = None
    if scheme != "snippet":
        for line in phenotype_lines(res.infant_level["per_infant"]) if phenotypes else []:
            print(f"    {line}")
        res.significance = significance_of(args, res.oof_scores, snips.label, snips.infant_id)
        print_significance(res.significance, res.infant_level)
    return res


def print_cv(res) -> None:
    """One cross-validation's figures: snippet-level for the paper's scheme, infant-level otherwise."""
    from gmdesk.evaluation.metrics import headline

    name = f"{res.architecture} {res.feature_set} ({res.normalisation}) o{res.overlap}"
    if res.scheme == "snippet":
        s = res.summary
        print(f"{name}: {res.label}, {len(res.folds)} folds, {res.seconds:.0f} s: snippet accuracy "
              f"{percent_mean_sd(s['accuracy'])} %, AUC {percent_mean_sd(s['roc_auc'])} % — leaks infants; not an estimate "
              "for new infants")
    else:
        print(f"{name}: {res.label}, {len(res.folds)} folds, {res.seconds:.0f} s:\n    {headline(res.infant_level)}")


def nested_shown(args: argparse.Namespace, data: dict, recipes, sk, scheme: str, phenotypes) -> dict:
    """Nested selection under one outer scheme, shown as it runs: the recipe chosen in each outer fold, the
    outer infant-level figures, per phenotype when known, and the test against chance (``significance``)."""
    from functools import partial

    from gmdesk.evaluation.metrics import headline, phenotype_lines
    from gmdesk.evaluation.protocol import SCHEME_LABELS, nested_selection

    make = recipe_maker(args, sk)
    with ProgressBar(f"nested selection ({scheme})", "fold") as bar:
        sel = nested_selection(data, recipes, make, seed=args.seed, threshold=args.threshold, progress=bar,
                               scheme=scheme, phenotypes=phenotypes, inner=args.inner, n_jobs=getattr(args, "jobs", 1))
    print(f"nested selection over {len(recipes)} recipes, outer {SCHEME_LABELS[scheme]}:")
    for r in sel["per_fold"]:
        print(f"  {r['held_out']}: chose {r['chosen']} (inner {r['inner_scheme']} CV: infant AUC {r['inner_auc']:.2f}, "
              f"balanced accuracy {r['inner_balanced_accuracy']:.2f})")
    lvl = sel["infant_level"]
    print(f"    {headline(lvl)}")
    if phenotypes:
        for line in phenotype_lines(lvl["per_infant"]):
            print(f"    {line}")
    # Relabelling infants would tear labels from their phenotypes, so leave-one-phenotype-out folds are tested
    # by the rank test only.
    procedure = None if scheme == "lopo" else partial(_nested_statistic, data, recipes, make, scheme, phenotypes,
                                                      args.inner, args.seed, args.threshold)
    sel["significance"] = significance_of(args, sel["oof_scores"], sel["labels"], sel["infant_ids"], procedure)
    print_significance(sel["significance"], lvl)
    return sel


def _nested_statistic(data, recipes, make, scheme, phenotypes, inner, seed, threshold, labels_by_infant) -> float:
    """The outer infant AUC of nested selection with the infants relabelled (the permutation test's procedure)."""
    import numpy as np

    from gmdesk.evaluation.protocol import nested_selection

    relabelled = {}
    for key, s in data.items():
        t = s.subset(np.arange(len(s)))
        t.label = np.array([labels_by_infant[str(i)] for i in t.infant_id], dtype=s.label.dtype)
        relabelled[key] = t
    sel = nested_selection(relabelled, recipes, make, seed=seed, threshold=threshold, scheme=scheme,
                           phenotypes=phenotypes, inner=inner)
    return sel["infant_level"]["auc"]["value"] or float("nan")
