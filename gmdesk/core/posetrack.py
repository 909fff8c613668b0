"""The pose track: landmark positions of one recording with per-point status and provenance."""

from __future__ import annotations

import copy
import datetime as _dt
import json
import logging
import math
from collections.abc import Collection
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import Any

import numpy as np

from gmdesk import __version__
from gmdesk.constants import MAX_FPS, MIN_FPS
from gmdesk.errors import PoseFileError

logger = logging.getLogger(__name__)


class PointStatus(IntEnum):
    """Status of one landmark in one frame."""

    OBSERVED = 0  #: as estimated, kept
    LOW_LIKELIHOOD = 1  #: estimate below the likelihood cut-off, removed
    OUTLIER = 2  #: removed by the geometry or smoothness filter
    IMPUTED = 3  #: filled by interpolation
    EDITED = 4  #: set by a person
    MISSING = 5  #: no estimate in the source
    REPAIRED = 6  #: a confident left/right swap put back (both positions were known; only labels moved)


#: Plausible pixel coordinates: any video up to 16K, plus the few pixels pose estimators place outside
#: the image. Coordinates outside (negated, 1e300...) are refused when a pose file is read.
COORD_MIN_PX = -64.0
COORD_MAX_PX = 16384.0

#: Statuses whose position is NaN until something fills it.
REMOVED = (PointStatus.LOW_LIKELIHOOD, PointStatus.OUTLIER, PointStatus.MISSING)


def check_pose_values(xy: np.ndarray, likelihood: np.ndarray | None, landmarks: tuple[str, ...] | list[str],
                      where: str, frame_offset: int = 0) -> None:
    """Refuse impossible pose values: coordinates that are infinite or outside
    [:data:`COORD_MIN_PX`, :data:`COORD_MAX_PX`], likelihoods outside [0, 1] or missing for a point that
    has coordinates. Missing points are NaN in both coordinates.

    Raises
    ------
    PoseFileError
        Naming ``where``, the first offending landmark and frame, and how many values are bad.
    """
    xy = np.asarray(xy, dtype=np.float64)
    problems = []
    half = np.isnan(xy[..., 0]) != np.isnan(xy[..., 1])
    if half.any():
        problems.append((half, "a point with only one coordinate"))
    inf = np.isinf(xy).any(axis=-1)
    if inf.any():
        problems.append((inf, "infinite coordinates"))
    with np.errstate(invalid="ignore"):
        out = np.isfinite(xy).all(axis=-1) & ((xy < COORD_MIN_PX) | (xy > COORD_MAX_PX)).any(axis=-1)
    if out.any():
        problems.append((out, f"coordinates outside {COORD_MIN_PX:g}..{COORD_MAX_PX:g} px (no video is that large)"))
    if likelihood is not None:
        lik = np.asarray(likelihood, dtype=np.float64)
        finite = np.isfinite(xy).all(axis=-1)
        with np.errstate(invalid="ignore"):
            bad = np.isfinite(lik) & ((lik < 0) | (lik > 1))
        if bad.any():
            problems.append((bad, "likelihood outside 0..1"))
        if np.isfinite(lik).any():
            nolik = finite & ~np.isfinite(lik)
            if nolik.any():
                problems.append((nolik, "a point without a likelihood"))
    if problems:
        mask, what = problems[0]
        f, j = (int(v[0]) for v in np.nonzero(mask))
        total = int(sum(m.sum() for m, _ in problems))
        raise PoseFileError(f"{where}: {what} ({landmarks[j]} at frame {f + frame_offset}); {total} bad value(s) in all")


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def _version() -> str:
    return __version__


@dataclass
class PoseTrack:
    """Landmark trajectories of one recording.

    Parameters
    ----------
    xy : ndarray, shape (frames, landmarks, 2)
        Positions in pixels; NaN where missing.
    likelihood : ndarray, shape (frames, landmarks)
        Pose-estimator confidence (NaN where unknown).
    status : ndarray of uint8, shape (frames, landmarks)
        :class:`PointStatus` codes.
    fps : float
        Frame rate of the recording.
    landmarks : tuple of str
        Landmark names (the skeleton's order).
    provenance : list of dict
        One entry per step that made or changed the data: ``{"step", "params", "time",
        "gmdesk", ...}``. Steps append; nothing rewrites it.
    meta : dict
        Source details (file, DLC scorer, body-part names in the file).
    """

    xy: np.ndarray
    likelihood: np.ndarray
    status: np.ndarray
    fps: float
    landmarks: tuple[str, ...]
    provenance: list[dict[str, Any]] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.xy = np.asarray(self.xy, dtype=np.float64)
        self.likelihood = np.asarray(self.likelihood, dtype=np.float64)
        self.status = np.asarray(self.status, dtype=np.uint8)
        self.landmarks = tuple(self.landmarks)
        f, n = self.xy.shape[:2] if self.xy.ndim == 3 else (None, None)
        if self.xy.ndim != 3 or self.xy.shape[2] != 2:
            raise ValueError(f"xy must be (frames, landmarks, 2), got {self.xy.shape}")
        if self.likelihood.shape != (f, n) or self.status.shape != (f, n):
            raise ValueError("likelihood and status must be (frames, landmarks)")
        if n != len(self.landmarks):
            raise ValueError(f"{n} landmark columns but {len(self.landmarks)} names")
        if not (MIN_FPS <= self.fps <= MAX_FPS):
            raise ValueError(f"fps must be a frame rate between {MIN_FPS:g} and {MAX_FPS:g}, got {self.fps}")

    @classmethod
    def from_xy(
        cls,
        xy: np.ndarray,
        landmarks: tuple[str, ...] | list[str],
        fps: float,
        likelihood: np.ndarray | None = None,
        source: str = "array",
    ) -> PoseTrack:
        """Make a track from positions; NaN points get status MISSING, others OBSERVED."""
        xy = np.asarray(xy, dtype=np.float64)
        lik = np.ones(xy.shape[:2]) if likelihood is None else np.asarray(likelihood, dtype=np.float64)
        status = np.where(np.isnan(xy).any(axis=2), PointStatus.MISSING, PointStatus.OBSERVED).astype(np.uint8)
        xy = np.where(np.isnan(xy).any(axis=2, keepdims=True), np.nan, xy)
        t = cls(xy, lik, status, float(fps), tuple(landmarks))
        t.record("create", {"source": source})
        return t

    # -- shape helpers ----------------------------------------------------------------------
    @property
    def n_frames(self) -> int:
        """Number of frames."""
        return self.xy.shape[0]

    @property
    def n_landmarks(self) -> int:
        """Number of landmarks."""
        return self.xy.shape[1]

    @property
    def duration_s(self) -> float:
        """Length in seconds."""
        return self.n_frames / self.fps

    @property
    def missing(self) -> np.ndarray:
        """Boolean ``(frames, landmarks)``: True where the position is NaN."""
        return np.isnan(self.xy).any(axis=2)

    def copy(self) -> PoseTrack:
        """Deep copy (arrays, provenance and meta)."""
        return PoseTrack(
            self.xy.copy(), self.likelihood.copy(), self.status.copy(), self.fps,
            self.landmarks, copy.deepcopy(self.provenance), copy.deepcopy(self.meta),
        )

    def record(self, step: str, params: dict[str, Any], **summary: Any) -> None:
        """Append a provenance entry for a step that made or changed this track."""
        entry: dict[str, Any] = {"step": step, "params": params, "time": _now(), "gmdesk": _version()}
        if summary:
            entry["summary"] = summary
        # plain JSON: a summary of a landmark never seen holds NaN, which strict readers (case files) refuse
        self.provenance.append(json_safe(json.loads(json.dumps(entry, default=json_default))))

    def unlocated_landmarks(self, among: Collection[str] | None = None) -> list[str]:
        """Landmarks (of ``among``, default all) without a single located point in the whole track (another
        body-part set, a wrong name mapping, or a limb hidden throughout): every window of such a track lacks
        them."""
        seen = np.isfinite(self.xy).all(axis=-1).any(axis=0)
        return [n for n, s in zip(self.landmarks, seen, strict=True) if not s and (among is None or n in among)]

    def status_counts(self) -> dict[str, int]:
        """Number of points in each status."""
        return {s.name.lower(): int((self.status == s).sum()) for s in PointStatus}

    def select_landmarks(self, names: list[str] | tuple[str, ...]) -> PoseTrack:
        """A track with only ``names``, in that order."""
        missing = [n for n in names if n not in self.landmarks]
        if missing:
            raise KeyError(f"track has no landmarks {missing}")
        idx = [self.landmarks.index(n) for n in names]
        out = PoseTrack(
            self.xy[:, idx].copy(), self.likelihood[:, idx].copy(), self.status[:, idx].copy(),
            self.fps, tuple(names), copy.deepcopy(self.provenance), copy.deepcopy(self.meta),
        )
        return out


def json_safe(obj: Any) -> Any:
    """Plain JSON: NaN/inf (an undefined metric) become null, NumPy numbers become Python numbers."""
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def json_default(o: Any) -> Any:
    """``json.dumps`` default for NumPy values and paths in provenance and metadata."""
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")
