"""Model bundles: a folder with the learned parameters and a JSON manifest.

::

    my-model/
      manifest.json   classifier, hyper-parameters, feature set, skeleton, window, overlap,
                      threshold, cohort summary, CV metrics, library versions, file hashes
      scaler.npz      z-score statistics (fitted on training data only)
      model.keras     network (Keras 3) + model.onnx (the same network, run by ONNX Runtime);
                      svm.skops + svm.json for the SVM; descriptors.npz +
                      descriptors.json + model.skops for the descriptor families
      MODEL_CARD.md   what it was trained on, metrics, intended use, limits

Loading never executes code from the bundle: no pickle or joblib (``np.load(allow_pickle=False)``),
Keras ``safe_mode=True``, skops with explicit trusted types (:mod:`gmdesk.learning.persist`), and each
file's SHA-256 must match the manifest (a tampered or half-copied bundle is refused). A bundle made for
another skeleton or feature set is refused with a clear error.
"""

from __future__ import annotations

import json
import logging
import math
import os
import platform
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gmdesk import __version__
from gmdesk.constants import DEFAULT_DECISION, DEFAULT_FPS, DEFAULT_MIN_SNIPPETS, DEFAULT_THRESHOLD, MAX_FPS, MIN_FPS
from gmdesk.core.posetrack import json_safe
from gmdesk.core.skeleton import Skeleton
from gmdesk.errors import GmdeskError
from gmdesk.io.hashing import file_sha256
from gmdesk.io.jsonfile import read_json
from gmdesk.io.paths import check_npz
from gmdesk.learning.architectures import ARCHITECTURES
from gmdesk.learning.base import SnippetClassifier
from gmdesk.learning.calibration import calibrate, is_platt, platt_problem
from gmdesk.learning.classifiers import classifier_class
from gmdesk.learning.params import ParameterError
from gmdesk.learning.validity import legacy_status, model_validation, status_problem
from gmdesk.pipeline.features import feature_layout

logger = logging.getLogger(__name__)

BUNDLE_FORMAT = "gmdesk-model-1"


class BundleError(GmdeskError):
    """A model bundle is missing, damaged, tampered with, or made for other data."""






def library_versions() -> dict[str, str]:
    """Versions of the libraries a model depends on."""
    import sklearn

    out = {"python": platform.python_version(), "numpy": np.__version__, "scikit-learn": sklearn.__version__}

    out["gmdesk"] = __version__
    try:
        import skops  # deferred: optional dependency (gmdesk[ml])

        out["skops"] = skops.__version__
    except ImportError:
        pass
    try:
        import keras
        import tensorflow

        out["keras"], out["tensorflow"] = keras.__version__, tensorflow.__version__
    except ImportError:
        pass
    return out


@dataclass
class ModelBundle:
    """A loaded bundle: the classifier and its manifest."""

    path: Path
    classifier: SnippetClassifier
    manifest: dict[str, Any]

    @property
    def model_id(self) -> str:
        """The manifest's id."""
        return self.manifest["model_id"]

    @property
    def threshold(self) -> float:
        """Infant verdict threshold (share of normal snippets to exceed)."""
        return float(self.manifest["threshold"])

    @property
    def decision(self) -> float:
        """Snippet decision threshold on P(abnormal)."""
        return float(self.manifest.get("decision", DEFAULT_DECISION))

    @property
    def feature_set(self) -> str:
        return self.manifest["feature_set"]

    @property
    def fps(self) -> float:
        """The frame rate the model was trained at (bundles from before it was recorded: the default 29.97)."""
        return float(self.manifest.get("fps", DEFAULT_FPS))

    @property
    def window(self) -> int:
        return int(self.manifest["window"])

    @property
    def overlap(self) -> int:
        return int(self.manifest["overlap"])

    @property
    def normalisation(self) -> str:
        """How coordinates are normalised: ``paper`` (sternum translation), ``body`` or ``body-frame``."""
        return str(self.manifest.get("normalisation", "paper"))

    @property
    def min_snippets(self) -> int:
        """Fewest valid snippets for a normal/abnormal verdict (fewer: indeterminate)."""
        return int(self.manifest.get("min_snippets", DEFAULT_MIN_SNIPPETS))

    @property
    def calibration(self) -> dict[str, Any] | None:
        """Platt calibration of snippet scores (``{"method": "platt", "a", "b", ...}``) or None (none fitted,
        or the fit was refused: see :attr:`calibration_record`)."""
        cal = self.manifest.get("calibration")
        return cal if is_platt(cal) else None

    @property
    def calibration_record(self) -> dict[str, Any] | None:
        """The manifest's calibration entry as written: a Platt calibration, the record of a refused one
        (``{"method": "none", "refused": {"a", "b"}, "reason"}``), or None."""
        return self.manifest.get("calibration")

    @property
    def validation(self) -> dict[str, Any]:
        """Whether the model is validated on its cohort (:func:`gmdesk.learning.validity.validation_status`).

        A bundle made before gmdesk recorded it is not validated. A manifest that says validated while its
        own figures do not support it (edited by hand, or a stricter rule since) is not validated either.
        """
        stored = self.manifest.get("validation")
        if stored is None:
            return legacy_status()
        if stored["validated"]:
            again = model_validation(self.manifest.get("metrics"), self.calibration_record)
            if not again["validated"]:
                return again | {"reasons": ["its manifest says validated but its own figures do not support it",
                                            *again["reasons"]]}
        return stored

    @property
    def validated(self) -> bool:
        """True when the model is validated on its cohort (see :attr:`validation`)."""
        return bool(self.validation["validated"])

    @property
    def skeleton(self) -> Skeleton:
        """The skeleton the model was trained with (its normalisation table included)."""
        sk = {k: v for k, v in self.manifest["skeleton"].items() if k != "fingerprint"}
        return Skeleton.from_dict(sk, source=f"model {self.path}")

    def score_snippets(self, X: Any) -> Any:
        """Calibrated P(abnormal) per snippet (the classifier's score when the bundle has no calibration)."""
        return calibrate(self.classifier.score_snippets(X), self.calibration)

    def reference(self) -> dict[str, Any] | None:
        """Reference training snippets' embeddings, labels, infants and starts (or None)."""

        p = self.path / "reference.npz"
        if "reference.npz" not in self.manifest.get("files", {}):
            return None
        with np.load(p, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}

    def ica(self) -> dict[str, Any] | None:
        """The bundle's FastICA projection (mean, unmixing) and reference components (or None)."""

        if "ica.npz" not in self.manifest.get("files", {}):
            return None
        with np.load(self.path / "ica.npz", allow_pickle=False) as z:
            return {k: z[k] for k in z.files}

    def ica_project(self, X: Any) -> Any:
        """Independent components of snippets ``X`` in the training ICA space, shape (n, 2)."""
        ica = self.ica()
        if ica is None:
            raise BundleError(f"model {self.path} has no ICA reference")
        flat = self.classifier.standardise(X).reshape(len(X), -1).astype("float64")
        return (flat - ica["mean"]) @ ica["unmixing"].T

    def check_compatible(self, skeleton: Skeleton, feature_set: str | None = None) -> None:
        """Refuse data made with another skeleton or feature set."""
        sk = self.manifest["skeleton"]
        if sk["fingerprint"] != skeleton.fingerprint:
            raise BundleError(
                f"model {self.path} was trained for skeleton {sk['name']!r} ({len(sk['landmarks'])} landmarks, origin "
                f"{sk['origin']!r}); this data uses skeleton {skeleton.name!r} ({skeleton.n_landmarks} landmarks): "
                "they do not match"
            )
        if feature_set is not None and feature_set != self.feature_set:
            raise BundleError(f"model {self.path} uses feature set {self.feature_set!r}, not {feature_set!r}")


def save_bundle(
    folder: str | Path,
    clf: SnippetClassifier,
    skeleton: Skeleton,
    feature_set: str,
    window: int,
    overlap: int,
    model_id: str,
    cohort: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    decision: float = DEFAULT_DECISION,
    card: str | None = None,
    extra: dict[str, Any] | None = None,
    overwrite: bool = False,
    reference: Any = None,
    n_reference: int = 150,
    seed: int = 42,
    normalisation: str = "paper",
    calibration: dict[str, Any] | None = None,
    min_snippets: int = DEFAULT_MIN_SNIPPETS,
    validation: dict[str, Any] | None = None,
) -> Path:
    """Write a trained classifier as a bundle folder (written beside, then renamed into place).

    With ``reference`` (the training :class:`~gmdesk.pipeline.snippets.SnippetSet`), the bundle also
    carries what the GUI compares a new infant with: embeddings of up to ``n_reference``
    training snippets (stratified sample; ``reference.npz``) and a FastICA projection fitted
    on the training snippets with their first-component values (``ica.npz``). ``normalisation``,
    ``calibration`` (:func:`fit_platt`, or the record of a refused fit from
    :func:`~gmdesk.learning.calibration.checked`) and ``min_snippets`` are part of the recipe and applied
    when the bundle assesses. ``validation`` is the model's status
    (:func:`~gmdesk.learning.validity.validation_status`); without it, the status of ``metrics``
    (``infant_level``, ``significance``) and ``calibration``.
    """
    folder = Path(folder)
    if folder.exists() and not overwrite:
        raise BundleError(f"model folder {folder} already exists")
    layout = feature_layout(skeleton, feature_set)
    if layout.n_features != clf.n_features_:
        raise BundleError(f"classifier has {clf.n_features_} features, feature set {feature_set!r} has {layout.n_features}")
    tmp = folder.with_name(folder.name + ".part")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    files = clf.save(tmp)
    if reference is not None:
        files += _save_reference(tmp, clf, reference, n_reference, seed)
    params = {k: (list(v) if isinstance(v, tuple) else v) for k, v in clf.get_params().items()}
    manifest = {
        "format": BUNDLE_FORMAT,
        "fps": float(getattr(reference, "fps", None) or DEFAULT_FPS),  # the training rate: recordings are resampled to it
        "model_id": model_id,
        "classifier": clf.architecture,
        "family": clf.family,
        "hyper_parameters": params,
        "feature_set": feature_set,
        "feature_names": list(layout.names),
        "skeleton": skeleton.to_dict() | {"fingerprint": skeleton.fingerprint},
        "window": int(window),
        "overlap": int(overlap),
        "n_frames": int(clf.n_frames_),
        "n_features": int(clf.n_features_),
        "threshold": float(threshold),
        "decision": float(decision),
        "normalisation": normalisation,
        "min_snippets": int(min_snippets),
        **({"calibration": calibration} if calibration else {}),
        "validation": validation if validation is not None else model_validation(metrics, calibration),
        "intended_use": "Screening support for General Movements Assessment of infants 9-20 weeks post-term; every "
                        "result is reviewed by a GMA-certified clinician",
        "medical_device": False,
        "labels": {"normal": 0, "abnormal": 1},
        "score": "P(abnormal) per snippet",
        "cohort": cohort or {},
        "metrics": metrics or {},
        "training": getattr(clf, "train_info_", {}) | {"epochs_run": len(clf.history_.get("loss", []))},
        "library_versions": library_versions(),
        "files": {name: file_sha256(tmp / name) for name in files},
        **(extra or {}),
    }
    (tmp / "manifest.json").write_text(json.dumps(json_safe(manifest), indent=2, allow_nan=False), encoding="utf-8")
    if card:
        (tmp / "MODEL_CARD.md").write_text(card, encoding="utf-8")
    if folder.exists():
        shutil.rmtree(folder)
    tmp.rename(folder)
    return folder


def _save_reference(folder: Path, clf: SnippetClassifier, ref: Any, n: int, seed: int) -> list[str]:
    from sklearn.decomposition import FastICA

    rng = np.random.default_rng(seed)
    idx = []
    for c in (0, 1):
        members = np.flatnonzero(ref.label == c)
        k = min(len(members), max(1, int(round(n * len(members) / len(ref)))))
        idx.append(np.sort(rng.choice(members, size=k, replace=False)))
    sel = np.concatenate(idx)
    np.savez(folder / "reference.npz", embeddings=clf.embed(ref.X[sel]).astype(np.float32), label=ref.label[sel],
             infant_id=ref.infant_id[sel].astype(str), start=ref.start[sel])
    flat = clf.standardise(ref.X).reshape(len(ref), -1).astype(np.float64)
    ica = FastICA(n_components=2, random_state=seed, max_iter=1000, whiten="unit-variance").fit(flat)
    comp = ica.transform(flat)
    sign = 1.0
    if np.median(comp[ref.label == 1, 0]) < np.median(comp[ref.label == 0, 0]):
        sign = -1.0
    np.savez(folder / "ica.npz", mean=ica.mean_, unmixing=ica.components_ * np.array([[sign], [1.0]]),
             ic=comp * np.array([sign, 1.0]), label=ref.label)
    return ["reference.npz", "ica.npz"]


def _finite(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _calibration_problem(v: Any) -> str | None:
    """None for a Platt calibration a bundle can apply or the record of a refused fit, else what it must be.

    A Platt calibration with a slope ``a <= 0`` is refused, not applied as uncalibrated: it turns every score
    around, and the figures of the card were computed with it. gmdesk trains no such bundle (it records the
    fit as refused); one that has it was made by an older gmdesk or edited by hand, and must be retrained."""
    if isinstance(v, dict) and v.get("method") == "none":
        refused = v.get("refused")
        if refused is None or isinstance(refused, dict):
            if isinstance(v.get("reason"), str) and len(v["reason"]) <= 1000:
                return None
        return "a refused calibration {method: none, refused: {a, b}, reason} or none {method: none, reason}"
    why = platt_problem(v)
    if why is None:
        return None
    if why.startswith("slope"):
        return (f"a Platt calibration {{method: platt, 0 < a < 100, |b| < 100}}, not one with {why} (retrain the "
                "model with this gmdesk: it keeps such a fit out and marks the model not validated)")
    return "a Platt calibration {method: platt, 0 < a < 100, |b| < 100}"


#: What each manifest key must be. A check returns None when the value is acceptable, else what it
#: must be. Keys marked required must be present; extra keys are allowed (documentation, cards).
MANIFEST_SCHEMA: dict[str, tuple[bool, Any]] = {
    "format": (True, lambda v: None if v == BUNDLE_FORMAT else f"{BUNDLE_FORMAT!r}"),
    "fps": (False, lambda v: None if isinstance(v, int | float) and not isinstance(v, bool) and MIN_FPS <= v <= MAX_FPS
            else f"a frame rate ({MIN_FPS:g}-{MAX_FPS:g})"),
    "model_id": (True, lambda v: None if isinstance(v, str) and 0 < len(v) <= 200 else "a name of 1-200 characters"),
    "classifier": (True, lambda v: None if isinstance(v, str) and v in ARCHITECTURES else f"one of {sorted(ARCHITECTURES)}"),
    "hyper_parameters": (True, lambda v: None if isinstance(v, dict) else "a table of parameters"),
    "feature_set": (True, lambda v: None if v in ("coords", "angles", "both") else "coords, angles or both"),
    "feature_names": (True, lambda v: None if isinstance(v, list) and all(isinstance(x, str) for x in v) else "a list of names"),
    "skeleton": (True, lambda v: None if isinstance(v, dict) else "a skeleton table"),
    "window": (True, lambda v: None if _is_int(v) and 1 <= v <= 100_000 else "a whole number of frames, 1-100000"),
    "overlap": (True, lambda v: None if _is_int(v) and v >= 0 else "a whole number of frames >= 0"),
    "n_frames": (True, lambda v: None if _is_int(v) and v >= 1 else "a whole number >= 1"),
    "n_features": (True, lambda v: None if _is_int(v) and v >= 1 else "a whole number >= 1"),
    "threshold": (True, lambda v: None if _finite(v) and 0 < v < 1 else "a share strictly between 0 and 1"),
    "decision": (False, lambda v: None if _finite(v) and 0 < v < 1 else "a probability strictly between 0 and 1"),
    "files": (True, lambda v: None if isinstance(v, dict) and v and all(
        isinstance(k, str) and Path(k).name == k and k not in ("", ".", "..") and isinstance(h, str)
        and len(h) == 64 and all(c in "0123456789abcdef" for c in h) for k, h in v.items())
        else "a table of plain file names and SHA-256 digests (64 hex digits)"),
    "cohort": (False, lambda v: None if isinstance(v, dict) else "a table"),
    "metrics": (False, lambda v: None if isinstance(v, dict) else "a table"),
    "normalisation": (False, lambda v: None if v in ("paper", "body", "body-frame") else "paper, body or body-frame"),
    "min_snippets": (False, lambda v: None if _is_int(v) and 1 <= v <= 10_000 else "a whole number 1-10000"),
    "calibration": (False, lambda v: _calibration_problem(v)),
    "validation": (False, lambda v: status_problem(v)),
    "medical_device": (False, lambda v: None if isinstance(v, bool) else "true or false"),
    "intended_use": (False, lambda v: None if isinstance(v, str) and len(v) <= 2000 else "text"),
}


def _check_schema(manifest: Any, where: str) -> None:
    if not isinstance(manifest, dict):
        raise BundleError(f"{where}: the manifest must be a JSON object, not {type(manifest).__name__}")
    for key, (required, check) in MANIFEST_SCHEMA.items():
        if key not in manifest:
            if required:
                raise BundleError(f"{where}: missing {key!r}")
            continue
        why = check(manifest[key])
        if why:
            raise BundleError(f"{where}: {key!r} is {str(manifest[key])[:80]!r}; it must be {why}")


def _check_hyper_parameters(manifest: dict[str, Any], where: str) -> None:
    """The hyper-parameters against the constraints of the classifier's class."""
    params = manifest["hyper_parameters"]
    try:
        classifier_class(manifest["classifier"]).validate_parameters(params)
    except ParameterError as exc:
        raise BundleError(f"{where}: {exc}") from None
    if params.get("architecture", manifest["classifier"]) != manifest["classifier"]:
        raise BundleError(f"{where}: classifier {manifest['classifier']!r} differs from its hyper-parameters")


def _check_shapes(manifest: dict[str, Any], where: str) -> None:
    if manifest["overlap"] >= manifest["window"] or manifest["n_frames"] != manifest["window"]:
        raise BundleError(f"{where}: window {manifest['window']}, overlap {manifest['overlap']} and n_frames "
                          f"{manifest['n_frames']} do not fit together (0 <= overlap < window = n_frames)")
    if manifest["n_features"] != len(manifest["feature_names"]):
        raise BundleError(f"{where}: n_features {manifest['n_features']} but {len(manifest['feature_names'])} feature names")


def _check_skeleton_and_features(manifest: dict[str, Any], where: str) -> None:
    try:
        sk = Skeleton.from_dict({k: v for k, v in manifest["skeleton"].items() if k != "fingerprint"}, source=f"{where} skeleton")
    except GmdeskError as exc:
        raise BundleError(f"{where}: skeleton: {exc}") from None
    if manifest["skeleton"].get("fingerprint") != sk.fingerprint:
        raise BundleError(f"{where}: the skeleton's fingerprint does not match its content")
    layout = feature_layout(sk, manifest["feature_set"])
    if list(layout.names) != manifest["feature_names"]:
        raise BundleError(f"{where}: feature names do not match feature set {manifest['feature_set']!r} of its skeleton")
    mc = manifest["hyper_parameters"].get("mirror_columns")
    if mc is not None and (len(mc) != manifest["n_features"] or max(mc) >= manifest["n_features"]):
        raise BundleError(f"{where}: mirror columns do not fit {manifest['n_features']} features")


def validate_manifest(manifest: Any, where: str) -> dict[str, Any]:
    """Check a bundle manifest against :data:`MANIFEST_SCHEMA`, its classifier's parameter constraints
    (:meth:`~gmdesk.learning.base.SnippetClassifier.validate_parameters`) and itself.

    Raises
    ------
    BundleError
        Naming the manifest and the first key at fault.
    """
    _check_schema(manifest, where)
    _check_hyper_parameters(manifest, where)
    _check_shapes(manifest, where)
    _check_skeleton_and_features(manifest, where)
    return manifest


#: Files a bundle may hold without a hash in the manifest: the manifest itself and the card (read by people only).
UNHASHED = ("manifest.json", "MODEL_CARD.md")
#: What file managers leave in folders (never read by a loader): not counted as unlisted files.
FOLDER_LITTER = ("Thumbs.db", "desktop.ini")
#: Most bytes a bundle's ``.npz`` file may inflate to.
MAX_NPZ_BYTES = 1 << 30


def _check_files(folder: Path, files: dict[str, str]) -> None:
    """Every file the loader may read is listed with its SHA-256 and matches it: a listed file missing, changed,
    not a regular file or inflating past :data:`MAX_NPZ_BYTES`, or a file present but not listed, is refused."""
    for name, digest in files.items():
        p = folder / name
        if Path(name).name != name or not os.path.lexists(p):
            raise BundleError(f"{folder}: file {name!r} listed in the manifest is missing")
        try:
            if file_sha256(p) != digest:
                raise BundleError(f"{name} does not match its hash in the manifest (changed or damaged); refusing it")
            if name.endswith(".npz"):
                check_npz(p, f"bundle file {name!r}", MAX_NPZ_BYTES, BundleError)
        except GmdeskError as exc:
            raise BundleError(f"{folder}: {exc}") from None
    unlisted = sorted(q.name for q in folder.iterdir() if q.name not in files and q.name not in UNHASHED
                      and q.name not in FOLDER_LITTER and not q.name.startswith("."))
    if unlisted:
        raise BundleError(f"{folder}: {unlisted} {'is' if len(unlisted) == 1 else 'are'} not listed with a hash in the "
                          "manifest; a bundle holds only files it lists (remove them, or rebuild the bundle); refusing it")


def load_bundle(folder: str | Path, skeleton: Skeleton | None = None, feature_set: str | None = None) -> ModelBundle:
    """Load a bundle, checking format, file hashes and (if given) skeleton and feature set."""
    folder = Path(folder)
    mpath = folder / "manifest.json"
    if not os.path.lexists(mpath):
        raise BundleError(f"{folder} is not a gmdesk model bundle (no manifest.json)")
    manifest = read_json(mpath, "manifest", BundleError, 50_000_000)
    if isinstance(manifest, dict) and manifest.get("format") not in (None, BUNDLE_FORMAT):
        raise BundleError(f"{folder}: unknown bundle format {manifest.get('format')!r} (expected {BUNDLE_FORMAT})")
    validate_manifest(manifest, str(mpath))
    files = manifest["files"]
    _check_files(folder, files)
    params = {k: tuple(v) if isinstance(v, list) else v for k, v in manifest["hyper_parameters"].items()}
    params.setdefault("architecture", manifest["classifier"])
    clf = classifier_class(manifest["classifier"])(**params)
    try:
        clf.load(folder, int(manifest["n_frames"]), int(manifest["n_features"]), files=set(files))
    except Exception as exc:
        raise BundleError(f"{folder}: cannot load the model ({exc})") from exc
    bundle = ModelBundle(folder, clf, manifest)
    if skeleton is not None:
        bundle.check_compatible(skeleton, feature_set)
    return bundle
