"""Shared fixtures: synthetic infants and a small synthetic cohort on disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from gmdesk.io.skeletons import load_skeleton
from gmdesk.synthetic.cohorts import generate_cohort, make_infant
from gmdesk.synthetic.settings import SynthSettings

REPO = Path(__file__).resolve().parent.parent



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
