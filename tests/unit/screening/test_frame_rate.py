"""A model sees movement at the frame rate it was trained at: a recording at another rate is resampled to it (a
provenance step, named in the verdict's basis), so the same movement filmed at 59.94 and at 29.97 fps gets the
same verdict."""

from __future__ import annotations

import numpy as np
import pytest

from gmdesk.core.posetrack import PoseTrack
from gmdesk.learning.bundle import load_bundle
from gmdesk.pipeline.resample import resample_track
from gmdesk.screening.assess import assess_track
from gmdesk.synthetic.cohorts import make_infant
from tests.conftest import REPO

MODEL = REPO / "models" / "demo-synthetic"


def _upsampled(track: PoseTrack, factor: int = 2) -> PoseTrack:
    """The same movement at ``factor`` times the frame rate (linear interpolation between frames)."""
    n = (track.n_frames - 1) * factor + 1
    t = np.arange(n) / factor
    xy = np.empty((n, track.n_landmarks, 2))
    for j in range(track.n_landmarks):
        for c in range(2):
            xy[:, j, c] = np.interp(t, np.arange(track.n_frames), track.xy[:, j, c])
    lik = np.repeat(track.likelihood, factor, axis=0)[:n]
    return PoseTrack.from_xy(xy, track.landmarks, track.fps * factor, lik, source="test:upsampled")


# infants the shipped bundle judges clearly (0 of 37 snippets abnormal; 40 of 42), so that resampling, not the 60 %
# threshold, decides whether the verdicts agree (pick others when the demo bundle is retrained)
@pytest.mark.parametrize("label, seed, verdict", [(0, [3, 7], "normal"), (1, [3, 0], "abnormal")])
def test_same_movement_at_twice_the_frame_rate_gets_the_same_verdict(label, seed, verdict):
    bundle = load_bundle(MODEL)
    assert bundle.fps == pytest.approx(29.97)  # a bundle from before the rate was recorded: the default
    inf = make_infant("F", label, seed, n_frames=2400)
    base = inf.track
    sk = bundle.skeleton
    at_model_rate = assess_track(base, bundle, sk, "F")
    assert at_model_rate.verdict.verdict == verdict
    fast = _upsampled(base)
    assert fast.fps == pytest.approx(59.94)
    at_double_rate = assess_track(fast, bundle, sk, "F")
    assert at_double_rate.verdict.verdict == at_model_rate.verdict.verdict
    assert at_double_rate.verdict.n_snippets == at_model_rate.verdict.n_snippets
    assert abs(at_double_rate.verdict.n_normal - at_model_rate.verdict.n_normal) <= 1
    assert "resampled to the model's 29.97 fps" in at_double_rate.verdict.basis
    assert "resampled" not in at_model_rate.verdict.basis
    # frame numbers and times shown are the recording's own
    assert at_double_rate.fps == pytest.approx(59.94) and at_double_rate.frames == fast.n_frames
    assert at_double_rate.snippets[1]["start_s"] == pytest.approx(at_model_rate.snippets[1]["start_s"], abs=0.05)


def test_resampling_is_recorded_and_keeps_missing_points_missing():
    inf = make_infant("R", 0, [7, 7], n_frames=301)
    fast = _upsampled(inf.track)
    fast.xy[100, 3] = np.nan
    back = resample_track(fast, 29.97)
    assert back.n_frames == inf.track.n_frames and back.fps == pytest.approx(29.97)
    assert np.isnan(back.xy[50, 3]).all()  # source frame 100 is exactly model frame 50
    assert np.isfinite(back.xy[49, 3]).all() and np.isfinite(back.xy[51, 3]).all()
    step = back.provenance[-1]
    assert step["step"] == "resample" and step["params"]["from_fps"] == pytest.approx(59.94)
    assert resample_track(back, 29.97) is back
    with pytest.raises(ValueError, match="outside 1-1000"):
        resample_track(back, 0.5)


def test_a_snippet_of_a_recording_at_another_rate_lasts_the_models_10_s():
    """The model's 300-frame window is counted at its own rate: at 59.94 fps a snippet is 600 of the recording's
    frames and still 10 s — what the timeline, the report's bars, the left-out windows and the snippet loop use
    (they divided the model's 300 frames by the recording's rate: 5-s bands)."""
    from dataclasses import replace

    bundle = load_bundle(MODEL)
    fast = _upsampled(make_infant("W", 0, [3, 7], n_frames=1200).track)
    res = assess_track(fast, bundle, bundle.skeleton, "W")
    assert res.window == 300 and res.fps == pytest.approx(59.94)
    assert res.window_frames == 600 == res.snippets[0]["end_frame"] - res.snippets[0]["start_frame"] + 1
    assert res.window_s == pytest.approx(10.0, abs=0.02)
    # no snippet to measure (every window left out): the model's rate, stored with the result, gives it
    assert res.model_summary["fps"] == pytest.approx(29.97)
    assert replace(res, snippets=[]).window_frames == 600
    at_rate = assess_track(make_infant("W", 0, [3, 7], n_frames=1200).track, bundle, bundle.skeleton, "W")
    assert at_rate.window_frames == 300 and at_rate.window_s == pytest.approx(300 / 29.97)
