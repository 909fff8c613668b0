"""Fitted scikit-learn estimators kept in skops files, read back with an explicit list of trusted types.

``skops.io.dump`` writes an estimator's state (a zip of JSON and ``.npy`` arrays; no pickle);
:func:`load_estimator` reads it with ``skops.io.load(path, trusted=[...])`` and a list of type names
given by the family that wrote it (never ``trusted=True``). Before anything is built, the file's types
are audited: a type that is neither in skops' defaults nor in the family's list is refused with a
:class:`~gmdesk.errors.GmdeskError` naming the file, and the object read back must be of the expected
class. skops is a dependency of gmdesk (inference included).
"""

from __future__ import annotations

import logging
import sys
import types
from pathlib import Path
from typing import Any

from gmdesk.errors import GmdeskError

logger = logging.getLogger(__name__)

#: Type names each kind of estimator file may hold beside skops' default trusted types.
TRUSTED_TYPES: dict[str, tuple[str, ...]] = {
    "LogisticRegression": ("sklearn.linear_model._logistic.LogisticRegression",),
    "GradientBoostingClassifier": (
        "sklearn.ensemble._gb.GradientBoostingClassifier", "sklearn.dummy.DummyClassifier",
        "sklearn.tree._classes.DecisionTreeRegressor", "sklearn.tree._tree.Tree",
        "sklearn._loss.link.Interval", "sklearn._loss.link.LogitLink", "sklearn._loss.loss.HalfBinomialLoss"),
    "SVC": ("sklearn.svm._classes.SVC",),
}


#: scikit-learn's array-API adapter for torch: skops lists scikit-learn's types by importing every scikit-learn
#: package, and this one imports torch (seconds; and torch imported before TensorFlow makes a later
#: ``torch._dynamo`` import crash the process, as ``gmdesk doctor`` or pose estimation after training would).
_TORCH_ADAPTER = "sklearn.externals.array_api_compat.torch"


def _skops_io() -> Any:
    """``skops.io``, imported without importing torch (an empty stand-in for scikit-learn's torch adapter while
    skops lists scikit-learn's types; removed again, so the real adapter still imports when asked)."""
    stand_in = _TORCH_ADAPTER not in sys.modules and "skops.io" not in sys.modules
    if stand_in:
        sys.modules[_TORCH_ADAPTER] = types.ModuleType(_TORCH_ADAPTER)
    try:
        import skops.io as sio  # deferred: needed only to save or load a model (imports all of scikit-learn)
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise GmdeskError(f"saving or loading this model needs skops, which does not import here ({exc})") from exc
    finally:
        if stand_in:
            sys.modules.pop(_TORCH_ADAPTER, None)
    return sio


def save_estimator(folder: Path, name: str, estimator: Any) -> str:
    """Write ``estimator`` as ``folder/name`` with ``skops.io.dump``; return ``name``."""
    _skops_io().dump(estimator, Path(folder) / name)
    return name


def load_estimator(path: Path, kind: str) -> Any:
    """Read a skops file holding a fitted estimator of class ``kind`` (a key of :data:`TRUSTED_TYPES`).

    Raises
    ------
    GmdeskError
        Naming the file, when it is missing, not a skops file, holds a type not trusted for ``kind``, or
        holds another class than ``kind``.
    """
    sio = _skops_io()
    path = Path(path)
    trusted = list(TRUSTED_TYPES[kind])
    if not path.is_file():
        raise GmdeskError(f"{path}: missing (the model's {kind})")
    try:
        untrusted = [t for t in sio.get_untrusted_types(file=path) if t not in trusted]
    except Exception as exc:
        raise GmdeskError(f"{path} is not a readable skops file: {exc}") from None
    if untrusted:
        raise GmdeskError(f"{path} holds types this model does not trust: {', '.join(untrusted)}; refusing it")
    try:
        est = sio.load(path, trusted=trusted)
    except Exception as exc:
        raise GmdeskError(f"{path}: cannot read the model's {kind}: {exc}") from None
    if type(est).__name__ != kind:
        raise GmdeskError(f"{path} holds a {type(est).__name__}, not the {kind} this model keeps there")
    return est
