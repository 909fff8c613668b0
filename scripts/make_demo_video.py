"""Render the bundled demo video from the demo infant's true positions (SYNTHETIC).

``resources/demo/demo_infant.mp4``: 1920x1080, 29.97 fps, H.264 (libx264, CRF 28, keyframe
every 30 frames as phone/iPad recordings have, yuv420p), one frame per row of
``demo_infant.h5``. The figure is drawn at the *true* positions, so the pose file's planted
DLC-like errors show as an overlay that is off the figure: what annotators correct.

Needs the ffmpeg command (libx264). ``python scripts/make_demo_video.py``.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from gmdesk.io.resources import demo_path
from gmdesk.io.skeletons import load_skeleton
from gmdesk.synthetic.settings import FPS
from gmdesk.synthetic.video import render_video

DEMO = demo_path("demo_infant.h5").parent
GOP = 30
CRF = 28


def main() -> None:
    if shutil.which("ffmpeg") is None:
        raise SystemExit("ffmpeg (with libx264) is needed to encode the demo video")
    truth = np.load(DEMO / "demo_infant.truth.npz")["truth_xy"]
    with tempfile.TemporaryDirectory() as tmp:
        raw = render_video(truth, load_skeleton(), Path(tmp) / "raw.avi", fps=FPS, codec="MJPG")
        subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-i", str(raw), "-c:v", "libx264", "-preset", "slow",
                        "-crf", str(CRF), "-g", str(GOP), "-pix_fmt", "yuv420p", "-movflags", "+faststart",
                        "-metadata", "comment=gmdesk SYNTHETIC demo infant, not a recording",
                        str(DEMO / "demo_infant.mp4")], check=True)
    print(f"wrote {DEMO / 'demo_infant.mp4'}: {(DEMO / 'demo_infant.mp4').stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
