"""Parameters of a synthetic infant (:class:`SynthSettings`): length and frame rate of the recording, body
model and camera, movement character, and the rates of the planted detector errors. **Synthetic data.**"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from gmdesk.constants import DEFAULT_FPS

logger = logging.getLogger(__name__)

FPS = DEFAULT_FPS
MODELS = ("3d", "2d")
#: Fidgety-age phenotypes (see :mod:`gmdesk.synthetic.movements`); ``normal-fm`` has label 0, the others 1.
PHENOTYPES = ("normal-fm", "absent-fm", "sporadic-fm", "abnormal-fm", "cramped-synchronised")
ABNORMAL_PHENOTYPES = PHENOTYPES[1:]
PHENOTYPE_LABEL = {p: int(p != "normal-fm") for p in PHENOTYPES}
#: Default mix of abnormal phenotypes, weighted towards absent FMs as in clinics (40/20/20/20 %).
DEFAULT_ABNORMAL_MIX = (("absent-fm", 2.0), ("sporadic-fm", 1.0), ("abnormal-fm", 1.0), ("cramped-synchronised", 1.0))


@dataclass(frozen=True)
class SynthSettings:
    """Parameters of one synthetic infant (defaults give a 2–3 min iPad-like recording).

    ``model`` "3d" (default): joints move in 3-D and a pinhole camera whose distance, tilt, roll and
    aim vary per recording projects them; "2d": the earlier planar stick model (``px_per_cm`` sets its
    scale; its artefacts are short distal swaps and jumps only).
    Rates are events per landmark per minute (low likelihood, jumps, dropouts) or per recording
    minute (swaps, whole-side swaps, occlusions).

    Phenotype knobs (:mod:`gmdesk.synthetic.movements`): ``abnormal_mix`` the abnormal phenotypes drawn for
    label 1 and their weights; ``activity`` the per-infant scale of the large movements (amplitude √, rate ×);
    ``gross_rate`` kicks/swipes per limb per minute at activity 1 and ``wiggle_rate`` wiggling bouts per arm
    per minute; ``both_legs_share`` of kicks with both legs; ``fussy_share`` / ``calm_share`` ranges of the
    share of time fussy (vigorous, no FMs) or calm; ``fussy_gain`` the large movements' gain while fussy;
    ``fm_amplitude`` the per-infant scale of the fidgety stream (1 ≈ 2.5 % of body length rms at hands and
    feet); ``fm_band`` its frequency band (Hz); duty ranges (share of time with FMs) ``fm_duty_continual``
    (F++), ``fm_duty_intermittent`` (F+, a share ``intermittent_share`` of normal infants) and
    ``fm_duty_sporadic`` (F±); abnormal FMs: ``af_gain`` amplitude factor on the centre of ``fm_amplitude``
    (not on the infant's own draw: exaggerated against normal FMs), ``af_band`` and ``af_jerk`` (abrupt changes
    per 0.5 s); absent FMs: ``absent_gross_gain`` on the large movements.
    ``normal_share`` and ``severity`` concern ``cramped-synchronised`` only.
    Detector noise, as shares of the crown–mid-hip length: ``noise_body`` white per-frame sd,
    ``jitter_body`` temporally correlated jitter (0.1–4 Hz) sd, ×``hip_noise_factor`` at the hips
    and ×``distal_noise_factor`` at hands and feet.
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
    normal_share: float = 0.25  # cramped-synchronised: share of normal-looking periods
    severity: tuple[float, float] = (0.7, 1.0)  # cramped-synchronised: strength of the pattern
    abnormal_mix: tuple[tuple[str, float], ...] = DEFAULT_ABNORMAL_MIX
    activity: tuple[float, float] = (0.5, 1.6)
    gross_rate: float = 12.0
    wiggle_rate: float = 1.5
    both_legs_share: float = 0.25
    fussy_share: tuple[float, float] = (0.0, 0.2)
    calm_share: tuple[float, float] = (0.1, 0.35)
    fussy_gain: float = 2.2
    fm_amplitude: tuple[float, float] = (0.6, 1.3)
    fm_band: tuple[float, float] = (0.5, 3.0)
    fm_duty_continual: tuple[float, float] = (0.8, 1.0)
    fm_duty_intermittent: tuple[float, float] = (0.4, 0.7)
    intermittent_share: float = 0.4
    fm_duty_sporadic: tuple[float, float] = (0.05, 0.25)
    af_gain: tuple[float, float] = (1.6, 2.4)
    af_band: tuple[float, float] = (0.7, 2.5)
    af_jerk: float = 0.7
    absent_gross_gain: tuple[float, float] = (1.05, 1.25)
    artefacts: bool = True
    noise_body: tuple[float, float] = (0.0015, 0.004)
    jitter_body: tuple[float, float] = (0.001, 0.003)
    hip_noise_factor: float = 2.0
    distal_noise_factor: float = 1.3
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
        mix = tuple((str(m).lower(), float(w)) for m, w in self.abnormal_mix)
        unknown = [m for m, _ in mix if m not in ABNORMAL_PHENOTYPES]
        if unknown or not mix or any(w < 0 for _, w in mix) or sum(w for _, w in mix) <= 0:
            raise ValueError(f"abnormal_mix must weigh (>= 0, positive sum) phenotypes of {ABNORMAL_PHENOTYPES}, "
                             f"got {self.abnormal_mix!r}")
        object.__setattr__(self, "abnormal_mix", mix)
        lo, hi = self.fm_amplitude
        if not 0 < lo <= hi or not 0 < self.af_gain[0] <= self.af_gain[1]:
            raise ValueError(f"fm_amplitude and af_gain must be ranges (low <= high) of positive numbers, "
                             f"got {self.fm_amplitude!r} and {self.af_gain!r}")
        if self.af_gain[0] * self.normal_fm_centre <= hi:
            raise ValueError(f"abnormal FMs must be exaggerated against normal FMs: af_gain's low end × the centre "
                             f"of fm_amplitude ({self.af_gain[0]} × {self.normal_fm_centre:g}) must exceed the "
                             f"largest normal stream ({hi:g})")

    @property
    def normal_fm_centre(self) -> float:
        """Centre of the normal infants' fidgety amplitude range ``fm_amplitude``: what an abnormal-FM stream's
        ``af_gain`` multiplies (the generator and the check above read the same value)."""
        lo, hi = self.fm_amplitude
        return (lo + hi) / 2
