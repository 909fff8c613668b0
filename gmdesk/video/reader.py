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

import logging
import os
import sys
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gmdesk.errors import GmdeskError
from gmdesk.io.paths import check_regular

logger = logging.getLogger(__name__)

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


def open_capture(path: Path):
    """An OpenCV capture of the video file ``path`` (a regular file; a name OpenCV would read as an image-sequence
    pattern, such as ``img%03d.png``, is refused: it would open other files)."""
    cv2 = _cv2()
    check_regular(path, "video", VideoError)
    if "%" in str(path):
        raise VideoError(f"video {str(path)!r}: a '%' in a video's path makes OpenCV read it as a numbered image "
                         "sequence (img%03d.png opens img000.png, img001.png, ...); rename the file or folder")
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
    cap = open_capture(p)
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
                raise VideoError(f"video {p}: only {count} frames decode of the {n} its container announces (truncated, or "
                                 "trimmed with an edit list); re-encode it (for instance `ffmpeg -i IN -c:v libx264 OUT`) "
                                 "and link the copy")
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
        self._cap = open_capture(self.path)
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


def background_priority() -> None:
    """Lower the calling thread's CPU priority (Linux: nice +10 for this thread only; elsewhere
    nothing), so background decoding never slows the thread that draws."""

    if sys.platform.startswith("linux") and hasattr(os, "setpriority"):
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        except OSError:
            pass


class PrefetchingReader:
    """Frame-accurate reader with a decoded-frame cache around a cursor, filled in the background.

    A worker thread with its **own** decoder keeps the frames ``[cursor - behind, cursor + ahead]``
    decoded (the cursor's frame first, then the frames ahead — playback and stepping forward —
    then the frames behind, read forward from ``cursor - behind`` so a long GOP is decoded once,
    not once per frame). :meth:`frame` returns a cached frame at once, or decodes it in the
    caller's thread with a second decoder. With a seek proxy attached (:meth:`attach_proxy`),
    :meth:`frame_for_display` answers a miss from the proxy (one small intra frame) and the exact
    frame follows from the worker (``on_frame(index)`` is called from the worker thread for every
    frame it stores).

    Every frame it returns is the frame a sequential decode gives at that index (tested).

    Parameters
    ----------
    path : str or Path
    ahead, behind : int
        Frames kept decoded after and before the cursor.
    cache_mb : float
        Memory budget of the cache (a 1080p frame is 6.2 MB); at least ``ahead + behind + 1`` frames.
    on_frame : callable, optional
        ``on_frame(index)``, from the worker thread, after it stored frame ``index``.
    prefetch : bool
        False: no worker (every miss decodes in the caller's thread), for comparisons.
    """

    def __init__(self, path: str | Path, ahead: int = 45, behind: int = 15, cache_mb: float = 512,
                 on_frame=None, prefetch: bool = True) -> None:
        self.path = Path(path)
        self._direct = VideoReader(self.path, cache_frames=4, read_ahead=30)
        self.info = self._direct.info
        self.ahead, self.behind = int(ahead), int(behind)
        frame_bytes = max(1, self.info.width * self.info.height * 3)
        self.max_frames = max(self.ahead + self.behind + 1, int(cache_mb * 1e6 // frame_bytes))
        self.on_frame = on_frame
        self.proxy = None
        self.hits = self.misses = self.proxy_hits = 0
        self._frames: dict[int, np.ndarray] = {}
        self._cursor = 0
        self._end = self.info.frame_count  # first frame the worker could not decode
        self._stop = False
        self._idle = False
        self._cond = threading.Condition()
        self._direct_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=f"frames:{self.path.name}", daemon=True)
        if prefetch:
            self._thread.start()
        else:
            self._idle = True

    def __len__(self) -> int:
        return self.info.frame_count

    def __enter__(self) -> PrefetchingReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- caller's side --------------------------------------------------------------------
    def attach_proxy(self, proxy) -> None:
        """Answer cache misses of :meth:`frame_for_display` from ``proxy`` (a
        :class:`gmdesk.video.proxy.SeekProxy` of this video), or stop using one (None)."""
        old, self.proxy = self.proxy, proxy
        if old is not None and old is not proxy:
            old.close()

    def set_cursor(self, index: int) -> None:
        """Where the user is: the worker keeps the frames around ``index`` decoded."""
        with self._cond:
            self._cursor = int(np.clip(index, 0, self.info.frame_count - 1))
            if self._idle:  # a busy worker re-reads the cursor after each frame
                self._cond.notify_all()

    def cached(self, index: int) -> np.ndarray | None:
        """Frame ``index`` if it is decoded already, else None (never decodes)."""
        with self._cond:
            return self._frames.get(int(index))

    def frame(self, index: int) -> np.ndarray:
        """Frame ``index`` (BGR, displayed orientation, exact): cached, or decoded now."""
        if not 0 <= index < self.info.frame_count:
            raise IndexError(f"frame {index} outside 0..{self.info.frame_count - 1} of {self.path}")
        got = self.cached(index)
        if got is not None:
            self.hits += 1
            return got
        self.misses += 1
        with self._direct_lock:
            if self._direct._cap is None:
                raise VideoError(f"video {self.path} is closed")
            img = self._direct.frame(int(index))
        with self._cond:
            self._store(int(index), img)
        return img

    def frame_for_display(self, index: int) -> tuple[np.ndarray, bool]:
        """``(image, exact)``: the exact frame when it is cached (or when there is no proxy, decoded
        now); else the proxy's frame (smaller, lossy) with ``exact`` False, and the worker decodes
        the exact one (``set_cursor`` first)."""
        got = self.cached(index)
        if got is not None:
            self.hits += 1
            return got, True
        proxy = self.proxy
        if proxy is not None and index < proxy.frames:
            try:
                img = proxy.frame(int(index))
                self.proxy_hits += 1
                return img, False
            except Exception:  # a damaged proxy frame: fall back to the video
                self.attach_proxy(None)
        return self.frame(index), True

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until the worker has filled the window around the cursor (tests, benchmarks)."""

        end = time.monotonic() + timeout
        if not self._thread.is_alive():
            return True
        with self._cond:
            while not self._idle or self._want() is not None:
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def close(self) -> None:
        """Stop the worker and release both decoders (and the proxy)."""
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        with self._direct_lock:
            self._direct.close()
        self.attach_proxy(None)

    def __iter__(self):
        """All frames in order from the start (exact, not cached)."""
        with self._direct_lock:
            yield from self._direct

    # -- worker -------------------------------------------------------------------------------
    def _window(self) -> tuple[int, int]:
        return max(0, self._cursor - self.behind), min(self._end, self._cursor + self.ahead + 1)

    def _want(self) -> int | None:
        """Next frame the worker should decode (lock held): the cursor, then ahead, then the
        lowest missing frame behind."""
        lo, hi = self._window()
        c = self._cursor
        for i in range(c, hi):
            if i not in self._frames:
                return i
        for i in range(lo, min(c, hi)):
            if i not in self._frames:
                return i
        return None

    def _store(self, index: int, img: np.ndarray) -> None:
        """Keep ``img`` (lock held), dropping the frames farthest from the cursor beyond the budget."""
        self._frames[index] = img
        if len(self._frames) > self.max_frames:
            lo, hi = self._window()
            order = sorted(self._frames, key=lambda i: (lo <= i < hi, -abs(i - self._cursor)))
            for i in order[: len(self._frames) - self.max_frames]:
                del self._frames[i]

    def _run(self) -> None:
        cv2 = _cv2()
        background_priority()
        try:
            cap = open_capture(self.path)
        except VideoError:
            return
        nxt = 0  # index the capture returns on its next read
        try:
            while True:
                with self._cond:
                    while not self._stop and (target := self._want()) is None:
                        self._idle = True
                        self._cond.notify_all()
                        self._cond.wait()
                    if self._stop:
                        return
                    self._idle = False
                if not (nxt <= target <= nxt + 30):
                    cap.set(cv2.CAP_PROP_POS_FRAMES, target)
                    nxt = target
                while nxt <= target:
                    ok, img = cap.read()  # the GIL is released while decoding
                    if not ok:
                        with self._cond:
                            self._end = min(self._end, nxt)
                        break
                    idx, nxt = nxt, nxt + 1
                    with self._cond:
                        lo, hi = self._window()
                        keep = lo <= idx < hi and idx not in self._frames
                        if keep:
                            self._store(idx, img)
                        moved = self._stop or not (lo <= target < hi)
                    if keep and self.on_frame is not None:
                        self.on_frame(idx)
                    if moved:
                        break
        finally:
            cap.release()
