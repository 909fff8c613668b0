"""Benchmark: peak memory of read -> clean -> features -> assess against recording length.

Run: ``.venv/bin/python bench/bench_memory.py [--frames 10000,100000,1000000]``. Each size runs in a fresh
child process (a synthetic 3-D recording written as a DLC .h5, then ``gmdesk assess`` with the shipped
demo model) and reports its peak resident memory (``ru_maxrss``) and wall time; the per-frame constant is
the slope between sizes. Cost must grow linearly: no step may keep n x n or overlapping copies.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
t0 = time.perf_counter()
from gmdesk.screening.assess import assess_recording
from gmdesk.learning.bundle import load_bundle
from gmdesk.io.resources import bundle_path
from gmdesk.io.skeletons import load_skeleton
sk = load_skeleton()
bundle = load_bundle(bundle_path(), sk)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
res = assess_recording(sys.argv[1], bundle, sk)
text = json.dumps(res)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"peak_kb": peak, "after_imports_kb": base, "snippets": len(res.snippets),
                  "json_bytes": len(text), "seconds": time.perf_counter() - t0}))
"""


def make_recording(frames: int, path: Path) -> None:
    """A synthetic 3-D infant of ``frames`` frames (tiled from a 3-min recording to save time)."""
    import numpy as np

    from gmdesk.core.posetrack import PoseTrack
    from gmdesk.io.dlc import write_dlc
    from gmdesk.synthetic.cohorts import make_infant

    base = make_infant("M", 1, [7, 7], n_frames=min(frames, 5400)).track
    reps = -(-frames // base.n_frames)
    xy = np.concatenate([base.xy] * reps)[:frames]
    lik = np.concatenate([base.likelihood] * reps)[:frames]
    write_dlc(PoseTrack.from_xy(xy, base.landmarks, base.fps, lik), path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", default="10000,100000,1000000")
    args = ap.parse_args()
    sizes = [int(s) for s in args.frames.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            pose = Path(tmp) / f"r{n}.h5"
            t0 = time.perf_counter()
            make_recording(n, pose)
            made = time.perf_counter() - t0
            out = subprocess.run([sys.executable, "-c", CHILD, str(pose)], capture_output=True, text=True)
            if out.returncode != 0:
                print(f"{n} frames: FAILED\n{out.stderr[-2000:]}")
                continue
            r = json.loads(out.stdout.strip().splitlines()[-1])
            rows.append((n, r))
            print(f"{n:>9} frames ({n / 29.97 / 3600:5.2f} h): peak {r['peak_kb'] / 1024:8.0f} MB "
                  f"(after imports {r['after_imports_kb'] / 1024:6.0f} MB), {r['snippets']:>6} snippets, "
                  f"result JSON {r['json_bytes'] / 1e6:7.2f} MB, {r['seconds']:6.1f} s (+{made:.0f} s to write the file)",
                  flush=True)
            pose.unlink()
    for (n1, a), (n2, b) in zip(rows, rows[1:], strict=False):
        per = (b["peak_kb"] - a["peak_kb"]) * 1024 / (n2 - n1)
        js = (b["json_bytes"] - a["json_bytes"]) / (n2 - n1)
        print(f"{n1:>9} -> {n2:>9} frames: {per:7.0f} bytes of peak memory per frame, {js:5.1f} bytes of JSON per frame")


if __name__ == "__main__":
    main()
