"""Edits the annotator's editor needs from a case: swap a left/right pair over a frame range,
copy-previous that skips missing points."""

import numpy as np
import pytest

from gmdesk.core.posetrack import PointStatus
from gmdesk.record.case import create_case, open_case
from gmdesk.record.store import CaseError
from gmdesk.synthetic.cohorts import make_infant


@pytest.fixture
def case(tmp_path, skeleton):
    track = make_infant("E1", 0, [4, 4], skeleton=skeleton, n_frames=400).track
    c = create_case(tmp_path / "e.gmcase", track, author="tester")
    c.clean(skeleton)
    yield c
    c.close()


def test_swap_range_exchanges_a_pair_in_one_undoable_entry(case, skeleton):
    lh, rh = skeleton.index("left_hand"), skeleton.index("right_hand")
    case.delete(105, "right_hand")
    before = case.current_track()
    seq = case.swap_range("left_hand", "right_hand", 100, 110)
    after = case.current_track()
    assert np.array_equal(after.xy[100:110, lh], before.xy[100:110, rh], equal_nan=True)
    assert np.array_equal(after.xy[100:110, rh], before.xy[100:110, lh], equal_nan=True)
    assert after.status[104, lh] == after.status[104, rh] == PointStatus.EDITED
    assert after.status[105, lh] == PointStatus.MISSING and after.status[105, rh] == PointStatus.EDITED
    # frames outside the range and other landmarks are untouched
    assert np.array_equal(after.xy[:100], before.xy[:100], equal_nan=True)
    assert np.array_equal(after.xy[110:], before.xy[110:], equal_nan=True)
    last = case.history()[-1]
    assert (last.seq, last.kind, last.landmark, last.frame, last.frame_stop) == (seq, "swap", "left_hand/right_hand", 100, 110)
    assert len(last.points) == 20
    case.undo()
    assert np.array_equal(case.current_track().xy, before.xy, equal_nan=True)
    case.redo()
    assert np.array_equal(case.current_track().xy, after.xy, equal_nan=True)
    path = case.path
    case.close()
    with open_case(path) as again:  # replayed from the log
        assert np.array_equal(again.current_track().xy, after.xy, equal_nan=True)


def test_swap_range_refuses_bad_ranges(case):
    n = case.current_track().n_frames
    with pytest.raises(CaseError, match="frames inside"):
        case.swap_range("left_hand", "right_hand", 10, n + 1)
    with pytest.raises(CaseError, match="frames inside"):
        case.swap_range("left_hand", "right_hand", 10, 10)
    with pytest.raises(CaseError, match="two landmarks"):
        case.swap_range("left_hand", "left_hand", 10, 20)
    with pytest.raises(CaseError, match="no landmark"):
        case.swap_range("left_hand", "tail", 10, 20)
    assert case.history() == []


def test_copy_previous_skips_points_missing_in_the_previous_frame(case, skeleton):
    lf, nose = skeleton.index("left_foot"), skeleton.index("nose")
    case.delete(50, "left_foot")
    before = case.current_track()
    case.copy_from_previous(51)
    after = case.current_track()
    assert np.array_equal(after.xy[51, lf], before.xy[51, lf]) and np.isfinite(after.xy[51, lf]).all()
    assert after.status[51, lf] == before.status[51, lf]
    assert np.array_equal(after.xy[51, nose], before.xy[50, nose]) and after.status[51, nose] == PointStatus.EDITED
    e = case.history()[-1]
    assert e.kind == "copy-from-previous" and (51, lf) not in e.points
    assert len(e.points) == before.n_landmarks - 1
    with pytest.raises(CaseError, match="frame 50 has no point of left_foot"):
        case.copy_from_previous(51, ["left_foot"])
    assert case.history()[-1].seq == e.seq  # the refused copy wrote nothing
