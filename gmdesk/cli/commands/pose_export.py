"""``gmdesk pose-export``: export a DeepLabCut model to ONNX once, where torch and DeepLabCut are installed, so
that workstations run it with OpenVINO or ONNX Runtime (the export is cached beside the model's snapshot)."""

from __future__ import annotations

import argparse
import logging

from gmdesk.cli.args import POSITIVE_INT, command_parser, number

logger = logging.getLogger(__name__)


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = command_parser(subparsers, "pose-export", "export a DeepLabCut model to ONNX (once, where torch is installed) "
                                                  "so that workstations run it with OpenVINO or ONNX Runtime")
    p.add_argument("model", metavar="DLC_MODEL", help="DLC project (config.yaml or folder), training folder, or exported .pt")
    p.add_argument("--shuffle", type=POSITIVE_INT, default=1, help="project shuffle")
    p.add_argument("--force", action="store_true", help="export again even when a matching export exists")
    p.add_argument("--int8", metavar="VIDEO", help="also write an int8 (quantised) export, calibrated on frames of this "
                                                   "recording of yours, with its landmark difference from fp32")
    p.add_argument("--max-size", type=number(int, 32, 16384), default=640,
                   help="calibration frames downscaled so the longest side is at most this (as gmdesk pose --max-size)")
    p.add_argument("--calibration-frames", type=number(int, 4, 256), default=16, help="frames spread over the video")
    return p


def run(args: argparse.Namespace) -> int:
    from gmdesk.pose.model import locate_pose_model
    from gmdesk.pose.onnx import export_pose_model, find_export

    pm = locate_pose_model(args.model, shuffle=args.shuffle)
    found = None if args.force else find_export(pm)
    om = found or export_pose_model(pm)
    rec = om.record
    print(f"{'found' if found else 'wrote'} {om.path} (+ {om.path.name}.json): {len(rec['bodyparts'])} body parts, stride "
          f"{rec['stride']:g}, tied to {rec['snapshot']} (SHA-256 {rec['snapshot_sha256'][:12]}…); max |difference| vs "
          f"torch {rec['check']['max_abs_difference']:.1e} on check images")
    if args.int8:
        from gmdesk.pose.model import installed
        from gmdesk.pose.onnx import calibration_frames, quantise_export
        from gmdesk.pose.openvino_runtime import OpenVinoPoseModel

        frames, what = calibration_frames(args.int8, args.calibration_frames, args.max_size)
        others = {"openvino": lambda m: OpenVinoPoseModel(m).predict} if installed("openvino") else None
        q = quantise_export(om, frames, what, others)
        print(f"wrote {q.path}: int8, calibrated on {len(frames)} frames of {what['video']}; landmarks differ from fp32 by")
        for name, d in q.record["difference_from_fp32_by_runtime"].items():
            print(f"  {name}: median {d['median_px']} px, p90 {d['p90_px']} px, max {d['max_px']} px on those frames")
    return 0
