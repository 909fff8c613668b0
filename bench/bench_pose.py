"""Benchmark: pose estimation on the CPU, torch eager (DeepLabCut's network as its runner runs it) against ONNX
Runtime and OpenVINO (gmdesk's default route on the CPU), on the same frames in one run, at full HD and at
``--max-size`` 960 and 640.

Speed: a DeepLabCut ResNet-50 bottom-up model (the default ``resnet_50`` architecture: backbone with output
stride 16 and a deconvolution heatmap + location-refinement head) with random weights: speed does not depend
on what the weights learned. Each size runs torch, ONNX Runtime and OpenVINO (once per performance hint of
``--openvino-hints``) in alternating rounds (ABC...ABC...) so that a change in the machine's load hits all;
frames per second are medians over rounds, the ratio to torch is per round. All use the same number of threads
(``--threads``, default all cores). Optionally (``--int8``) the network quantised to int8 (static, QDQ,
calibrated on the frames) in ONNX Runtime and in OpenVINO. Every runtime's landmark difference from fp32 torch
is printed.

Accuracy: the tiny model of the test fixture (resnet18, trained on 160×120 renders) on an unseen synthetic
video: landmark error against the synthetic truth at its own size through both runtimes, and the largest
landmark difference between the runtimes (what choosing ONNX Runtime costs).

``.venv/bin/python bench/bench_pose.py [--rounds 5] [--batch 4] [--threads N] [--int8] [--sizes 960,640]
[--openvino-hints THROUGHPUT,LATENCY]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

SIZES = {"1920x1080 (full)": (1920, 1080), "--max-size 960": (960, 540), "--max-size 640": (640, 360)}


def resnet50_model(work: Path):
    """A DLC 3 ResNet-50 bottom-up single-animal model (24 body parts), random weights; its torch module, and
    ONNX export through gmdesk (the same code path as a site's model)."""
    from gmdesk.pose.model import import_torch

    torch = import_torch()
    from deeplabcut.pose_estimation_pytorch.models.model import PoseModel

    cfg_model = {
        "backbone": {"type": "ResNet", "model_name": "resnet50_gn", "output_stride": 16, "freeze_bn_stats": False,
                     "freeze_bn_weights": False},
        "backbone_output_channels": 2048,
        "heads": {"bodypart": {
            "type": "HeatmapHead", "weight_init": "normal",
            "predictor": {"type": "HeatmapPredictor", "apply_sigmoid": False, "clip_scores": True,
                          "location_refinement": True, "locref_std": 7.2801},
            "target_generator": {"type": "HeatmapGaussianGenerator", "num_heatmaps": 24, "pos_dist_thresh": 17,
                                 "heatmap_mode": "KEYPOINT", "generate_locref": True, "locref_std": 7.2801},
            "criterion": {"heatmap": {"type": "WeightedMSECriterion", "weight": 1.0},
                          "locref": {"type": "WeightedHuberCriterion", "weight": 0.05}},
            "heatmap_config": {"channels": [2048, 24], "kernel_size": [3], "strides": [2]},
            "locref_config": {"channels": [2048, 48], "kernel_size": [3], "strides": [2]}}},
    }
    torch.manual_seed(0)
    net = PoseModel.build(cfg_model, pretrained_backbone=False).eval()
    train = work / "resnet50" / "train"
    train.mkdir(parents=True)
    torch.save({"model": net.state_dict()}, train / "snapshot-001.pt")
    import yaml

    cfg = {"method": "bu", "model": cfg_model,
           "data": {"colormode": "RGB", "inference": {"normalize_images": True}},
           "metadata": {"bodyparts": [f"bp{i}" for i in range(24)], "unique_bodyparts": [], "individuals": ["a"],
                        "with_identity": None}}
    (train / "pytorch_config.yaml").write_text(yaml.safe_dump(cfg), encoding="utf-8")
    from gmdesk.pose.model import locate_pose_model
    from gmdesk.pose.onnx import export_pose_model

    return net, export_pose_model(locate_pose_model(train), check_size=(320, 192))


def quantised(om, frames: list[np.ndarray], work: Path):
    """The export quantised to int8 by gmdesk (``gmdesk pose-export --int8``), calibrated on ``frames`` shrunk to
    320 px wide (activation ranges do not depend on the image size; calibrating at full HD needs tens of GB)."""
    import cv2

    from gmdesk.pose.onnx import quantise_export

    small = [cv2.resize(f, (320, 320 * f.shape[0] // f.shape[1]), interpolation=cv2.INTER_AREA) if f.shape[1] > 320
             else f for f in frames]
    return quantise_export(om, small, {"video": "bench frames", "frames": len(small)})


def speed(net, om, frames: np.ndarray, rounds: int, batch: int, threads: int, int8=None,
          hints: tuple[str, ...] = ("THROUGHPUT", "LATENCY")) -> dict[str, float]:
    """Median frames per second of torch eager, ONNX Runtime and OpenVINO (one runner per performance hint; and the
    int8 export in both runtimes) on ``frames``, alternating rounds; each runtime's ratio to torch (median over
    rounds, and the worst round) and its landmark difference from fp32 torch (median px over the first batch)."""
    from gmdesk.pose.model import import_torch
    from gmdesk.pose.onnx import decode_outputs, preprocess
    from gmdesk.pose.openvino_runtime import OpenVinoPoseModel

    torch = import_torch()
    torch.set_num_threads(threads)
    om.threads = threads
    spec = om.record["preprocess"]

    def run_torch(chunk):
        with torch.no_grad():
            out = net(torch.from_numpy(preprocess(chunk, spec)))["bodypart"]
        return decode_outputs(out["heatmap"].numpy(), out["locref"].numpy(), om.record)

    runners = {"torch": run_torch, "onnx": lambda chunk: om.predict(list(chunk))}
    for hint in hints:
        runners[f"openvino-{hint.lower()}"] = (lambda m: lambda chunk: m.predict(list(chunk)))(
            OpenVinoPoseModel(om, threads, hint))
    if int8 is not None:
        int8.threads = threads
        runners["onnx-int8"] = lambda chunk: int8.predict(list(chunk))
        ov8 = OpenVinoPoseModel(int8, threads, hints[0])
        runners[f"openvino-{hints[0].lower()}-int8"] = lambda chunk: ov8.predict(list(chunk))
    for fn in runners.values():  # warm-up (first-call allocations, session creation, OpenVINO's compilation)
        fn(frames[:batch])
    rates: dict[str, list[float]] = {k: [] for k in runners}
    for _ in range(rounds):
        for name, fn in runners.items():
            t0 = time.perf_counter()
            for i in range(0, len(frames), batch):
                fn(frames[i:i + batch])
            rates[name].append(len(frames) / (time.perf_counter() - t0))
    ref = runners["torch"](frames[:batch])
    out: dict[str, dict[str, float]] = {}
    for name, fn in runners.items():
        ratios = [r / t for r, t in zip(rates[name], rates["torch"], strict=True)]
        got = fn(frames[:batch])
        out[name] = {"fps": statistics.median(rates[name]), "ratio": statistics.median(ratios), "worst": min(ratios),
                     "px": float(np.median(np.linalg.norm(got[..., :2] - ref[..., :2], axis=-1)))}
    return out


def accuracy(work: Path, int8: bool) -> None:
    """Landmark error of the tiny fixture model against the synthetic truth, through both runtimes (and int8,
    calibrated on its training video's frames)."""
    import sys

    from gmdesk.io.skeletons import load_skeleton
    from gmdesk.pose.deeplabcut import estimate_pose

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: its tests' fixture
    from tests.dlc_fixture import train_tiny_dlc_model, unseen_video

    sk = load_skeleton()
    t0 = time.perf_counter()
    (work / "tiny").mkdir(parents=True, exist_ok=True)
    cfg = train_tiny_dlc_model(work / "tiny", sk)
    print(f"tiny model (resnet18, 160x120) trained in {time.perf_counter() - t0:.0f} s")
    video, truth = unseen_video(work / "unseen.mp4", sk)
    res = {rt: estimate_pose(video, cfg, sk, device="cpu", runtime=rt) for rt in ("torch", "onnx", "openvino")}
    for rt, track in res.items():
        err = np.linalg.norm(track.xy - truth, axis=-1)
        print(f"  {rt:8s}: error vs truth median {np.median(err):.2f} px, p90 {np.percentile(err, 90):.2f} px")
    for rt in ("onnx", "openvino"):
        d = np.linalg.norm(res[rt].xy - res["torch"].xy, axis=-1)
        print(f"  {rt} vs torch landmarks: median {np.median(d):.1e} px, max {d.max():.1e} px")
    if int8:
        from gmdesk.pose.model import landmark_columns, locate_pose_model
        from gmdesk.pose.onnx import onnx_pose_model
        from gmdesk.video.reader import VideoReader

        pm = locate_pose_model(cfg)
        om = onnx_pose_model(pm)
        with VideoReader(next(Path(cfg).parent.glob("videos/*.mp4"))) as r:
            calib = [np.ascontiguousarray(f[..., ::-1]) for i, f in enumerate(r) if i % 20 == 0]
        q = quantised(om, calib, work / "tiny")
        print(f"  int8 record: difference from fp32 on its calibration frames {q.record['difference_from_fp32']}")
        with VideoReader(video) as r:
            frames = [np.ascontiguousarray(f[..., ::-1]) for f in r]
        cols = landmark_columns(pm, sk)
        from gmdesk.pose.openvino_runtime import OpenVinoPoseModel

        for rt, run in (("onnx", q.predict), ("openvino", OpenVinoPoseModel(q).predict)):
            xy = np.concatenate([run(frames[i:i + 8])[:, cols, :2] for i in range(0, len(frames), 8)])
            err = np.linalg.norm(xy - truth, axis=-1)
            dq = np.linalg.norm(xy - res["torch"].xy, axis=-1)
            print(f"  {rt} int8: error vs truth median {np.median(err):.2f} px, p90 {np.percentile(err, 90):.2f} px; "
                  f"vs fp32 torch median {np.median(dq):.2f} px, p90 {np.percentile(dq, 90):.2f} px")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--frames", type=int, default=8, help="frames per round and size")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--int8", action="store_true", help="also the network quantised to int8 (ONNX Runtime, OpenVINO)")
    ap.add_argument("--openvino-hints", default="THROUGHPUT,LATENCY",
                    help="OpenVINO performance hints to time, comma-separated (the first also runs the int8 export)")
    ap.add_argument("--sizes", default="", help="only these sizes, comma-separated: 1920x1080, 960, 640 (default all)")
    ap.add_argument("--no-accuracy", action="store_true")
    ap.add_argument("--no-speed", action="store_true", help="only the accuracy part")
    args = ap.parse_args()
    import onnxruntime

    from gmdesk.pose.model import import_torch

    torch = import_torch()
    from gmdesk.io.skeletons import load_skeleton
    from gmdesk.synthetic.cohorts import make_infant
    from gmdesk.synthetic.video import render_video
    from gmdesk.video.reader import VideoReader

    work = Path(tempfile.mkdtemp(prefix="gmdesk-bench-pose-"))
    if args.no_speed:
        accuracy(work, args.int8)
        return
    net, om = resnet50_model(work)
    sk = load_skeleton()
    inf = make_infant("B", 0, [3, 3], skeleton=sk, n_frames=max(args.frames, 300))
    video = render_video(inf.truth_xy[:args.frames], sk, work / "bench1080.mp4", size=(1920, 1080))
    with VideoReader(video) as r:
        full = [np.ascontiguousarray(f[..., ::-1]) for f in r]
    import cv2

    from gmdesk.pose.openvino_runtime import OpenVinoPoseModel

    hints = tuple(h.strip().upper() for h in args.openvino_hints.split(","))
    print(f"CPU: {os.cpu_count()} cores, threads {args.threads}; torch {torch.__version__}, onnxruntime "
          f"{onnxruntime.__version__}, openvino {OpenVinoPoseModel.version()} (hints {', '.join(hints)}; f32); DLC "
          f"ResNet-50 bottom-up (24 body parts), batch {args.batch}, {args.frames} frames x {args.rounds} alternating "
          f"rounds per size")
    print("fps per runtime; x = ratio to torch eager (median over rounds; worst round); px = median landmark difference "
          "from fp32 torch on one batch")
    int8 = None
    for label, (w, h) in SIZES.items():
        if args.sizes and not any(label.endswith(s) or label.startswith(s) for s in args.sizes.split(",")):
            continue
        frames = np.stack([f if (w, h) == (1920, 1080) else cv2.resize(f, (w, h), interpolation=cv2.INTER_AREA)
                           for f in full])
        if args.int8 and int8 is None:  # one quantised network serves every size (dynamic axes)
            int8 = quantised(om, list(frames[:4]), work)
        res = speed(net, om, frames, args.rounds, args.batch, args.threads, int8, hints)
        print(f"{label}:")
        for name, r in res.items():
            print(f"  {name:28s} {r['fps']:7.3f} fps  {r['ratio']:5.2f}x (worst {r['worst']:4.2f}x)  {r['px']:.2e} px",
                  flush=True)
    if not args.no_accuracy:
        accuracy(work, args.int8)


if __name__ == "__main__":
    main()
