import numpy as np
import pytest

from gmdesk.constants import PAPER_OVERLAPS
from gmdesk.core.posetrack import PoseTrack
from gmdesk.errors import GmdeskError, RecordingTooShortError
from gmdesk.pipeline.features import compute_features, feature_layout, joint_angles, mirror_features, normalise
from gmdesk.pipeline.snippets import SnippetSet, cut_snippets, mirror_snippets, n_snippets, snippet_starts


def posed(skeleton, **points):
    xy = np.zeros((1, skeleton.n_landmarks, 2))
    for name, p in points.items():
        xy[0, skeleton.index(name)] = p
    return xy


def test_right_angled_elbow_is_90_degrees_and_straight_is_180(skeleton):
    xy = posed(skeleton, left_shoulder=(0, 0), left_elbow=(10, 0), left_wrist=(10, 7),
               right_shoulder=(0, 0), right_elbow=(-10, 0), right_wrist=(-20, 0),
               left_knee=(0, 0), left_hip=(0, 10), left_ankle=(10, 0))
    ang = joint_angles(xy, skeleton)
    names = [a.name for a in skeleton.angles]
    assert ang[0, names.index("left_elbow")] == pytest.approx(90.0)
    assert ang[0, names.index("right_elbow")] == pytest.approx(180.0)
    assert ang[0, names.index("left_knee")] == pytest.approx(90.0)


def test_angles_ignore_mirroring_and_are_nan_when_points_missing(skeleton, infant_normal):
    xy = infant_normal.truth_xy[:50]
    flipped = xy.copy()
    flipped[..., 0] *= -1
    assert np.allclose(joint_angles(xy, skeleton), joint_angles(flipped, skeleton))
    xy2 = xy.copy()
    xy2[3, skeleton.index("left_elbow")] = np.nan
    a = joint_angles(xy2, skeleton)
    names = [x.name for x in skeleton.angles]
    assert np.isnan(a[3, names.index("left_elbow")]) and np.isnan(a[3, names.index("left_shoulder")])


def test_normalisation_puts_the_sternum_at_origin_and_nothing_else(skeleton, infant_normal):
    xy = infant_normal.truth_xy
    n = normalise(xy, skeleton)
    assert np.all(n[:, skeleton.index("sternum")] == 0)
    # translation only: distances are unchanged
    d0 = np.linalg.norm(xy[:, 0] - xy[:, 10], axis=-1)
    assert np.allclose(np.linalg.norm(n[:, 0] - n[:, 10], axis=-1), d0)


def test_feature_sets_have_48_12_60_named_columns(skeleton, infant_normal):
    t = PoseTrack.from_xy(infant_normal.truth_xy, skeleton.landmarks, 29.97)
    sizes = {}
    for fs in ("coords", "angles", "both"):
        f, layout = compute_features(t, skeleton, fs)
        sizes[fs] = f.shape[1]
        assert len(layout.names) == f.shape[1] == len(set(layout.names))
    assert sizes == {"coords": 48, "angles": 12, "both": 60}
    assert feature_layout(skeleton, "both").names[:2] == ("head_top_x", "head_top_y")
    assert feature_layout(skeleton, "both").names[-1] == "right_ankle_angle"
    with pytest.raises(ValueError, match="unknown feature set"):
        feature_layout(skeleton, "speed")


def test_mirror_is_an_involution_and_matches_a_mirrored_body(skeleton, infant_abnormal):
    t = PoseTrack.from_xy(infant_abnormal.truth_xy[:400], skeleton.landmarks, 29.97)
    f, layout = compute_features(t, skeleton, "both")
    m = mirror_features(f, layout)
    assert not np.allclose(m, f)
    assert np.array_equal(mirror_features(m, layout), f)
    # mirror the body itself: x -> -x and relabel left <-> right; features must equal the flip
    xy = infant_abnormal.truth_xy[:400].copy()
    xy[..., 0] *= -1
    xy = xy[:, skeleton.mirror_permutation]
    f2, _ = compute_features(PoseTrack.from_xy(xy, skeleton.landmarks, 29.97), skeleton, "both")
    assert np.allclose(f2, m)
    names = layout.names
    i, k = names.index("left_knee_angle"), names.index("right_knee_angle")
    assert np.array_equal(m[:, i], f[:, k])


@pytest.mark.parametrize("overlap", PAPER_OVERLAPS)
def test_snippet_counts_for_each_paper_overlap(overlap):
    frames = 5394  # 3 min at 29.97 fps
    stride = 300 - overlap
    expected = (frames - 300) // stride + 1
    assert n_snippets(frames, 300, overlap) == expected
    starts = snippet_starts(frames, 300, overlap)
    assert starts[-1] + 300 <= frames and starts[-1] + stride + 300 > frames
    known = {299: 5095, 290: 510, 270: 170, 250: 102, 200: 51, 150: 34, 100: 26}
    assert expected == known[overlap]


def test_snippets_carry_id_start_label_and_imputed_share(skeleton, infant_abnormal):
    from gmdesk.pipeline.cleaning import clean_track

    cleaned, _ = clean_track(infant_abnormal.track, skeleton)
    f, layout = compute_features(cleaned, skeleton, "both")
    s = cut_snippets(f, layout, cleaned, "A01", 1, overlap=150, nan_policy="keep",
                     skeleton_name=skeleton.name, skeleton_fingerprint=skeleton.fingerprint)
    assert s.X.dtype == np.float32 and s.X.shape[1:] == (300, 60)
    assert len(s) == n_snippets(cleaned.n_frames, 300, 150)
    assert set(s.infant_id) == {"A01"} and set(s.label) == {1}
    assert np.array_equal(s.X[3], f[s.start[3]: s.start[3] + 300].astype(np.float32), equal_nan=True)
    assert np.all((s.imputed_fraction >= 0) & (s.imputed_fraction <= 1)) and s.imputed_fraction.max() > 0
    dropped = cut_snippets(f, layout, cleaned, "A01", 1, nan_policy="drop")
    has_nan = np.isnan(s.X).any(axis=(1, 2))
    assert len(dropped) == int((~has_nan).sum()) and len(dropped.dropped) == int(has_nan.sum())
    if has_nan.any():
        with pytest.raises(GmdeskError, match="contain missing values"):
            cut_snippets(f, layout, cleaned, "A01", 1, nan_policy="error")


def test_recording_shorter_than_one_snippet_is_a_clear_error(skeleton, infant_normal):
    t = PoseTrack.from_xy(infant_normal.truth_xy[:299], skeleton.landmarks, 29.97)
    t.meta["source"] = "short_video.h5"
    f, layout = compute_features(t, skeleton, "angles")
    with pytest.raises(RecordingTooShortError, match=r"short_video\.h5.*299 frames.*shorter than one 300-frame"):
        cut_snippets(f, layout, t, "X", 0)


def test_overlap_out_of_range():
    with pytest.raises(ValueError, match="overlap"):
        snippet_starts(1000, 300, 300)


def test_snippet_file_round_trip_and_mirror(tmp_path, skeleton, infant_normal):
    t = PoseTrack.from_xy(infant_normal.truth_xy, skeleton.landmarks, 29.97)
    f, layout = compute_features(t, skeleton, "coords")
    s = cut_snippets(f, layout, t, "N01", 0, overlap=100, skeleton_name="infant24",
                     skeleton_fingerprint=skeleton.fingerprint)
    back = SnippetSet.load(s.save(tmp_path / "s.npz"))
    assert np.array_equal(back.X, s.X) and back.feature_names == s.feature_names and back.overlap == 100
    m = mirror_snippets(s, layout)
    assert np.array_equal(mirror_snippets(m, layout).X, s.X)
