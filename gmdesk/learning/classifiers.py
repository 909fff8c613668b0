"""Snippet classifiers trained with global (per-infant) labels (paper sections 3.3–3.4): which class serves
which architecture, and the classifier of an architecture for a feature layout.

Six families (the descriptor families in three modules), behind one scikit-learn estimator API
(:class:`~gmdesk.learning.base.SnippetClassifier`):

============= ========================================================== ==============================
name          architecture                                               class (module)
============= ========================================================== ==============================
svm-rbf       SVC, RBF kernel, on flattened z-scored snippets            SVMClassifier (svm)
svm-poly      SVC, polynomial kernel of degree 3                         SVMClassifier (svm)
lstm-2, -3    LSTM layers                                                NetworkClassifier (networks)
cnn1d-2, -3   Conv1D layers → global average → dense                     NetworkClassifier (networks)
vit-2, -4     frame tokens, position embedding, 2 / 4 encoders           NetworkClassifier (networks)
kinematics    movement descriptors (:mod:`gmdesk.pipeline.kinematics`)   KinematicsLogisticRegression
              → standardised logistic regression (L2, ``C`` 0.05)        (kinematics_lr)
kinematics-gb gradient boosting on the descriptors (150 trees, depth 2)  KinematicsGradientBoosting
                                                                         (kinematics_gb)
histograms,   a literature descriptor set (:mod:`gmdesk.pipeline.          HistogramsLogisticRegression ...
joint-stats,  descriptor_sets`) → standardised logistic regression         (literature)
spectral,
complexity,
asymmetry,
movement
normative     surprise under a Gaussian of normal snippets' ``movement``   NormativeSurprise (normative)
              descriptors → logistic regression
fidgety-      one normative cut per clinical finding (fidgety movements   FidgetyFindings (normative)
findings      not seen, exaggerated, synchronised)
============= ========================================================== ==============================

Every family fits class-balanced (each class weighs the same whatever the numbers of snippets).

``predict_proba(X)[:, 1]`` is P(abnormal) per snippet (normal = 0, abnormal = 1).
"""

from __future__ import annotations

import logging
from typing import Any

from gmdesk.constants import DEFAULT_FPS
from gmdesk.core.body import leaves
from gmdesk.learning.architectures import resolve_architecture
from gmdesk.learning.base import SnippetClassifier
from gmdesk.learning.kinematics_gb import KinematicsGradientBoosting
from gmdesk.learning.kinematics_lr import KinematicsLogisticRegression
from gmdesk.learning.literature import LITERATURE_CLASSIFIERS
from gmdesk.learning.networks import NetworkClassifier
from gmdesk.learning.normative import FidgetyCoreSurprise, FidgetyFindings, FidgetyNormativeSurprise, NormativeSurprise
from gmdesk.learning.svm import SVMClassifier

logger = logging.getLogger(__name__)

#: Every classifier class; together they serve each architecture once.
CLASSIFIERS: tuple[type[SnippetClassifier], ...] = (SVMClassifier, NetworkClassifier, KinematicsLogisticRegression,
                                                    KinematicsGradientBoosting, *LITERATURE_CLASSIFIERS,
                                                    NormativeSurprise, FidgetyNormativeSurprise, FidgetyCoreSurprise,
                                                    FidgetyFindings)
_BY_ARCHITECTURE = {a: cls for cls in CLASSIFIERS for a in cls.architectures}


def classifier_class(architecture: str) -> type[SnippetClassifier]:
    """The class serving ``architecture`` (a name or alias)."""
    return _BY_ARCHITECTURE[resolve_architecture(architecture)]


def classifier_for(architecture: str, **params: Any) -> SnippetClassifier:
    """An unfitted classifier of ``architecture`` (a name or alias; kept by its full name) with
    hyper-parameters ``params`` (see :class:`~gmdesk.learning.base.SnippetClassifier`)."""
    arch = resolve_architecture(architecture)
    return _BY_ARCHITECTURE[arch](arch, **params)


def make_classifier(architecture: str, skeleton: Any, layout: Any, fps: float = DEFAULT_FPS, flip: bool = True,
                    augment: int = 0, **params: Any) -> SnippetClassifier:
    """A classifier for ``architecture`` that knows its feature layout: the flip's column
    permutation and signs, and the coordinate / angle columns, mirror pairs, end effectors and limb segments
    that the descriptor families and augmentation need (end effectors: the skeleton's leaf landmarks;
    segments: the skeleton's edges between landmarks with coordinates).

    Parameters
    ----------
    skeleton : gmdesk.core.skeleton.Skeleton
    layout : gmdesk.pipeline.features.FeatureLayout
    augment : int
        Augmented copies per training snippet (0: only the flip).
    **params
        Other hyper-parameters (epochs, patience, seed, C ...).
    """

    cc = [int(c) for c in layout.coord_columns]
    lm_of = {layout.names[c][:-2]: k for k, c in enumerate(cc)}
    pairs = [(lm_of[a], lm_of[b]) for a, b in skeleton.mirror_pairs if a in lm_of and b in lm_of]
    leaf = leaves(skeleton)
    ee = [lm_of[n] for j, n in enumerate(skeleton.landmarks) if leaf[j] and n in lm_of and skeleton.mirror_permutation[j] != j]
    segs = [(lm_of[a], lm_of[b]) for a, b in skeleton.edges if a in lm_of and b in lm_of]
    limbs = [(lm_of[a], lm_of[b]) for a, b in skeleton.limbs if a in lm_of and b in lm_of]
    return classifier_for(
        architecture,
        mirror_columns=tuple(int(c) for c in layout.mirror_columns) if flip else None,
        mirror_signs=tuple(float(v) for v in layout.mirror_signs) if flip else None,
        coord_columns=tuple(cc) or None, angle_columns=tuple(int(c) for c in layout.angle_columns) or None,
        mirror_landmarks=tuple(x for p in pairs for x in p) or None, end_effectors=tuple(ee) or None,
        segments=tuple(x for s in segs for x in s) or None, limbs=tuple(x for limb in limbs for x in limb) or None,
        fps=float(fps), aug_copies=int(augment), **params)
