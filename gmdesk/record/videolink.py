"""The recording a case was made from: its path, size and SHA-256, linked and relinked with checks, and
whether it is still there, unchanged, decodable and as long as the pose track."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gmdesk.io.hashing import file_sha256
from gmdesk.record.casefile import CaseFile
from gmdesk.record.store import CaseError, VideoMismatchError, now
from gmdesk.video.reader import VideoError, probe_video

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class VideoCheck:
    """Result of :meth:`Case.check_video`: ``status`` is ok / missing / changed / unreadable / none."""

    status: str
    path: str | None
    message: str


def _probe_for_case(video: Path, n_frames: int, accept_frame_difference: bool) -> dict[str, Any]:
    """What a video holds, refusing one that does not decode or does not fit the pose track."""

    try:
        info = probe_video(video, scan=True)  # the frames that decode, not what the container claims (edit lists)
    except VideoError as exc:
        raise CaseError(f"video {video} cannot be linked: {exc}") from None
    out = {"frames": info.frame_count, "width": info.width, "height": info.height, "fps": round(info.fps, 4),
           "codec": info.codec, "rotation": info.rotation}
    if info.frame_count != n_frames:
        if not accept_frame_difference:
            raise VideoMismatchError(
                f"video {video} has {info.frame_count} frames but the pose track has {n_frames}: they do not belong "
                "together (link it anyway only if you know why: accept_frame_difference / --accept-frame-difference)")
        out["frame_difference_accepted"] = True
    return out


class CaseVideo(CaseFile):
    """The video of a case."""

    def link_video(self, video: str | Path, accept_different: bool = False, accept_frame_difference: bool = False) -> None:
        """Record (or relink) the case's video: path, size, SHA-256 and what it holds.

        The video must decode and have as many frames as the pose track (``accept_frame_difference``
        overrides the count check, recorded in the case's events). Relinking to a file whose content
        differs from the recorded one is refused unless ``accept_different`` (e.g. a re-encoded copy
        the user vouches for); either way the change is recorded.
        """
        p = Path(video).resolve()
        info = _probe_for_case(p, self.raw_track().n_frames, accept_frame_difference)
        size, digest = p.stat().st_size, file_sha256(p)
        old = self.conn.execute("SELECT path, size, sha256 FROM video WHERE id = 1").fetchone()
        if old and old[2] != digest and not accept_different:
            raise VideoMismatchError(
                f"video {p} is not the recording this case was made from (content differs from {old[0]}); "
                "relink with accept_different=True only if it is the same recording re-encoded"
            )
        with self._writing("linking the video") as conn:
            conn.execute("INSERT OR REPLACE INTO video(id, path, size, sha256, linked_at) VALUES (1, ?, ?, ?, ?)",
                         (str(p), size, digest, now()))
            self._event("link_video" if not old else "relink_video",
                        {"path": str(p), "size": size, "sha256": digest, "previous": list(old) if old else None, **info})

    def check_video(self) -> VideoCheck:
        """Is the recorded video still at its path, with the same content, decodable, and as long as
        the pose track?"""
        row = self.conn.execute("SELECT path, size, sha256 FROM video WHERE id = 1").fetchone()
        if not row:
            return VideoCheck("none", None, "no video linked to this case")
        path, size, digest = row
        p = Path(path)
        if not p.is_file():
            return VideoCheck("missing", path, f"video {path} was moved or deleted: relink it (Case.link_video)")
        if p.stat().st_size != size or file_sha256(p) != digest:
            return VideoCheck("changed", path, f"video {path} has changed since it was linked (re-encoded or replaced): "
                                               "relink the original recording")
        n = self.raw_track().n_frames
        linked = [e["detail"] for e in self.events() if e["kind"] in ("link_video", "relink_video")
                  and e["detail"].get("sha256") == digest and isinstance(e["detail"].get("frames"), int)]
        if linked:  # the same bytes were scanned (every frame decoded) when linked: no need to decode them again
            info = linked[-1]
        else:
            try:
                info = _probe_for_case(p, n, accept_frame_difference=True)
            except CaseError as exc:
                return VideoCheck("unreadable", path, str(exc))
        if info["frames"] != n:
            accepted = any(e["kind"] in ("link_video", "relink_video") and e["detail"].get("frame_difference_accepted")
                           for e in self.events())
            return VideoCheck("ok" if accepted else "frames_differ", path,
                              f"video has {info['frames']} frames, the pose {n}"
                              + (" (difference accepted when linked)" if accepted else ": relink after checking them"))
        return VideoCheck("ok", path, f"{info['frames']} frames, matches the pose ({info['width']}x{info['height']}, "
                                      f"{info['fps']:.2f} fps)")
