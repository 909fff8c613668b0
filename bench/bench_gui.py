"""Benchmark of the editor on 1080p video: random seek + redraw, stepping, drag edit + redraw and
playback, before and after the frame cache and seek proxy, offscreen.

``.venv/bin/python bench/bench_gui.py [--frames 600] [--seeks 100] [--clips DIR] [--tab Trajectories] [--demo]``

``--tab`` names the tab shown under the frame (Trajectories, Assessment or Similarity; the demo model's
assessment is run first for the last two): every row then times what the whole window repaints after a
seek, the tab included, not the frame view alone. ``--demo`` measures the bundled demo (1080p H.264, its
pose) instead of the synthetic clips (no ffmpeg needed).

The same synthetic 1080p clip is encoded as H.264 and HEVC with a key frame every 30 frames (as
phones and iPads record) and every 250 frames (x264/x265's default), with Debian's ``ffmpeg``.
Each clip is measured in three modes of the same window:

- ``before``: frames decoded on demand in the GUI thread (no background cache, no proxy) — how the
  editor worked before; a random seek decodes from the previous key frame;
- ``cache``: the background decoded-frame cache around the cursor (its own decoder), no proxy;
- ``after``: cache + the all-intra seek proxy (made once in the background; time reported).

Rows: ``seek`` — a random frame shown (what is on screen when ``seek`` returns, p50/p95); ``seek→exact`` —
until the exact frame is on screen (with a proxy the proxy's frame comes first); ``step`` — next
frame + redraw at 30 steps/s (holding a key); ``drag`` — one move edit (durable: SQLite fsync) + redraw;
``play 1x/2x`` — frames shown per second and share dropped over 4 s of playback.
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
    return f"{np.percentile(v, 50):6.1f} / {np.percentile(v, 95):6.1f}"


def make_clips(folder: Path, frames: int) -> tuple[Path, dict[str, Path]]:
    """The pose file and the 1080p clips (made once; kept in ``folder``)."""
    from gmdesk.io.dlc import write_dlc
    from gmdesk.io.skeletons import load_skeleton
    from gmdesk.synthetic.cohorts import make_infant
    from gmdesk.synthetic.video import render_video

    sk = load_skeleton()
    folder.mkdir(parents=True, exist_ok=True)
    inf = make_infant("B", 0, [1, 2], skeleton=sk, n_frames=frames)
    pose = folder / f"b{frames}.h5"
    if not pose.exists():
        write_dlc(inf.track, pose)
    mjpg = folder / f"b{frames}.avi"
    if not mjpg.exists():
        part = mjpg.with_name("part-" + mjpg.name)
        render_video(inf.truth_xy, sk, part, codec="MJPG")
        part.replace(mjpg)
    clips = {}
    if shutil.which("ffmpeg") is None:
        raise SystemExit("needs Debian's ffmpeg to make the H.264/HEVC clips")
    for name, lib in (("H.264", "libx264"), ("HEVC", "libx265")):
        for gop in (30, 250):
            out = folder / f"b{frames}_{lib}_g{gop}.mp4"
            if not out.exists():  # written under a temporary name: an interrupted run leaves no broken clip
                extra = ["-x265-params", "log-level=error"] if lib == "libx265" else []
                part = out.with_name("part-" + out.name)
                subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-i", str(mjpg), "-c:v", lib, "-preset", "fast",
                                "-g", str(gop), *extra, "-pix_fmt", "yuv420p", str(part)], check=True)
                part.replace(out)
            clips[f"{name} GOP {gop}"] = out
    return pose, clips


def measure(app, pose: Path, video: Path, mode: str, args, work: Path) -> dict[str, str]:
    from app.window import MainWindow

    for p in work.glob("*"):
        p.unlink()
    local = work / pose.name
    shutil.copy(pose, local)
    win = MainWindow(settings_file=work / "settings.ini")
    win.prefetch_frames = mode != "before"
    win.proxy_auto.setChecked(False)
    win.resize(1400, 900)
    win.show()
    assert win.open_path(local, video), win.last_error
    app.processEvents()
    tabs = [win.tabs.tabText(i) for i in range(win.tabs.count())]
    if args.tab:
        if args.tab != "Trajectories":
            from app.main import DEMO_MODEL

            win.set_model(DEMO_MODEL)
            win.run_assessment(block=True)
        win.tabs.setCurrentIndex(tabs.index(args.tab))
        app.processEvents()
    out: dict[str, str] = {}
    if mode == "after":
        t0 = time.perf_counter()
        win.make_proxy(force=True, block=True)
        dt = time.perf_counter() - t0
        px = win.session.video.proxy
        assert px is not None, win.last_error
        size = px.path.stat().st_size / 1e6
        out["proxy"] = f"made in {dt:.1f} s ({px.frames / dt:.0f} fps), {size:.0f} MB, {px.width}x{px.height}"
    n = win.session.n_frames
    rng = np.random.default_rng(0)
    vp = win.view.viewport()

    def show(f: int) -> float:
        t0 = time.perf_counter()
        win.seek(f)
        if args.tab:  # the window paints what changed (the frame, the cursors, the tab's curves if redrawn)
            app.processEvents()
        else:
            vp.repaint()
        return time.perf_counter() - t0

    seek, exact = [], []
    for f in rng.integers(0, n, args.seeks):
        t0 = time.perf_counter()
        seek.append(show(int(f)))
        while not win.view.exact and time.perf_counter() - t0 < 5:
            app.processEvents()
            time.sleep(0.0005)
        vp.repaint()
        exact.append(time.perf_counter() - t0)
        app.processEvents()
    out["seek"] = pct(seek)
    out["seek→exact"] = pct(exact)
    step, exact_steps = [], 0
    win.seek(0)
    for f in range(1, min(n, 200)):
        t_next = time.perf_counter() + 1 / 30
        step.append(show(f))
        exact_steps += bool(win.view.exact)
        while time.perf_counter() < t_next:
            app.processEvents()
            time.sleep(0.001)
    out["step"] = pct(step) + f"  ({exact_steps / len(step):.0%} exact at once)"
    drag = []
    j = win.session.track.landmarks.index("left_hand")
    for _ in range(30):
        x, y = win.session.track.xy[win.frame, j]
        t0 = time.perf_counter()
        win.drag_landmark(j, float(np.nan_to_num(x, nan=500.0)) + 1, float(np.nan_to_num(y, nan=500.0)) + 1)
        vp.repaint()
        drag.append(time.perf_counter() - t0)
    out["drag"] = pct(drag)
    for speed in (1.0, 2.0):
        win.seek(0)
        win.player.set_speed(speed)
        win.player.play()
        t0 = time.perf_counter()
        shown, due = 0, 0
        last = win.frame
        while time.perf_counter() - t0 < args.play_s and win.player.is_playing:
            app.processEvents()
            if win.frame != last:
                shown += 1
                due += win.frame - last
                last = win.frame
        el = time.perf_counter() - t0
        win.player.stop()
        target = win.session.fps * speed
        out[f"play {speed:g}x"] = f"{shown / el:5.1f} of {target:.1f} fps shown, {1 - shown / max(due, 1):.0%} dropped"
    win.close()
    win.wait_closed(30)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=600)
    ap.add_argument("--seeks", type=int, default=100)
    ap.add_argument("--play-s", type=float, default=4.0)
    ap.add_argument("--clips", default=str(Path(tempfile.gettempdir()) / "gmdesk-bench-clips"))
    ap.add_argument("--modes", default="before,cache,after")
    ap.add_argument("--tab", choices=("Trajectories", "Assessment", "Similarity"),
                    help="the tab shown under the frame; every row then repaints the whole window")
    ap.add_argument("--demo", action="store_true", help="the bundled demo (pose + 1080p H.264) instead of the clips")
    args = ap.parse_args()
    from PySide6 import QtWidgets

    if args.demo:
        from app.main import DEMO_POSE, DEMO_VIDEO

        pose, clips = DEMO_POSE, {"demo H.264": DEMO_VIDEO}
    else:
        pose, clips = make_clips(Path(args.clips), args.frames)
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    work = Path(tempfile.mkdtemp(prefix="gmdesk-bench-gui-"))
    print(f"{'the demo' if args.demo else f'1080p synthetic clip, {args.frames} frames'}; tab shown: "
          f"{args.tab or 'not timed (frame view repaint only)'}; times in ms (p50 / p95); work folder {work} "
          f"({subprocess.run(['df', '-T', str(work)], capture_output=True, text=True).stdout.split()[-6]})")
    for name, video in clips.items():
        print(f"\n== {name} ({video.stat().st_size / 1e6:.1f} MB)")
        rows: dict[str, dict[str, str]] = {}
        for mode in args.modes.split(","):
            rows[mode] = measure(app, pose, video, mode, args, work)
        keys = [k for k in ("proxy", "seek", "seek→exact", "step", "drag", "play 1x", "play 2x")
                if any(k in r for r in rows.values())]
        for k in keys:
            for mode, r in rows.items():
                if k in r:
                    print(f"  {k:11s} {mode:6s}  {r[k]}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
