"""Parameters of the cleaning of estimated poses (:class:`CleaningSettings`), every default documented."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CleaningSettings:
    """Parameters of :func:`~gmdesk.pipeline.cleaning.clean_track`; every default is documented here.

    Attributes
    ----------
    p_cutoff : float
        Likelihood below which a point is removed (DLC's own default ``pcutoff`` is 0.6).
    p_hysteresis : float
        A point below this likelihood (and below its landmark's 10th-percentile likelihood in the
        recording) is also removed when its run of such frames contains a point below ``p_cutoff`` at
        most ``hysteresis_frames`` away (0.9; 0 switches hysteresis off): a detector losing a hidden hand
        flickers around the cut-off, and the points in between are no better.
    hysteresis_frames : int
        How far hysteresis reaches from a removed point (15 frames, half a second).
    swap_side_weight : float
        Weight of the side-of-body-axis evidence in the swap repair (1.0): per frame, the log-ratio of how
        often the recording shows the pair's left-minus-right offset across the body axis and its mirror
        image, divided by ``swap_side_frames``.
    swap_side_frames : int
        Frames over which posture (and so this evidence) stays correlated (10, a third of a second).
    swap_bone_weight : float
        Weight of the too-long-bone evidence in the swap repair (2.0 per 10 % of excess length).
    swap_prior : float
        Cost per frame of the swapped state: swaps are rarer than correct labels (0.05).
    swap_switch_cost : float
        Cost of a change between kept and swapped (5.0): a swap must show as a jump of both points onto
        each other's path, or be backed by much evidence.
    swap_motion_cap : float
        Largest continuity cost of one frame, in units of the pair's typical frame-to-frame motion (40).
    swap_carry : int
        A point missing for up to this many frames is continued from its last position for the
        continuity evidence (10).
    bone_ref_quantile : float
        A bone's full length seen flat: this quantile of its projected lengths in the recording (0.9;
        foreshortening only shortens bones, so the upper part of the distribution is the flat length).
    bone_max_rel : float
        A bone longer than the larger of its full length × (1 + this) and its 99.5th-percentile length ×
        (1 + this / 2) is wrong (0.3: perspective makes a limb near the camera look up to ~30 % larger at
        55 cm; a head's bones are seen shortened most of the time and full length only when it turns).
    bone_change_k : float
        A bone whose length is farther from its running median (``smooth_window`` frames) than the
        median of that distance plus this many robust sd is wrong (10).
    bone_change_min_rel : float
        Smallest such distance, as a fraction of the bone's full length (0.35).
    bone_max_iter : int
        Most landmarks removed per frame by the geometry check (6).
    smooth_window : int
        Frames of the centred running median that a trajectory is compared with (odd, 7).
    smooth_k : float
        Trajectory threshold in robust standard deviations of a landmark's distances from it (8).
    smooth_min_rel : float
        Smallest trajectory threshold as a fraction of the recording's median bone length (0.35).
    max_gap : int
        Longest gap in frames that is imputed (30 frames = 1 s at 29.97 fps).
    max_gap_distal : int
        Longest imputed gap of a leaf landmark (a hand or foot: nothing hangs on it) when its parent is
        known (60 frames = 2 s); such long fills are listed for review.
    geometry, smoothness, swaps, impute : bool
        Switch steps 2–5 on or off.
    """

    p_cutoff: float = 0.6
    p_hysteresis: float = 0.9
    hysteresis_frames: int = 15
    swap_side_weight: float = 1.0
    swap_side_frames: int = 10
    swap_bone_weight: float = 2.0
    swap_prior: float = 0.05
    swap_switch_cost: float = 5.0
    swap_motion_cap: float = 40.0
    swap_carry: int = 10
    bone_ref_quantile: float = 0.9
    bone_max_rel: float = 0.3
    bone_change_k: float = 10.0
    bone_change_min_rel: float = 0.35
    bone_max_iter: int = 6
    smooth_window: int = 7
    smooth_k: float = 8.0
    smooth_min_rel: float = 0.35
    max_gap: int = 30
    max_gap_distal: int = 60
    geometry: bool = True
    smoothness: bool = True
    swaps: bool = True
    impute: bool = True

    def __post_init__(self) -> None:
        if not 0.0 <= self.p_cutoff <= 1.0:
            raise ValueError(f"p_cutoff must be in [0, 1], got {self.p_cutoff}")
        if not 0.0 <= self.p_hysteresis <= 1.0:
            raise ValueError(f"p_hysteresis must be in [0, 1], got {self.p_hysteresis}")
        if self.smooth_window < 3 or self.smooth_window % 2 == 0:
            raise ValueError(f"smooth_window must be odd and >= 3, got {self.smooth_window}")
        if not 0.5 <= self.bone_ref_quantile < 1.0:
            raise ValueError(f"bone_ref_quantile must be in [0.5, 1), got {self.bone_ref_quantile}")
        if self.max_gap < 0 or self.max_gap_distal < 0:
            raise ValueError(f"max_gap and max_gap_distal must be >= 0, got {self.max_gap}, {self.max_gap_distal}")
        for name in ("swap_side_weight", "swap_bone_weight", "swap_prior", "swap_switch_cost", "swap_motion_cap",
                     "bone_max_rel", "bone_change_k", "bone_change_min_rel", "smooth_k", "smooth_min_rel"):
            v = getattr(self, name)
            if not (np.isfinite(v) and v >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {v}")
        if self.swap_carry < 0 or self.bone_max_iter < 0 or self.swap_side_frames < 1 or self.hysteresis_frames < 0:
            raise ValueError("swap_carry, bone_max_iter and hysteresis_frames must be >= 0 and swap_side_frames >= 1")
