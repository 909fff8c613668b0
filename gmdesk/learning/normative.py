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
from gmdesk.pipeline.fidgety import FIDGETY_FINDINGS_NAMES
from gmdesk.progress import CancelFn, ProgressFn

logger = logging.getLogger(__name__)

#: Column of the jerkiness among the descriptors of ``fidgety-findings`` (clipped in the findings).
JERK_COLUMN = FIDGETY_FINDINGS_NAMES.index("fm_jerkiness")


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


class FidgetyFindings(DescriptorClassifier):
    """``fidgety-findings``: one normative cut per clinical finding, on the descriptors of
    :func:`~gmdesk.pipeline.fidgety.fidgety_findings_descriptors`, z-scored against the NORMAL training snippets.

    Each finding is a direction away from normal movement that the clinical descriptions name (Prechtl et al.
    1997; Einspieler & Prechtl 2005; Einspieler et al. 2016), an average of signed z-scores
    (:data:`FINDINGS`):

    * *fidgety movements not seen* (absent or sporadic FMs, and the absent FMs that go with cramped-synchronised
      movement): the stillest limb's fidgety level and the circularity of the small paths low;
    * *exaggerated* (abnormal FMs: "amplitude, speed and jerkiness moderately or greatly exaggerated"): the
      stillest limb's level where its stream is (:func:`~gmdesk.pipeline.fidgety.limb_fm_present_level`), the
      small-movement level, the limb ends' jerkiness (:func:`~gmdesk.pipeline.fidgety.fm_jerkiness`) and the
      stillest limb's jerkiness where its stream is (:func:`~gmdesk.pipeline.fidgety.limb_fm_jerkiness`) high —
      the jerkiness tells an exaggerated stream whose amplitude falls inside the normal range from a large
      normal one;
    * *synchronised* (cramped-synchronised): the limbs' synchrony high, their small paths straight.

    A snippet is abnormal when any finding goes beyond its cut: the share :attr:`presence_quantile` of the normal
    training snippets lies beyond the first cut (normal infants, too, have snippets without visible fidgety
    movements: fussing, crying, intermittent FMs), :attr:`finding_quantile` beyond the other two. The cuts come
    from normal snippets only, never from a phenotype's examples, so they do not move with the abnormal
    phenotypes a cohort happens to have — the weakness of a threshold fitted between the classes, which a
    phenotype left out of training sees set by the others. P(abnormal) is the largest margin beyond a cut (in
    sds of that finding among normal snippets) through a class-balanced logistic regression without intercept,
    fitted on the training snippets' margins (P = 0.5 at the cut; slope at least 1). The paper's validation split
    is not held back here (nothing is tuned on a validation loss): every normal training snippet sets the cuts.

    Chosen (its version of 2026-12-01; the README gives the current figures) by leave-one-phenotype-out on nine
    synthetic tuning cohorts (288 infants): 90 % of infants, every
    phenotype at least 86 % (normal 124/144, absent 34/36, sporadic 34/36, abnormal 31/36, cramped 35/36) where
    ``fidgety-core`` gets 77 % (sporadic 20/36); the cuts hold over a plateau (presence 10-15 %, the others
    1-3 %). The README's "Choosing a model" gives the held-out figures and the weaknesses.

    Learned: the normal means and sds (``descriptors.npz``, with the cuts and the findings' sds) and the
    regression (``model.skops``).
    """

    architectures: ClassVar[tuple[str, ...]] = ("fidgety-findings",)
    descriptor_set: ClassVar[str] = "fidgety-findings"
    model: ClassVar[str] = "findings"
    calibrated_by_construction: ClassVar[bool] = True
    own_calibration_note: ClassVar[str] = ("P(abnormal) = 0.5 at cuts set on normal snippets, its slope a class-balanced "
                                           "regression on the margins beyond them")
    _parameter_constraints: ClassVar[dict[str, list[Constraint | None]]] = {
        **DescriptorClassifier._parameter_constraints, "architecture": [OneOf(architectures)]}

    #: The findings: name → (descriptor column, sign) pairs of ``FIDGETY_FINDINGS_NAMES`` (small_p50_mean,
    #: end_effector_sync, limb_fm_level, small_path_circularity, fm_jerkiness, limb_fm_level_p80,
    #: limb_fm_jerkiness_p80) whose z-scores are averaged. "Exaggerated" reads the stillest limb's level and
    #: jerkiness where the stream is (the 80th percentile of its windows): an intermittent exaggerated stream's
    #: median window is a pause.
    FINDINGS: ClassVar[dict[str, tuple[tuple[int, int], ...]]] = {
        "fidgety movements not seen": ((2, -1), (3, -1)),
        "exaggerated movements": ((5, 1), (0, 1), (4, 1), (6, 1)),
        "synchronised limbs": ((1, 1), (3, -1)),
    }
    #: The findings of bundles of earlier versions, by how many descriptors they hold: six (before
    #: ``limb_fm_jerkiness_p80``), five (before
    #: ``limb_fm_level_p80``: "exaggerated" read the median level) and four (before ``fm_jerkiness`` too), so that
    #: an earlier bundle scores as it did.
    EARLIER_FINDINGS: ClassVar[dict[int, dict[str, tuple[tuple[int, int], ...]]]] = {
        6: {"fidgety movements not seen": ((2, -1), (3, -1)),
            "exaggerated movements": ((5, 1), (0, 1), (4, 1)),
            "synchronised limbs": ((1, 1), (3, -1))},
        5: {"fidgety movements not seen": ((2, -1), (3, -1)),
            "exaggerated movements": ((2, 1), (0, 1), (4, 1)),
            "synchronised limbs": ((1, 1), (3, -1))},
        4: {"fidgety movements not seen": ((2, -1), (3, -1)),
            "exaggerated movements": ((2, 1), (0, 1)),
            "synchronised limbs": ((1, 1), (3, -1))},
    }
    #: Largest |z| the jerkiness contributes with: beyond it the noise model, not the movement, is what is
    #: extreme (a detector whose noise is not white over-subtracted to the floor: the planar simulator's demo
    #: infant read z = -8.6, which cancelled any amplitude). On the tuning cohorts ±2 changed one infant of 624.
    jerk_z_clip: ClassVar[float] = 2.0
    #: Share of normal training snippets beyond the cut of "fidgety movements not seen".
    presence_quantile: ClassVar[float] = 0.12
    #: Share of normal training snippets beyond the cuts of the other findings.
    finding_quantile: ClassVar[float] = 0.02

    def _findings(self, Z: np.ndarray) -> np.ndarray:
        """The findings' scores ``(n, 3)`` from normal-standardised descriptors ``Z`` (an earlier bundle's four, five
        or six descriptors: that version's findings)."""
        d = Z.shape[1]
        if d > JERK_COLUMN:
            Z = Z.copy()
            Z[:, JERK_COLUMN] = np.clip(Z[:, JERK_COLUMN], -self.jerk_z_clip, self.jerk_z_clip)
        if d == len(FIDGETY_FINDINGS_NAMES):
            table = self.FINDINGS
        elif d in self.EARLIER_FINDINGS:
            table = self.EARLIER_FINDINGS[d]
        else:
            raise GmdeskError(f"fidgety-findings reads {len(FIDGETY_FINDINGS_NAMES)} descriptors "
                              f"({' or '.join(map(str, self.EARLIER_FINDINGS))} from an earlier version), got {d}")
        return np.stack([sum(s * Z[:, j] for j, s in parts) / len(parts) for parts in table.values()], axis=1)

    def _raw_descriptors(self, X: np.ndarray) -> np.ndarray:
        D = super()._raw_descriptors(X)
        d = len(getattr(self, "desc_mean_", ()))
        return D[:, :d] if 0 < d < D.shape[1] else D

    def finding_margins(self, X: np.ndarray) -> np.ndarray:
        """How far each snippet goes beyond each finding's cut ``(n, 3)``, in sds of the finding among normal
        snippets (positive: beyond it), columns in the order of :attr:`FINDINGS`."""
        return self._margins(self._descriptors(check_snippets(X, self.n_features_)))

    def _margins(self, Z: np.ndarray) -> np.ndarray:
        return (self._findings(Z) - self.cuts_) / self.finding_scale_

    def _margin(self, Z: np.ndarray) -> np.ndarray:
        return self._margins(Z).max(axis=1)

    def _fit_model(self, X_tr: np.ndarray, y_tr: np.ndarray, X_va: np.ndarray, y_va: np.ndarray,
                   progress: ProgressFn | None, cancel: CancelFn | None) -> None:
        from sklearn.linear_model import LogisticRegression

        if not self.coord_columns:
            raise GmdeskError("the fidgety-findings classifier needs the landmarks' coordinate columns")
        # nothing here is tuned by validation loss: the held-back part joins, so that which normal snippets set
        # the cuts does not depend on how many abnormal ones the split took
        X_all, y_all = np.concatenate([X_tr, X_va]), np.concatenate([y_tr, y_va])
        self.__dict__.pop("desc_mean_", None)  # refitting a loaded earlier bundle learns every descriptor
        D = self._raw_descriptors(X_all)
        normal = np.flatnonzero(y_all == 0)
        if len(normal) < 2:
            raise GmdeskError(f"fidgety-findings learns normal movement: it needs at least 2 normal training "
                              f"snippets, got {len(normal)}")
        self.desc_mean_ = D[normal].mean(axis=0)
        sd = D[normal].std(axis=0)
        self.desc_scale_ = np.where(sd > 1e-9, sd, 1.0)
        F = self._findings((D[normal] - self.desc_mean_) / self.desc_scale_)
        q = [1 - self.presence_quantile] + [1 - self.finding_quantile] * (F.shape[1] - 1)
        self.cuts_ = np.array([np.quantile(F[:, j], q[j]) for j in range(F.shape[1])])
        sf = F.std(axis=0)
        self.finding_scale_ = np.where(sf > 1e-9, sf, 1.0)
        m = self._margin((D - self.desc_mean_) / self.desc_scale_).reshape(-1, 1)
        lr = LogisticRegression(fit_intercept=False, C=1e4, class_weight="balanced", max_iter=1000).fit(m, y_all)
        lr.coef_ = np.maximum(lr.coef_, 1.0)  # the cut decides; the slope only spreads P(abnormal) around it
        self.estimator_ = lr
        self.platt_ = (1.0, 0.0)  # calibrated as fitted: P = 0.5 at the cut

    def _p_abnormal(self, X: np.ndarray) -> np.ndarray:
        from scipy.special import expit

        return expit(self.estimator_.decision_function(self._margin(self._descriptors(X)).reshape(-1, 1)))

    def _extra_arrays(self) -> dict[str, np.ndarray]:
        return {"cuts": self.cuts_, "finding_scale": self.finding_scale_}

    def _read_extra_arrays(self, arrays: dict[str, np.ndarray], where) -> None:
        d = len(FIDGETY_FINDINGS_NAMES)
        if len(self.desc_mean_) not in (d, *self.EARLIER_FINDINGS) or len(self.desc_scale_) != len(self.desc_mean_):
            earlier = " or ".join(str(k) for k in self.EARLIER_FINDINGS)
            raise GmdeskError(f"{where}: 'desc_mean' and 'desc_scale' must hold the {d} descriptors of fidgety-findings "
                              f"({earlier} from an earlier version), got {len(self.desc_mean_)} and "
                              f"{len(self.desc_scale_)}")
        k = len(self.FINDINGS)
        for name in ("cuts", "finding_scale"):
            a = np.asarray(arrays.get(name, np.zeros(0)), dtype=np.float64)
            if a.shape != (k,) or not np.isfinite(a).all() or (name == "finding_scale" and (a <= 0).any()):
                raise GmdeskError(f"{where}: {name!r} must be {k} finite numbers"
                                  + (" above 0" if name == "finding_scale" else "") + f", got {a.tolist()}")
            setattr(self, name + "_", a)

    def _n_estimator_inputs(self) -> int:
        return 1

    def _fit_descriptors(self, Ds: np.ndarray, y: np.ndarray) -> Any:  # pragma: no cover - _fit_model does it
        raise NotImplementedError
