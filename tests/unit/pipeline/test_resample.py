"""Resampling to the model's rate keeps the detector's noise white and a glitch in its frame: the fidgety
descriptors read the noise in the fidgety band from the band above it, so a resampler that filters the two bands
differently (linear interpolation: after 25 fps the fidgety band keeps twice the noise the band above predicts)
makes a still infant filmed at 25 or 30 fps look livelier than the same infant filmed at 29.97."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import welch

from gmdesk.core.posetrack import PoseTrack
from gmdesk.pipeline.fidgety import LEVEL_FLOOR, limb_fm_level
from gmdesk.pipeline.resample import resample_track

MODEL_FPS = 29.97


def _track(xy: np.ndarray, fps: float) -> PoseTrack:
    n, L = xy.shape[:2]
    return PoseTrack(xy, np.ones((n, L)), np.zeros((n, L), dtype=np.uint8), fps, [f"p{j}" for j in range(L)], [], {})


def _band_density_ratio(x: np.ndarray, fps: float) -> float:
    f, p = welch(x, fs=fps, nperseg=512)
    return float(p[(f >= 1) & (f <= 3)].mean() / p[(f >= 5) & (f <= 12)].mean())


@pytest.mark.parametrize("source_fps", [25.0, 30.0, 59.94])
def test_white_detector_noise_stays_white_at_the_models_rate(source_fps):
    rng = np.random.default_rng(11)
    n = int(source_fps * 300)
    out = resample_track(_track(rng.standard_normal((n, 2, 2)), source_fps), MODEL_FPS)
    for j in range(2):
        # linear interpolation gives 2.1 (25 fps) and 1.6 (30 fps)
        assert 0.9 < _band_density_ratio(out.xy[:, j, 0], MODEL_FPS) < 1.15
    step = out.provenance[-1]
    assert step["step"] == "resample" and step["params"]["method"] == "kaiser-sinc"
    assert step["summary"]["band_limited_share"] > 0.99


@pytest.mark.parametrize("source_fps", [25.0, 30.0, 59.94])
def test_a_still_noisy_infant_reads_as_still_at_common_camera_rates(source_fps):
    """Four points that do not move, with a detector's white noise (1 % of the body's length): the stillest limb's
    fidgety level is at its floor at the model's own rate, and must stay there after resampling (linear: 25 fps
    read -5.9, 30 fps -6.2, against the floor's -6.9). Below about 24 fps there is no band above the fidgety one
    to estimate the noise from (the module's limit)."""
    rng = np.random.default_rng(5)
    rest = np.array([[0.0, 0.0], [0.1, 0.0], [0.0, 0.5], [0.1, 0.5]])
    levels = {}
    for fps in (MODEL_FPS, source_fps):
        n = int(fps * 60)
        t = resample_track(_track(rest[None] + 0.01 * rng.standard_normal((n, 4, 2)), fps), MODEL_FPS)
        levels[fps] = float(limb_fm_level(t.xy[None, :1790], MODEL_FPS, ((0, 1), (2, 3)))[0])
    assert levels[MODEL_FPS] == pytest.approx(np.log(LEVEL_FLOOR), abs=0.05)
    assert levels[source_fps] == pytest.approx(levels[MODEL_FPS], abs=0.1)


def test_a_glitch_stays_in_its_frames_and_movement_keeps_its_shape():
    """A detector glitch (one frame 200 px off) is what the cleaning removes afterwards: a sinc kernel reaching
    over it would ring ~10 px into the frames around it, where the cleaning cannot see it. Output frames next to a
    jump are interpolated linearly; away from it the 2-Hz movement is reproduced more closely than linearly."""
    fps, n = 25.0, 500
    t_in = np.arange(n) / fps
    sine = 10 * np.sin(2 * np.pi * 2 * t_in)
    xy = np.stack([sine, sine], axis=-1)[:, None, :].repeat(2, axis=1)
    xy[250, 0] += 200.0
    out = resample_track(_track(xy, fps), MODEL_FPS)
    t_out = np.arange(out.n_frames) / MODEL_FPS
    true = 10 * np.sin(2 * np.pi * 2 * t_out)
    far = np.abs(t_out - 250 / fps) > 0.2  # beyond five input frames of the glitch
    linear_error = 10 * (2 * np.pi * 2 / fps) ** 2 / 8  # the largest error of linear interpolation here (0.32)
    assert np.abs(out.xy[far, 0, 0] - true[far]).max() <= linear_error + 1e-6
    inner = slice(20, -20)  # the ends are linear: the kernel does not reach beyond the track
    assert np.abs(out.xy[inner, 1, 0] - true[inner]).max() < 0.05 * linear_error


def test_missing_points_stay_missing_and_a_still_point_stays_put():
    xy = np.tile(np.array([[3.0, 4.0], [5.0, 6.0]]), (400, 1, 1))
    xy[200, 1] = np.nan
    out = resample_track(_track(xy, 25.0), MODEL_FPS)
    assert np.allclose(out.xy[:, 0], [3.0, 4.0], atol=1e-12)
    gone = np.flatnonzero(np.isnan(out.xy[:, 1, 0]))
    assert len(gone) and np.abs(gone * 25.0 / MODEL_FPS - 200).max() < 1  # only the frames beside source frame 200
    assert np.isfinite(out.xy[np.setdiff1d(np.arange(out.n_frames), gone), 1]).all()


def test_whole_pixel_coordinates_are_resampled_band_limited():
    """A detector without sub-pixel refinement writes whole pixels: most second differences are 0, and a scale
    from their median deviation (0) made every step a jump — all points linear, the noise coloured again."""
    rng = np.random.default_rng(2)
    xy = np.round(100 + 0.4 * rng.standard_normal((25 * 300, 1, 2)))
    out = resample_track(_track(xy, 25.0), MODEL_FPS)
    assert out.provenance[-1]["summary"]["band_limited_share"] > 0.9
    assert _band_density_ratio(out.xy[:, 0, 0], MODEL_FPS) < 1.3  # linear: 1.9
