"""``gmdesk analyse``: ICA of the feature sets and cosine similarity of 1D-CNN embeddings."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from gmdesk.cli.args import OVERLAP, add_pose_args, cohort_entries, command_parser, skeleton_of
from gmdesk.cli.training import add_training_args, cohort_features, estimator
from gmdesk.constants import DEFAULT_OVERLAP, WINDOW
from gmdesk.pipeline.features import FEATURE_SETS

logger = logging.getLogger(__name__)


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = command_parser(subparsers, "analyse", "ICA of the feature sets and cosine similarity of 1D-CNN embeddings")
    p.add_argument("cohort", help="cohort table (.csv)")
    p.add_argument("-o", "--output", required=True, type=Path, help="folder for tables and plots")
    p.add_argument("--ica", action="store_true", help="only the ICA (default: both analyses)")
    p.add_argument("--cosine", action="store_true", help="only the cosine similarity (default: both analyses)")
    p.add_argument("--features", choices=FEATURE_SETS, default="both", help="features of the 1D-CNN")
    p.add_argument("--overlap", type=OVERLAP, default=DEFAULT_OVERLAP, help="frames shared by consecutive windows")
    add_training_args(p, threshold=False)
    add_pose_args(p)
    return p


def run(args: argparse.Namespace) -> int:
    sk = skeleton_of(args)
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    entries = cohort_entries(args.cohort, args.subset, learn=True)
    if not (args.ica or args.cosine):
        args.ica = args.cosine = True
    if args.ica:
        _ica(args, entries, sk, out)
    if args.cosine:
        _cosine(args, entries, sk, out)
    return 0


def _ica(args: argparse.Namespace, entries, sk, out: Path) -> None:
    """The first independent components of each feature set (ica_components.csv and a plot)."""
    from gmdesk.evaluation.insight import ica_components
    from gmdesk.evaluation.protocol import write_table
    from gmdesk.pipeline.cohort import cut_cohort
    from gmdesk.plots.insight import plot_ica

    rows = []
    for fs in ("coords", "angles", "both"):
        snips = cut_cohort(cohort_features(args, entries, sk, fs), sk, WINDOW, args.overlap)
        rows += ica_components(snips, seed=args.seed)
        print(f"ICA {fs}: {len(snips)} snippets, 5 folds")
    print(f"wrote {write_table(rows, out / 'ica_components.csv')} and {plot_ica(rows, out / 'ica_first_component.png')}")


def _cosine(args: argparse.Namespace, entries, sk, out: Path) -> None:
    """Cosine similarity of the test snippets' 1D-CNN embeddings in each of 5 folds, and the abnormal snippets
    closer to normal ones."""
    import numpy as np
    from sklearn.base import clone
    from sklearn.model_selection import StratifiedKFold

    from gmdesk.evaluation.insight import abnormal_closer_to_normal, snippet_labels
    from gmdesk.evaluation.protocol import write_table
    from gmdesk.pipeline.cohort import cut_cohort
    from gmdesk.pipeline.features import feature_layout
    from gmdesk.plots.insight import plot_similarity
    from gmdesk.screening.similarity import cosine_similarity_matrix

    fs = args.features
    snips = cut_cohort(cohort_features(args, entries, sk, fs), sk, WINDOW, args.overlap)
    est = estimator("cnn1d-2", args, sk, feature_layout(sk, fs))
    closer = []
    folds = StratifiedKFold(5, shuffle=True, random_state=42).split(snips.X, snips.label)
    for k, (tr, te) in enumerate(folds):
        model = clone(est).fit(snips.X[tr], snips.label[tr])
        test = snips.subset(te)
        sim = cosine_similarity_matrix(model.embed(test.X))
        names = snippet_labels(test)
        np.savetxt(out / f"cosine_fold{k + 1}.csv", sim, delimiter=",", header=",".join(names), comments="")
        plot_similarity(sim, names, out / f"cosine_fold{k + 1}.png", f"1D-CNN embeddings, fold {k + 1} test snippets")
        for c in abnormal_closer_to_normal(sim, test.label, names):
            closer.append({"fold": k + 1} | c)
        print(f"cosine fold {k + 1}: {len(te)} snippets; "
              f"{sum(c['fold'] == k + 1 for c in closer)} abnormal snippets closer to normal ones")
    write_table(closer or [{"fold": "", "snippet": "", "mean_similarity_to_normal": "",
                            "mean_similarity_to_abnormal": ""}], out / "abnormal_closer_to_normal.csv")
    print(f"wrote {out}/cosine_fold*.csv/png and {out / 'abnormal_closer_to_normal.csv'}")
