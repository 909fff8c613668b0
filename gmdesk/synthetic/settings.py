"""Parameters of a synthetic infant (:class:`SynthSettings`): length and frame rate of the recording, body
model and camera, movement character, and the rates of the planted detector errors. **Synthetic data.**"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from gmdesk.constants import DEFAULT_FPS

logger = logging.getLogger(__name__)

FPS = DEFAULT_FPS
MODELS = ("3d", "2d")


@dataclass(frozen=True)
class SynthSettings:
    """Parameters of one synthetic infant (defaults give a 2–3 min iPad-like recording).

    ``model`` "3d" (default): joints move in 3-D and a pinhole camera whose distance, tilt, roll and
    aim vary per recording projects them; "2d": the earlier planar stick model (``px_per_cm`` sets its
    scale; its artefacts are short distal swaps and jumps only).
    Rates are events per landmark per minute (low likelihood, jumps, dropouts) or per recording
    minute (swaps, whole-side swaps, occlusions).
    """

    duration_s: tuple[float, float] = (120.0, 180.0)
    fps: float = FPS
    image_size: tuple[int, int] = (1920, 1080)
    model: str = "3d"
    px_per_cm: tuple[float, float] = (11.0, 17.0)  # 2-D model: camera distance
    camera_distance_cm: tuple[float, float] = (80.0, 130.0)  # 3-D model: camera to mid-body
    focal_px: float = 1450.0  # iPad-like: ~67° horizontal field of view at 1920 px
    tilt_deg: float = 25.0  # largest tilt of the optical axis off vertical
    roll_deg: float = 30.0  # largest roll of the image about the optical axis
    position_sd: tuple[float, float] = (0.05, 0.04)  # infant's place in the image (share of width, height)
    body_size_sd: float = 0.07  # relative sd of segment lengths between infants
    normal_share: float = 0.25  # share of normal-like periods in abnormal infants
    severity: tuple[float, float] = (0.7, 1.0)  # strength of the abnormal pattern
    artefacts: bool = True
    noise_px: tuple[float, float] = (0.8, 1.6)
    low_likelihood_rate: float = 0.3
    dropout_rate: float = 0.15
    swap_rate: float = 0.4
    jump_rate: float = 0.8
    pair_swap_rate: float = 1.0  # 3-D model: swaps of one pair or a limb chain
    swap_frames: tuple[int, int] = (3, 90)  # 3-D model: swap length range (log-uniform)
    side_swap_rate: float = 0.15
    jump_other_share: float = 0.3  # share of jumps that land on the mirror limb
    occlusion_rate: float = 0.4
    occlusion_frames: tuple[int, int] = (8, 45)

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise ValueError(f"model must be one of {MODELS}, got {self.model!r}")
