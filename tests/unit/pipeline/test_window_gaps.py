"""No 10-s window is lost for a point the cleaning can fill (issue #24): an isolated missing landmark-frame is
filled as the cleaning fills gaps (makima, its gap limits) and recorded in the provenance; a window is left out
only for a gap longer than the limit."""

import numpy as np
import pytest

from gmdesk.core.body import parents
from gmdesk.core.posetrack import PointStatus
from gmdesk.pipeline.cleaning import clean_track
from gmdesk.pipeline.cohort import recording_snippets
from gmdesk.pipeline.imputation import fill_within_limits, impute_gaps
from gmdesk.synthetic.cohorts import make_infant


@pytest.fixture(scope="module")
def truth_track(skeleton):
    """Real-looking movement with no detector error: every point observed, likelihood 1."""
    inf = make_infant("G1", 0, [4, 2], skeleton=skeleton, n_frames=1800)
    t = inf.track.copy()
    t.xy[:] = inf.truth_xy
    t.likelihood[:] = 1.0
    t.status[:] = PointStatus.OBSERVED
    return t


def child_and_parent(skeleton):
    par = parents(skeleton)
    j = next(j for j in range(skeleton.n_landmarks) if par[j] >= 0)
    return j, int(par[j])


def test_a_point_the_parent_frame_does_not_bracket_is_filled_from_its_own_trajectory(truth_track, skeleton):
    t = truth_track.copy()
    j, p = child_and_parent(skeleton)
    t.xy[:40, p] = np.nan  # the parent's gap at the recording's start stays missing (at the edge)
    t.xy[40, j] = np.nan  # the child missing on the first frame the parent is back
    t.status[40, j] = PointStatus.OUTLIER
    n, left = impute_gaps(t, 30, skeleton, 60)
    assert np.isfinite(t.xy[40, j]).all() and t.status[40, j] == PointStatus.IMPUTED
    assert np.linalg.norm(t.xy[40, j] - truth_track.xy[40, j]) < 5.0  # close to where it was
    assert [(g.landmark, g.reason) for g in left] == [(t.landmarks[p], "at_edge")]
    assert t.provenance[-1]["summary"]["filled_from_own_trajectory"] == 1


def test_cleaning_keeps_every_window_around_an_isolated_missing_landmark_frame(truth_track, skeleton):
    raw = truth_track.copy()
    j, p = child_and_parent(skeleton)
    raw.likelihood[:40, p] = 0.05  # removed by the cleaning, at the edge: cannot be filled
    raw.likelihood[40, j] = 0.05  # one isolated landmark-frame removed by the cleaning
    raw.likelihood[900, 5] = 0.05  # and one in the middle of the recording
    snips, cleaned, _ = recording_snippets(raw, skeleton, "G1", 0)
    assert np.isfinite(cleaned.xy[40, j]).all() and np.isfinite(cleaned.xy[900, 5]).all()
    # only the window holding the parent's edge gap is left out, and only for the parent
    assert [d["start"] for d in snips.dropped] == [0]
    assert set(snips.dropped[0]["missing"]) == {raw.landmarks[p]}


def test_a_cleaned_track_with_points_missing_since_keeps_its_windows_unless_a_gap_is_too_long(truth_track, skeleton):
    cleaned, _ = clean_track(truth_track, skeleton)
    full, _, _ = recording_snippets(cleaned, skeleton, "G1", 0, clean=False)
    edited = cleaned.copy()
    edited.xy[700, 7] = np.nan  # an annotator marked one point missing
    edited.xy[1200:1210, 3] = np.nan  # and a short run (within max_gap)
    snips, used, _ = recording_snippets(edited, skeleton, "G1", 0, clean=False)
    assert snips.dropped == [] and len(snips) == len(full)
    step = used.provenance[-1]
    assert step["step"] == "fill_gaps_within_limits" and step["summary"]["points"] == 11
    assert step["params"] == {"max_gap": 30, "max_gap_distal": 60}
    assert used.status[700, 7] == PointStatus.IMPUTED and np.isnan(edited.xy[700, 7]).all()  # a copy was filled
    long_gap = cleaned.copy()
    long_gap.xy[1000:1100, 3] = np.nan  # 100 frames: longer than any limit
    snips, _, _ = recording_snippets(long_gap, skeleton, "G1", 0, clean=False)
    dropped = [d["start"] for d in snips.dropped]
    assert dropped and all(s < 1100 and s + 300 > 1000 for s in dropped)  # exactly the windows touching the gap
    assert len(snips) + len(dropped) == len(full)
    assert fill_within_limits(cleaned, skeleton) is cleaned  # nothing missing: nothing done
