"""The kinematics family's common part: movement descriptors per snippet (:mod:`gmdesk.pipeline.kinematics`),
standardised on the training part, and the files a descriptor model is kept in.

A model of the family (:mod:`~gmdesk.learning.kinematics_lr`, :mod:`~gmdesk.learning.kinematics_gb`) learns a
decision value from the standardised descriptors; P(abnormal) is its logistic. ``embed`` returns the
standardised descriptors. Learned: ``desc_mean_``, ``desc_scale_`` and ``kin_`` (the model as plain arrays
and numbers), written as ``kinematics.npz`` + ``kinematics.json`` (no pickle).
"""

from __future__ import annotations

import logging
from abc import abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from gmdesk.errors import GmdeskError
from gmdesk.learning.base import SnippetClassifier, load_parts, save_parts
from gmdesk.pipeline.kinematics import snippet_descriptors
from gmdesk.progress import CancelFn, ProgressFn

logger = logging.getLogger(__name__)

#: What of ``kin_`` goes to kinematics.npz (arrays) and to kinematics.json (numbers, names), in file order.
_ARRAYS = ("coef", "left", "right", "feature", "threshold", "value", "offsets")
_NUMBERS = ("model", "intercept", "init", "learning_rate")


class DescriptorClassifier(SnippetClassifier):
    """Base of the kinematics family: descriptors from the feature layout (``coord_columns``,
    ``angle_columns``, ``mirror_landmarks``, ``end_effectors``, ``fps``), standardised; the subclass's
    :meth:`_fit_descriptors` / :meth:`_decision` make the model. Network parameters are not used."""

    #: The ``model`` name in kinematics.json.
    model: ClassVar[str] = ""

    def _raw_descriptors(self, X: np.ndarray) -> np.ndarray:
        cc = np.asarray(self.coord_columns or (), dtype=int)
        ac = np.asarray(self.angle_columns or (), dtype=int)
        ml = list(self.mirror_landmarks or ())
        pairs = list(zip(ml[0::2], ml[1::2], strict=True))
        return snippet_descriptors(X, cc, ac, pairs, list(self.end_effectors or ()), self.fps)

    def _descriptors(self, X: np.ndarray) -> np.ndarray:
        return (self._raw_descriptors(X) - self.desc_mean_) / self.desc_scale_

    def _fit_model(self, X_tr: np.ndarray, y_tr: np.ndarray, X_va: np.ndarray, y_va: np.ndarray,
                   progress: ProgressFn | None, cancel: CancelFn | None) -> None:
        if not self.coord_columns and not self.angle_columns:
            raise GmdeskError("the kinematics classifier needs the feature layout (coord_columns / angle_columns)")
        D = self._raw_descriptors(X_tr)
        self.desc_mean_ = D.mean(axis=0)
        sd = D.std(axis=0)
        self.desc_scale_ = np.where(sd > 1e-9, sd, 1.0)
        Ds = (D - self.desc_mean_) / self.desc_scale_
        self.kin_, reference = self._fit_descriptors(Ds, y_tr)
        if not np.allclose(self._decision(Ds[:5]), reference(Ds[:5]), atol=1e-8):
            raise GmdeskError("internal: kinematics decision function does not match scikit-learn")

    @abstractmethod
    def _fit_descriptors(self, Ds: np.ndarray, y: np.ndarray) -> tuple[dict[str, Any], Any]:
        """The model learnt from standardised descriptors as ``kin_`` (plain arrays and numbers), and the
        fitted scikit-learn model's decision function to check :meth:`_decision` against."""

    @abstractmethod
    def _decision(self, Ds: np.ndarray) -> np.ndarray:
        """Decision value (logit of P(abnormal)) of standardised descriptors, from ``kin_``."""

    def _p_abnormal(self, X: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self._decision(self._descriptors(X))))

    def _embedding(self, X: np.ndarray) -> np.ndarray:
        return self._descriptors(X)

    def _save_model(self, folder: Path) -> list[str]:
        k = self.kin_
        arrays = {"desc_mean": self.desc_mean_, "desc_scale": self.desc_scale_}
        arrays |= {n: np.asarray(k[n]) for n in _ARRAYS if n in k}
        return save_parts(folder, "kinematics", arrays, {n: k[n] for n in _NUMBERS if n in k})

    def _load_model(self, folder: Path) -> None:
        arrays, meta = load_parts(folder, "kinematics")
        self.desc_mean_, self.desc_scale_ = arrays.pop("desc_mean"), arrays.pop("desc_scale")
        self.kin_ = meta | arrays
        if self.kin_.get("model") != self.model:
            raise GmdeskError(f"{folder}: kinematics model {self.kin_.get('model')!r}, not the {self.model!r} "
                              f"of {self.architecture}")
