"""``gmdesk train``: train a classifier on a cohort and write a model bundle (with its model card).

Without a recipe (no ``--classifier``, ``--features`` or ``--normalise``) the recipe is **chosen on the site's
own infants**: the card's headline figures come from a nested selection (the recipe chosen by an inner
cross-validation inside each outer training fold of the first infant-level scheme of ``--cv``), and the
final recipe is the one the same inner cross-validation chooses on all infants; its out-of-fold scores there
calibrate the model. With a recipe, that recipe is cross-validated (``--cv``): the first infant-level scheme
gives the card's figures and its out-of-fold scores calibrate the model (:mod:`gmdesk.learning.calibration`).
Either way the out-of-fold infant scores are tested against chance (:mod:`gmdesk.evaluation.significance`).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from gmdesk.cli.args import (
    OVERLAP,
    ProgressBar,
    add_pose_args,
    check_outputs,
    classifier,
    cohort_entries,
    cohort_pose_files,
    command_parser,
    number,
    skeleton_of,
)
from gmdesk.cli.training import (
    add_selection_args,
    add_training_args,
    cross_validate_shown,
    estimator,
    nested_shown,
    parallel_backend,
    phenotypes_of,
    recipe_data,
    recipe_grid,
    recipe_maker,
    split_list,
)
from gmdesk.constants import DEFAULT_MIN_SNIPPETS, DEFAULT_OVERLAP, WINDOW
from gmdesk.errors import UsageError
from gmdesk.learning.architectures import DEFAULT_CLASSIFIER as DEFAULT_CLASSIFIER_FIXED
from gmdesk.learning.architectures import (
    DEFAULT_FEATURE_SET,
    DEFAULT_NORMALISATION,
    SELECTION_CLASSIFIERS,
    SELECTION_FEATURE_SETS,
    SELECTION_NORMALISATIONS,
    SELECTION_OVERLAPS,
)
from gmdesk.pipeline.features import FEATURE_SETS, NORMALISATIONS

logger = logging.getLogger(__name__)


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = command_parser(subparsers, "train", "train a classifier on a cohort and write a model bundle")
    p.add_argument("cohort", help="cohort table (.csv)")
    p.add_argument("--classifier", "--model", dest="model", default=None, metavar="CLASSIFIER",
                   type=classifier,
                   help="a fixed classifier (old name: --model): kinematics, kinematics-gb, svm-rbf, svm-poly, lstm-2, "
                        "lstm-3, cnn1d-2, cnn1d-3, vit-2, vit-4, ...; without it (and without --features/--normalise) "
                        f"the recipe is chosen on the cohort's own infants among {','.join(SELECTION_CLASSIFIERS)} "
                        "by nested selection")
    p.add_argument("-o", "--output", required=True, type=Path, help="bundle folder to write")
    p.add_argument("--features", choices=FEATURE_SETS, default=None,
                   help=f"feature set (fixed recipe: {DEFAULT_FEATURE_SET}; selection: {','.join(SELECTION_FEATURE_SETS)})")
    p.add_argument("--overlap", type=OVERLAP, default=None,
                   help=f"frames shared by consecutive windows (fixed recipe: {DEFAULT_OVERLAP}; selection: "
                        f"{','.join(map(str, SELECTION_OVERLAPS))})")
    p.add_argument("--normalise", choices=NORMALISATIONS, default=None,
                   help="coordinates: paper (sternum translation), body (turned and scaled to the body: camera-invariant), "
                        f"body-frame (turned every frame); fixed recipe: {DEFAULT_NORMALISATION}; selection: "
                        f"{','.join(SELECTION_NORMALISATIONS)}")
    p.add_argument("--cv", default="infant",
                   help="cross-validate first (comma-separated snippet, infant, loio; 'none' to skip): the infant-level "
                        "figures go into the model card, and the out-of-fold scores calibrate the model")
    p.add_argument("--no-calibration", action="store_true", help="do not calibrate snippet probabilities")
    p.add_argument("--min-snippets", type=number(int, 1, 10_000), default=DEFAULT_MIN_SNIPPETS,
                   help="fewest valid snippets for a normal/abnormal verdict (fewer: indeterminate)")
    p.add_argument("--model-id", help="the bundle's name (default: classifier-features-normalisation-overlap-seed)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing bundle folder")
    add_training_args(p)
    add_selection_args(p)
    add_pose_args(p)
    return p


def run(args: argparse.Namespace) -> int:
    with parallel_backend(args):  # folds in joblib's processes, or on the Dask cluster of --scheduler
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    from gmdesk.evaluation.protocol import CV_SCHEMES
    from gmdesk.learning.bundle import save_bundle
    from gmdesk.learning.calibration import is_platt
    from gmdesk.learning.model_card import model_card
    from gmdesk.learning.validity import model_validation, status_text
    from gmdesk.pipeline.features import feature_layout

    check_outputs(args, {}, folders={"-o": args.output})
    if Path(args.output).exists() and not args.overwrite:  # before minutes of training, not after
        raise UsageError(f"-o {args.output}: the model folder already exists; give another folder or --overwrite")
    sk = skeleton_of(args)
    entries = cohort_entries(args.cohort, args.subset, learn=True)
    check_outputs(args, {}, extra=cohort_pose_files(entries), folders={"-o": args.output})
    schemes = [] if args.cv == "none" else split_list(args.cv, "--cv", CV_SCHEMES)
    if args.model is None and args.features is None and args.normalise is None:
        snips, metrics, calibration = _select(args, sk, entries, schemes)
    else:
        args.model = args.model or DEFAULT_CLASSIFIER_FIXED
        args.overlap = DEFAULT_OVERLAP if args.overlap is None else args.overlap
        args.features, args.normalise = args.features or DEFAULT_FEATURE_SET, args.normalise or DEFAULT_NORMALISATION
        snips = _snippets(entries, sk, args)
        print(f"training {args.model} on {len(entries)} infants, {len(snips)} snippets ({args.features}, "
              f"{args.normalise} normalisation, overlap {args.overlap})")
        metrics, calibration = _cross_validate(snips, estimator(args.model, args, sk, feature_layout(
            sk, args.features, args.normalise)), schemes, args, phenotypes_of(entries))
    arch = args.model
    est = estimator(arch, args, sk, feature_layout(sk, args.features, args.normalise))
    with ProgressBar("train", "epoch") as bar:
        est.fit(snips.X, snips.label, progress=bar)
    summary = _cohort_summary(entries, snips)
    external = _external_validation(args, sk, est, entries, calibration)
    if external:
        metrics["external"] = external
    model_id = args.model_id or f"{arch}-{args.features}-{args.normalise}-o{args.overlap}-s{args.seed}"
    validation = model_validation(metrics, calibration)
    card = model_card(model_id, arch, feature_set=args.features, normalisation=args.normalise, overlap=args.overlap,
                      threshold=args.threshold, min_snippets=args.min_snippets, seed=args.seed, flip=not args.no_flip,
                      augment=est.aug_copies, epochs=args.epochs, patience=args.patience, cohort=summary,
                      metrics=metrics, calibrated=is_platt(calibration), validation=validation, calibration=calibration)
    out = save_bundle(args.output, est, sk, args.features, WINDOW, args.overlap, model_id, summary, metrics,
                      threshold=args.threshold, card=card, overwrite=args.overwrite, reference=snips,
                      normalisation=args.normalise, calibration=calibration, min_snippets=args.min_snippets,
                      validation=validation)
    print(f"wrote model bundle {out} ({est.train_info_['seconds']:.1f} s, "
          f"{len(est.history_.get('loss', [])) or '-'} epochs)")
    print(status_text(validation))
    return 0


def _select(args: argparse.Namespace, sk, entries, schemes: list[str]) -> tuple[Any, dict, dict | None]:
    """Choose the recipe on the cohort's own infants: the nested figures of the first infant-level scheme for
    the card, then the recipe the inner cross-validation chooses on all infants (set on ``args``), its snippets
    and its calibration."""
    from gmdesk.evaluation.metrics import headline
    from gmdesk.evaluation.protocol import INFANT_SCHEMES, select_recipe

    recipes = recipe_grid(list(SELECTION_CLASSIFIERS), list(SELECTION_FEATURE_SETS), list(SELECTION_NORMALISATIONS),
                          list(SELECTION_OVERLAPS) if args.overlap is None else [args.overlap])
    phenotypes = phenotypes_of(entries)
    print(f"choosing among {len(recipes)} recipes on {len(entries)} infants (nested selection)")
    data = recipe_data(args, entries, sk, recipes)
    metrics: dict = {}
    scheme = next((s for s in schemes if s in INFANT_SCHEMES), None)
    if scheme:
        sel = nested_shown(args, data, recipes, sk, scheme, phenotypes)
        metrics["infant_level"] = _figures(sel["infant_level"], scheme=f"nested selection, outer {sel['scheme']} CV",
                                           calibrated=True)
        metrics["uncalibrated_infant_level"] = _figures(sel["uncalibrated_infant_level"])
        metrics["significance"] = sel["significance"]
        metrics["selection"] = {"per_fold": sel["per_fold"], "recipes": [r.name() for r in recipes]}
    final = select_recipe(data, recipes, recipe_maker(args, sk), [e.infant_id for e in entries], seed=args.seed,
                          threshold=args.threshold, phenotypes=phenotypes, scheme=args.inner)
    r = final.recipe
    args.model, args.features, args.normalise, args.overlap = r.classifier, r.feature_set, r.normalisation, r.overlap
    metrics.setdefault("selection", {})["final"] = {"recipe": r.name(), "scheme": final.scheme,
                                                   "scores": {k: list(v) for k, v in final.scores.items()}}
    print(f"chosen on all {len(entries)} infants: {r.name()} (inner {final.scheme} CV: infant AUC {final.key[0]:.2f}, "
          f"balanced accuracy {final.key[1]:.2f}; its out-of-fold figures there, optimistic: "
          f"{headline(final.result.infant_level)})")
    calibration = None
    if not args.no_calibration and final.calibration:
        calibration = final.calibration | {"fitted_on": f"out-of-fold scores of the selection's {final.scheme} CV"}
    return data[(r.feature_set, r.normalisation, r.overlap)], metrics, calibration


def _snippets(entries, sk, args: argparse.Namespace):
    """The snippets of cohort entries as the recipe cuts them."""
    from gmdesk.pipeline.cohort import cohort_snippets

    return cohort_snippets(entries, sk, args.features, overlap=args.overlap, mapping=args.mapping, fps=args.fps,
                           individual=args.individual, normalisation=args.normalise)


def _figures(lvl: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """Infant-level figures as a bundle's metrics keep them: without the per-infant table, with ``extra``."""
    return {k: v for k, v in lvl.items() if k != "per_infant"} | extra


def _cross_validate(snips, est, schemes: list[str], args: argparse.Namespace,
                    phenotypes: dict | None = None) -> tuple[dict, dict | None]:
    """Cross-validate the recipe with each scheme; the metrics for the bundle, and the calibration fitted on
    the first infant-level scheme's out-of-fold scores (None with --no-calibration or no such scheme)."""
    metrics: dict = {}
    calibration = None
    for scheme in schemes:
        res = cross_validate_shown(snips, est, scheme, args, f"{scheme} CV", phenotypes)
        if res.significance and "significance" not in metrics:
            metrics["significance"] = res.significance
        metrics[f"{scheme}_cv"] = {"summary": res.summary, "folds": res.folds, "label": res.label}
        if scheme != "snippet" and "infant_level" not in metrics:
            lvl = _figures(res.infant_level, scheme=res.label)
            if not args.no_calibration:
                metrics["uncalibrated_infant_level"] = lvl
                calibration, lvl = _calibrated(res, snips, args, est)
            metrics["infant_level"] = lvl
    return metrics, calibration


def _calibrated(res, snips, args: argparse.Namespace, est) -> tuple[dict, dict]:
    """The calibration fitted on a cross-validation's out-of-fold scores (none for a family calibrated as it is
    fitted), and the infant-level figures of the scores as the bundle decides on them: the card's figures."""
    from gmdesk.evaluation.metrics import headline, infant_level
    from gmdesk.learning.calibration import out_of_fold_calibration

    calibration, scores = out_of_fold_calibration(est, res.oof_scores, snips.label, snips.infant_id, args.threshold,
                                                  f"out-of-fold scores of {res.label}")
    cal = infant_level(scores, snips.label, snips.infant_id, threshold=args.threshold, seed=args.seed)
    print(f"    calibrated (as the bundle decides): {headline(cal)}")
    return calibration, _figures(cal, scheme=res.label, calibrated=True)


def _cohort_summary(entries, snips) -> dict:
    return {"infants": len(entries), "normal_infants": sum(e.label == 0 for e in entries),
            "abnormal_infants": sum(e.label == 1 for e in entries), "snippets": int(len(snips)),
            "normal_snippets": int((snips.label == 0).sum()), "abnormal_snippets": int((snips.label == 1).sum()),
            "infant_ids": [e.infant_id for e in entries],
            "synthetic": all(e.synthetic for e in entries)}


def _external_validation(args: argparse.Namespace, sk, est, entries, calibration) -> dict | None:
    """Infant-level figures of the trained model on the cohort's ``external`` infants (none trained on),
    when training used another set; ``None`` when there are none."""
    from gmdesk.evaluation.metrics import headline, infant_level
    from gmdesk.learning.calibration import calibrate
    from gmdesk.pipeline.cohort import read_cohort

    if not args.subset or args.subset == "external":
        return None
    trained = {e.infant_id for e in entries}
    ext = [e for e in read_cohort(args.cohort) if e.set == "external" and e.infant_id not in trained]
    if not ext:
        return None
    snips = _snippets(ext, sk, args)
    p = est.score_snippets(snips.X)
    if calibration:
        p = calibrate(p, calibration)
    lvl = infant_level(p, snips.label, snips.infant_id, threshold=args.threshold, seed=args.seed)
    print(f"external validation ({len(ext)} infants never trained on):\n    {headline(lvl)}")
    return _figures(lvl, scheme="external set of the cohort")
