"""Resampling a pose track to another frame rate: a model learns movement per frame, so a recording must reach
it at the frame rate it was trained at (a 59.94-fps recording seen as 29.97 fps moves at half speed).

Positions are resampled band-limited (a Kaiser-windowed sinc), not linearly: linear interpolation is a low-pass
filter whose strength varies with where an output frame falls between two input frames, so it colours the
detector's white noise — after 25 → 29.97 fps the noise's density in 1-3 Hz is 2.1 times its density in 5-12 Hz,
after 30 → 29.97 1.6 times (white: 1) — and the fidgety descriptors, which estimate the noise in the fidgety band
from the band above it (:func:`gmdesk.pipeline.fidgety.limb_fm_level`), then read half the noise as movement: a
recording without fidgety movements filmed at 25 or 30 fps looked livelier to a model trained at 29.97 than the
same recording filmed at 29.97. The approach (a windowed sinc, its support widened by the rate ratio when
decimating, so that it is also the anti-aliasing filter) is the standard one of audio resamplers (Smith,
"Digital Audio Resampling", ccrma.stanford.edu/~jos/resample).

Limit: a recording filmed below about 24 fps has no 5-12 Hz band to estimate the noise from (at 15 fps nothing
lies above 7.5 Hz), so its noise in the fidgety band is not subtracted however it is resampled.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np

from gmdesk.constants import MAX_FPS, MIN_FPS
from gmdesk.core.posetrack import PoseTrack

logger = logging.getLogger(__name__)

#: Frame rates closer than this (relative) are the same rate (29.97 and 30.0 are not).
SAME_RATE = 1e-4
#: Half-width of the sinc kernel in input frames (when upsampling; widened by the rate ratio when decimating),
#: and the Kaiser window's beta.
KERNEL_HALF_WIDTH = 8
KAISER_BETA = 6.0
#: A point whose second difference is farther than this many robust sds (of that landmark's second differences
#: in the recording) is a jump — a detector glitch or a sudden movement — and no sinc kernel reaches over it
#: (the kernel would ring around it, spreading one wrong frame over 16): output frames near it are linear.
JUMP_SDS = 6.0
#: Output frames computed at once (bounds the memory of the taps).
CHUNK = 2048


def same_rate(a: float, b: float) -> bool:
    """Whether two frame rates are the same for the models."""
    return abs(a - b) <= SAME_RATE * max(a, b)


def _jumps(xy: np.ndarray) -> np.ndarray:
    """``(frames, landmarks)``: where a point is missing or next to a jump (second difference beyond
    :data:`JUMP_SDS` robust sds of that landmark's and coordinate's second differences)."""
    bad = ~np.isfinite(xy).all(axis=-1)
    if len(xy) < 3:
        return bad | True
    d2 = np.abs(xy[:-2] - 2 * xy[1:-1] + xy[2:])  # (frames - 2, L, 2); NaN next to a missing point
    with warnings.catch_warnings():  # a landmark never seen has no second differences: no median, all bad anyway
        warnings.simplefilter("ignore", RuntimeWarning)
        med = np.nanmedian(d2, axis=0)
        dev = np.abs(d2 - med)
        scale = np.nan_to_num(1.4826 * np.nanmedian(dev, axis=0), nan=0.0)
        # whole-pixel coordinates (a detector without sub-pixel refinement): most second differences are 0, so
        # the median deviation is 0 and every step would be a jump; the mean deviation then gives the scale
        scale = np.where(scale > 0, scale, np.nan_to_num(1.2533 * np.nanmean(dev, axis=0), nan=0.0))
    over = np.nan_to_num(d2 - med, nan=0.0) > JUMP_SDS * np.maximum(scale, 1e-9)
    over = over.any(axis=-1)  # (frames - 2, L): the jump's three frames
    for k in range(3):
        bad[k:k + len(over)] |= over
    return bad


def _band_limited(track: PoseTrack, pos: np.ndarray, fps: float, fallback: np.ndarray) -> tuple[np.ndarray, float]:
    """Positions at source positions ``pos`` by a Kaiser-windowed sinc (cut-off at the lower Nyquist frequency),
    ``fallback`` (linear) where a tap is missing, beyond the track or next to a jump; and the share of points
    computed band-limited."""
    n = track.n_frames
    r = min(1.0, fps / track.fps)
    half = int(np.ceil(KERNEL_HALF_WIDTH / r))
    bad = _jumps(track.xy)
    # bad taps in [base - half + 1, base + half]: a cumulative count; taps beyond the track count as bad
    cs = np.concatenate([np.zeros((1, track.n_landmarks)), np.cumsum(bad, axis=0)])
    base = np.floor(pos).astype(int)
    lo, hi = base - half + 1, base + half + 1
    inside = (lo >= 0) & (hi <= n)
    n_bad = cs[np.clip(hi, 0, n)] - cs[np.clip(lo, 0, n)]
    usable = inside[:, None] & (n_bad == 0)  # (n_out, L)
    out = fallback.copy()
    k = np.arange(-half + 1, half + 1)
    src = np.nan_to_num(track.xy)
    for s in range(0, len(pos), CHUNK):
        sl = slice(s, s + CHUNK)
        rows = np.flatnonzero(usable[sl].any(axis=1)) + s
        if not len(rows):
            continue
        idx = base[rows, None] + k[None, :]
        t = pos[rows, None] - idx
        h = np.sinc(r * t) * np.i0(KAISER_BETA * np.sqrt(np.clip(1 - (t / half) ** 2, 0, 1))) / np.i0(KAISER_BETA)
        h /= h.sum(axis=1, keepdims=True)  # a still point stays exactly where it is
        v = np.einsum("mt,mtlc->mlc", h, src[np.clip(idx, 0, n - 1)])
        out[rows] = np.where(usable[rows][..., None], v, out[rows])
    return out, float(usable.mean()) if usable.size else 0.0


def resample_track(track: PoseTrack, fps: float) -> PoseTrack:
    """The track at ``fps`` frames per second, over the same span of time.

    Positions are resampled band-limited (see the module's note): a Kaiser-windowed sinc over
    :data:`KERNEL_HALF_WIDTH` input frames each side (more when decimating, the kernel then also the
    anti-aliasing filter), normalised so that a still point stays put. Where the kernel would reach a missing
    point, the track's ends or a jump (:data:`JUMP_SDS`: a glitch or a sudden movement, around which a sinc
    rings), the point is interpolated linearly between the two nearest frames in time instead. A point is
    missing where either neighbour with a share in it is missing (no gap is bridged here). Likelihoods are
    interpolated linearly; statuses are those of the nearest frame. The step, both rates, the method and the
    share of points resampled band-limited are recorded in the provenance. Returns ``track`` itself when the
    rates are the same.

    Raises
    ------
    ValueError
        ``fps`` outside 1-1000.
    """
    if not (MIN_FPS <= fps <= MAX_FPS):
        raise ValueError(f"frame rate {fps} is outside {MIN_FPS:g}-{MAX_FPS:g}")
    if same_rate(track.fps, fps):
        return track
    n_out = max(1, int(np.floor((track.n_frames - 1) * fps / track.fps + 1e-9)) + 1)
    pos = np.arange(n_out) * (track.fps / fps)  # positions in source frames
    i0 = np.minimum(np.floor(pos).astype(int), track.n_frames - 1)
    i1 = np.minimum(i0 + 1, track.n_frames - 1)
    w = (pos - i0)[:, None]
    xy0, xy1 = track.xy[i0], track.xy[i1]
    # a neighbour with no share (w == 0 or 1) never makes a point missing
    xy = np.where(w[..., None] <= 0, xy0, np.where(w[..., None] >= 1, xy1, (1 - w[..., None]) * xy0 + w[..., None] * xy1))
    xy, share = _band_limited(track, pos, fps, xy)
    lk0, lk1 = track.likelihood[i0], track.likelihood[i1]
    lik = np.where(w <= 0, lk0, (1 - w) * lk0 + w * lk1)
    nearest = np.where(w[:, 0] < 0.5, i0, i1)
    out = PoseTrack(xy, lik, track.status[nearest].copy(), float(fps), track.landmarks,
                    [dict(p) for p in track.provenance], dict(track.meta))
    out.record("resample", {"from_fps": float(track.fps), "to_fps": float(fps), "method": "kaiser-sinc",
                            "half_width": KERNEL_HALF_WIDTH, "kaiser_beta": KAISER_BETA, "jump_sds": JUMP_SDS,
                            "fallback": "linear"},
               frames_before=int(track.n_frames), frames_after=int(n_out), band_limited_share=round(share, 4))
    logger.info("resampled %d frames at %.4g fps to %d frames at %.4g fps (%.0f %% band-limited)", track.n_frames,
                track.fps, n_out, fps, 100 * share)
    if share < 0.5 and track.n_frames > 4 * KERNEL_HALF_WIDTH:
        logger.warning("resampling %s: only %.0f %% of points band-limited (gaps or jumps throughout); the rest "
                       "linear, which colours the detector's noise", track.meta.get("source", "a track"), 100 * share)
    return out
