"""What the commands that fit classifiers share (``train``, ``evaluate``, ``analyse``): their training
options, the classifier a recipe names, cohort features, and cross-validation shown as it runs."""

from __future__ import annotations

import argparse
import logging

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
    q.add_argument("--augment", type=number(int, 0, 20), default=0,
                   help="augmented copies of each training snippet (random scale, rotation, time warp, jitter) "
                        "beside the flip; 0: none")
    q.add_argument("--subset", default="internal", help="cohort set to use ('' for all)")


def split_list(text: str, what: str, allowed: tuple[str, ...] | None = None) -> list[str]:
    """The items of a comma-separated option, each one of ``allowed`` when given."""
    items = [t.strip() for t in text.split(",") if t.strip()]
    bad = [t for t in items if allowed and t not in allowed]
    if not items or bad:
        raise GmdeskError(f"{what}: {bad or text!r} is not one of {allowed}")
    return items


def cohort_features(args: argparse.Namespace, entries, sk, fs: str, normalisation: str = "paper"):
    """Cleaned per-frame features of cohort entries with the command's mapping, fps and individual."""
    from gmdesk.pipeline.cohort import cohort_features as features

    return features(entries, sk, fs, mapping=args.mapping, fps=args.fps, individual=args.individual,
                    normalisation=normalisation)


def estimator(arch: str, args: argparse.Namespace, sk, layout):
    """An unfitted classifier of architecture ``arch`` with the command's training options."""
    from gmdesk.learning.classifiers import make_classifier

    return make_classifier(arch, sk, layout, fps=getattr(args, "fps", None) or DEFAULT_FPS, flip=not args.no_flip,
                           augment=getattr(args, "augment", 0), epochs=args.epochs, patience=args.patience,
                           seed=args.seed)


def cross_validate_shown(snips, est, scheme: str, args: argparse.Namespace, label: str):
    """Cross-validate with a fold progress bar, then print the figures."""
    from gmdesk.evaluation.protocol import cross_validate

    with ProgressBar(label, "fold") as bar:
        res = cross_validate(snips, est, scheme, seed=args.seed, threshold=args.threshold, progress=bar)
    print_cv(res)
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
