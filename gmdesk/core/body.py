"""The body as a tree and an axis: parents and leaves of the skeleton's bones, the body axis per frame."""

from __future__ import annotations

import logging
import warnings

import numpy as np

from gmdesk.core.skeleton import Skeleton

logger = logging.getLogger(__name__)


def parents(skeleton: Skeleton) -> np.ndarray:
    """Parent of each landmark on the way to the skeleton's origin along bones (−1 for the origin and
    for landmarks not connected to it)."""
    depth = skeleton.depth
    par = np.full(skeleton.n_landmarks, -1)
    for a, b in skeleton.edge_index:
        if depth[a] + 1 == depth[b] and par[b] < 0:
            par[b] = a
        elif depth[b] + 1 == depth[a] and par[a] < 0:
            par[a] = b
    return par


def leaves(skeleton: Skeleton) -> np.ndarray:
    """Boolean per landmark: nothing hangs on it (no child on the way away from the origin)."""
    par = parents(skeleton)
    has_child = np.zeros(skeleton.n_landmarks, bool)
    has_child[par[par >= 0]] = True
    return ~has_child & (par >= 0)


def axis_vectors(xy: np.ndarray, skeleton: Skeleton) -> np.ndarray | None:
    """Unit vector per frame ``(frames, 2)`` along the body axis (the skeleton's ``normalisation.axis``,
    else from the midline landmark farthest from the origin towards the origin); frames without it take
    the nearest earlier frame's (the first valid one at the start). None when there is none."""
    xy = np.asarray(xy, dtype=np.float64)
    if skeleton.axis is not None:
        a, b = skeleton.index(skeleton.axis[0]), skeleton.index(skeleton.axis[1])
    else:
        paired = {n for p in skeleton.mirror_pairs for n in p}
        o = skeleton.origin_index
        mid = [j for j, n in enumerate(skeleton.landmarks) if n not in paired and j != o]
        if not mid:
            return None
        with np.errstate(all="ignore"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                dist = [np.nanmedian(np.linalg.norm(xy[:, j] - xy[:, o], axis=-1)) for j in mid]
        dist = [d if np.isfinite(d) else -1 for d in dist]
        a, b = mid[int(np.argmax(dist))], o
    v = xy[:, b] - xy[:, a]
    norm = np.linalg.norm(v, axis=-1)
    ok = np.isfinite(norm) & (norm > 0)
    if not ok.any():
        return None
    u = np.full_like(v, np.nan)
    u[ok] = v[ok] / norm[ok, None]
    idx = np.maximum.accumulate(np.where(ok, np.arange(len(u)), -1))
    idx[idx < 0] = int(np.argmax(ok))
    return u[idx]
