"""gmdesk's own pose-track file (``.npz``): positions, likelihoods, statuses and provenance, read without pickle."""

from __future__ import annotations

import json
import logging
import zipfile
from pathlib import Path

import numpy as np

from gmdesk.core.posetrack import PointStatus, PoseTrack, check_pose_values, json_default
from gmdesk.errors import PoseFileError
from gmdesk.io.atomic import atomic_path
from gmdesk.io.jsonfile import loads_strict
from gmdesk.io.paths import check_npz

logger = logging.getLogger(__name__)

TRACK_FORMAT = "gmdesk-posetrack-1"
#: Most bytes a track's arrays may inflate to (a 10-hour, 60-fps, 24-landmark track is about 1.3 GB).
MAX_TRACK_BYTES = 4 << 30


def write_track(track: PoseTrack, path: str | Path) -> Path:
    """Write a whole pose track (status and provenance included) to a ``.npz`` file atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(
                fh,
                xy=track.xy,
                likelihood=track.likelihood,
                status=track.status,
                fps=np.float64(track.fps),
                landmarks=np.array(track.landmarks, dtype=str),
                provenance=np.array(json.dumps(track.provenance)),
                meta=np.array(json.dumps(track.meta, default=json_default)),
                format=np.array(TRACK_FORMAT),
            )
    return path


def read_track(path: str | Path) -> PoseTrack:
    """Read a track written by :func:`write_track` (no pickle is ever loaded)."""
    path = Path(path)
    check_npz(path, "pose track", MAX_TRACK_BYTES, PoseFileError)
    try:
        with np.load(path, allow_pickle=False) as z:
            if str(z.get("format", "")) != TRACK_FORMAT:
                raise PoseFileError(f"{path}: not a gmdesk pose track (.npz written by gmdesk.io.tracks.write_track)")
            t = PoseTrack(
                z["xy"], z["likelihood"], z["status"], float(z["fps"]),
                tuple(str(s) for s in z["landmarks"]),
                loads_strict(str(z["provenance"])), loads_strict(str(z["meta"])),
            )
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile) as exc:
        raise PoseFileError(f"{path}: cannot read pose track ({type(exc).__name__}: {exc})") from None
    if not np.isfinite(t.fps) or not 1 <= t.fps <= 1000:
        raise PoseFileError(f"{path}: frame rate {t.fps} is not plausible")
    if not np.isin(t.status, [s.value for s in PointStatus]).all():
        bad = sorted(set(np.unique(t.status).tolist()) - {s.value for s in PointStatus})
        raise PoseFileError(f"{path}: unknown point status codes {bad}")
    if not isinstance(t.provenance, list) or not isinstance(t.meta, dict):
        raise PoseFileError(f"{path}: provenance or metadata damaged")
    check_pose_values(t.xy, None, t.landmarks, f"pose track {str(path)!r}")
    return t
