"""What the window has open: a case (always; edits are durable), optionally its video, and the
case's review queue. No Qt here: the window observes it."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gmdesk.core.posetrack import PointStatus, PoseTrack
from gmdesk.core.skeleton import Skeleton
from gmdesk.errors import GmdeskError
from gmdesk.io.skeletons import load_skeleton
from gmdesk.pipeline.review import ReviewItem, items_from_report
from gmdesk.record.case import Case, import_pose_file, open_case
from gmdesk.video.reader import VIDEO_SUFFIXES, PrefetchingReader, VideoError

POSE_SUFFIXES = (".h5", ".csv", ".npz")


class SessionError(GmdeskError):
    """A file cannot be opened in the editor."""


def case_path_for(pose: Path) -> Path:
    """Where a pose file's case lives: beside it, ``<name>.gmcase``."""
    return pose.with_name(pose.stem + ".gmcase")


def video_beside(pose: Path) -> Path | None:
    """The video beside a pose file with its name (``infant.h5`` → ``infant.mp4``; DeepLabCut's
    ``infantDLC_resnet50_….h5`` → ``infant.mp4``), or None."""
    stem = pose.stem.split("DLC_")[0] if "DLC_" in pose.stem else pose.stem
    for suffix in VIDEO_SUFFIXES:
        for s in (suffix, suffix.upper()):
            candidate = pose.with_name(stem + s)
            if candidate.is_file():
                return candidate
    return None


def _remove_case_files(path: Path) -> None:
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm"),
              path.with_name(path.name + "-journal")):
        with contextlib.suppress(FileNotFoundError):
            p.unlink()


@dataclass
class Session:
    """An open case with its current track, video, review queue and flags.

    Attributes
    ----------
    flagged : ndarray of bool, (frames, landmarks)
        Points to look at: inside a review item not yet marked reviewed, or missing now; points
        edited by hand are not flagged (they were looked at).
    video_note : str
        Why there is no video, when there is none.
    """

    case: Case
    skeleton: Skeleton
    video: PrefetchingReader | None = None
    video_note: str = ""
    track: PoseTrack = field(init=False)
    flagged: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        report = (self.case.cleaning() or ({}, {}))[1]
        self.review: list[ReviewItem] = items_from_report(report)
        self._reviewed = {k for k, a in self.case.latest_annotations("review_item").items() if a["value"].get("reviewed")}
        self._review_mask: np.ndarray | None = None
        self.refresh()

    @classmethod
    def open(cls, path: str | Path, video: str | Path | None = None, skeleton: Skeleton | None = None,
             prefetch: bool = True) -> Session:
        """Open a case, or a pose file (creating or reopening its case beside it, cleaned), with an
        optional video.

        ``prefetch`` False opens the video without the background frame cache (comparisons).
        Nothing is left behind when opening fails: the video is checked before a case is made, and
        a case made by this call is removed again (and every file it opened is closed, so no lock
        stays) if a later step fails.
        """
        skeleton = skeleton or load_skeleton()
        p = Path(path)
        suffix = p.suffix.lower()
        if suffix != ".gmcase" and suffix not in POSE_SUFFIXES:
            raise SessionError(f"{p}: open a pose file ({', '.join(POSE_SUFFIXES)}), a case (.gmcase) or a video")
        vpath = Path(video) if video else None
        if vpath is not None and vpath.suffix.lower() not in VIDEO_SUFFIXES:
            raise SessionError(f"{vpath}: not a video file ({', '.join(VIDEO_SUFFIXES)})")
        reader: PrefetchingReader | None = None
        case: Case | None = None
        created: Path | None = None
        note = ""
        try:
            if vpath is not None:
                # a file that is not a video fails here, before any case exists
                reader = PrefetchingReader(vpath, prefetch=prefetch)
            if suffix == ".gmcase":
                case = open_case(p)
            else:
                cp = case_path_for(p)
                if cp.exists():
                    case = open_case(cp)
                else:
                    created = cp
                    # made complete (cleaned, video linked) under a temporary name, then renamed
                    case = import_pose_file(cp, p, skeleton, video=vpath, clean=True)
            if vpath is None:
                chk = case.check_video()
                if chk.status == "ok" and Path(chk.path).suffix.lower() in VIDEO_SUFFIXES:
                    try:
                        reader = PrefetchingReader(chk.path, prefetch=prefetch)
                    except VideoError as exc:
                        note = str(exc)
                elif chk.status != "none":
                    note = chk.message
            elif case.check_video().status == "none" and not case.read_only:
                case.link_video(vpath)
            return cls(case, skeleton, reader, note)
        except BaseException:
            if reader is not None:
                reader.close()
            if case is not None:
                case.close()
            if created is not None:
                _remove_case_files(created)
            raise

    # -- review queue ------------------------------------------------------------------------------
    def reviewed_keys(self) -> set[str]:
        """Keys of the review items marked reviewed (from the case's log)."""
        return set(self._reviewed)

    def mark_reviewed(self, item: ReviewItem) -> None:
        """Record in the case's annotations that ``item`` was reviewed (durable at once, with author and time)."""
        self.case.annotate("review_item", {"key": item.key},
                           {"reviewed": True, "kind": item.kind, "landmarks": list(item.landmarks),
                            "start": item.start, "stop": item.stop})
        self._reviewed.add(item.key)
        self._review_mask = None
        self.refresh()

    def open_items(self) -> list[ReviewItem]:
        """Review items not yet reviewed, most important first."""
        return [it for it in self.review if it.key not in self._reviewed]

    # -- track ----------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Re-read the current track (after an edit) and update the flags."""
        self.track = self.case.current_track()
        if self._review_mask is None:
            mask = np.zeros(self.track.status.shape, bool)
            names = list(self.track.landmarks)
            for it in self.open_items():
                cols = [names.index(n) for n in it.landmarks if n in names]
                mask[it.start:it.stop, cols] = True
            self._review_mask = mask
        missing = np.isnan(self.track.xy).any(axis=2)
        self.flagged = (self._review_mask | missing) & (self.track.status != PointStatus.EDITED)

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
