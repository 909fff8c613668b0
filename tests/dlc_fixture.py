"""Trains a tiny DeepLabCut (PyTorch) model offline on a rendered synthetic infant video.

resnet18 backbone without pretrained weights (the starting snapshot is built locally, so
nothing is downloaded), 160x120 frames, 100 labelled frames, 10 epochs, batch 8.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

SCALE = 1 / 12  # 1920x1080 synthetic coordinates -> 160x120 frames
SIZE = (160, 120)


def train_tiny_dlc_model(root: Path, skeleton) -> Path:
    """Create a DLC project under ``root``, label, train; return its ``config.yaml``."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    import cv2
    import pandas as pd

    from gmdesk.pose.deeplabcut import import_torch

    torch = import_torch()  # before deeplabcut: keeps Triton's LLVM away from TensorFlow's
    import deeplabcut
    import yaml
    from deeplabcut.pose_estimation_pytorch.models.model import PoseModel
    from deeplabcut.utils import auxiliaryfunctions

    from gmdesk.synthetic.cohorts import make_infant
    from gmdesk.synthetic.video import render_video

    inf = make_infant("T", 0, [77, 1], skeleton=skeleton, n_frames=200)
    xy = inf.truth_xy * SCALE
    video = render_video(xy, skeleton, root / "train.mp4", size=SIZE)
    cfg = deeplabcut.create_new_project("infant", "gmdesk", [str(video)], working_directory=str(root), copy_videos=True)
    auxiliaryfunctions.edit_config(cfg, {"bodyparts": list(skeleton.landmarks),
                                         "skeleton": [list(e) for e in skeleton.edges]})
    lab = Path(cfg).parent / "labeled-data" / "train"
    lab.mkdir(parents=True, exist_ok=True)
    cap = cv2.VideoCapture(str(video))
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(f)
    idx = list(range(0, 200, 2))
    rows = []
    for i in idx:
        name = f"img{i:04d}.png"
        cv2.imwrite(str(lab / name), frames[i])
        rows.append(("labeled-data", "train", name))
    cols = pd.MultiIndex.from_product([["gmdesk"], list(skeleton.landmarks), ["x", "y"]],
                                      names=["scorer", "bodyparts", "coords"])
    df = pd.DataFrame(xy[idx].reshape(len(idx), -1), index=pd.MultiIndex.from_tuples(rows), columns=cols)
    df.to_hdf(lab / "CollectedData_gmdesk.h5", key="df_with_missing", mode="w")
    deeplabcut.create_training_dataset(cfg, net_type="resnet_50", engine=deeplabcut.Engine.PYTORCH)
    train_dir = next(Path(cfg).parent.glob("dlc-models-pytorch/iteration-0/*/train"))
    pcfg = train_dir / "pytorch_config.yaml"
    c = yaml.safe_load(pcfg.read_text())
    c["model"]["backbone"]["model_name"] = "resnet18"
    c["model"]["backbone_output_channels"] = 512
    head = c["model"]["heads"]["bodypart"]
    head["heatmap_config"]["channels"][0] = 512
    head["locref_config"]["channels"][0] = 512
    c["data"]["train"]["crop_sampling"] = None
    c["data"]["train"]["hflip"] = False  # left/right landmarks must not be mirrored blindly
    c["runner"]["eval_interval"] = 100
    c["runner"]["snapshots"]["save_epochs"] = 10
    pcfg.write_text(yaml.safe_dump(c, sort_keys=False))
    torch.manual_seed(0)
    init = train_dir / "init.pt"
    torch.save({"model": PoseModel.build(c["model"], pretrained_backbone=False).state_dict()}, init)
    deeplabcut.train_network(cfg, shuffle=1, snapshot_path=str(init), epochs=10, batch_size=8)
    return Path(cfg)


def unseen_video(path: Path, skeleton, n_frames: int = 90) -> tuple[Path, np.ndarray]:
    """A video of another synthetic infant and its true positions (in video pixels)."""
    from gmdesk.synthetic.cohorts import make_infant
    from gmdesk.synthetic.video import render_video

    inf = make_infant("U", 1, [78, 2], skeleton=skeleton, n_frames=n_frames)
    xy = inf.truth_xy * SCALE
    return render_video(xy, skeleton, path, size=SIZE), xy
