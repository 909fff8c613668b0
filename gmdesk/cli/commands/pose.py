"""``gmdesk pose``: estimate pose in a video with a DeepLabCut model (OpenVINO, ONNX Runtime or torch)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from gmdesk.cli.args import POSITIVE_INT, ProgressBar, check_outputs, command_parser, number, output, skeleton_of
from gmdesk.errors import GmdeskError

logger = logging.getLogger(__name__)


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = command_parser(subparsers, "pose", "estimate pose in a video with a DeepLabCut model (OpenVINO, ONNX Runtime or torch)")
    p.add_argument("video", help="the recording (.mp4, .mov, .avi ...)")
    p.add_argument("--dlc-model", "--model", dest="model", required=True, metavar="DLC_MODEL",
                   help="DLC project (config.yaml or folder), training folder, or exported .pt (old name: --model)")
    p.add_argument("-o", "--output", type=output(".h5", ".csv"), help="DLC .h5/.csv to write (default VIDEO.gmdesk_pose.h5)")
    p.add_argument("--device", default="auto", help="auto (CUDA if available), cpu, cuda, cuda:1 ...")
    p.add_argument("--runtime", choices=("auto", "openvino", "onnx", "torch"), default="auto",
                   help="openvino: OpenVINO on the CPU; onnx: ONNX Runtime on the CPU (both run the model's ONNX "
                        "export, made once and cached beside it); torch: DeepLabCut's runner; auto (default): torch on "
                        "a CUDA device, else openvino (onnx where OpenVINO is not installed)")
    p.add_argument("--threads", type=number(int, 1, 256),
                   help="CPU inference threads of OpenVINO / ONNX Runtime (default: all cores)")
    p.add_argument("--precision", choices=("fp32", "int8"), default="fp32",
                   help="int8: the model's quantised export (gmdesk pose-export --int8 VIDEO), run by OpenVINO or ONNX "
                        "Runtime, faster on CPUs with int8 instructions; its landmark difference from fp32 is in its "
                        "record and the provenance")
    p.add_argument("--batch", type=number(int, 1, 4096), default=8, help="frames per forward pass")
    p.add_argument("--max-size", type=number(int, 32, 16384), help="downscale so the longest side is at most this many pixels")
    p.add_argument("--shuffle", type=POSITIVE_INT, default=1, help="project shuffle")
    p.add_argument("--skeleton", help="skeleton TOML file or shipped name (default infant24)")
    p.add_argument("--mapping", help="TOML mapping the model's body-part names to skeleton landmarks")
    return p


def run(args: argparse.Namespace) -> int:
    from gmdesk.io.paths import check_regular
    from gmdesk.pose.deeplabcut import estimate_pose, locate_pose_model

    video = Path(args.video)
    out = Path(args.output) if args.output else video.with_name(video.stem + ".gmdesk_pose.h5")
    check_outputs(args, {"-o": out})  # an output inside the DLC project folder is usual: only same-file is refused
    check_regular(video, "video")
    sk = skeleton_of(args)
    model = locate_pose_model(args.model, shuffle=args.shuffle)
    print(f"{video.name}: DeepLabCut model {model.name} ({len(model.bodyparts)} body parts) on {args.device}, "
          f"batch {args.batch}, max size {args.max_size or 'full frame'}")
    with ProgressBar("pose", "frame") as bar:
        try:
            track = estimate_pose(video, model, sk, args.mapping, args.device, args.batch, args.max_size, out,
                                  progress=bar, runtime=args.runtime, threads=args.threads,
                                  precision=args.precision)
        except KeyboardInterrupt:
            raise GmdeskError(f"pose estimation of {video} interrupted; nothing was written") from None
    step = track.provenance[-1]
    print(f"wrote {out}: {track.n_frames} frames x {track.n_landmarks} landmarks in {step['summary']['seconds']} s "
          f"({track.n_frames / max(step['summary']['seconds'], 1e-9):.1f} fps, {step['params']['runtime']} on "
          f"{step['params']['device']})")
    return 0

