"""A landmark never located in a recording (another body-part set, a wrong mapping, a detector that never finds
the eyes, a hand hidden throughout) leaves out every window of it. Training used to drop such infants silently and
then fail with "training needs snippets of both classes"; assessing said "correct the long gaps". Both now name
the files and the landmarks, and what to do."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from gmdesk.cli.main import main
from gmdesk.core.posetrack import PoseTrack
from gmdesk.errors import GmdeskError
from gmdesk.io.tracks import write_track
from gmdesk.learning.bundle import load_bundle
from gmdesk.pipeline.cohort import cohort_features, read_cohort
from gmdesk.screening.assess import assess_track
from gmdesk.synthetic.cohorts import make_infant
from tests.conftest import REPO


def _without(track: PoseTrack, names: tuple[str, ...], how: str = "nan") -> PoseTrack:
    xy, lik = track.xy.copy(), track.likelihood.copy()
    for n in names:
        j = track.landmarks.index(n)
        if how == "nan":
            xy[:, j] = np.nan
        else:  # a detector that never finds it: positions written, likelihood below the cut-off
            lik[:, j] = 0.05
    return PoseTrack(xy, lik, track.status.copy(), track.fps, track.landmarks, [], dict(track.meta))


def _cohort(tmp_path, skeleton, lacking: dict[int, tuple[str, ...]]):
    rows = []
    for k in range(4):
        t = make_infant(f"I{k}", int(k >= 2), [k, 1], skeleton=skeleton, n_frames=700).track
        write_track(_without(t, lacking.get(k, ())), tmp_path / f"I{k}.npz")
        rows.append({"infant_id": f"I{k}", "label": int(k >= 2), "pose_file": f"I{k}.npz"})
    with open(tmp_path / "cohort.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return tmp_path / "cohort.csv"


def test_a_cohort_with_landmarks_never_located_names_every_file_and_landmark(tmp_path, skeleton, capsys):
    table = _cohort(tmp_path, skeleton, {1: ("left_eye", "right_eye"), 3: ("left_hand",)})
    with pytest.raises(GmdeskError) as err:
        cohort_features(read_cohort(table), skeleton, "both", normalisation="body")
    msg = str(err.value)
    assert "2 of 4 recordings" in msg and "I1.npz (left_eye, right_eye)" in msg and "I3.npz (left_hand)" in msg
    assert "I0.npz" not in msg and "I2.npz" not in msg and "--mapping" in msg
    # through the command line: refused with that message, nothing written
    assert main(["evaluate", str(table), "--classifier", "fidgety-findings", "-o", str(tmp_path / "ev")]) != 0
    assert "I1.npz (left_eye, right_eye)" in capsys.readouterr().err
    assert not (tmp_path / "ev").exists() or not any((tmp_path / "ev").iterdir())


@pytest.mark.parametrize("how", ["nan", "low-likelihood"])
def test_assessing_a_recording_without_the_hands_says_which_landmarks(how):
    bundle = load_bundle(REPO / "models" / "demo-synthetic")
    track = _without(make_infant("H", 0, [3, 7], n_frames=700).track, ("left_hand", "right_hand"), how)
    with pytest.raises(GmdeskError, match=r"never located.*left_hand, right_hand") as err:
        assess_track(track, bundle, bundle.skeleton, "H")
    assert "long gaps" not in str(err.value)


def test_an_angles_model_does_not_need_landmarks_in_no_angle(tmp_path, skeleton):
    """The eyes are in no joint-angle triplet of infant24: a cohort without them trains an angles model."""
    table = _cohort(tmp_path, skeleton, {k: ("left_eye", "right_eye") for k in range(4)})
    recs = cohort_features(read_cohort(table), skeleton, "angles")
    assert len(recs) == 4
    with pytest.raises(GmdeskError, match="left_eye, right_eye"):
        cohort_features(read_cohort(table), skeleton, "both")
