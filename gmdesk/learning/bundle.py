"""Model bundles: a folder with the learned parameters and a JSON manifest.

::

    my-model/
      manifest.json   classifier, hyper-parameters, feature set, skeleton, window, overlap,
                      threshold, cohort summary, CV metrics, library versions, file hashes
      scaler.npz      z-score statistics (fitted on training data only)
      model.keras     network (Keras 3), or svm.npz + svm.json for the SVM
      MODEL_CARD.md   what it was trained on, metrics, intended use, limits

Loading never executes code from the bundle: no pickle or joblib (``np.load(allow_pickle=
False)``), Keras ``safe_mode=True``, and each file's SHA-256 must match the manifest (a
tampered or half-copied bundle is refused). A bundle made for another skeleton or feature
set is refused with a clear error.
"""

from __future__ import annotations

import json
import logging
import math
import platform
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gmdesk import __version__
from gmdesk.constants import DEFAULT_DECISION, DEFAULT_MIN_SNIPPETS, DEFAULT_THRESHOLD
from gmdesk.core.skeleton import Skeleton
from gmdesk.errors import GmdeskError
from gmdesk.io.hashing import file_sha256
from gmdesk.io.jsonfile import json_safe
from gmdesk.learning.calibration import calibrate
from gmdesk.learning.classifiers import ARCHITECTURES, SnippetClassifier, register_custom_layers
from gmdesk.pipeline.features import feature_layout

logger = logging.getLogger(__name__)

BUNDLE_FORMAT = "gmdesk-model-1"


class BundleError(GmdeskError):
    """A model bundle is missing, damaged, tampered with, or made for other data."""




def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def library_versions() -> dict[str, str]:
    """Versions of the libraries a model depends on."""
    import sklearn

    out = {"python": platform.python_version(), "numpy": np.__version__, "scikit-learn": sklearn.__version__}

    out["gmdesk"] = __version__
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
        """Platt calibration of snippet scores (``{"method": "platt", "a", "b", ...}``) or None."""
        return self.manifest.get("calibration")

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
        flat = self.classifier._scale(X).reshape(len(X), -1).astype("float64")
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
) -> Path:
    """Write a trained classifier as a bundle folder (written beside, then renamed into place).

    With ``reference`` (the training :class:`~gmdesk.pipeline.snippets.SnippetSet`), the bundle also
    carries what the GUI compares a new infant with: embeddings of up to ``n_reference``
    training snippets (stratified sample; ``reference.npz``) and a FastICA projection fitted
    on the training snippets with their first-component values (``ica.npz``). ``normalisation``,
    ``calibration`` (:func:`fit_platt`) and ``min_snippets`` are part of the recipe and applied when
    the bundle assesses.
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
    files = clf.save_weights(tmp)
    if reference is not None:
        files += _save_reference(tmp, clf, reference, n_reference, seed)
    params = {k: (list(v) if isinstance(v, tuple) else v) for k, v in clf.get_params().items()}
    manifest = {
        "format": BUNDLE_FORMAT,
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
    flat = clf._scale(ref.X).reshape(len(ref), -1).astype(np.float64)
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


#: What each manifest key must be. A check returns None when the value is acceptable, else what it
#: must be. Keys marked required must be present; extra keys are allowed (documentation, cards).
MANIFEST_SCHEMA: dict[str, tuple[bool, Any]] = {
    "format": (True, lambda v: None if v == BUNDLE_FORMAT else f"{BUNDLE_FORMAT!r}"),
    "model_id": (True, lambda v: None if isinstance(v, str) and 0 < len(v) <= 200 else "a name of 1-200 characters"),
    "classifier": (True, lambda v: None if isinstance(v, str) else "a classifier name"),
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
    "calibration": (False, lambda v: None if isinstance(v, dict) and v.get("method") == "platt" and _finite(v.get("a"))
                    and _finite(v.get("b")) and 0 < v["a"] < 100 and abs(v["b"]) < 100
                    else "a Platt calibration {method: platt, a > 0, b}"),
    "medical_device": (False, lambda v: None if isinstance(v, bool) else "true or false"),
    "intended_use": (False, lambda v: None if isinstance(v, str) and len(v) <= 2000 else "text"),
}


def _hyper_parameter_checks() -> dict[str, Any]:
    """What each SnippetClassifier hyper-parameter must be (unknown names are refused)."""

    def tup(v: Any) -> bool:
        return v is None or (isinstance(v, list) and all(_finite(x) for x in v))

    def ints(v: Any) -> str | None:
        return None if v is None or (isinstance(v, list) and all(_is_int(x) and 0 <= x < 1_000_000 for x in v)) else \
            "a list of column or landmark indices"

    def rng(lo: float, hi: float) -> Any:
        return lambda v: None if _finite(v) and lo <= v <= hi else f"a number in {lo:g}..{hi:g}"

    return {
        "architecture": lambda v: None if v in ARCHITECTURES else f"one of {sorted(ARCHITECTURES)}",
        "epochs": lambda v: None if _is_int(v) and 1 <= v <= 100_000 else "a whole number 1-100000",
        "batch_size": lambda v: None if _is_int(v) and 1 <= v <= 100_000 else "a whole number 1-100000",
        "patience": lambda v: None if _is_int(v) and 0 <= v <= 100_000 else "a whole number 0-100000",
        "dropout": lambda v: None if _finite(v) and 0 <= v < 1 else "a rate in [0, 1)",
        "learning_rate": lambda v: None if _finite(v) and 0 < v < 10 else "a positive rate below 10",
        "validation_fraction": lambda v: None if _finite(v) and 0 < v < 1 else "a share strictly between 0 and 1",
        "mirror_columns": lambda v: None if tup(v) and (v is None or all(_is_int(x) and x >= 0 for x in v)) else "column indices",
        "mirror_signs": lambda v: None if tup(v) and (v is None or all(x in (-1, 1, -1.0, 1.0) for x in v)) else "signs +-1",
        "C": lambda v: None if v is None or (_finite(v) and v > 0) else "a positive number",
        "coord_columns": ints, "angle_columns": ints, "mirror_landmarks": ints, "end_effectors": ints,
        "fps": lambda v: None if _finite(v) and 0 < v <= 1000 else "a frame rate (0 < fps <= 1000)",
        "aug_copies": lambda v: None if _is_int(v) and 0 <= v <= 20 else "a whole number 0-20",
        "aug_scale": rng(0, 0.9), "aug_rotate_deg": rng(0, 180), "aug_time_warp": rng(0, 0.5), "aug_jitter": rng(0, 1),
        "seed": lambda v: None if _is_int(v) else "a whole number",
        "verbose": lambda v: None if _is_int(v) else "a whole number",
    }


def validate_manifest(manifest: Any, where: str) -> dict[str, Any]:
    """Check a bundle manifest against :data:`MANIFEST_SCHEMA` and the classifier's parameters.

    Raises
    ------
    BundleError
        Naming the manifest and the first key at fault.
    """
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
    checks = _hyper_parameter_checks()
    for key, value in manifest["hyper_parameters"].items():
        if key not in checks:
            raise BundleError(f"{where}: unknown hyper-parameter {key!r}")
        why = checks[key](value)
        if why:
            raise BundleError(f"{where}: hyper-parameter {key!r} is {str(value)[:80]!r}; it must be {why}")
    if manifest["hyper_parameters"].get("architecture", manifest["classifier"]) != manifest["classifier"]:
        raise BundleError(f"{where}: classifier {manifest['classifier']!r} differs from its hyper-parameters")
    if manifest["overlap"] >= manifest["window"] or manifest["n_frames"] != manifest["window"]:
        raise BundleError(f"{where}: window {manifest['window']}, overlap {manifest['overlap']} and n_frames "
                          f"{manifest['n_frames']} do not fit together (0 <= overlap < window = n_frames)")
    if manifest["n_features"] != len(manifest["feature_names"]):
        raise BundleError(f"{where}: n_features {manifest['n_features']} but {len(manifest['feature_names'])} feature names")
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
    return manifest


def load_bundle(folder: str | Path, skeleton: Skeleton | None = None, feature_set: str | None = None) -> ModelBundle:
    """Load a bundle, checking format, file hashes and (if given) skeleton and feature set."""
    folder = Path(folder)
    mpath = folder / "manifest.json"
    if not mpath.is_file():
        raise BundleError(f"{folder} is not a gmdesk model bundle (no manifest.json)")
    if mpath.stat().st_size > 50_000_000:
        raise BundleError(f"{mpath} is larger than any manifest (50 MB)")
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"), parse_constant=_refuse_constant)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError, ValueError) as exc:
        raise BundleError(f"{mpath} is not valid JSON: {exc}") from None
    if isinstance(manifest, dict) and manifest.get("format") not in (None, BUNDLE_FORMAT):
        raise BundleError(f"{folder}: unknown bundle format {manifest.get('format')!r} (expected {BUNDLE_FORMAT})")
    validate_manifest(manifest, str(mpath))
    files = manifest["files"]
    for name, digest in files.items():
        p = folder / name
        if Path(name).name != name or not p.is_file():
            raise BundleError(f"{folder}: file {name!r} listed in the manifest is missing")
        if file_sha256(p) != digest:
            raise BundleError(f"{folder}: {name} does not match its hash in the manifest (changed or damaged); refusing it")
    params = dict(manifest["hyper_parameters"])
    params.setdefault("architecture", manifest["classifier"])
    for k in ("mirror_columns", "mirror_signs", "coord_columns", "angle_columns", "mirror_landmarks", "end_effectors"):
        if params.get(k) is not None:
            params[k] = tuple(params[k])
    clf = SnippetClassifier(**params)
    if clf.family not in ("svm", "kinematics"):
        register_custom_layers()
    try:
        clf.load_weights(folder, int(manifest["n_frames"]), int(manifest["n_features"]))
    except Exception as exc:
        raise BundleError(f"{folder}: cannot load the model ({exc})") from exc
    bundle = ModelBundle(folder, clf, manifest)
    if skeleton is not None:
        bundle.check_compatible(skeleton, feature_set)
    return bundle
