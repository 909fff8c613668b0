"""Rendering of a synthetic infant's positions as a video, for pose estimators and the demo."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from gmdesk.core.skeleton import Skeleton
from gmdesk.synthetic.settings import FPS

logger = logging.getLogger(__name__)


def render_video(
    xy: np.ndarray,
    skeleton: Skeleton,
    path: str | Path,
    fps: float = FPS,
    size: tuple[int, int] = (1920, 1080),
    scale: float = 1.0,
    offset: tuple[float, float] = (0.0, 0.0),
    frames: slice | None = None,
    codec: str = "mp4v",
) -> Path:
    """Render an infant figure from positions to a video file (OpenCV writer).

    Each frame draws the body on a plain blanket-coloured background: limbs as thick
    segments, the head as an ellipse, joints as dots coloured per landmark, so a pose
    estimator can learn them. Positions are mapped as ``xy * scale + offset``.
    """
    import cv2

    path = Path(path)
    w, h = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*codec), fps, (w, h))
    if not writer.isOpened():
        raise OSError(f"cannot open a video writer for {path} (codec {codec})")
    data = xy[frames] if frames is not None else xy
    pts_all = data * scale + np.asarray(offset)
    thick = max(2, int(round(0.012 * min(w, h) * max(scale, 0.05))))  # limb width grows with the image
    rng = np.random.default_rng(0)
    colours = [tuple(int(c) for c in rng.integers(40, 255, 3)) for _ in skeleton.landmarks]
    bg = np.full((h, w, 3), (180, 200, 215), np.uint8)
    edges = skeleton.edge_index
    try:
        for pts in pts_all:
            img = bg.copy()
            ok = np.isfinite(pts).all(axis=1)
            p = np.where(ok[:, None], pts, 0).round().astype(np.int32)
            for a, b in edges:
                if ok[a] and ok[b]:
                    cv2.line(img, tuple(p[a]), tuple(p[b]), (120, 150, 200), thick * 2, cv2.LINE_AA)
            for j in range(len(p)):
                if ok[j]:
                    cv2.circle(img, tuple(p[j]), max(2, thick), colours[j], -1, cv2.LINE_AA)
            writer.write(img)
    finally:
        writer.release()
    return path
