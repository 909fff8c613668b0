"""``normative``: a Bayesian-surprise model of normal movement (after Chambers et al. 2020, doi:10.1109/
TNSRE.2020.3029121, who score an infant by how unlikely its movement is under a model of normal infants).

A diagonal ("naive") Gaussian is fitted per descriptor of the ``movement`` set (:mod:`gmdesk.pipeline.
descriptor_sets`) on the NORMAL training snippets only. (For a set of at most 40 descriptors, with enough normal
snippets, the Gaussian has a full covariance, shrunk by Ledoit-Wolf: descriptors that measure one thing
together do not count it twice.) A snippet's surprise is its mean negative log-likelihood over the
(whitened) descriptors, with each descriptor's z-score clipped to ±:attr:`~NormativeSurprise.
z_clip` (one wild descriptor cannot dominate; the constant terms dropped): ``mean(min(z², clip²)) / 2``.
P(abnormal) is a class-balanced logistic regression on the surprise (one feature).

Why it exists: the model of normal movement never needs examples of the abnormal phenotypes. Any departure
from normal movement - absent, sporadic or abnormal fidgety movements, cramped-synchronised movement, or a
phenotype the training cohort did not have - raises the surprise, so it generalises to abnormal phenotypes it
never saw in training, where a discriminative model learns only the abnormal phenotypes of its cohort.

The logistic regression is fitted on out-of-fold surprises of the normal snippets (5 contiguous folds of the
normal training snippets, which keeps most of an infant's consecutive snippets together), so a new normal
infant's surprise is not judged against an in-sample one. Learned: the normal means and sds (as
``descriptors.npz``) and the LogisticRegression (``model.skops``).
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import numpy as np

from gmdesk.errors import GmdeskError
from gmdesk.learning.base import check_snippets
from gmdesk.learning.descriptors import DescriptorClassifier
from gmdesk.learning.params import Constraint, OneOf
from gmdesk.progress import CancelFn, ProgressFn

logger = logging.getLogger(__name__)


def normal_gaussian(D: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sd (floored at 1e-6 and 1 % of the median sd) per descriptor of rows ``D``."""
    mu = D.mean(axis=0)
    sd = D.std(axis=0)
    floor = max(1e-6, 0.01 * float(np.median(sd))) if sd.size else 1e-6
    return mu, np.maximum(sd, floor)


def surprise(Z: np.ndarray, z_clip: float) -> np.ndarray:
    """Mean over descriptors of ``min(z², clip²) / 2`` for z-scores ``Z`` ``(n, d)``."""
    return 0.5 * np.minimum(Z * Z, z_clip * z_clip).mean(axis=1)


class NormativeSurprise(DescriptorClassifier):
    """Surprise under a naive Gaussian of normal snippets' ``movement`` descriptors → class-balanced logistic
    regression. ``C`` is not used (the one-feature regression is fitted with C = 1e4)."""

    architectures: ClassVar[tuple[str, ...]] = ("normative",)
    descriptor_set: ClassVar[str] = "movement"
    model: ClassVar[str] = "normative"
    #: Largest |z| a descriptor contributes with.
    z_clip: ClassVar[float] = 5.0
    #: The regression on out-of-fold surprises is the calibration: a second one, fitted on cross-validated
    #: scores of other phenotypes, moved the verdicts of a phenotype held out (leave-one-phenotype-out, 3
    #: cohorts: infant accuracy 0.69-0.81 with it, 0.75-0.84 without).
    calibrated_by_construction: ClassVar[bool] = True
    _parameter_constraints: ClassVar[dict[str, list[Constraint | None]]] = {
        **DescriptorClassifier._parameter_constraints, "architecture": [OneOf(architectures)]}

    #: Descriptor sets up to this size get a full (Ledoit-Wolf shrunk) covariance of normal movement.
    full_covariance_up_to: ClassVar[int] = 40

    def _normal_model(self, D: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Mean, sd and whitening matrix of normal rows ``D``: the whitened z-scores ``(z @ W)`` are
        uncorrelated under normal movement (Ledoit-Wolf shrinkage; identity for large sets or few rows)."""
        mu, sd = normal_gaussian(D)
        d = D.shape[1]
        if d > self.full_covariance_up_to or len(D) < 3 * d:
            return mu, sd, np.eye(d)
        from sklearn.covariance import LedoitWolf

        precision = LedoitWolf().fit((D - mu) / sd).precision_
        return mu, sd, np.linalg.cholesky(0.5 * (precision + precision.T))

    def _fit_model(self, X_tr: np.ndarray, y_tr: np.ndarray, X_va: np.ndarray, y_va: np.ndarray,
                   progress: ProgressFn | None, cancel: CancelFn | None) -> None:
        from sklearn.linear_model import LogisticRegression

        if not self.coord_columns and not self.angle_columns:
            raise GmdeskError("the normative classifier needs the feature layout (coord_columns / angle_columns)")
        D = self._raw_descriptors(X_tr)
        normal = np.flatnonzero(y_tr == 0)
        self.desc_mean_, self.desc_scale_, self.whiten_ = self._normal_model(D[normal])
        s = surprise(((D - self.desc_mean_) / self.desc_scale_) @ self.whiten_, self.z_clip)
        folds = np.array_split(normal, min(5, len(normal)))
        for fold in folds:
            if len(normal) - len(fold) >= 2:
                mu, sd, w = self._normal_model(D[np.setdiff1d(normal, fold)])
                s[fold] = surprise(((D[fold] - mu) / sd) @ w, self.z_clip)
        self.estimator_ = LogisticRegression(C=1e4, class_weight="balanced", max_iter=5000).fit(
            np.log1p(s).reshape(-1, 1), y_tr)
        self.platt_ = (1.0, 0.0)  # the regression on the surprise is the calibration

    def _whitened(self, X: np.ndarray) -> np.ndarray:
        w = getattr(self, "whiten_", None)
        z = self._descriptors(X)
        return z if w is None else z @ w

    def surprise(self, X: np.ndarray) -> np.ndarray:
        """Surprise per snippet under the normal model (0: typical; larger: more unlike normal movement)."""
        return surprise(self._whitened(check_snippets(X, self.n_features_)), self.z_clip)

    def _p_abnormal(self, X: np.ndarray) -> np.ndarray:
        s = surprise(self._whitened(X), self.z_clip)
        return self.estimator_.predict_proba(np.log1p(s).reshape(-1, 1))[:, 1].astype(np.float64)

    def _extra_arrays(self) -> dict[str, np.ndarray]:
        return {"whiten": self.whiten_}

    def _read_extra_arrays(self, arrays: dict[str, np.ndarray], where) -> None:
        d = len(self.desc_mean_)
        w = arrays.get("whiten", np.eye(d))
        if w.shape != (d, d) or not np.isfinite(w).all():
            raise GmdeskError(f"{where}: 'whiten' must be a finite {d} x {d} matrix, got shape {w.shape}")
        self.whiten_ = w.astype(np.float64)

    def _n_estimator_inputs(self) -> int:
        return 1

    def _fit_descriptors(self, Ds: np.ndarray, y: np.ndarray) -> Any:  # pragma: no cover - _fit_model does it
        raise NotImplementedError


class FidgetyNormativeSurprise(NormativeSurprise):
    """``fidgety-normative``: the surprise of :class:`NormativeSurprise` on the fidgety-movement descriptors
    (:mod:`gmdesk.pipeline.fidgety`): a few descriptors aimed at the clinical finding, so that a departure in
    either direction — the stream absent or sporadic, or exaggerated, or the limbs moving together — is not
    diluted among hundreds of others."""

    architectures: ClassVar[tuple[str, ...]] = ("fidgety-normative",)
    descriptor_set: ClassVar[str] = "fidgety"
    _parameter_constraints: ClassVar[dict[str, list[Constraint | None]]] = {
        **DescriptorClassifier._parameter_constraints, "architecture": [OneOf(architectures)]}


class FidgetyCoreSurprise(NormativeSurprise):
    """``fidgety-core``: the surprise of :class:`NormativeSurprise` on four descriptors, one per clinical
    finding, from detector-noise-suppressed points (:func:`~gmdesk.pipeline.fidgety.fidgety_core_descriptors`):
    the small-movement level, that level against the large movements, the fidgety band's share and the limbs'
    synchrony. Fewer descriptors than ``fidgety-normative``: every descriptor that varies in normal infants
    adds to the surprise of every normal snippet, and a subtle departure (absent fidgety movements under
    continuing large movements) drowns among them."""

    architectures: ClassVar[tuple[str, ...]] = ("fidgety-core",)
    descriptor_set: ClassVar[str] = "fidgety-core"
    _parameter_constraints: ClassVar[dict[str, list[Constraint | None]]] = {
        **DescriptorClassifier._parameter_constraints, "architecture": [OneOf(architectures)]}
