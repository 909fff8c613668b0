import numpy as np
import pytest
from scipy.interpolate import Akima1DInterpolator

from gmdesk.cleaning import CleaningSettings, clean_track, impute_gaps
from gmdesk.posetrack import PointStatus, PoseTrack
from gmdesk.synthetic import JUMP, SWAP, make_infant


def score_cleaning(inf, skeleton, settings=None):
    """Precision/recall of OUTLIER flags against the generator's planted jumps and swaps."""
    track = inf.track
    cleaned, rep = clean_track(track, skeleton, settings)
    e = skeleton.edge_index
    scale = np.median(np.linalg.norm(inf.truth_xy[:, e[:, 0]] - inf.truth_xy[:, e[:, 1]], axis=-1))
    err = np.linalg.norm(track.xy - inf.truth_xy, axis=-1)
    wrong = err > 0.15 * scale  # NaN (dropouts) compare False
    planted = np.isin(inf.artefact, (JUMP, SWAP)) & wrong & (track.likelihood >= 0.6)
    flagged = rep.removed_status == PointStatus.OUTLIER
    tp = int((flagged & planted).sum())
    fp = int((flagged & ~wrong & np.isfinite(err)).sum())
    fn = int((planted & ~flagged).sum())
    return tp, fp, fn, cleaned, rep


def test_cleaning_recovers_planted_outliers(skeleton):
    tp = fp = fn = 0
    for i in range(4):
        inf = make_infant(f"I{i}", i % 2, [21, i], skeleton=skeleton)
        a, b, c, _, _ = score_cleaning(inf, skeleton)
        tp, fp, fn = tp + a, fp + b, fn + c
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    print(f"\ncleaning vs planted outliers (4 infants): precision {precision:.3f} recall {recall:.3f} "
          f"(TP {tp}, FP {fp}, FN {fn})")
    assert tp > 300
    assert precision > 0.85
    assert recall > 0.9


def test_cleaning_without_filters_finds_nothing(skeleton, infant_normal):
    off = CleaningSettings(geometry=False, smoothness=False)
    tp, fp, fn, _, _ = score_cleaning(infant_normal, skeleton, off)
    assert tp == 0 and fn > 0


def test_low_likelihood_points_are_removed_and_recorded(skeleton, infant_normal):
    cleaned, rep = clean_track(infant_normal.track, skeleton, CleaningSettings(p_cutoff=0.6))
    low = (infant_normal.track.likelihood < 0.6)
    assert rep.low_likelihood == int(low.sum()) > 0
    assert np.all(rep.removed_status[low] == PointStatus.LOW_LIKELIHOOD)
    steps = [p["step"] for p in cleaned.provenance]
    assert steps[-6:] == ["clean_track", "remove_low_likelihood", "remove_geometry_outliers",
                          "remove_trajectory_jumps", "remove_left_right_swaps", "impute_gaps"]
    assert cleaned.provenance[-6]["params"]["p_cutoff"] == 0.6
    # the raw track is untouched
    assert np.array_equal(infant_normal.track.status[np.isfinite(infant_normal.track.xy[..., 0])],
                          np.zeros(int(np.isfinite(infant_normal.track.xy[..., 0]).sum())))


def test_makima_fills_a_gap_on_a_smooth_curve(skeleton):
    t = np.arange(400, dtype=float)
    xy = np.zeros((400, skeleton.n_landmarks, 2))
    xy[..., 0] = (300 + 40 * np.sin(2 * np.pi * t / 90))[:, None]
    xy[..., 1] = (200 + 25 * np.cos(2 * np.pi * t / 70))[:, None]
    truth = xy.copy()
    xy[100:120, 3] = np.nan  # 20-frame gap: imputed
    xy[200:260, 5] = np.nan  # 60-frame gap: too long, stays missing
    xy[0:4, 7] = np.nan  # at the start: never extrapolated
    track = PoseTrack.from_xy(xy, skeleton.landmarks, 29.97)
    n, gaps = impute_gaps(track, max_gap=30)
    assert n == 20
    filled = track.xy[100:120, 3]
    err = np.abs(filled - truth[100:120, 3]).max()
    valid = ~np.isnan(xy[:, 3, 0])
    ref = Akima1DInterpolator(t[valid], xy[valid, 3], axis=0, method="makima")(t[100:120])
    assert np.allclose(filled, ref)
    linear_err = np.abs(np.interp(t[100:120], t[valid], xy[valid, 3, 0]) - truth[100:120, 3, 0]).max()
    # a 20-frame gap across a 40-px sine of period 90: makima follows the curve, a line cuts it
    assert err < 0.5 * linear_err
    assert err < 0.12 * 40
    assert np.all(track.status[100:120, 3] == PointStatus.IMPUTED)
    assert np.isnan(track.xy[200:260, 5]).all() and np.isnan(track.xy[0:4, 7]).all()
    found = {(g.landmark, g.start, g.stop, g.reason) for g in gaps}
    assert (skeleton.landmarks[5], 200, 260, "too_long") in found
    assert (skeleton.landmarks[7], 0, 4, "at_edge") in found


def test_imputation_error_is_small_against_truth(skeleton, infant_abnormal):
    _, _, _, cleaned, _ = score_cleaning(infant_abnormal, skeleton)
    imp = cleaned.status == PointStatus.IMPUTED
    err = np.linalg.norm(cleaned.xy[imp] - infant_abnormal.truth_xy[imp], axis=-1)
    print(f"\nmakima imputation error vs truth: median {np.median(err):.2f} px, p95 {np.percentile(err, 95):.2f} px "
          f"over {imp.sum()} points")
    assert np.median(err) < 6.0


def test_edited_points_are_never_touched(skeleton, infant_normal):
    track = infant_normal.track.copy()
    # an annotator placed left_hand far away on purpose in frames 50-55
    j = skeleton.index("left_hand")
    track.xy[50:56, j] += 300
    track.likelihood[50:56, j] = 0.01
    track.status[50:56, j] = PointStatus.EDITED
    cleaned, _ = clean_track(track, skeleton)
    assert np.array_equal(cleaned.xy[50:56, j], track.xy[50:56, j])
    assert np.all(cleaned.status[50:56, j] == PointStatus.EDITED)


def test_settings_are_validated():
    with pytest.raises(ValueError, match="smooth_window"):
        CleaningSettings(smooth_window=4)
    with pytest.raises(ValueError, match="p_cutoff"):
        CleaningSettings(p_cutoff=2)


def test_skeleton_mismatch_is_refused(skeleton, infant_normal):
    t = infant_normal.track.select_landmarks(list(skeleton.landmarks[:10]))
    with pytest.raises(ValueError, match="do not match skeleton"):
        clean_track(t, skeleton)
