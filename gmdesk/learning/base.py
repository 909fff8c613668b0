"""What every snippet classifier shares: parameters, the training round, scoring and files (paper 3.3-3.4).

A family (:mod:`~gmdesk.learning.svm`, :mod:`~gmdesk.learning.networks`, :mod:`~gmdesk.learning.kinematics_lr`,
:mod:`~gmdesk.learning.kinematics_gb`) subclasses :class:`SnippetClassifier` and fills in its model: how it
learns from the training part, scores and embeds snippets, and writes and reads its learned parameters.

Every ``fit`` follows the paper's round: the data given are split 90 % train / 10 % validation (half of the
validation from each class; networks stop early on it), right–left flip augmentation is added to the training
part only, and the z-score is fitted on the training part only.

Augmentation for small cohorts, beside the paper's flip (training part only, seeded; off by default,
``aug_copies`` > 0 switches it on): each copy of a training snippet gets a random scale (±``aug_scale``)
and rotation (±``aug_rotate_deg``) of its coordinates about the origin, a smooth time warp (up to
``aug_time_warp`` of the window) and per-column jitter (``aug_jitter`` × the column's sd).

``predict_proba(X)[:, 1]`` is P(abnormal) per snippet (normal = 0, abnormal = 1).
"""

from __future__ import annotations

import json
import logging
import time
from abc import ABCMeta, abstractmethod
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from gmdesk.constants import DEFAULT_FPS
from gmdesk.errors import GmdeskError
from gmdesk.io.jsonfile import read_json
from gmdesk.learning.architectures import ARCHITECTURES, resolve_architecture
from gmdesk.learning.params import Constraint, IndexPairs, Indices, Interval, OneOf, Signs, validate_parameters
from gmdesk.progress import CancelFn, ProgressFn

logger = logging.getLogger(__name__)

def paper_validation_split(y: np.ndarray, fraction: float = 0.1, seed: int = 42) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, validation)``: the validation part is ``fraction`` of the snippets, half
    from each class (the paper's "10 %; 5 % from each class"), drawn with ``seed``."""
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    n_val = max(2, int(round(fraction * len(y))))
    per_class = n_val // 2
    val = []
    for c in (0, 1):
        idx = np.flatnonzero(y == c)
        if len(idx) < 2:
            raise GmdeskError(f"training data need at least 2 snippets of class {c} ({['normal', 'abnormal'][c]})")
        k = min(per_class, len(idx) - 1)
        val.append(rng.choice(idx, size=k, replace=False))
    val_idx = np.sort(np.concatenate(val))
    train_idx = np.setdiff1d(np.arange(len(y)), val_idx)
    return train_idx, val_idx


def augment_snippets(X: np.ndarray, rng: np.random.Generator, coord_columns: tuple[int, ...] | None, scale: float,
                     rotate_deg: float, time_warp: float, jitter: float) -> np.ndarray:
    """One augmented copy of snippets ``X`` (n, frames, features): a random scale and rotation of the
    coordinate pairs about the origin, a smooth monotone time warp and per-column jitter."""
    X = np.array(X, dtype=np.float32, copy=True)
    n, T, F = X.shape
    if coord_columns:
        cc = np.asarray(coord_columns, dtype=int)
        s = rng.uniform(1 - scale, 1 + scale, n)[:, None, None]
        th = np.radians(rng.uniform(-rotate_deg, rotate_deg, n))[:, None, None]
        x, yv = X[:, :, cc], X[:, :, cc + 1]
        X[:, :, cc] = (np.cos(th) * x - np.sin(th) * yv) * s
        X[:, :, cc + 1] = (np.sin(th) * x + np.cos(th) * yv) * s
    if time_warp > 0:
        t = np.arange(T, dtype=np.float64)
        for i in range(n):
            warped = t + time_warp * T / np.pi * rng.uniform(-1, 1) * np.sin(np.pi * t / (T - 1))
            warped = np.clip(np.maximum.accumulate(warped), 0, T - 1)
            X[i] = np.stack([np.interp(warped, t, X[i, :, f]) for f in range(F)], axis=1)
    if jitter > 0:
        X += (rng.standard_normal(X.shape) * jitter * X.std(axis=(0, 1), keepdims=True)).astype(np.float32)
    return X


def check_snippets(X: np.ndarray, n_features: int | None = None) -> np.ndarray:
    """Snippets as float32 (n, frames, features), refused when the shape is wrong or values are missing."""
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 3:
        raise GmdeskError(f"snippets must be (n, frames, features), got shape {X.shape}")
    if n_features is not None and X.shape[2] != n_features:
        raise GmdeskError(f"model expects {n_features} features per frame, snippets have {X.shape[2]}")
    if not np.isfinite(X).all():
        raise GmdeskError("snippets contain missing values (NaN): clean or drop them first")
    return X


def save_parts(folder: Path, stem: str, arrays: Mapping[str, Any], meta: Mapping[str, Any]) -> list[str]:
    """Write learned parameters as ``stem.npz`` (arrays) and ``stem.json`` (numbers and names); return the names."""
    np.savez(folder / f"{stem}.npz", **arrays)
    (folder / f"{stem}.json").write_text(json.dumps(dict(meta), indent=2), encoding="utf-8")
    return [f"{stem}.npz", f"{stem}.json"]


def load_parts(folder: Path, stem: str) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read what :func:`save_parts` wrote (no pickle)."""
    meta = read_json(folder / f"{stem}.json", f"model file {stem}.json")  # a key given twice is refused
    with np.load(folder / f"{stem}.npz", allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    return arrays, meta


class SnippetClassifier(ClassifierMixin, BaseEstimator, metaclass=ABCMeta):
    """Classifier of 300-frame snippets, P(abnormal) per snippet; the base of every family.

    Every family takes the same parameters: a bundle's manifest and the command line keep one table of
    hyper-parameters for all of them, and a family leaves alone those it has no use for (the networks'
    epochs for an SVM, for instance). :func:`gmdesk.learning.classifiers.classifier_for` builds the class of
    an architecture; :func:`gmdesk.learning.classifiers.make_classifier` adds the feature layout.

    Parameters
    ----------
    architecture : str
        One of the class's :attr:`architectures` (full names, see :data:`ARCHITECTURES`).
    epochs, batch_size, patience : int
        Networks: most training epochs (250), mini-batch size (16), early-stopping patience in epochs (10).
    dropout, learning_rate : float
        Networks: dropout rate (0.3) and Adam learning rate (1e-3, Keras' default).
    validation_fraction : float
        Share of the training data held out (0.1, half per class).
    mirror_columns, mirror_signs : tuple or None
        Flip augmentation (from :func:`gmdesk.pipeline.features.feature_layout`); None disables it.
    C : float, optional
        Regularisation: SVM (default 1.0), kinematics logistic regression (default 0.05).
    coord_columns, angle_columns : tuple of int, optional
        Feature layout for the kinematics family and augmentation: each landmark's x column (y next)
        and the joint-angle columns (from :class:`gmdesk.pipeline.features.FeatureLayout`).
    mirror_landmarks : tuple of int, optional
        Left/right landmark pairs, flattened (a0, b0, a1, b1, ...), as positions in ``coord_columns``.
    end_effectors : tuple of int, optional
        End-effector landmarks (hands, feet), as positions in ``coord_columns``.
    segments : tuple of int, optional
        Limb segments (the skeleton's edges), flattened (a0, b0, a1, b1, ...), as positions in
        ``coord_columns`` (the histogram descriptors' HOJO2D).
    limbs : tuple of int, optional
        The limbs whose fidgety movements are read (the skeleton's ``limbs``), flattened (before the end, end,
        ...), as positions in ``coord_columns``; None: found from ``segments``.
    fps : float
        Frame rate of the snippets (29.97).
    aug_copies : int
        Augmented copies of each training snippet (0: no augmentation beside the flip).
    aug_scale, aug_rotate_deg, aug_time_warp, aug_jitter : float
        Largest relative scale change (0.1), rotation in degrees (15), time warp as a share of the
        window (0.05) and jitter in column sds (0.02) of an augmented copy.
    seed : int
        Seed of the split, initialisation and shuffling; same seed, same numbers.
    verbose : int
        0 silent; 1 one line per epoch to the progress callback.
    """

    #: The architectures (names in :data:`ARCHITECTURES`) this class serves.
    architectures: ClassVar[tuple[str, ...]] = ()
    #: True when the family's P(abnormal) is calibrated as it is fitted (its last step is a class-balanced
    #: regression on out-of-fold values): training then fits no Platt calibration on cross-validated scores
    #: (:func:`gmdesk.learning.calibration.own_calibration`).
    calibrated_by_construction: ClassVar[bool] = False
    #: How such a family calibrates itself, in words (the bundle's calibration record gives it).
    own_calibration_note: ClassVar[str] = "its class-balanced regression on out-of-fold values"
    #: What each parameter accepts (see :mod:`gmdesk.learning.params`); a family narrows ``architecture``.
    _parameter_constraints: ClassVar[dict[str, list[Constraint | None]]] = {
        "architecture": [OneOf(tuple(ARCHITECTURES))],
        "epochs": [Interval(int, 1, 100_000)],
        "batch_size": [Interval(int, 1, 100_000)],
        "patience": [Interval(int, 0, 100_000)],
        "dropout": [Interval(float, 0, 1, "left")],
        "learning_rate": [Interval(float, 0, 10, "neither")],
        "validation_fraction": [Interval(float, 0, 1, "neither")],
        "mirror_columns": [None, Indices()],
        "mirror_signs": [None, Signs()],
        "C": [None, Interval(float, 0, None, "neither")],
        "coord_columns": [None, Indices()],
        "angle_columns": [None, Indices()],
        "mirror_landmarks": [None, IndexPairs()],
        "end_effectors": [None, Indices()],
        "segments": [None, IndexPairs()],
        "limbs": [None, IndexPairs()],
        "fps": [Interval(float, 0, 1000, "right")],
        "aug_copies": [Interval(int, 0, 20)],
        "aug_scale": [Interval(float, 0, 0.9)],
        "aug_rotate_deg": [Interval(float, 0, 180)],
        "aug_time_warp": [Interval(float, 0, 0.5)],
        "aug_jitter": [Interval(float, 0, 1)],
        "seed": [Interval(int)],
        "verbose": [Interval(int)],
    }

    def __init__(
        self,
        architecture: str,
        epochs: int = 250,
        batch_size: int = 16,
        patience: int = 10,
        dropout: float = 0.3,
        learning_rate: float = 1e-3,
        validation_fraction: float = 0.1,
        mirror_columns: tuple[int, ...] | None = None,
        mirror_signs: tuple[float, ...] | None = None,
        C: float | None = None,
        coord_columns: tuple[int, ...] | None = None,
        angle_columns: tuple[int, ...] | None = None,
        mirror_landmarks: tuple[int, ...] | None = None,
        end_effectors: tuple[int, ...] | None = None,
        segments: tuple[int, ...] | None = None,
        limbs: tuple[int, ...] | None = None,
        fps: float = DEFAULT_FPS,
        aug_copies: int = 0,
        aug_scale: float = 0.1,
        aug_rotate_deg: float = 15.0,
        aug_time_warp: float = 0.05,
        aug_jitter: float = 0.02,
        seed: int = 42,
        verbose: int = 0,
    ) -> None:
        self.architecture = architecture
        self.epochs = epochs
        self.batch_size = batch_size
        self.patience = patience
        self.dropout = dropout
        self.learning_rate = learning_rate
        self.validation_fraction = validation_fraction
        self.mirror_columns = mirror_columns
        self.mirror_signs = mirror_signs
        self.C = C
        self.coord_columns = coord_columns
        self.angle_columns = angle_columns
        self.mirror_landmarks = mirror_landmarks
        self.end_effectors = end_effectors
        self.segments = segments
        self.limbs = limbs
        self.fps = fps
        self.aug_copies = aug_copies
        self.aug_scale = aug_scale
        self.aug_rotate_deg = aug_rotate_deg
        self.aug_time_warp = aug_time_warp
        self.aug_jitter = aug_jitter
        self.seed = seed
        self.verbose = verbose

    # -- parameters -------------------------------------------------------------------------
    @classmethod
    def validate_parameters(cls, params: Mapping[str, Any]) -> None:
        """Check a table of parameters (``get_params()`` or a manifest's) against the class's constraints.

        Raises
        ------
        gmdesk.learning.params.ParameterError
            Naming the first parameter that is unknown or out of range.
        """
        validate_parameters(cls._parameter_constraints, params)

    @property
    def spec(self) -> dict[str, Any]:
        """The architecture's entry in :data:`ARCHITECTURES`."""
        return ARCHITECTURES[resolve_architecture(self.architecture)]

    @property
    def family(self) -> str:
        """svm, lstm, cnn1d, vit, kinematics or descriptors."""
        return self.spec["family"]

    def standardise(self, X: np.ndarray) -> np.ndarray:
        """Snippets z-scored per feature with the statistics of the training part."""
        return ((X - self.scaler_mean_) / self.scaler_scale_).astype(np.float32)

    def _augment(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.mirror_columns is not None:
            cols = np.asarray(self.mirror_columns, dtype=int)
            signs = np.asarray(self.mirror_signs if self.mirror_signs is not None else np.ones(len(cols)), dtype=np.float32)
            if len(cols) != X.shape[2]:
                raise GmdeskError(f"mirror layout has {len(cols)} columns, snippets have {X.shape[2]} features")
            X, y = np.concatenate([X, X[..., cols] * signs]), np.concatenate([y, y])
        if self.aug_copies > 0:
            extra = [augment_snippets(X, np.random.default_rng([self.seed, 17, k]), self.coord_columns,
                                      self.aug_scale, self.aug_rotate_deg, self.aug_time_warp, self.aug_jitter)
                     for k in range(self.aug_copies)]
            X, y = np.concatenate([X, *extra]), np.concatenate([y] * (1 + self.aug_copies))
        return X, y

    # -- scikit-learn API -----------------------------------------------------------------
    def fit(self, X: np.ndarray, y: np.ndarray, progress: ProgressFn | None = None,
            cancel: CancelFn | None = None) -> SnippetClassifier:
        """Train on snippets ``X`` (n, frames, features) with labels ``y`` (0 normal, 1 abnormal)."""
        self.validate_parameters(self.get_params(deep=False))
        X = check_snippets(X)
        y = np.asarray(y).astype(int).ravel()
        if set(np.unique(y)) != {0, 1}:
            raise GmdeskError("training needs snippets of both classes (normal 0 and abnormal 1)")
        t0 = time.perf_counter()
        tr, va = paper_validation_split(y, self.validation_fraction, self.seed)
        X_tr, y_tr = self._augment(X[tr], y[tr])
        self.scaler_mean_ = X_tr.reshape(-1, X.shape[2]).mean(axis=0)
        sd = X_tr.reshape(-1, X.shape[2]).std(axis=0)
        self.scaler_scale_ = np.where(sd > 1e-8, sd, 1.0)
        self.classes_ = np.array([0, 1])
        self.n_features_ = X.shape[2]
        self.n_frames_ = X.shape[1]
        self.history_: dict[str, list[float]] = {}
        self._fit_model(X_tr, y_tr, X[va], y[va], progress, cancel)
        self.train_info_ = {"n_train": int(len(tr)), "n_validation": int(len(va)), "n_train_augmented": int(len(y_tr)),
                            "seconds": round(time.perf_counter() - t0, 2)}
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """``(n, 2)``: columns P(normal), P(abnormal)."""
        p = self.score_snippets(X)
        return np.stack([1 - p, p], axis=1)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Class per snippet (1 where P(abnormal) ≥ 0.5)."""
        return (self.score_snippets(X) >= 0.5).astype(int)

    def score_snippets(self, X: np.ndarray) -> np.ndarray:
        """P(abnormal) per snippet, shape (n,)."""
        return self._p_abnormal(check_snippets(X, getattr(self, "n_features_", None)))

    def embed(self, X: np.ndarray) -> np.ndarray:
        """What the model makes of each snippet before it decides, shape (n, d) (see the family)."""
        return self._embedding(check_snippets(X, getattr(self, "n_features_", None)))

    # -- files (used by gmdesk.learning.bundle) ------------------------------------------------
    def save(self, folder: Path) -> list[str]:
        """Write learned parameters into ``folder`` (no pickle); return the file names."""
        folder = Path(folder)
        np.savez(folder / "scaler.npz", mean=self.scaler_mean_, scale=self.scaler_scale_)
        return ["scaler.npz", *self._save_model(folder)]

    def load(self, folder: Path, n_frames: int, n_features: int, files: Collection[str] | None = None) -> SnippetClassifier:
        """Read parameters written by :meth:`save` (no pickle; Keras ``safe_mode``); with ``files`` (the
        manifest's hashed list), a file outside it is never read."""
        folder = Path(folder)
        with np.load(folder / "scaler.npz", allow_pickle=False) as z:
            self.scaler_mean_, self.scaler_scale_ = z["mean"], z["scale"]
        self.classes_ = np.array([0, 1])
        self.n_features_, self.n_frames_ = n_features, n_frames
        self._load_model(folder, files)
        return self

    # -- what a family fills in -------------------------------------------------------------
    @abstractmethod
    def _fit_model(self, X_tr: np.ndarray, y_tr: np.ndarray, X_va: np.ndarray, y_va: np.ndarray,
                   progress: ProgressFn | None, cancel: CancelFn | None) -> None:
        """Learn from the (augmented, not z-scored) training part; the validation part is for early stopping."""

    @abstractmethod
    def _p_abnormal(self, X: np.ndarray) -> np.ndarray:
        """P(abnormal) per checked snippet."""

    @abstractmethod
    def _embedding(self, X: np.ndarray) -> np.ndarray:
        """The representation of each checked snippet."""

    @abstractmethod
    def _save_model(self, folder: Path) -> list[str]:
        """Write the model's own files; return their names."""

    @abstractmethod
    def _load_model(self, folder: Path, files: Collection[str] | None = None) -> None:
        """Read what :meth:`_save_model` wrote (only ``files``, when given)."""
