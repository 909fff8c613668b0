"""What gmdesk is, what it is for and what it is made of (the app's About box and ``gmdesk doctor``)."""

from __future__ import annotations

import logging
from importlib import metadata

from gmdesk import __version__

logger = logging.getLogger(__name__)

INTENDED_USE = (
    "Screening support for the General Movements Assessment of infants 9-20 weeks post-term from an "
    "ordinary video: it shows which 10-second snippets a model trained on a site's normal/abnormal "
    "labels finds abnormal-like, for review by a GMA-certified clinician, who makes the assessment."
)
NOT_A_MEDICAL_DEVICE = (
    "gmdesk is not a medical device. It is not certified (CE/UKCA/FDA) for diagnosis; its verdicts are "
    "evidence for a clinician to check, never a diagnosis."
)

#: Bundled third-party components and their licences (the licence each project publishes; used when
#: the installed package's metadata does not say it in a few words, e.g. in the frozen bundle).
COMPONENTS: dict[str, str] = {
    "PySide6-Essentials": "LGPL-3.0-only (Qt for Python)",
    "pyqtgraph": "MIT",
    "numpy": "BSD-3-Clause",
    "scipy": "BSD-3-Clause",
    "pandas": "BSD-3-Clause",
    "scikit-learn": "BSD-3-Clause",
    "matplotlib": "PSF-based (matplotlib licence)",
    "opencv-python-headless": "Apache-2.0 (OpenCV), FFmpeg LGPL-2.1",
    "h5py": "BSD-3-Clause",
    "tables": "BSD-3-Clause",
    "tensorflow-cpu": "Apache-2.0",
    "keras": "Apache-2.0",
    "deeplabcut": "LGPL-3.0",
    "torch": "BSD-3-Clause",
}


def component_versions() -> list[tuple[str, str, str]]:
    """(component, installed version or "not installed", licence) for each bundled component."""
    out = []
    for name, licence in COMPONENTS.items():
        version = "not installed"
        for dist in (name, name.removesuffix("-cpu")):
            try:
                version = metadata.version(dist)
                break
            except metadata.PackageNotFoundError:
                continue
        out.append((name, version, licence))
    return out


def about_text(model: dict | None = None) -> list[tuple[str, str]]:
    """The About box as (heading, text) pairs: version, model in use, intended use, status, licences.

    Parameters
    ----------
    model : dict, optional
        A model summary (``gmdesk.screening.assess.model_summary`` or a stored result's) for the model in use.
    """
    rows = [("gmdesk", f"version {__version__}")]
    if model:
        cohort = model.get("cohort") or {}
        line = f"{model.get('model_id', '?')} ({model.get('classifier', '?')}, {model.get('feature_set', '?')})"
        if cohort:
            line += f", trained on {cohort.get('infants', '?')} infants"
            if cohort.get("synthetic"):
                line += " — SYNTHETIC data, for demonstration only"
        rows.append(("Model", line))
        if model.get("intended_use"):
            rows.append(("Model's intended use", str(model["intended_use"])))
        rows.append(("Model's status", "medical device" if model.get("medical_device") else "not a medical device"))
    else:
        rows.append(("Model", "none chosen"))
    rows += [("Intended use", INTENDED_USE), ("Regulatory status", NOT_A_MEDICAL_DEVICE)]
    rows += [("Component", f"{n} {v} — {lic}") for n, v, lic in component_versions()]
    return rows
