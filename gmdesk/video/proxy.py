"""Seek proxies: an all-intra, reduced-size copy of a recording for instant random access.

Phone and iPad videos are H.264/HEVC with a key frame every 30–250 frames: a random seek decodes
from the previous key frame (≈ 100 ms at GOP 30, ≈ 250 ms at GOP 250 on 1080p). A proxy is made
once, in the background, and stored beside the case; then any frame is one small JPEG away
(≈ 2 ms). The editor shows the proxy's frame at once and the exact frame as soon as the decoder
has it, so annotation always happens on the real frame.

File format (``<case>.gmcase.proxy``, written atomically)::

    MAGIC | u64 header length | header JSON | JPEG frames ... | index | footer

``index`` holds, per frame, ``(u64 offset, u32 length, u32 crc32)``; the footer is ``u64 index
offset, u64 frame count, END``. The header records the SHA-256 of the video it was made from: a
proxy is used only with that video (checked against the case's recorded hash), and every frame's
CRC is checked when it is read. Frames are in the video's displayed orientation (rotation flag
applied), frame ``i`` of the proxy is frame ``i`` of a sequential decode (tested). Reading a
proxy never runs code: JSON, integers and JPEG.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import mmap
import struct
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from gmdesk import __version__
from gmdesk.errors import GmdeskError
from gmdesk.io.atomic import atomic_path
from gmdesk.io.hashing import file_sha256
from gmdesk.progress import CancelFn, ProgressFn, check_cancel, report
from gmdesk.video.reader import background_priority, open_capture, probe_video

logger = logging.getLogger(__name__)

MAGIC = b"GMDESK-SEEK-PROXY\n"
END = b"GMDPXEND"
FORMAT_VERSION = 1
_INDEX = np.dtype([("offset", "<u8"), ("length", "<u4"), ("crc", "<u4")])
_FOOTER = struct.Struct("<QQ8s")
#: Proxies are made automatically when a random seek in the original costs more than this (median, ms)
SLOW_SEEK_MS = 30.0
#: ... and its frames have at least this many pixels (smaller videos decode fast enough; 1280 x 720).
PROXY_MIN_PIXELS = 1280 * 720


class ProxyError(GmdeskError):
    """A seek proxy is damaged, from another video, or cannot be made."""


def proxy_path(case_path: str | Path) -> Path:
    """Where a case's seek proxy lives: beside it, ``<name>.gmcase.proxy``."""
    p = Path(case_path)
    return p.with_name(p.name + ".proxy")


class SeekProxy:
    """A proxy file opened for reading (thread-safe: frames are read from a memory map).

    Attributes
    ----------
    header : dict
        What the file says about itself (source SHA-256, sizes, quality, gmdesk version).
    frames : int
    width, height : int
        Size of the proxy's frames.
    scale : float
        Proxy size / source size.
    """

    def __init__(self, path: str | Path, source_sha256: str | None = None) -> None:
        self.path = Path(path)
        try:
            self._fh = open(self.path, "rb")
        except OSError as exc:
            raise ProxyError(f"seek proxy {self.path} cannot be opened: {exc}") from exc
        try:
            self._mm = mmap.mmap(self._fh.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError as exc:  # empty file
            self._fh.close()
            raise ProxyError(f"seek proxy {self.path} is empty") from exc
        try:
            self._read_structure(source_sha256)
        except Exception:
            self.close()
            raise

    def _read_structure(self, source_sha256: str | None) -> None:
        mm, size, p = self._mm, len(self._mm), self.path
        head = len(MAGIC) + 8
        if size < head + _FOOTER.size or mm[: len(MAGIC)] != MAGIC:
            raise ProxyError(f"{p} is not a gmdesk seek proxy")
        (hlen,) = struct.unpack("<Q", mm[len(MAGIC):head])
        if hlen > min(size, 1 << 20):
            raise ProxyError(f"seek proxy {p} is damaged (header length {hlen})")
        try:
            self.header = json.loads(bytes(mm[head:head + hlen]).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ProxyError(f"seek proxy {p} is damaged (header: {exc})") from exc
        if not isinstance(self.header, dict) or self.header.get("format") != "gmdesk-seek-proxy":
            raise ProxyError(f"{p} is not a gmdesk seek proxy")
        if int(self.header.get("version", 0)) > FORMAT_VERSION:
            raise ProxyError(f"seek proxy {p} was written by a newer gmdesk (format {self.header.get('version')})")
        if source_sha256 is not None and self.header.get("source_sha256") != source_sha256:
            raise ProxyError(f"seek proxy {p} was made from another video (SHA-256 differs from the case's recording)")
        index_at, n, end = _FOOTER.unpack(mm[size - _FOOTER.size:])
        data_start = head + hlen
        index_end = size - _FOOTER.size
        if end != END or not data_start <= index_at <= index_end or index_at + n * _INDEX.itemsize != index_end:
            raise ProxyError(f"seek proxy {p} is damaged or incomplete (no valid index)")
        self._index = np.frombuffer(mm, dtype=_INDEX, count=n, offset=index_at).copy()
        off, length = self._index["offset"].astype(np.int64), self._index["length"].astype(np.int64)
        if n and (off[0] < data_start or np.any(off[1:] != off[:-1] + length[:-1]) or off[-1] + length[-1] != index_at):
            raise ProxyError(f"seek proxy {p} is damaged (frame index inconsistent)")
        self.frames = int(n)
        self.width, self.height = int(self.header["width"]), int(self.header["height"])
        self.scale = self.width / max(1, int(self.header["source_width"]))

    def frame(self, index: int) -> np.ndarray:
        """Frame ``index`` (BGR, proxy size). Raises ProxyError for a damaged frame."""
        import cv2

        if not 0 <= index < self.frames:
            raise IndexError(f"frame {index} outside 0..{self.frames - 1} of seek proxy {self.path}")
        off, length, crc = self._index[index]
        if self._mm is None:
            raise ProxyError(f"seek proxy {self.path} is closed")
        buf = self._mm[int(off):int(off) + int(length)]
        if zlib.crc32(buf) != int(crc):
            raise ProxyError(f"seek proxy {self.path}: frame {index} is damaged (checksum)")
        img = cv2.imdecode(np.frombuffer(buf, np.uint8), cv2.IMREAD_COLOR)
        if img is None or img.shape[:2] != (self.height, self.width):
            raise ProxyError(f"seek proxy {self.path}: frame {index} cannot be decoded")
        return img

    def close(self) -> None:
        """Release the file."""
        if getattr(self, "_mm", None) is not None:
            self._mm.close()
            self._mm = None
        if getattr(self, "_fh", None) is not None:
            self._fh.close()
            self._fh = None

    def __enter__(self) -> SeekProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def proxy_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """Proxy frame size: the source scaled so its longer side is at most ``max_side`` (even sizes)."""
    s = min(1.0, max_side / max(width, height))
    return max(2, int(round(width * s / 2)) * 2), max(2, int(round(height * s / 2)) * 2)


def make_proxy(video: str | Path, out: str | Path, source_sha256: str | None = None, max_side: int = 960,
               quality: int = 85, progress: ProgressFn | None = None, cancel: CancelFn | None = None,
               threads: int = 2, background: bool = False) -> Path:
    """Write a seek proxy of ``video`` to ``out`` (atomically; a cancel or error leaves nothing).

    Every frame is decoded in order (OpenCV, rotation flag applied: the frames
    :class:`gmdesk.video.reader.VideoReader` returns), scaled so its longer side is at most ``max_side``
    (area filter) and stored as a JPEG of ``quality``.

    Parameters
    ----------
    video, out : str or Path
    source_sha256 : str, optional
        The video's SHA-256 as the case recorded it (computed when not given).
    max_side, quality : int
    progress, cancel : callable, optional
        See :mod:`gmdesk.progress`.
    threads : int
        Encoding threads (OpenCV releases the GIL).
    background : bool
        Run the encoding threads at a lower CPU priority (:func:`gmdesk.video.reader.background_priority`).

    Raises
    ------
    CancelledError
        ``cancel()`` returned True.
    ProxyError, VideoError
        The video cannot be decoded.
    """
    import cv2

    video, out = Path(video), Path(out)
    info = probe_video(video)
    w, h = proxy_size(info.width, info.height, max_side)
    sha = source_sha256 or file_sha256(video)
    header = {"format": "gmdesk-seek-proxy", "version": FORMAT_VERSION, "source": video.name, "source_sha256": sha,
              "source_width": info.width, "source_height": info.height, "source_frames": info.frame_count,
              "fps": info.fps, "width": w, "height": h, "codec": "jpeg", "quality": int(quality),
              "gmdesk_version": __version__, "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")}
    params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)]

    def encode(img: np.ndarray) -> bytes:
        if (img.shape[1], img.shape[0]) != (w, h):
            img = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)
        ok, buf = cv2.imencode(".jpg", img, params)
        if not ok:
            raise ProxyError(f"{video}: a frame could not be encoded for the seek proxy")
        return buf.tobytes()

    cap = open_capture(video)
    total = info.frame_count
    rows: list[tuple[int, int, int]] = []
    try:
        pool_args = {"initializer": background_priority} if background else {}
        with atomic_path(out) as tmp, open(tmp, "wb") as fh, ThreadPoolExecutor(max(1, threads), **pool_args) as pool:
            hjson = json.dumps(header, sort_keys=True).encode("utf-8")
            fh.write(MAGIC + struct.pack("<Q", len(hjson)) + hjson)
            pending = []

            def drain(keep: int) -> None:
                while len(pending) > keep:
                    blob = pending.pop(0).result()
                    rows.append((fh.tell(), len(blob), zlib.crc32(blob)))
                    fh.write(blob)
                    if len(rows) % 30 == 0:
                        report(progress, len(rows), total, f"frame {len(rows)} of {total}")

            while True:
                check_cancel(cancel, "making the seek proxy")
                ok, img = cap.read()
                if not ok:
                    break
                pending.append(pool.submit(encode, img))
                drain(2 * max(1, threads))
            drain(0)
            if not rows:
                raise ProxyError(f"{video}: no decodable frames for a seek proxy")
            index_at = fh.tell()
            fh.write(np.array(rows, dtype=_INDEX).tobytes())
            fh.write(_FOOTER.pack(index_at, len(rows), END))
            report(progress, len(rows), total, f"{len(rows)} frames")
    finally:
        cap.release()
    logger.info("seek proxy %s: %d frames of %s", out, len(rows), video)
    return out


def proxy_worth_making(video: str | Path) -> bool:
    """Would a seek proxy speed up ``video``: large frames (HD or more) and slow random seeks."""

    info = probe_video(video)
    return info.width * info.height >= PROXY_MIN_PIXELS and seek_cost_ms(video) > SLOW_SEEK_MS


def seek_cost_ms(video: str | Path, n: int = 5, seed: int = 0) -> float:
    """Median time of ``n`` random seeks + decodes in ``video`` (ms): whether a proxy is worth making."""

    import cv2

    info = probe_video(video)
    cap = open_capture(Path(video))
    try:
        rng = np.random.default_rng(seed)
        times = []
        for f in rng.integers(0, max(1, info.frame_count), n):
            t0 = time.perf_counter()
            cap.set(cv2.CAP_PROP_POS_FRAMES, int(f))
            cap.read()
            times.append((time.perf_counter() - t0) * 1000)
        return float(np.median(times))
    finally:
        cap.release()

