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

import hashlib
import json
import platform
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gmdesk.classifiers import SnippetClassifier
from gmdesk.errors import GmdeskError
from gmdesk.features import feature_layout
from gmdesk.skeleton import Skeleton
from gmdesk.verdict import DEFAULT_DECISION, DEFAULT_THRESHOLD

BUNDLE_FORMAT = "gmdesk-model-1"


class BundleError(GmdeskError):
    """A model bundle is missing, damaged, tampered with, or made for other data."""


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def library_versions() -> dict[str, str]:
    """Versions of the libraries a model depends on."""
    import numpy
    import sklearn

    out = {"python": platform.python_version(), "numpy": numpy.__version__, "scikit-learn": sklearn.__version__}
    from gmdesk import __version__

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

    def reference(self) -> dict[str, Any] | None:
        """Reference training snippets' embeddings, labels, infants and starts (or None)."""
        import numpy as np

        p = self.path / "reference.npz"
        if "reference.npz" not in self.manifest.get("files", {}):
            return None
        with np.load(p, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}

    def ica(self) -> dict[str, Any] | None:
        """The bundle's FastICA projection (mean, unmixing) and reference components (or None)."""
        import numpy as np

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
) -> Path:
    """Write a trained classifier as a bundle folder (written beside, then renamed into place).

    With ``reference`` (the training :class:`~gmdesk.snippets.SnippetSet`), the bundle also
    carries what the GUI compares a new infant with: embeddings of up to ``n_reference``
    training snippets (stratified sample; ``reference.npz``) and a FastICA projection fitted
    on the training snippets with their first-component values (``ica.npz``).
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
        "labels": {"normal": 0, "abnormal": 1},
        "score": "P(abnormal) per snippet",
        "cohort": cohort or {},
        "metrics": metrics or {},
        "training": getattr(clf, "train_info_", {}) | {"epochs_run": len(clf.history_.get("loss", []))},
        "library_versions": library_versions(),
        "files": {name: _sha256(tmp / name) for name in files},
        **(extra or {}),
    }
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    if card:
        (tmp / "MODEL_CARD.md").write_text(card, encoding="utf-8")
    if folder.exists():
        shutil.rmtree(folder)
    tmp.rename(folder)
    return folder


def _save_reference(folder: Path, clf: SnippetClassifier, ref: Any, n: int, seed: int) -> list[str]:
    import numpy as np
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


def load_bundle(folder: str | Path, skeleton: Skeleton | None = None, feature_set: str | None = None) -> ModelBundle:
    """Load a bundle, checking format, file hashes and (if given) skeleton and feature set."""
    folder = Path(folder)
    mpath = folder / "manifest.json"
    if not mpath.is_file():
        raise BundleError(f"{folder} is not a gmdesk model bundle (no manifest.json)")
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BundleError(f"{mpath} is not valid JSON: {exc}") from exc
    if manifest.get("format") != BUNDLE_FORMAT:
        raise BundleError(f"{folder}: unknown bundle format {manifest.get('format')!r} (expected {BUNDLE_FORMAT})")
    files = manifest.get("files", {})
    if not files:
        raise BundleError(f"{folder}: manifest lists no files")
    for name, digest in files.items():
        p = folder / name
        if Path(name).name != name or not p.is_file():
            raise BundleError(f"{folder}: file {name!r} listed in the manifest is missing")
        if _sha256(p) != digest:
            raise BundleError(f"{folder}: {name} does not match its hash in the manifest (changed or damaged); refusing it")
    params = dict(manifest["hyper_parameters"])
    for k in ("mirror_columns", "mirror_signs"):
        if params.get(k) is not None:
            params[k] = tuple(params[k])
    clf = SnippetClassifier(**params)
    if clf.family != "svm":
        from gmdesk.classifiers import register_custom_layers

        register_custom_layers()
    try:
        clf.load_weights(folder, int(manifest["n_frames"]), int(manifest["n_features"]))
    except Exception as exc:
        raise BundleError(f"{folder}: cannot load the model ({exc})") from exc
    bundle = ModelBundle(folder, clf, manifest)
    if skeleton is not None:
        bundle.check_compatible(skeleton, feature_set)
    return bundle
