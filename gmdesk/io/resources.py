"""The files gmdesk ships: skeletons, the synthetic demo recording, model bundles.

One place decides where they are, for every way gmdesk runs:

1. ``GMDESK_RESOURCES`` / ``GMDESK_MODELS`` (environment) point elsewhere (tests, a site's own set);
2. a checkout or an editable install, and the PyInstaller bundle: ``resources/`` and ``models/`` beside
   the ``gmdesk`` package;
3. an installed wheel: the package data ``gmdesk_resources`` and ``gmdesk_models`` (the same two
   folders, mapped into the wheel by ``pyproject.toml``), found through the import system.

``SHA256SUMS`` in the resources folder lists every shipped resource file with its SHA-256
(``scripts/hash_resources.py`` writes it); ``gmdesk doctor`` checks the files against it.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from pathlib import Path

from gmdesk.io.hashing import file_sha256

logger = logging.getLogger(__name__)

DEMO_BUNDLE = "demo-synthetic"
HASH_LIST = "SHA256SUMS"


def _root(env: str, folder: str, package: str, marker: str) -> Path:
    override = os.environ.get(env)
    if override:
        return Path(override)
    beside = Path(__file__).resolve().parents[2] / folder
    if (beside / marker).exists():
        return beside

    spec = importlib.util.find_spec(package)  # a data package without __init__ (a namespace package)
    if spec is not None and spec.submodule_search_locations:
        for loc in spec.submodule_search_locations:
            if (Path(loc) / marker).exists():
                return Path(loc)
    return beside


def resource_root() -> Path:
    """The folder of shipped resources (``skeletons/``, ``demo/``, ``SHA256SUMS``)."""
    return _root("GMDESK_RESOURCES", "resources", "gmdesk_resources", "skeletons")


def models_root() -> Path:
    """The folder of shipped model bundles."""
    return _root("GMDESK_MODELS", "models", "gmdesk_models", DEMO_BUNDLE)


def skeleton_dir() -> Path:
    """The folder of shipped skeleton files."""
    return resource_root() / "skeletons"


def skeleton_path(name: str) -> Path:
    """A shipped skeleton file by name (``infant24``)."""
    return skeleton_dir() / f"{name}.toml"


def skeleton_names() -> list[str]:
    """Names of the shipped skeletons."""
    return sorted(p.stem for p in skeleton_dir().glob("*.toml"))


def demo_path(name: str = "demo_infant.h5") -> Path:
    """A file of the synthetic demo recording (``demo_infant.h5``, ``.mp4``, ``.truth.npz``)."""
    return resource_root() / "demo" / name


def bundle_path(name: str = DEMO_BUNDLE) -> Path:
    """A shipped model bundle's folder."""
    return models_root() / name


def shipped_bundles() -> list[Path]:
    """Every shipped model bundle (folders with a ``manifest.json``)."""
    return sorted(p.parent for p in models_root().glob("*/manifest.json"))


def resource_files() -> list[Path]:
    """Every shipped resource file (what ``SHA256SUMS`` covers), relative to :func:`resource_root`."""
    root = resource_root()
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file() and p.name != HASH_LIST
                  and "__pycache__" not in p.parts)


def expected_hashes() -> dict[str, str]:
    """The shipped list: relative path → SHA-256 (empty when the list is missing)."""
    p = resource_root() / HASH_LIST
    if not p.is_file():
        return {}
    out = {}
    for line in p.read_text(encoding="utf-8").splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            out[name.strip()] = digest
    return out


def check_resources() -> list[str]:
    """Problems with the shipped resources: files missing, changed, or not in the list."""
    expected = expected_hashes()
    root = resource_root()
    if not expected:
        return [f"{root / HASH_LIST} is missing"]
    problems = []
    for name, digest in expected.items():
        p = root / name
        if not p.is_file():
            problems.append(f"{name} is missing")
        elif file_sha256(p) != digest:
            problems.append(f"{name} is damaged or changed (SHA-256 differs from the shipped one)")
    return problems


def write_hash_list() -> Path:
    """Write ``SHA256SUMS`` for the current resource files (``scripts/hash_resources.py``)."""
    root = resource_root()
    lines = [f"{file_sha256(root / rel)}  {rel.as_posix()}" for rel in resource_files()]
    out = root / HASH_LIST
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out
