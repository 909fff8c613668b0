"""The literature descriptor sets on inputs whose answer is known."""

import numpy as np
import pytest

from gmdesk.pipeline.body_frame import SnippetLayout, body_axis_angle, body_points
from gmdesk.pipeline.complexity import permutation_entropy
from gmdesk.pipeline.descriptor_sets import DESCRIPTOR_SETS, compute_descriptors
from gmdesk.pipeline.histograms import hojd2d, hojo2d
from gmdesk.pipeline.spectral import BANDS, band_shares

FPS = 30.0
T = 300


def _body(n=4, seed=0, moving=True):
    """n snippets of 6 landmarks (x, y columns) around an origin at (0, 0), plus 2 angle columns."""
    rng = np.random.default_rng(seed)
    base = np.array([[0, 1.0], [-0.6, 0.2], [0.6, 0.2], [-0.4, 2.0], [0.4, 2.0], [0, 1.5]])  # (6, 2)
    t = np.arange(T) / FPS
    X = np.zeros((n, T, 14))
    for i in range(n):
        move = rng.normal(0, 0.05, (6, 2, 1)) * np.sin(2 * np.pi * rng.uniform(0.3, 4, (6, 2, 1)) * t)
        pts = base[:, :, None] + (move + rng.normal(0, 0.005, (6, 2, T)) if moving else np.zeros((6, 2, T)))
        X[i, :, 0:12] = pts.transpose(2, 0, 1).reshape(T, 12)
        X[i, :, 12:] = 90 + rng.normal(0, 5, (T, 2))
    return X


LAYOUT = SnippetLayout(coord_columns=tuple(range(0, 12, 2)), angle_columns=(12, 13), mirror_landmarks=((1, 2), (3, 4)),
                       end_effectors=(1, 2, 3, 4), fps=FPS, segments=((0, 1), (0, 2), (5, 3), (5, 4)))


def _transform(X, scale, theta):
    Y = X.copy()
    c, s = np.cos(theta), np.sin(theta)
    for k in range(0, 12, 2):
        x, y = X[..., k], X[..., k + 1]
        Y[..., k], Y[..., k + 1] = scale * (c * x - s * y), scale * (s * x + c * y)
    return Y


def test_a_joint_moving_in_a_circle_fills_every_displacement_direction_evenly():
    t = np.arange(T)
    p = np.zeros((1, T, 2, 2))
    p[0, :, 0] = [0.0, 1.0]  # a still landmark below the origin sets the body axis
    p[0, :, 1] = p[0, :, 0] + np.stack([np.cos(2 * np.pi * t / 37.3), np.sin(2 * np.pi * t / 37.3)], axis=1) * 0.3
    h = hojd2d(p, 1, body_axis_angle(p))
    assert np.allclose(h[0, 1], 1 / 8, atol=0.02) and np.isclose(h[0, 1].sum(), 1)
    assert np.all(h[0, 0] == 0)  # still: no displacement at all
    o = hojo2d(p, ((0, 1),), body_axis_angle(p))
    assert np.isclose(o.sum(), 1) and np.allclose(o[0, 0], 1 / 8, atol=0.02)  # the segment turns round evenly


def test_a_fixed_segment_puts_its_whole_orientation_histogram_in_one_bin():
    p = np.zeros((1, T, 2, 2))
    p[0, :, 0] = [0.0, 1.0]
    p[0, :, 1] = [0.5, 1.2]
    o = hojo2d(p, ((0, 1),), body_axis_angle(p))[0, 0]
    assert o.max() == 1.0 and (o > 0).sum() == 1


def test_a_two_hertz_oscillation_has_its_power_in_the_1_5_to_3_hz_band():
    t = np.arange(T) / FPS
    p = np.zeros((1, T, 1, 2))
    p[0, :, 0, 0] = 0.1 * np.sin(2 * np.pi * 2.0 * t)
    shares, total = band_shares(p, FPS)
    band = [i for i, (lo, hi) in enumerate(BANDS) if lo <= 2.0 < hi][0]
    assert shares[0, 0, band] > 0.97 and total[0, 0] > 0
    p[0, :, 0, 0] = 0.1 * np.sin(2 * np.pi * 0.25 * t)
    assert band_shares(p, FPS)[0][0, 0, 0] > 0.9  # slow movement: below 0.5 Hz


def test_permutation_entropy_is_zero_for_monotone_and_near_one_for_noise():
    rng = np.random.default_rng(1)
    assert np.allclose(permutation_entropy(np.arange(100.0)[None, :, None]), 0)
    assert permutation_entropy(rng.normal(size=(1, 5000, 1)))[0, 0] > 0.98


@pytest.mark.parametrize("name", sorted(DESCRIPTOR_SETS))
def test_every_set_ignores_body_size_and_camera_roll(name):
    X = _body()
    D = compute_descriptors(name, X, LAYOUT)
    D2 = compute_descriptors(name, _transform(X, 2.7, 0.7), LAYOUT)
    assert D.shape == D2.shape and D.shape[1] > 0
    if name in ("histograms", "movement"):  # histogram bins can flip on ties at bin edges: almost every entry equal
        assert np.mean(np.isclose(D, D2, atol=1e-6)) > 0.97
    else:
        assert np.allclose(D, D2, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("name", sorted(DESCRIPTOR_SETS))
def test_every_set_is_finite_for_degenerate_snippets(name):
    X = np.concatenate([_body(2), _body(1, moving=False), np.zeros((1, T, 14))])
    X[0, :, 2:4] = X[0, :1, 2:4]  # one landmark still
    D = compute_descriptors(name, X, LAYOUT)
    assert D.shape[0] == 4 and np.isfinite(D).all()
    assert np.isfinite(compute_descriptors(name, X, SnippetLayout(coord_columns=(0, 2), fps=FPS))).all()


def test_body_points_are_in_body_sizes():
    X = _body(1)
    p = body_points(X, LAYOUT.coord_columns)
    assert np.isclose(np.median(np.linalg.norm(p, axis=-1)), 1.0)


def test_descriptors_distinguish_fast_small_from_slow_large_movement():
    t = np.arange(T) / FPS
    X = _body(2, moving=False)
    X[0, :, 2] += 0.03 * np.sin(2 * np.pi * 2.5 * t)  # small, fidgety-band
    X[1, :, 2] += 0.3 * np.sin(2 * np.pi * 0.3 * t)  # large, slow
    S = compute_descriptors("spectral", X, LAYOUT)
    # landmark 1's log share in 1.5-3 Hz is column 1*5 + 2
    assert S[0, 1 * 5 + 2] > S[1, 1 * 5 + 2] + 3
