"""Shared fixtures: synthetic infants and a small synthetic cohort on disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from gmdesk.io.skeletons import load_skeleton
from gmdesk.synthetic.cohorts import generate_cohort, make_infant
from gmdesk.synthetic.settings import SynthSettings

REPO = Path(__file__).resolve().parent.parent

#: Python that makes torch, DeepLabCut, TensorFlow and Keras unimportable in the process that runs it (as in the
#: workstation's CPU build, which does not carry them).
HIDE_TRAINING_STACKS = """
import sys
class _Hidden:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('torch', 'deeplabcut', 'tensorflow', 'keras', 'tf2onnx'):
            raise ModuleNotFoundError(f'No module named {name!r} (hidden: a workstation build)', name=name)
sys.meta_path.insert(0, _Hidden())
"""



def decode_all_frames(path) -> list:
    """Every frame of a video by a plain sequential OpenCV decode (the reference for seeks)."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            cap.release()
            return frames
        frames.append(f)


@pytest.fixture(scope="session")
def skeleton():
    return load_skeleton()


@pytest.fixture(scope="session")
def infant_normal(skeleton):
    return make_infant("N01", 0, [7, 0], skeleton=skeleton)


@pytest.fixture(scope="session")
def infant_abnormal(skeleton):
    return make_infant("A01", 1, [7, 1], skeleton=skeleton)


@pytest.fixture(scope="session")
def small_cohort(tmp_path_factory) -> Path:
    """13 synthetic infants (10 internal, 3 external) of 40-50 s each, written as DLC .h5."""
    out = tmp_path_factory.mktemp("cohort")
    return generate_cohort(out, seed=11, settings=SynthSettings(duration_s=(40.0, 50.0)))


def shuffle_labels(table: Path, seed: int = 0) -> list[str]:
    """Permute the labels of a cohort table's internal infants in place (a derangement of at least one pair:
    every label still occurs as often as before); the new labels in row order."""
    import csv

    import numpy as np

    with open(table, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    internal = [i for i, r in enumerate(rows) if r.get("set", "internal") == "internal"]
    labels = [rows[i]["label"] for i in internal]
    rng = np.random.default_rng(seed)
    while True:
        new = [labels[j] for j in rng.permutation(len(labels))]
        if new != labels:
            break
    for i, lab in zip(internal, new, strict=True):
        rows[i]["label"] = lab
    with open(table, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return [r["label"] for r in rows]


@pytest.fixture(scope="session")
def shuffled_bundle(tmp_path_factory) -> Path:
    """A kinematics bundle trained with ``gmdesk train … --cv infant`` on 10 synthetic infants of 40 s whose
    labels were SHUFFLED: whatever it learned, it cannot be validated on its cohort."""
    from gmdesk.cli.main import main

    out = tmp_path_factory.mktemp("shuffled")
    table = generate_cohort(out / "cohort", seed=23, settings=SynthSettings(duration_s=(40.0, 40.0)))
    shuffle_labels(table, seed=2)  # a chance-like permutation: infant AUC 0.56 (95 % CI 0.21-0.92) out of fold;
    # some permutations of 10 infants are learnable by chance (seed 5: AUC 1.00): only a test against chance tells
    bundle = out / "shuffled-model"
    assert main(["train", str(table), "--classifier", "kinematics", "--cv", "infant", "-o", str(bundle),
                 "--model-id", "shuffled-labels"]) == 0
    return bundle
