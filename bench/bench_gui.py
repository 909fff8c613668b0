"""Benchmark: random seek + overlay redraw on a 1080p synthetic video, and one drag edit →
redraw (p50/p95), offscreen. ``.venv/bin/python bench/bench_gui.py [--frames 600]``.

Two encodings of the same 1080p clip: MJPEG (every frame a key frame) and H.264 with x264's
GOP 30 (a key frame a second, as phones and iPads record, and the bundled demo video) and
x264's default GOP 250 (needs ffmpeg), where a random seek decodes from the previous key frame.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def pct(a: list[float]) -> str:
    v = np.asarray(a) * 1000
    return f"p50 {np.percentile(v, 50):6.1f} ms  p95 {np.percentile(v, 95):6.1f} ms  (n={len(v)})"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=600)
    ap.add_argument("--seeks", type=int, default=100)
    args = ap.parse_args()
    from PySide6 import QtWidgets

    from app.window import MainWindow
    from gmdesk.io.dlc import write_dlc
    from gmdesk.skeleton import load_skeleton
    from gmdesk.synthetic import make_infant, render_video

    sk = load_skeleton()
    work = Path(tempfile.mkdtemp(prefix="gmdesk-bench-gui-"))
    inf = make_infant("B", 0, [1, 2], skeleton=sk, n_frames=args.frames)
    pose = write_dlc(inf.track, work / "b.h5")
    videos = {"MJPEG (all key frames)": render_video(inf.truth_xy, sk, work / "b.avi", codec="MJPG")}
    if shutil.which("ffmpeg"):
        for gop in (30, 250):  # 30: a key frame a second, as phones and iPads record; 250: x264's default
            h264 = work / f"b_h264_g{gop}.mp4"
            subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-i", str(videos["MJPEG (all key frames)"]),
                            "-c:v", "libx264", "-g", str(gop), "-pix_fmt", "yuv420p", str(h264)], check=True)
            videos[f"H.264 GOP {gop}"] = h264
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    rng = np.random.default_rng(0)
    for name, video in videos.items():
        for p in work.glob("b.gmcase*"):
            p.unlink()
        win = MainWindow()
        win.resize(1400, 900)
        win.show()
        assert win.open_path(pose, video), getattr(win, "last_error", "")
        app.processEvents()
        seek = []
        for f in rng.integers(0, args.frames, args.seeks):
            t0 = time.perf_counter()
            win.seek(int(f))
            win.view.viewport().repaint()
            seek.append(time.perf_counter() - t0)
        seq = []
        win.seek(0)
        for f in range(1, min(args.frames, 200)):
            t0 = time.perf_counter()
            win.seek(f)
            win.view.viewport().repaint()
            seq.append(time.perf_counter() - t0)
        drag = []
        j = sk.index("left_hand")
        for _ in range(50):
            x, y = win.session.track.xy[win.frame, j]
            t0 = time.perf_counter()
            win.drag_landmark(j, float(np.nan_to_num(x, nan=500.0)) + 1, float(np.nan_to_num(y, nan=500.0)) + 1)
            win.view.viewport().repaint()
            drag.append(time.perf_counter() - t0)
        print(f"{name:>24}: random seek + redraw  {pct(seek)}")
        print(f"{'':>24}  next frame + redraw   {pct(seq)}")
        print(f"{'':>24}  drag edit + redraw    {pct(drag)}")
        win.close()
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
