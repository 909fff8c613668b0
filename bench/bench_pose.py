"""Benchmark: ``gmdesk pose`` vs ``deeplabcut.analyze_videos`` (same model, same settings) on a
1080p synthetic video, and the raw decode rate of that video (the limit). Prints the ratios.

``.venv/bin/python bench/bench_pose.py [--frames 60] [--device auto] [--batch 8]``. The model is
the tiny resnet18 trained offline by the test fixture (its accuracy on 1080p frames does not
matter here: only speed is compared).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--batch", type=int, default=8)
    args = ap.parse_args()
    import deeplabcut

    from gmdesk.io.skeletons import load_skeleton
    from gmdesk.pose.deeplabcut import estimate_pose, resolve_device
    from gmdesk.synthetic.cohorts import make_infant
    from gmdesk.synthetic.video import render_video
    from gmdesk.video.reader import VideoReader
    from tests.dlc_fixture import train_tiny_dlc_model

    sk = load_skeleton()
    work = Path(tempfile.mkdtemp(prefix="gmdesk-bench-pose-"))
    t0 = time.perf_counter()
    cfg = train_tiny_dlc_model(work, sk)
    print(f"tiny model trained in {time.perf_counter() - t0:.1f} s")
    inf = make_infant("B", 0, [3, 3], skeleton=sk, n_frames=args.frames)
    video = render_video(inf.truth_xy, sk, work / "bench1080.mp4", size=(1920, 1080))
    t0 = time.perf_counter()
    with VideoReader(video) as r:
        n = sum(1 for _ in r)
    decode = n / (time.perf_counter() - t0)
    dev = resolve_device(args.device)
    t0 = time.perf_counter()
    estimate_pose(video, cfg, sk, device=dev, batch_size=args.batch, output=work / "gm.h5")
    gm = n / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    deeplabcut.analyze_videos(str(cfg), [str(video)], shuffle=1, batch_size=args.batch, device=dev,
                              destfolder=str(work / "dlc"), save_as_csv=False)
    dlc = n / (time.perf_counter() - t0)
    print(f"1080p, {n} frames, device {dev}, batch {args.batch}, resnet18 (untrained on this size)")
    print(f"  raw decode (OpenCV, displayed orientation): {decode:7.1f} fps")
    print(f"  gmdesk pose (estimate_pose):                {gm:7.2f} fps")
    print(f"  deeplabcut.analyze_videos:                  {dlc:7.2f} fps  (includes its model loading)")
    print(f"  gmdesk / analyze_videos = {gm / dlc:.2f};  gmdesk / decode = {gm / decode:.3f}")


if __name__ == "__main__":
    main()
