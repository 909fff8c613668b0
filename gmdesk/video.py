"""Video access: metadata, rotation, variable frame rate, frame-accurate random access.

Convention: **every frame and every coordinate is in the displayed orientation**. OpenCV
applies the container's rotation flag (``CAP_PROP_ORIENTATION_AUTO``, on by default) when it
decodes, and this reader reports the flag it applied, so the frames the GUI shows, the frames
pose estimation sees and the landmark coordinates all agree (phones record 1920×1080 sensors
with a 90° flag; users expect the baby the right way up).

Random access is frame-accurate (tested against a sequential decode). A seek costs what the
GOP costs, so :class:`VideoReader` reads forward instead of seeking when the target is a few
frames ahead, and keeps a small cache of decoded frames.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gmdesk.errors import GmdeskError

VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".m4v", ".mkv")


class VideoError(GmdeskError):
    """A video cannot be opened or decoded."""


@dataclass(frozen=True)
class VideoInfo:
    """What a video is: displayed size, rate, length, rotation flag, codec."""

    path: str
    width: int
    height: int
    fps: float
    frame_count: int
    rotation: int
    codec: str
    variable_frame_rate: bool | None = None
    frame_interval_ms: tuple[float, float] | None = None  # (median, max |deviation|) when scanned

    @property
    def duration_s(self) -> float:
        """Length in seconds."""
        return self.frame_count / self.fps if self.fps else 0.0


def _cv2():
    import cv2

    return cv2


def _capture(path: Path):
    cv2 = _cv2()
    if not path.is_file():
        raise VideoError(f"video {path} does not exist")
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    if not cap.isOpened():
        raise VideoError(f"video {path} cannot be opened (not a video, or a codec this FFmpeg cannot decode)")
    cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1)
    return cap


def probe_video(path: str | Path, scan: bool = False) -> VideoInfo:
    """Read a video's metadata; with ``scan`` decode every frame to count frames exactly and
    measure frame intervals (variable frame rate detection).

    Raises
    ------
    VideoError
        Missing, unreadable, zero-frame or truncated (fewer decodable frames than the container
        claims, by more than 1 %) files.
    """
    cv2 = _cv2()
    p = Path(path)
    cap = _capture(p)
    try:
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        rot = int(cap.get(cv2.CAP_PROP_ORIENTATION_META) or 0) % 360
        fourcc = int(cap.get(cv2.CAP_PROP_FOURCC) or 0)
        codec = "".join(chr((fourcc >> 8 * i) & 0xFF) for i in range(4)).strip("\x00 ") or "?"
        ok, frame = cap.read()
        if not ok or frame is None:
            raise VideoError(f"video {p} has no decodable frames (empty, truncated or corrupt)")
        h, w = frame.shape[:2]
        vfr, intervals = None, None
        if scan:
            stamps = [cap.get(cv2.CAP_PROP_POS_MSEC)]
            count = 1
            while cap.grab():
                count += 1
                stamps.append(cap.get(cv2.CAP_PROP_POS_MSEC))
            if n and count < 0.99 * n:
                raise VideoError(f"video {p} is truncated: {count} decodable frames of {n} announced")
            n = count
            d = np.diff(np.asarray(stamps, dtype=float))
            d = d[d > 0]
            if d.size:
                med = float(np.median(d))
                dev = float(np.max(np.abs(d - med)))
                intervals = (med, dev)
                vfr = bool(dev > 0.1 * med)
        if n <= 0:
            raise VideoError(f"video {p} reports no frames")
        if fps <= 0:
            raise VideoError(f"video {p} reports no frame rate")
        return VideoInfo(str(p), w, h, fps, n, rot, codec, vfr, intervals)
    finally:
        cap.release()


class VideoReader:
    """Frame-accurate reader in displayed orientation, with a small decoded-frame cache.

    Parameters
    ----------
    path : str or Path
    cache_frames : int
        Decoded frames kept (BGR uint8); 1080p frames are 6 MB each.
    read_ahead : int
        A target at most this many frames ahead is reached by decoding forward, not seeking.
    """

    def __init__(self, path: str | Path, cache_frames: int = 32, read_ahead: int = 30) -> None:
        self.path = Path(path)
        self.info = probe_video(self.path)
        self._cap = _capture(self.path)
        self._next = 0  # index of the frame the capture returns on the next read
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self.cache_frames, self.read_ahead = cache_frames, read_ahead

    def __len__(self) -> int:
        return self.info.frame_count

    def close(self) -> None:
        """Release the decoder."""
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _read(self) -> np.ndarray | None:
        ok, frame = self._cap.read()
        if not ok:
            return None
        idx = self._next
        self._next += 1
        self._cache[idx] = frame
        self._cache.move_to_end(idx)
        while len(self._cache) > self.cache_frames:
            self._cache.popitem(last=False)
        return frame

    def frame(self, index: int) -> np.ndarray:
        """Frame ``index`` (BGR, displayed orientation)."""
        cv2 = _cv2()
        if self._cap is None:
            raise VideoError(f"video {self.path} is closed")
        if not 0 <= index < self.info.frame_count:
            raise IndexError(f"frame {index} outside 0..{self.info.frame_count - 1} of {self.path}")
        if index in self._cache:
            self._cache.move_to_end(index)
            return self._cache[index]
        if not (self._next <= index <= self._next + self.read_ahead):
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, index)
            self._next = index
        frame = None
        while self._next <= index:
            frame = self._read()
            if frame is None:
                raise VideoError(f"video {self.path}: frame {index} cannot be decoded (truncated?)")
        assert frame is not None
        return frame

    def __iter__(self):
        """All frames in order from the start."""
        cv2 = _cv2()
        self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
        self._next = 0
        while True:
            f = self._read()
            if f is None:
                return
            yield f
