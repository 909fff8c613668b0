"""Classifier names and architectures (no heavy imports: the command line checks names with it)."""

from __future__ import annotations

import logging
from typing import Any

from gmdesk.errors import GmdeskError

logger = logging.getLogger(__name__)

ARCHITECTURES: dict[str, dict[str, Any]] = {
    "svm-rbf": {"family": "svm", "kernel": "rbf"},
    "svm-poly": {"family": "svm", "kernel": "poly", "degree": 3},
    "lstm-2": {"family": "lstm", "units": (64, 32)},
    "lstm-3": {"family": "lstm", "units": (128, 64, 32)},
    "cnn1d-2": {"family": "cnn1d", "filters": (32, 64), "dense": 32},
    "cnn1d-3": {"family": "cnn1d", "filters": (32, 64, 128), "dense": 64},
    "vit-2": {"family": "vit", "layers": 2, "heads": 8, "dense": 128},
    "vit-4": {"family": "vit", "layers": 4, "heads": 8, "dense": 128},
    # movement descriptors (gmdesk.pipeline.kinematics) + standardised logistic regression / gradient boosting
    "kinematics": {"family": "kinematics", "model": "logreg"},
    "kinematics-gb": {"family": "kinematics", "model": "gb"},
    # literature descriptor sets (gmdesk.pipeline.descriptor_sets) + class-balanced standardised logistic regression
    "histograms": {"family": "descriptors", "descriptors": "histograms", "model": "logreg"},
    "joint-stats": {"family": "descriptors", "descriptors": "joint-stats", "model": "logreg"},
    "spectral": {"family": "descriptors", "descriptors": "spectral", "model": "logreg"},
    "complexity": {"family": "descriptors", "descriptors": "complexity", "model": "logreg"},
    "asymmetry": {"family": "descriptors", "descriptors": "asymmetry", "model": "logreg"},
    "movement": {"family": "descriptors", "descriptors": "movement", "model": "logreg"},
    # surprise under a naive Gaussian of normal snippets' movement descriptors → logistic regression
    "normative": {"family": "descriptors", "descriptors": "movement", "model": "normative"},
    # fidgety-movement descriptors (gmdesk.pipeline.fidgety): logistic regression / normative surprise
    "fidgety": {"family": "descriptors", "descriptors": "fidgety", "model": "logreg"},
    "fidgety-normative": {"family": "descriptors", "descriptors": "fidgety", "model": "normative"},
    # one descriptor per clinical finding, detector noise suppressed: normative surprise
    "fidgety-core": {"family": "descriptors", "descriptors": "fidgety-core", "model": "normative"},
    # fidgety movements seen in every limb, exaggerated, synchronised: one cut per finding from normal snippets
    "fidgety-findings": {"family": "descriptors", "descriptors": "fidgety-findings", "model": "findings"},
}
FAMILIES = ("svm", "lstm", "cnn1d", "vit", "kinematics", "descriptors")
#: Short names accepted on the command line.
ALIASES = {"svm": "svm-rbf", "lstm": "lstm-2", "cnn1d": "cnn1d-2", "cnn": "cnn1d-2", "vit": "vit-2",
           "kin": "kinematics", "kinematics-lr": "kinematics", "mccay": "histograms", "chambers": "joint-stats"}


#: Augmented copies of each training snippet a family gets unless told otherwise: the networks learn from raw
#: coordinates, so random scale, rotation, time warp and jitter stand in for the cameras and infants a small
#: cohort lacks; descriptor families are built to be invariant already.
NETWORK_AUGMENT = 2


def default_augment(name: str) -> int:
    """Augmented copies per training snippet for ``name`` when ``--augment`` is not given."""
    return NETWORK_AUGMENT if ARCHITECTURES[resolve_architecture(name)]["family"] in ("lstm", "cnn1d", "vit") else 0


def resolve_architecture(name: str) -> str:
    """Full architecture name from a name or alias (``cnn1d`` → ``cnn1d-2``)."""
    name = ALIASES.get(name, name)
    if name not in ARCHITECTURES:
        raise GmdeskError(f"unknown classifier {name!r}; choose one of {sorted(ARCHITECTURES)} or {sorted(ALIASES)}")
    return name


#: The recipe a fixed-recipe run starts from (``--features``/``--normalise`` without ``--classifier``; the app's
#: first choice): the one that held best when each abnormal phenotype was left out in turn (leave-one-phenotype-out,
#: ``bench/bench_selection.py``): one cut per clinical finding, set on normal snippets, which needs no example of
#: the phenotype it meets. The README's "Choosing a model" gives the table and the weaknesses.
DEFAULT_CLASSIFIER = "fidgety-findings"
DEFAULT_FEATURE_SET = "both"
DEFAULT_NORMALISATION = "body"

#: What ``gmdesk train`` and ``gmdesk evaluate`` choose among when no recipe is given (nested selection by an
#: inner cross-validation inside each outer training fold: leave-one-phenotype-out when the training infants'
#: phenotypes are known, else infant-grouped): the models of normal movement — one cut per finding, the fidgety
#: surprise, the surprise of all literature descriptors — fast descriptor families; the descriptors scale
#: themselves by the body, so one normalisation serves. A short list on purpose: on a cohort of tens of infants
#: the inner figures are noisy, and every recipe added is one more chance to choose a worse one by luck (the
#: discriminative ``fidgety`` and ``fidgety-normative`` held worse when a phenotype was left out, so they left
#: the list). Networks and SVMs join when asked (``--classifiers``).
SELECTION_CLASSIFIERS: tuple[str, ...] = ("fidgety-findings", "fidgety-core", "normative")
SELECTION_FEATURE_SETS: tuple[str, ...] = ("both",)
SELECTION_NORMALISATIONS: tuple[str, ...] = ("body",)
#: The window overlap (frames) of the selection's recipes: 250, one of the paper's overlaps (section 3.2, Fig. 2:
#: 299-100), a window every 1.67 s instead of every 5 s. The cuts of a normative family are quantiles of the normal
#: training snippets and the verdict is a share of snippets, so both are finer with more of them; infant-grouped
#: CV keeps the overlapping snippets of one infant together. Measured on synthetic tuning cohorts (leave one
#: phenotype out): 40-s recordings 84 % of infants at 250 vs 79 % at 150 (normal 77/96 vs 69/96, no abnormal
#: phenotype worse); 60-90 s the same (83/96 both); twelve-infant 40-s, 25-fps cohorts (nine, leave-one-infant-out
#: nested selection) 79 % vs 73 %. A fixed recipe keeps the paper's 150 (``--overlap`` / ``--overlaps``).
SELECTION_OVERLAPS: tuple[int, ...] = (250,)
