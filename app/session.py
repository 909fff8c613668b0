"""What the window has open: a case (always; edits are durable), optionally its video and a
model bundle. No Qt here: the window observes it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gmdesk.case import Case, import_pose_file, open_case
from gmdesk.posetrack import PointStatus, PoseTrack
from gmdesk.skeleton import Skeleton, load_skeleton
from gmdesk.video import VIDEO_SUFFIXES, VideoReader

POSE_SUFFIXES = (".h5", ".csv", ".npz")


def case_path_for(pose: Path) -> Path:
    """Where a pose file's case lives: beside it, ``<name>.gmcase``."""
    return pose.with_name(pose.stem + ".gmcase")


@dataclass
class Session:
    """An open case with its current track, video and flags."""

    case: Case
    skeleton: Skeleton
    video: VideoReader | None = None
    track: PoseTrack = field(init=False)
    flagged: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.refresh()

    @classmethod
    def open(cls, path: str | Path, video: str | Path | None = None, skeleton: Skeleton | None = None) -> Session:
        """Open a case, or a pose file (creating/reopening its case beside it, cleaned)."""
        skeleton = skeleton or load_skeleton()
        p = Path(path)
        if video is not None:  # a video that does not decode is refused before any case is made
            from gmdesk.video import probe_video

            probe_video(video)
        if p.suffix.lower() == ".gmcase":
            case = open_case(p)
        elif p.suffix.lower() in POSE_SUFFIXES:
            cp = case_path_for(p)
            if cp.exists():
                case = open_case(cp)
            else:  # made complete (cleaned, video linked) under a temporary name, then renamed
                case = import_pose_file(cp, p, skeleton, video=video, clean=True)
        else:
            raise ValueError(f"{p}: open a pose file ({', '.join(POSE_SUFFIXES)}), a case (.gmcase) or a video")
        try:
            reader = None
            vpath = Path(video) if video else None
            if vpath is None:
                row = case.conn.execute("SELECT path FROM video WHERE id = 1").fetchone()
                if row and case.check_video().status == "ok":
                    vpath = Path(row[0])
            elif case.check_video().status == "none" and not case.read_only:
                case.link_video(vpath)
            if vpath is not None and vpath.suffix.lower() in VIDEO_SUFFIXES:
                reader = VideoReader(vpath)
            return cls(case, skeleton, reader)
        except BaseException:
            case.close()  # never leave a case locked behind a failed open
            raise

    def refresh(self) -> None:
        """Re-read the current track (after an edit) and update the flags.

        Points removed by cleaning or missing in the source stay flagged (they are fixed by
        hand, not forgotten); points missing now are flagged too.
        """
        if not hasattr(self, "_cleaning_flags"):
            base = self.case.base_track()
            self._cleaning_flags = np.isin(base.status, (PointStatus.OUTLIER, PointStatus.LOW_LIKELIHOOD,
                                                         PointStatus.MISSING))
        self.track = self.case.current_track()
        self.flagged = self._cleaning_flags | np.isnan(self.track.xy).any(axis=2)

    @property
    def n_frames(self) -> int:
        return self.track.n_frames

    @property
    def fps(self) -> float:
        return self.video.info.fps if self.video else self.track.fps

    def flagged_frames(self, landmark: int | None = None) -> np.ndarray:
        """Frames with a flagged point (of one landmark, or any)."""
        f = self.flagged[:, landmark] if landmark is not None else self.flagged.any(axis=1)
        return np.flatnonzero(f)

    def close(self) -> None:
        """Close the case and video."""
        if self.video:
            self.video.close()
        self.case.close()
