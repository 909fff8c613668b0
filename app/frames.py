"""The open video's frames for display, fast: the exact frame from the background cache when it is
there, else the seek proxy's frame at once and the exact frame as soon as the worker has decoded it
(``refined``). It also finds, checks or makes the case's seek proxy (a background job)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from PySide6 import QtCore

from app.jobs import JobOwner, ThreadJob
from gmdesk.video.reader import PrefetchingReader, background_priority

log = logging.getLogger("gmdesk.app")


class FrameSource(QtCore.QObject):
    """Qt face of a session's :class:`~gmdesk.video.reader.PrefetchingReader`, and keeper of its seek proxy.

    Signals
    -------
    refined(int)
        The exact frame ``index`` arrived after :meth:`image` had to show the proxy's frame.
    proxy_ready(str)
        A seek proxy is in use (its path).
    """

    refined = QtCore.Signal(int)
    proxy_ready = QtCore.Signal(str)

    def __init__(self, session, jobs: JobOwner, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.session, self.jobs = session, jobs
        self.reader: PrefetchingReader = session.video
        self.proxy_job: ThreadJob | None = None
        self._waiting = -1
        self.reader.on_frame = self._on_frame  # called from the worker thread: the signal is queued

    # -- frames --------------------------------------------------------------------------------
    def _on_frame(self, index: int) -> None:
        if index == self._waiting:
            self._waiting = -1
            self.refined.emit(index)

    def image(self, index: int) -> tuple[np.ndarray, bool]:
        """``(BGR image, exact)`` for frame ``index``; then moves the prefetch window there (after,
        so a miss is decoded once, here, not twice at the same time)."""
        img, exact = self.reader.frame_for_display(index)
        self.reader.set_cursor(index)
        if exact:
            self._waiting = -1
        else:
            self._waiting = index
            if self.reader.cached(index) is not None:  # it arrived while the proxy frame was read
                self._waiting = -1
                QtCore.QTimer.singleShot(0, lambda: self.refined.emit(index))
        return img, exact

    @property
    def size(self) -> tuple[int, int]:
        """The video's displayed (width, height)."""
        return self.reader.info.width, self.reader.info.height

    # -- seek proxy ------------------------------------------------------------------------------
    def make_proxy(self, force: bool = False, auto: bool = True) -> ThreadJob | None:
        """Use the case's seek proxy if it is there and made from this video; else make one in the
        background — when ``force``, or when ``auto`` and the video is HD with slow random seeks.
        Returns the job making it (None when a proxy is in use or none is wanted)."""
        from gmdesk.video.proxy import ProxyError, SeekProxy, make_proxy, proxy_path, proxy_worth_making

        case = self.session.case
        row = case.conn.execute("SELECT sha256 FROM video WHERE id = 1").fetchone()
        sha = row[0] if row else None
        target = proxy_path(case.path)
        if target.exists() and not force:
            try:
                self.reader.attach_proxy(SeekProxy(target, sha))
                self.proxy_ready.emit(str(target))
                return None
            except ProxyError as exc:  # damaged, or made from another video: made again
                log.info("seek proxy not used: %s", exc)
        if not force and not auto:
            return None
        if self.proxy_job is not None:
            if not force:
                return self.proxy_job
            self.proxy_job.cancel()  # a forced proxy replaces the automatic one still running
        else:
            for stale in target.parent.glob(f".{target.stem}.*{target.suffix}.part"):
                stale.unlink(missing_ok=True)  # left by a killed process (the case's lock says no one else writes)
        video = self.reader.path

        def job(progress, cancel):
            background_priority()  # this job thread decodes; it must not slow the one that draws
            if not force and not proxy_worth_making(video):
                return None
            return make_proxy(video, target, sha, progress=progress, cancel=cancel, background=True)

        def ended(path=None):
            if self.proxy_job is job_obj:
                self.proxy_job = None
            if isinstance(path, Path) and self.reader.on_frame is not None:  # still open
                try:
                    self.reader.attach_proxy(SeekProxy(path, sha))
                    self.proxy_ready.emit(str(path))
                except ProxyError as exc:
                    log.error("seek proxy not used: %s", exc)

        def failed(message: str) -> None:
            ended()
            if message != "cancelled":
                self.jobs.message.emit(f"seek proxy not made: {message}")

        job_obj = ThreadJob(job)
        self.proxy_job = job_obj
        self.jobs.start(job_obj, "seek proxy", ended, failed, background=True)
        return job_obj

    def close(self) -> None:
        """Stop listening to the reader and cancel a proxy still being made (the reader is closed by
        its session)."""
        self.reader.on_frame = None
        self._waiting = -1
        if self.proxy_job is not None:
            self.proxy_job.cancel()
            self.proxy_job = None
