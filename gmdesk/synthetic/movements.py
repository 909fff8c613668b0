"""Movement layers of a synthetic infant at fidgety age (9–20 weeks post-term), one per phenotype.
**Synthetic data, not recordings of infants.**

Keys in brackets name the sources in ``PHENOTYPES.md`` (the project's notes on the published findings). Amplitudes
and frequencies of fidgety movements (FMs) are not published in physical units: the values here are calibrated to
reproduce the published effect *directions*, not absolute values.

Every infant has a **gross layer** (large movements, shared by all phenotypes) and, depending on the phenotype, a
**fidgety stream** on top of it:

* gross layer — slow posture drift, kicks of the legs and swipes of the arms (one limb at a time, sometimes
  both legs), short bouts of wiggling-oscillating arm movements (back-and-forth at 1.5–3.5 Hz), each
  infant with its own activity level (amplitude and rate ×``activity``), calm periods (few large
  movements) and fussy periods (vigorous large movements, no FMs, in normal infants too) [HAP92, Pre97; kicking,
  swiping and wiggling co-occur with FMs]. Body size, posture and camera vary per infant in the body model.
* fidgety stream — "small movements of moderate speed and variable acceleration of neck, trunk and limbs in all
  directions" [EP05, Ein12, HAP92, Pre97]: on every joint of every limb (azimuth and elevation: circular and
  elliptic paths, incl. towards the camera), the head (yaw/pitch/roll) and the trunk (small shifts and roll),
  independent between body parts; band-limited 0.5–3 Hz with a randomly varying instantaneous frequency, radius,
  ellipticity, sense of rotation and orientation (variable acceleration); a few % of body length at the hands
  and feet, less at the head and trunk (``fm_amplitude`` scales it per infant). Present a share ``duty`` of the
  time, in bouts, never during fussing [Pre97].

Phenotypes (:data:`PHENOTYPES`; label 0 for ``normal-fm``, 1 for the others):

* ``normal-fm`` — gross layer + fidgety stream, continual (F++, duty ``fm_duty_continual`` 0.8–1.0) or
  intermittent (F+, duty ``fm_duty_intermittent`` 0.4–0.7; share ``intermittent_share`` of normal infants)
  [Pre97, HAP92].
* ``absent-fm`` (F−) — the same gross layer and no fidgety stream [Pre97, Rei21: a qualitative, not a
  quantitative deviation]. Mild published directions: the large movements are a little larger and more variable
  (×``absent_gross_gain``), so the centroid of motion varies more without FMs [Stø17]; trajectories are less
  curved because the circular small movements are missing [Kan17, Kan19].
* ``sporadic-fm`` (F±) — FMs in short sporadic bouts only (duty ``fm_duty_sporadic`` 0.05–0.25) [Ein16].
* ``abnormal-fm`` (AF) — FMs with amplitude, speed and jerkiness moderately to greatly exaggerated [Ein16]:
  exaggerated against normal FMs, as an assessor judges them, so the amplitude is ×``af_gain`` (1.6–2.4) of the
  centre of the normal range (``fm_amplitude``), above the largest normal stream (:class:`SynthSettings` refuses
  an ``af_gain`` that would allow less); 0.7–2.5 Hz (held within published infant accelerations, Tru17) with
  abrupt changes of speed and radius (jerky, ``af_jerk``); duty as in normal infants [Ein16, Her17]. (Before
  2026-12-04 the factor applied to the infant's own normal draw, so about one AF stream in ten at the defaults,
  and up to one in six under other settings, lay inside the normal range.)
* ``cramped-synchronised`` (CS) — all limbs contract and relax together (one shared slow driver), held flexed,
  rigid, the head stiffer; ``severity`` sets its strength and ``normal_share`` the share of normal-looking
  (gross-layer) periods; FMs absent: CS character co-occurs with absent FMs [EP05, Ein12b, Yan12, Her17].

Not modelled: poor repertoire, abnormal finger postures, mouth movements, pacifiers, crying sounds.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from gmdesk.synthetic.settings import PHENOTYPES, SynthSettings

logger = logging.getLogger(__name__)

JOINTS = ("shoulder", "elbow", "wrist", "hip", "knee", "ankle")
ARM, LEG = JOINTS[:3], JOINTS[3:]
SIDES = ("left", "right")
REST = {"shoulder": 60.0, "elbow": 75.0, "wrist": 10.0, "hip": 25.0, "knee": -45.0, "ankle": 70.0}
#: Elevation (degrees, towards the camera) added along the chain:
#: (base, slow amplitude, cramped base, cramped amplitude).
ELEVATION = {"shoulder": (12.0, 12.0, 18.0, 25.0), "elbow": (8.0, 10.0, 12.0, 20.0), "wrist": (0.0, 5.0, 0.0, 5.0),
             "hip": (35.0, 14.0, 45.0, 30.0), "knee": (-40.0, 12.0, -55.0, -25.0), "ankle": (20.0, 5.0, 20.0, 5.0)}
ELEVATION_LIMITS = {"shoulder": (0.0, 75.0), "hip": (0.0, 85.0)}
_SLOW_AZ = {"shoulder": 7.0, "elbow": 8.0, "wrist": 6.0, "hip": 5.0, "knee": 6.0, "ankle": 6.0}
#: Fidgety stream: amplitude (degrees, rms per direction) of each joint's small circular movement at fm gain 1;
#: about 2.5 % of body length at the hands and feet.
FM_DEG = {"shoulder": 2.5, "elbow": 3.5, "wrist": 7.0, "hip": 2.0, "knee": 3.0, "ankle": 7.0}
FM_HEAD_DEG = (2.0, 1.5, 1.2)  # yaw, pitch, roll
FM_TRUNK = (0.25, 0.25, 0.8)  # cm, cm, degrees of roll
# Gross layer: each event's amplitude (degrees) per joint: (azimuth, elevation) at activity 1.
_KICK = {"hip": (14.0, 36.0), "knee": (18.0, -30.0), "ankle": (12.0, 12.0)}
_SWIPE = {"shoulder": (40.0, 28.0), "elbow": (34.0, 18.0), "wrist": (16.0, 12.0)}
# Cramped-synchronised: extra flexion held, and the shared contraction's amplitude (azimuth).
_CRAMP_POSTURE = {"shoulder": -20.0, "elbow": 25.0, "wrist": 10.0, "hip": -10.0, "knee": -20.0, "ankle": 10.0}
_CRAMP_AMP = {"shoulder": -22.0, "elbow": 35.0, "wrist": 12.0, "hip": -14.0, "knee": -30.0, "ankle": 15.0}
_NORMAL_AMP = {"shoulder": 9.0, "elbow": 10.0, "wrist": 12.0, "hip": 6.0, "knee": 8.0, "ankle": 10.0}
CALM, ACTIVE, FUSSY = 0, 1, 2


def bandlimited(rng: np.random.Generator, n: int, channels: int, f_lo: float, f_hi: float, fps: float) -> np.ndarray:
    """Unit-variance noise with power only between ``f_lo`` and ``f_hi`` Hz, shape (n, channels)."""
    spec = np.fft.rfft(rng.standard_normal((n, channels)), axis=0)
    f = np.fft.rfftfreq(n, 1.0 / fps)
    spec[(f < f_lo) | (f > f_hi)] = 0
    x = np.fft.irfft(spec, n=n, axis=0)
    return x / (x.std(axis=0, keepdims=True) + 1e-12)


def _ramp(m: np.ndarray, frames: int) -> np.ndarray:
    """A 0/1 mask with linear ramps ``frames`` long."""
    frames = max(1, frames)
    return np.clip(np.convolve(m, np.ones(frames) / frames, mode="same"), 0, 1)


def periods(rng: np.random.Generator, n: int, share: float, length_s: tuple[float, float], fps: float,
            ramp_s: float = 1.0) -> np.ndarray:
    """1 inside randomly placed periods (``length_s`` long) covering about ``share`` of the time, else 0,
    with ramps of ``ramp_s`` seconds."""
    m = np.zeros(n)
    if share <= 0:
        return m
    tries = 0
    while m.sum() < share * n and tries < 200:
        length = int(rng.uniform(*length_s) * fps)
        start = int(rng.integers(0, max(1, n - length)))
        m[start : start + length] = 1.0
        tries += 1
    return _ramp(m, int(ramp_s * fps))


def bouts(rng: np.random.Generator, n: int, duty: float, on_s: tuple[float, float], fps: float) -> np.ndarray:
    """Alternating on/off bouts (on bouts ``on_s`` seconds, off bouts sized so that about ``duty`` of the time
    is on), 0/1 with 0.4-s ramps."""
    if duty >= 0.995:
        return np.ones(n)
    m = np.zeros(n)
    on_mean = float(np.mean(on_s))
    off_mean = on_mean * (1 - duty) / max(duty, 1e-3)
    t = 0
    on = rng.random() < duty
    if not on:
        t = int(rng.uniform(0, off_mean) * fps)  # start part-way through a pause
        on = True
    while t < n:
        d = rng.uniform(*on_s) if on else rng.uniform(0.5, 1.5) * off_mean
        d_frames = max(1, int(d * fps))
        if on:
            m[t : t + d_frames] = 1.0
        t += d_frames
        on = not on
    return _ramp(m, int(0.4 * fps))


def _steps(rng: np.random.Generator, n: int, channels: int, rate_hz: float, sd: float, fps: float) -> np.ndarray:
    """Piecewise-constant log-normal factors (n, channels) that change abruptly ``rate_hz`` times a second."""
    out = np.ones((n, channels))
    for c in range(channels):
        k = rng.poisson(rate_hz * n / fps)
        cuts = np.sort(rng.integers(0, n, k))
        levels = np.exp(rng.normal(0, sd, k + 1))
        out[:, c] = levels[np.searchsorted(cuts, np.arange(n), side="right")]
    return out


def circular(rng: np.random.Generator, n: int, channels: int, band: tuple[float, float], fps: float,
             jerk: float = 0.0) -> np.ndarray:
    """Small circular/elliptic movements: ``(n, channels, 2)`` with unit rms per component.

    Each channel is a point running round an ellipse whose instantaneous frequency (within ``band`` Hz),
    radius, ellipticity, sense of rotation and orientation vary at random (variable acceleration in all
    directions). ``jerk`` > 0 adds abrupt changes of speed and radius (about ``2 * jerk`` a second).
    """
    lo, hi = band
    u = 0.5 + 0.5 * np.tanh(1.2 * bandlimited(rng, n, channels, 0.05, 0.6, fps))
    freq = np.exp(np.log(lo) + u * (np.log(hi) - np.log(lo)))
    radius = np.exp(0.35 * bandlimited(rng, n, channels, 0.1, 1.0, fps))
    if jerk > 0:
        # abrupt, yet muscle-driven: a change of speed or radius takes ~0.12 s (a step in speed within one frame
        # would be a detector jump, not a movement)
        k = max(1, int(0.12 * fps))

        def ramped(v: np.ndarray) -> np.ndarray:
            return np.apply_along_axis(lambda c: np.convolve(c, np.ones(k) / k, mode="same"), 0,
                                       np.pad(v, ((k, k), (0, 0)), mode="edge"))[k:-k]

        freq = np.clip(freq * ramped(_steps(rng, n, channels, 2 * jerk, 0.45, fps)), 0.5 * lo, 1.3 * hi)
        radius = radius * ramped(_steps(rng, n, channels, 2 * jerk, 0.4, fps))
    phase = 2 * np.pi * np.cumsum(freq, axis=0) / fps + rng.uniform(0, 2 * np.pi, channels)
    sense = np.tanh(2.0 * bandlimited(rng, n, channels, 0.03, 0.3, fps))  # ellipticity and sense of rotation
    orient = rng.uniform(0, np.pi, channels) + 1.5 * bandlimited(rng, n, channels, 0.02, 0.3, fps)
    x0, y0 = radius * np.cos(phase), radius * sense * np.sin(phase)
    x = x0 * np.cos(orient) - y0 * np.sin(orient)
    y = x0 * np.sin(orient) + y0 * np.cos(orient)
    out = np.stack([x, y], axis=-1)
    return out / (np.sqrt((out**2).mean(axis=(0, 2), keepdims=True)) + 1e-12)


@dataclass
class Movement:
    """One infant's movement: angles per joint and side (keys like ``left_elbow``) in degrees, head and trunk
    extras, per-frame states and the per-infant draws.

    ``azimuth``: in-plane bend added along the chain; ``elevation``: lift towards the camera added along the
    chain; ``head``: (n, 3) yaw/pitch/roll degrees of the fidgety stream; ``trunk``: (n, 3) shift x, y (cm) and
    roll (degrees) of the fidgety stream; ``normal_like``: 1 = normal-looking movement, 0 = cramped-synchronised;
    ``fm``: presence of the fidgety stream (0–1); ``state``: CALM / ACTIVE / FUSSY per frame; ``drive``: the
    cramped-synchronised infant's shared contraction driver.
    """

    phenotype: str
    azimuth: dict[str, np.ndarray]
    elevation: dict[str, np.ndarray]
    head: np.ndarray
    trunk: np.ndarray
    normal_like: np.ndarray
    fm: np.ndarray
    state: np.ndarray
    drive: np.ndarray | None = None
    draws: dict = field(default_factory=dict)


def _spans(mask: np.ndarray, fps: float) -> list[list[float]]:
    """``[start_s, stop_s]`` of the runs where ``mask`` is true."""
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return [[round(a / fps, 2), round(b / fps, 2)] for a, b in zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1),
                                                                   strict=True)]


def _states(rng: np.random.Generator, n: int, s: SynthSettings) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """Calm and fussy periods: (state per frame, smooth fussy mask, gain of the large movements per frame, draws)."""
    fussy_share = rng.uniform(*s.fussy_share)
    calm_share = rng.uniform(*s.calm_share)
    fussy = periods(rng, n, fussy_share, (4.0, 15.0), s.fps, ramp_s=0.5)
    calm = periods(rng, n, calm_share, (6.0, 25.0), s.fps, ramp_s=1.0) * (1 - fussy)
    state = np.full(n, ACTIVE, np.int8)
    state[calm > 0.5] = CALM
    state[fussy > 0.5] = FUSSY
    gain = 1.0 + (0.3 - 1.0) * calm + (s.fussy_gain - 1.0) * fussy
    draws = {"fussy_share_target": float(fussy_share), "fussy_share": float(np.mean(state == FUSSY)),
             "calm_share": float(np.mean(state == CALM)), "fussy_periods_s": _spans(state == FUSSY, s.fps)}
    return state, fussy, gain, draws


def _events(rng: np.random.Generator, n: int, rate_per_min: float, gain: np.ndarray, fps: float) -> list[int]:
    """Start frames of a Poisson process whose rate is ``rate_per_min`` × ``gain`` (thinning)."""
    top = float(gain.max()) * rate_per_min
    k = rng.poisson(top * n / fps / 60)
    starts = np.sort(rng.integers(0, n, k))
    keep = rng.random(k) < gain[starts] * rate_per_min / max(top, 1e-9)
    return [int(t) for t in starts[keep]]


def _bump(n: int, t0: int, d: int) -> tuple[slice, np.ndarray]:
    """A smooth excursion and return (sin² profile) ``d`` frames long from frame ``t0``, clipped to the recording."""
    t1 = min(n, t0 + d)
    x = np.arange(t0, t1) - t0
    return slice(t0, t1), np.sin(np.pi * x / d) ** 2


def _gross(rng: np.random.Generator, n: int, s: SynthSettings, activity: float, gain: np.ndarray, variability: float,
           size: float) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict]:
    """The gross layer's azimuth and elevation offsets per joint and side (degrees, about zero), and counts."""
    fps = s.fps
    az = {f"{side}_{j}": np.zeros(n) for side in SIDES for j in JOINTS}
    el = {key: np.zeros(n) for key in az}
    slow = bandlimited(rng, n, 4 * len(JOINTS), 0.03, 0.3, fps).clip(-2.5, 2.5)
    amp_slow = np.sqrt(activity)
    for c, key in enumerate(az):
        j = key.split("_", 1)[1]
        az[key] += amp_slow * _SLOW_AZ[j] * slow[:, 2 * c]
        el[key] += amp_slow * ELEVATION[j][1] * slow[:, 2 * c + 1]
    rate = s.gross_rate * activity
    counts = {"kicks": 0, "swipes": 0, "wiggles": 0}
    for side in SIDES:
        for limb, table, kind in ((LEG, _KICK, "kicks"), (ARM, _SWIPE, "swipes")):
            for t0 in _events(rng, n, rate, gain, fps):
                sl, prof = _bump(n, t0, int(rng.uniform(0.3, 1.0) * fps))
                a = size * np.exp(rng.normal(0, variability)) * activity ** 0.5 * gain[t0]
                both = kind == "kicks" and rng.random() < s.both_legs_share
                for j in limb:
                    ja, je = table[j]
                    da, de = ja * rng.uniform(-1, 1), je * rng.uniform(0.3, 1.0)
                    for sd in ((side, "right" if side == "left" else "left") if both else (side,)):
                        lag = 0 if sd == side else int(rng.uniform(0.0, 0.3) * fps)
                        sl2 = slice(min(n, sl.start + lag), min(n, sl.stop + lag))
                        p = prof[: sl2.stop - sl2.start]
                        az[f"{sd}_{j}"][sl2] += a * da * p
                        el[f"{sd}_{j}"][sl2] += a * de * p
                counts[kind] += 1
        # Wiggling-oscillating arm movements: back-and-forth (not circular), 1.5–3.5 Hz, 1–3 s.
        for t0 in _events(rng, n, s.wiggle_rate * activity, gain, fps):
            sl, prof = _bump(n, t0, int(rng.uniform(1.0, 3.0) * fps))
            f = rng.uniform(1.5, 3.5)
            wave = np.sin(2 * np.pi * f * np.arange(sl.stop - sl.start) / fps + rng.uniform(0, 2 * np.pi)) * prof
            direction = rng.normal(0, 1, (len(ARM), 2))
            direction *= rng.uniform(3.0, 8.0) / np.linalg.norm(direction)
            for k, j in enumerate(ARM):
                az[f"{side}_{j}"][sl] += direction[k, 0] * 2 * wave
                el[f"{side}_{j}"][sl] += direction[k, 1] * 2 * wave
            counts["wiggles"] += 1
    return az, el, counts


def _fm_character(rng: np.random.Generator, phenotype: str, s: SynthSettings) -> dict:
    """Duty, amplitude, band, jerkiness and bout lengths of the fidgety stream for a phenotype."""
    if phenotype in ("absent-fm", "cramped-synchronised"):
        return {"fm_kind": "absent", "fm_duty": 0.0, "fm_gain": 0.0}
    gain = rng.uniform(*s.fm_amplitude)
    out = {"fm_band_hz": list(s.fm_band), "fm_jerk": 0.0, "fm_bout_s": [8.0, 30.0]}
    if phenotype == "sporadic-fm":
        out.update(fm_kind="sporadic", fm_duty=rng.uniform(*s.fm_duty_sporadic), fm_bout_s=[1.0, 4.0])
    elif rng.random() < s.intermittent_share:
        out.update(fm_kind="intermittent", fm_duty=rng.uniform(*s.fm_duty_intermittent), fm_bout_s=[4.0, 15.0])
    else:
        out.update(fm_kind="continual", fm_duty=rng.uniform(*s.fm_duty_continual))
    if phenotype == "abnormal-fm":
        # Exaggerated against normal FMs as an assessor sees them, not against the infant's own (unseen) normal
        # stream: ×af_gain of the normal range's centre, above the largest normal stream (SynthSettings checks
        # that af_gain allows no less) [Ein16]. The normal draw above is still made, so this infant's later
        # draws (FM kind, duty, bouts, body, camera, artefacts) are as before.
        gain = s.normal_fm_centre * rng.uniform(*s.af_gain)
        out.update(fm_kind="exaggerated-" + out["fm_kind"], fm_band_hz=list(s.af_band), fm_jerk=s.af_jerk)
    out["fm_gain"] = float(gain)
    out["fm_duty"] = float(out["fm_duty"])
    return out


def _cramped(rng: np.random.Generator, n: int, s: SynthSettings) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray],
                                                                         np.ndarray, float]:
    """The cramped-synchronised pattern: azimuth and elevation per joint (absolute degrees), driver, severity."""
    severity = float(rng.uniform(*s.severity))
    f0 = rng.uniform(0.2, 0.4)
    phase = 2 * np.pi * np.cumsum(f0 * (1 + 0.15 * bandlimited(rng, n, 1, 0.01, 0.1, s.fps)[:, 0])) / s.fps
    drive = 1 / (1 + np.exp(-3.0 * np.sin(phase)))
    rigid = bandlimited(rng, n, 4 * len(JOINTS), 0.3, 2.0, s.fps) * 0.2
    az, el = {}, {}
    for k, j in enumerate(JOINTS):
        for side_i, side in enumerate(SIDES):
            c = 2 * (2 * k + side_i)
            az[f"{side}_{j}"] = (REST[j] + severity * _CRAMP_POSTURE[j] + rng.normal(0, 3)
                                 + severity * _CRAMP_AMP[j] * drive + _NORMAL_AMP[j] * rigid[:, c])
            _, _, cb, ca = ELEVATION[j]
            el[f"{side}_{j}"] = cb + rng.normal(0, 3) + severity * ca * drive + 6.0 * rigid[:, c + 1]
    return az, el, drive, severity


def simulate_movement(rng: np.random.Generator, n: int, phenotype: str, s: SynthSettings) -> Movement:
    """Joint angles of one infant of ``phenotype`` over ``n`` frames (see the module docstring)."""
    if phenotype not in PHENOTYPES:
        raise ValueError(f"phenotype must be one of {PHENOTYPES}, got {phenotype!r}")
    fps = s.fps
    activity = float(rng.uniform(*s.activity))
    state, fussy, gain, draws = _states(rng, n, s)
    absent = phenotype == "absent-fm"
    gross_gain = float(rng.uniform(*s.absent_gross_gain))  # drawn always: same seed, same gross layer otherwise
    gross_gain = gross_gain if absent else 1.0
    variability = 0.5 if absent else 0.35
    gaz, gel, counts = _gross(rng, n, s, activity, gain, variability, gross_gain)
    fm_info = _fm_character(rng, phenotype, s)
    fm = np.zeros(n)
    stream = None
    if fm_info["fm_gain"] > 0:
        fm = bouts(rng, n, fm_info["fm_duty"], tuple(fm_info["fm_bout_s"]), fps) * np.clip(1 - 2 * fussy, 0, 1)
        band, jerk = tuple(fm_info["fm_band_hz"]), fm_info["fm_jerk"]
        # FMs wax and wane together over the whole body (arousal), each body part with its own detail
        common = np.exp(0.4 * bandlimited(rng, n, 1, 0.05, 0.5, fps)[:, 0])
        fm = fm * common / common.mean()
        stream = circular(rng, n, 2 * len(JOINTS) + 2, band, fps, jerk) * (fm_info["fm_gain"] * fm)[:, None, None]
    az, el = {}, {}
    for c, key in enumerate(gaz):
        j = key.split("_", 1)[1]
        az[key] = REST[j] + rng.normal(0, 4) + gaz[key]
        el[key] = ELEVATION[j][0] + rng.normal(0, 4) + gel[key]
        if stream is not None:
            az[key] += FM_DEG[j] * stream[:, c, 0]
            el[key] += FM_DEG[j] * stream[:, c, 1]
    head, trunk = np.zeros((n, 3)), np.zeros((n, 3))
    if stream is not None:
        h, t = stream[:, -2], stream[:, -1]
        roll = circular(rng, n, 2, tuple(fm_info["fm_band_hz"]), fps, fm_info["fm_jerk"])[..., 0]
        roll = roll * (fm_info["fm_gain"] * fm)[:, None]
        head = np.stack([FM_HEAD_DEG[0] * h[:, 0], FM_HEAD_DEG[1] * h[:, 1], FM_HEAD_DEG[2] * roll[:, 0]], axis=1)
        trunk = np.stack([FM_TRUNK[0] * t[:, 0], FM_TRUNK[1] * t[:, 1], FM_TRUNK[2] * roll[:, 1]], axis=1)
    normal_like = np.ones(n)
    drive = None
    if phenotype == "cramped-synchronised":
        caz, cel, drive, severity = _cramped(rng, n, s)
        normal_like = periods(rng, n, s.normal_share, (8.0, 25.0), fps)
        az = {k: normal_like * az[k] + (1 - normal_like) * caz[k] for k in az}
        el = {k: normal_like * el[k] + (1 - normal_like) * cel[k] for k in el}
        draws["severity"] = severity
        draws["normal_like_share"] = float(normal_like.mean())
    for key in el:
        lo, hi = ELEVATION_LIMITS.get(key.split("_", 1)[1], (-80.0, 80.0))
        el[key] = np.clip(el[key], lo, hi)
    draws.update(phenotype=phenotype, activity=activity, gross_gain=gross_gain, **counts, **fm_info,
                 fm_share=float(np.mean(fm > 0.25)))
    return Movement(phenotype, az, el, head, trunk, normal_like, fm, state, drive, draws)


# -- phenotype mixes ------------------------------------------------------------------------------------------------

def parse_mix(mix: str | Mapping[str, float] | Iterable[str] | Iterable[tuple[str, float]] | None,
              default: tuple[tuple[str, float], ...] = ()) -> tuple[tuple[str, float], ...]:
    """A phenotype mix as ``((name, weight), ...)``.

    Accepts a mapping name → weight, a list of names (equal weights; a name repeated counts again), a list of
    (name, weight) pairs, or text ``"absent-fm=2,sporadic-fm=1"`` / ``"absent-fm,abnormal-fm"``. ``None`` gives
    ``default``. Names are lower-cased and must be in :data:`PHENOTYPES`; weights must be ≥ 0 with a positive sum.
    """
    if mix is None:
        return tuple(default)
    if isinstance(mix, str):
        items: list = []
        for part in (p.strip() for p in mix.split(",")):
            if not part:
                continue
            name, _, w = part.partition("=")
            try:
                items.append((name, float(w) if w.strip() else 1.0))
            except ValueError:
                raise ValueError(f"phenotype weight {w!r} of {name!r} is not a number") from None
    elif isinstance(mix, Mapping):
        items = list(mix.items())
    else:
        items = [(m, 1.0) if isinstance(m, str) else tuple(m) for m in mix]
    weights: dict[str, float] = {}
    for name, w in items:
        key = str(name).strip().lower()
        if key not in PHENOTYPES:
            raise ValueError(f"unknown phenotype {name!r}; known: {', '.join(PHENOTYPES)}")
        if not np.isfinite(float(w)) or float(w) < 0:
            raise ValueError(f"phenotype weight of {name!r} must be a number >= 0, got {w!r}")
        weights[key] = weights.get(key, 0.0) + float(w)
    if not weights or sum(weights.values()) <= 0:
        raise ValueError("a phenotype mix needs at least one phenotype with a positive weight")
    return tuple((k, v) for k, v in weights.items() if v > 0)


def phenotype_sequence(mix: tuple[tuple[str, float], ...], n: int) -> list[str]:
    """``n`` phenotypes in proportion to the mix's weights, cycling (Sainte-Laguë order): the first draws give
    every phenotype whose weight is not far below the largest, so small cohorts get each of them; integer
    weights summing to ``n`` give exactly those counts. Deterministic; ties go to the earlier name."""
    names = [m for m, _ in mix]
    w = np.array([v for _, v in mix], float)
    count = np.zeros(len(names))
    out = []
    for _ in range(n):
        k = int(np.argmax(w / (2 * count + 1)))
        out.append(names[k])
        count[k] += 1
    return out


def choose_phenotype(rng: np.random.Generator, label: int, mix: tuple[tuple[str, float], ...]) -> str:
    """``normal-fm`` for label 0; for label 1 a phenotype drawn from the mix's abnormal phenotypes by weight."""
    if label == 0:
        return "normal-fm"
    ab = [(m, w) for m, w in mix if m != "normal-fm"]
    if not ab:
        raise ValueError("the abnormal phenotype mix has no abnormal phenotype")
    w = np.array([v for _, v in ab], float)
    return ab[int(rng.choice(len(ab), p=w / w.sum()))][0]
