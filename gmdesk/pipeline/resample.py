"""Resampling a pose track to another frame rate: a model learns movement per frame, so a recording must reach
it at the frame rate it was trained at (a 59.94-fps recording seen as 29.97 fps moves at half speed)."""

from __future__ import annotations

import logging

import numpy as np

from gmdesk.constants import MAX_FPS, MIN_FPS
from gmdesk.core.posetrack import PoseTrack

logger = logging.getLogger(__name__)

#: Frame rates closer than this (relative) are the same rate (29.97 and 30.0 are not).
SAME_RATE = 1e-4


def same_rate(a: float, b: float) -> bool:
    """Whether two frame rates are the same for the models."""
    return abs(a - b) <= SAME_RATE * max(a, b)


def resample_track(track: PoseTrack, fps: float) -> PoseTrack:
    """The track at ``fps`` frames per second, over the same span of time.

    Positions and likelihoods are interpolated linearly between the two nearest frames in time; a point is
    missing where either neighbour with a share in it is missing (no gap is bridged here); statuses are those
    of the nearest frame. The step and both rates are recorded in the provenance. Returns ``track`` itself
    when the rates are the same.

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
    lk0, lk1 = track.likelihood[i0], track.likelihood[i1]
    lik = np.where(w <= 0, lk0, (1 - w) * lk0 + w * lk1)
    nearest = np.where(w[:, 0] < 0.5, i0, i1)
    out = PoseTrack(xy, lik, track.status[nearest].copy(), float(fps), track.landmarks,
                    [dict(p) for p in track.provenance], dict(track.meta))
    out.record("resample", {"from_fps": float(track.fps), "to_fps": float(fps), "method": "linear"},
               frames_before=int(track.n_frames), frames_after=int(n_out))
    logger.info("resampled %d frames at %.4g fps to %d frames at %.4g fps", track.n_frames, track.fps, n_out, fps)
    return out
