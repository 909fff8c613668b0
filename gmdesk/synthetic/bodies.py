"""Movement and body models of a synthetic infant: joint angles over time, a supine body, a camera.
**Synthetic data, not recordings of infants.**

A kinematic model of a supine infant seen from above (24 landmarks of ``infant24``) with plausible body
proportions, driven by joint-angle time series. The default model is **3-D** (:func:`simulate_body_3d`):
limbs lift off the mat towards the camera (a lifted limb looks shorter: foreshortening; a limb near the
camera looks larger: perspective), the head turns, hips and shoulders flex, and a pinhole camera whose
distance, tilt (up to 25° off vertical), roll and aim vary per recording projects the joints to pixels.
The earlier planar model stays available (:func:`simulate_body`). Movement character:

* **normal** — fidgety movements: small, circular, fluent, moderate speed, variable
  acceleration; each limb moves independently (band-limited noise per joint with a slowly
  varying amplitude envelope).
* **abnormal** — cramped-synchronised: all limbs contract and relax together (one shared
  slow driver), held more flexed, rigid, with little independent variability; a tunable
  share (``normal_share``) of normal-like (fidgety) periods inside the recording, as
  clinicians observe in infants with abnormal GMs.
"""

from __future__ import annotations

import logging

import numpy as np

from gmdesk.core.skeleton import Skeleton
from gmdesk.synthetic.settings import SynthSettings

logger = logging.getLogger(__name__)

# Body geometry in cm, body frame: origin at the sternum, +x to the infant's left, +y to the head.
_HEAD = {"head_top": (0.0, 14.0), "nose": (0.0, 9.5), "left_eye": (1.8, 10.2), "right_eye": (-1.8, 10.2),
         "left_ear": (4.6, 8.8), "right_ear": (-4.6, 8.8)}
_NECK = np.array([0.0, 3.0])
_SHOULDER = (6.5, -1.0)
_PELVIS_Y = -17.0
_HIP_X = 4.0
_ARM = (9.0, 8.0, 4.0)  # upper arm, forearm, hand
_LEG = (10.0, 9.0, 6.0)  # thigh, shank, foot
# Rest posture (degrees): limb chain directions measured from straight down (-y) towards the
# outside (+x on the left side); each next segment adds its bend.
_REST = {"shoulder": 60.0, "elbow": 75.0, "wrist": 10.0, "hip": 25.0, "knee": -45.0, "ankle": 70.0}
_NORMAL_AMP = {"shoulder": 9.0, "elbow": 10.0, "wrist": 12.0, "hip": 6.0, "knee": 8.0, "ankle": 10.0}
# Cramped-synchronised: extra flexion held, and the shared contraction's amplitude.
_CRAMP_POSTURE = {"shoulder": -20.0, "elbow": 25.0, "wrist": 10.0, "hip": -10.0, "knee": -20.0, "ankle": 10.0}
_CRAMP_AMP = {"shoulder": -22.0, "elbow": 35.0, "wrist": 12.0, "hip": -14.0, "knee": -30.0, "ankle": 15.0}
_JOINTS = tuple(_REST)


def _bandlimited(rng: np.random.Generator, n: int, channels: int, f_lo: float, f_hi: float, fps: float) -> np.ndarray:
    """Unit-variance noise with power only between ``f_lo`` and ``f_hi`` Hz, shape (n, channels)."""
    spec = np.fft.rfft(rng.standard_normal((n, channels)), axis=0)
    f = np.fft.rfftfreq(n, 1.0 / fps)
    spec[(f < f_lo) | (f > f_hi)] = 0
    x = np.fft.irfft(spec, n=n, axis=0)
    return x / (x.std(axis=0, keepdims=True) + 1e-12)


def _smooth_mask(rng: np.random.Generator, n: int, share: float, fps: float) -> np.ndarray:
    """1 inside randomly placed periods (8–25 s) covering about ``share`` of the time, else 0,
    with 1-s ramps."""
    m = np.zeros(n)
    if share <= 0:
        return m
    target = share * n
    tries = 0
    while m.sum() < target and tries < 200:
        length = int(rng.uniform(8, 25) * fps)
        start = int(rng.integers(0, max(1, n - length)))
        m[start : start + length] = 1.0
        tries += 1
    ramp = max(1, int(fps))
    kernel = np.ones(ramp) / ramp
    return np.clip(np.convolve(m, kernel, mode="same"), 0, 1)


def _joint_series(rng: np.random.Generator, n: int, abnormal: bool,
                  s: SynthSettings) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Joint-angle time series (degrees) per side (keys like ``left_elbow``) and the share of
    normal-like movement per frame (1 = fidgety, 0 = cramped-synchronised)."""
    ang, m, _, _ = _movement(rng, n, abnormal, s)
    return ang, m


def _movement(rng: np.random.Generator, n: int, abnormal: bool,
              s: SynthSettings) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray | None, float]:
    """:func:`_joint_series` plus the abnormal infant's shared contraction driver and severity."""
    fps = s.fps
    # Normal: independent fidgety movement on every joint and side.
    env = 0.6 + 0.8 * (0.5 + 0.5 * _bandlimited(rng, n, 1, 0.02, 0.12, fps).clip(-1, 1))
    fid = _bandlimited(rng, n, 2 * len(_JOINTS), 0.3, 1.6, fps) * env
    normal = {}
    for k, j in enumerate(_JOINTS):
        for side_i, side in enumerate(("left", "right")):
            base = _REST[j] + rng.normal(0, 4)
            normal[f"{side}_{j}"] = base + _NORMAL_AMP[j] * fid[:, 2 * k + side_i]
    if not abnormal:
        return normal, np.ones(n), None, 0.0
    severity = rng.uniform(*s.severity)
    # Shared slow contraction/relaxation driver in [0, 1], with some cycle-to-cycle jitter.
    f0 = rng.uniform(0.2, 0.4)
    phase = 2 * np.pi * np.cumsum(f0 * (1 + 0.15 * _bandlimited(rng, n, 1, 0.01, 0.1, fps)[:, 0])) / fps
    drive = 1 / (1 + np.exp(-3.0 * np.sin(phase)))
    rigid = _bandlimited(rng, n, 2 * len(_JOINTS), 0.3, 2.0, fps) * 0.2
    cramped = {}
    for k, j in enumerate(_JOINTS):
        for side_i, side in enumerate(("left", "right")):
            base = _REST[j] + severity * _CRAMP_POSTURE[j] + rng.normal(0, 3)
            cramped[f"{side}_{j}"] = (
                base + severity * _CRAMP_AMP[j] * drive + _NORMAL_AMP[j] * rigid[:, 2 * k + side_i]
            )
    m = _smooth_mask(rng, n, s.normal_share, fps)
    return {key: m * normal[key] + (1 - m) * cramped[key] for key in normal}, m, drive, float(severity)


def _chain(start: np.ndarray, lengths: tuple[float, ...], bends: list[np.ndarray], side: float,
           foreshorten: np.ndarray) -> list[np.ndarray]:
    """Positions of a limb chain from ``start`` with cumulative bend angles (degrees)."""
    pts = []
    p = start
    direction = np.zeros(len(start))
    for length, bend in zip(lengths, bends, strict=True):
        direction = direction + np.radians(bend)
        step = np.stack([side * np.sin(direction), -np.cos(direction)], axis=1) * (length * foreshorten)[:, None]
        p = p + step
        pts.append(p)
    return pts


def simulate_body(rng: np.random.Generator, n: int, abnormal: bool, s: SynthSettings,
                  skeleton: Skeleton) -> tuple[np.ndarray, dict]:
    """Clean landmark positions in pixels, shape (n, 24, 2), and the infant's body parameters."""
    size = rng.normal(1.0, s.body_size_sd)
    ppcm = rng.uniform(*s.px_per_cm)
    ang, normal_like = _joint_series(rng, n, abnormal, s)
    rigid = 0.3 + 0.7 * normal_like  # head movement is rigid only while movements are cramped
    pos: dict[str, np.ndarray] = {}
    zero = np.zeros((n, 2))
    pos["sternum"] = zero
    pos["pelvis"] = zero + np.array([0.0, _PELVIS_Y * size])
    head_rot = np.radians(rigid * 10 * _bandlimited(rng, n, 1, 0.05, 0.8, s.fps)[:, 0])
    c, si = np.cos(head_rot), np.sin(head_rot)
    for name, (hx, hy) in _HEAD.items():
        v = np.array([hx, hy]) * size - _NECK * size
        pos[name] = _NECK * size + np.stack([c * v[0] - si * v[1], si * v[0] + c * v[1]], axis=1)
    lift = {}
    for side, sign in (("left", 1.0), ("right", -1.0)):
        lift_arm = 0.12 * (0.5 + 0.5 * _bandlimited(rng, n, 1, 0.1, 1.0, s.fps)[:, 0].clip(-1, 1))
        lift_leg = 0.10 * (0.5 + 0.5 * _bandlimited(rng, n, 1, 0.1, 1.0, s.fps)[:, 0].clip(-1, 1))
        lift[side] = (lift_arm, lift_leg)
        sh = zero + np.array([sign * _SHOULDER[0], _SHOULDER[1]]) * size
        hip = zero + np.array([sign * _HIP_X, _PELVIS_Y]) * size
        pos[f"{side}_shoulder"], pos[f"{side}_hip"] = sh, hip
        e, w, h = _chain(sh, tuple(v * size for v in _ARM),
                         [ang[f"{side}_shoulder"], ang[f"{side}_elbow"], ang[f"{side}_wrist"]], sign, 1 - lift_arm)
        pos[f"{side}_elbow"], pos[f"{side}_wrist"], pos[f"{side}_hand"] = e, w, h
        k, a, f = _chain(hip, tuple(v * size for v in _LEG),
                         [ang[f"{side}_hip"], ang[f"{side}_knee"], ang[f"{side}_ankle"]], sign, 1 - lift_leg)
        pos[f"{side}_knee"], pos[f"{side}_ankle"], pos[f"{side}_foot"] = k, a, f
    missing = [lm for lm in skeleton.landmarks if lm not in pos]
    if missing:
        raise ValueError(f"the synthetic body model has no landmarks {missing}; use the infant24 skeleton")
    body = np.stack([pos[lm] for lm in skeleton.landmarks], axis=1)  # (n, L, 2) cm, +y to head
    # Whole-body sway, orientation and placement in the image (pixels, y down).
    sway = _bandlimited(rng, n, 3, 0.02, 0.3, s.fps) * np.array([0.6, 0.6, np.radians(2.0)])
    theta = np.radians(rng.normal(0, 8)) + sway[:, 2]
    ct, st = np.cos(theta)[:, None], np.sin(theta)[:, None]
    bx, by = body[..., 0], -body[..., 1]
    body_centre_cm = np.array([0.0, 11.0])  # roughly mid-body below the sternum (image y down)
    bx, by = bx - body_centre_cm[0], by - body_centre_cm[1]
    rx, ry = ct * bx - st * by, st * bx + ct * by
    w, h = s.image_size
    centre = np.array([w / 2 + rng.normal(0, 0.05 * w), h / 2 + rng.normal(0, 0.04 * h)])
    xy = np.stack([rx + sway[:, :1], ry + sway[:, 1:2]], axis=-1) * ppcm + centre
    # Keep the whole infant in view (a camera operator frames the baby): shrink, then shift.
    margin = 0.03 * np.array([w, h])
    lo, hi = xy.reshape(-1, 2).min(axis=0), xy.reshape(-1, 2).max(axis=0)
    shrink = min(1.0, *((np.array([w, h]) - 2 * margin) / (hi - lo)))
    if shrink < 1.0:
        mid = (lo + hi) / 2
        xy = (xy - mid) * shrink + mid
        ppcm *= shrink
        lo, hi = xy.reshape(-1, 2).min(axis=0), xy.reshape(-1, 2).max(axis=0)
    xy = xy + np.maximum(0, margin - lo) - np.maximum(0, hi - (np.array([w, h]) - margin))
    return xy, {"size": float(size), "px_per_cm": float(ppcm), "orientation_deg": float(np.degrees(theta[0]))}


# -- 3-D model ------------------------------------------------------------------------------------
# Body frame in cm: origin at the sternum, +x to the infant's left, +y to the head, +z up towards the
# camera (the infant lies supine on a mat at z = _MAT_Z). Joints move in 3-D: limbs lift off the mat,
# the head turns, hips and shoulders flex towards the camera; a pinhole camera projects them.
_MAT_Z = -6.0
_HEAD_CENTRE = np.array([0.0, 10.0, -0.5])
_HEAD_3D = {"head_top": (0.0, 4.0, -0.5), "nose": (0.0, -0.5, 5.0), "left_eye": (1.8, 0.2, 4.3),
            "right_eye": (-1.8, 0.2, 4.3), "left_ear": (4.6, -1.2, 0.5), "right_ear": (-4.6, -1.2, 0.5)}
_SHOULDER_3D = (6.5, -1.0, -3.0)
_HIP_3D = (4.0, -17.0, -3.5)
_PELVIS_3D = (0.0, -17.0, -1.0)
# Elevation of each segment (degrees, towards the camera), added along the chain: the upper arm's and
# thigh's own lift, then the forearm/shank and hand/foot relative to them.
#                 (normal base, normal slow amplitude, fidgety amplitude, cramped base, cramped amplitude)
_ELEVATION = {"shoulder": (12.0, 16.0, 6.0, 18.0, 25.0), "elbow": (8.0, 14.0, 8.0, 12.0, 20.0),
              "wrist": (0.0, 6.0, 8.0, 0.0, 5.0), "hip": (35.0, 20.0, 6.0, 45.0, 30.0),
              "knee": (-40.0, 16.0, 8.0, -55.0, -25.0), "ankle": (20.0, 6.0, 8.0, 20.0, 5.0)}
_ELEVATION_LIMITS = {"shoulder": (0.0, 75.0), "hip": (0.0, 85.0)}


def _elevation_series(rng: np.random.Generator, n: int, normal_like: np.ndarray, drive: np.ndarray | None,
                      severity: float, fps: float) -> dict[str, np.ndarray]:
    """Segment elevations (degrees) per side: independent slow lifts with fidgety detail in normal
    movement; one shared contraction (the cramped-synchronised driver) while movement is abnormal."""
    slow = _bandlimited(rng, n, 2 * len(_JOINTS), 0.03, 0.3, fps).clip(-2.5, 2.5)
    env = 0.6 + 0.8 * (0.5 + 0.5 * _bandlimited(rng, n, 1, 0.02, 0.12, fps).clip(-1, 1))
    fid = _bandlimited(rng, n, 2 * len(_JOINTS), 0.3, 1.6, fps) * env
    rigid = _bandlimited(rng, n, 2 * len(_JOINTS), 0.3, 2.0, fps) * 0.2
    out = {}
    for k, j in enumerate(_JOINTS):
        base, amp_slow, amp_fid, cramp_base, cramp_amp = _ELEVATION[j]
        for side_i, side in enumerate(("left", "right")):
            c = 2 * k + side_i
            normal = base + rng.normal(0, 4) + amp_slow * slow[:, c] + amp_fid * fid[:, c]
            if drive is None:
                e = normal
            else:
                cramped = cramp_base + rng.normal(0, 3) + severity * cramp_amp * drive + amp_fid * rigid[:, c]
                e = normal_like * normal + (1 - normal_like) * cramped
            lo, hi = _ELEVATION_LIMITS.get(j, (-80.0, 80.0))
            out[f"{side}_{j}"] = np.clip(e, lo, hi)
    return out


def _chain_3d(start: np.ndarray, lengths: tuple[float, ...], bends: list[np.ndarray], elevations: list[np.ndarray],
              side: float, floor: float) -> list[np.ndarray]:
    """Positions (n, 3) of a limb chain from ``start`` with cumulative in-plane bends and elevations
    (degrees). A segment that would pass below the mat is lowered onto it (same length and azimuth)."""
    pts = []
    p = start
    az = np.zeros(len(start))
    el = np.zeros(len(start))
    for length, bend, rise in zip(lengths, bends, elevations, strict=True):
        az = az + np.radians(bend)
        el = np.clip(el + np.radians(rise), np.radians(-85), np.radians(85))
        below = p[:, 2] + length * np.sin(el) < floor
        if below.any():
            el = el.copy()
            el[below] = np.arcsin(np.clip((floor - p[below, 2]) / length, -1, 1))
        d = np.stack([side * np.sin(az) * np.cos(el), -np.cos(az) * np.cos(el), np.sin(el)], axis=1)
        p = p + length * d
        pts.append(p)
    return pts


def _rotation(axis: str, angle: np.ndarray) -> np.ndarray:
    """Rotation matrices (n, 3, 3) about a body axis by ``angle`` (radians, per frame)."""
    c, s = np.cos(angle), np.sin(angle)
    one, zero = np.ones_like(angle), np.zeros_like(angle)
    if axis == "x":
        rows = [[one, zero, zero], [zero, c, -s], [zero, s, c]]
    elif axis == "y":
        rows = [[c, zero, s], [zero, one, zero], [-s, zero, c]]
    else:
        rows = [[c, -s, zero], [s, c, zero], [zero, zero, one]]
    return np.moveaxis(np.array(rows), (0, 1), (-2, -1))


def _camera(distance: float, tilt: float, azimuth: float, roll: float, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """World-to-camera rotation (rows: image right, image down, optical axis) and camera centre of a
    camera ``distance`` cm from ``target``, its optical axis ``tilt`` rad off vertical, rolled by ``roll``.
    The infant's head is at the top of the image before the roll."""
    centre = target + distance * np.array([np.sin(tilt) * np.cos(azimuth), np.sin(tilt) * np.sin(azimuth), np.cos(tilt)])
    forward = (target - centre) / distance
    up = np.array([0.0, 1.0, 0.0]) - forward[1] * forward
    up /= np.linalg.norm(up)
    down0 = -up
    right0 = np.cross(down0, forward)
    right = np.cos(roll) * right0 + np.sin(roll) * down0
    down = -np.sin(roll) * right0 + np.cos(roll) * down0
    return np.stack([right, down, forward]), centre


def project(points: np.ndarray, rotation: np.ndarray, centre: np.ndarray, focal_px: float,
            principal: np.ndarray) -> np.ndarray:
    """Pinhole projection of world points ``(..., 3)`` (cm) to pixels ``(..., 2)``."""
    pc = (points - centre) @ rotation.T
    return focal_px * pc[..., :2] / pc[..., 2:3] + principal


def simulate_body_3d(rng: np.random.Generator, n: int, abnormal: bool, s: SynthSettings,
                     skeleton: Skeleton) -> tuple[np.ndarray, dict, np.ndarray]:
    """Clean landmark positions in pixels ``(n, 24, 2)`` of a 3-D infant filmed by a pinhole camera,
    the recording's body and camera parameters, and the world positions ``(n, 24, 3)`` in cm."""
    size = rng.normal(1.0, s.body_size_sd)
    ang, normal_like, drive, severity = _movement(rng, n, abnormal, s)
    elev = _elevation_series(rng, n, normal_like, drive, severity, s.fps)
    rigid = 0.3 + 0.7 * normal_like  # the head moves less while movements are cramped
    head = _bandlimited(rng, n, 3, 0.02, 0.25, s.fps).clip(-2.5, 2.5)
    head_fid = _bandlimited(rng, n, 3, 0.3, 1.2, s.fps)
    yaw = np.radians(rigid * (30 * head[:, 0] + 4 * head_fid[:, 0]))  # turning the head to a side
    pitch = np.radians(rigid * (6 * head[:, 1] + 2 * head_fid[:, 1]))
    roll_head = np.radians(rigid * (8 * head[:, 2] + 2 * head_fid[:, 2]))
    r_head = _rotation("z", roll_head) @ _rotation("x", pitch) @ _rotation("y", yaw)
    pos: dict[str, np.ndarray] = {}
    zero = np.zeros((n, 3))
    pos["sternum"] = zero
    pos["pelvis"] = zero + np.array(_PELVIS_3D) * size
    for name, rel in _HEAD_3D.items():
        pos[name] = _HEAD_CENTRE * size + np.einsum("nij,j->ni", r_head, np.array(rel) * size)
    floor = _MAT_Z + 1.0
    for side, sign in (("left", 1.0), ("right", -1.0)):
        sh = zero + np.array([sign * _SHOULDER_3D[0], *_SHOULDER_3D[1:]]) * size
        hip = zero + np.array([sign * _HIP_3D[0], *_HIP_3D[1:]]) * size
        pos[f"{side}_shoulder"], pos[f"{side}_hip"] = sh, hip
        pos[f"{side}_elbow"], pos[f"{side}_wrist"], pos[f"{side}_hand"] = _chain_3d(
            sh, tuple(v * size for v in _ARM), [ang[f"{side}_{j}"] for j in ("shoulder", "elbow", "wrist")],
            [elev[f"{side}_{j}"] for j in ("shoulder", "elbow", "wrist")], sign, floor)
        pos[f"{side}_knee"], pos[f"{side}_ankle"], pos[f"{side}_foot"] = _chain_3d(
            hip, tuple(v * size for v in _LEG), [ang[f"{side}_{j}"] for j in ("hip", "knee", "ankle")],
            [elev[f"{side}_{j}"] for j in ("hip", "knee", "ankle")], sign, floor)
    missing = [lm for lm in skeleton.landmarks if lm not in pos]
    if missing:
        raise ValueError(f"the synthetic body model has no landmarks {missing}; use the infant24 skeleton")
    body = np.stack([pos[lm] for lm in skeleton.landmarks], axis=1)  # (n, L, 3) cm, body frame
    # The trunk rolls a little towards either side; the body sways on the mat (world: mat at z = 0).
    sway = _bandlimited(rng, n, 4, 0.02, 0.3, s.fps)
    trunk_roll = np.radians(5.0 * sway[:, 3].clip(-2.5, 2.5))
    turn = np.radians(2.0 * sway[:, 2])
    rot = _rotation("z", turn) @ _rotation("y", trunk_roll)
    world = np.einsum("nij,nlj->nli", rot, body)
    world = world + np.stack([0.6 * sway[:, 0], 0.6 * sway[:, 1], np.full(n, -_MAT_Z)], axis=1)[:, None, :]
    # Camera: distance, tilt off vertical (towards a random side), roll about the optical axis.
    distance = rng.uniform(*s.camera_distance_cm)
    tilt = np.radians(rng.uniform(0.0, s.tilt_deg))
    azimuth = rng.uniform(0, 2 * np.pi)
    roll = np.radians(rng.uniform(-s.roll_deg, s.roll_deg))
    target = np.array([0.0, -7.0 * size, 4.0])  # mid-body, a little above the mat
    w, h = s.image_size
    shift = np.array([rng.normal(0, s.position_sd[0] * w), rng.normal(0, s.position_sd[1] * h)])
    margin = 0.03 * np.array([w, h])
    for _ in range(6):  # a camera operator frames the whole baby: step back until it fits
        rotation, centre = _camera(distance, tilt, azimuth, roll, target)
        xy = project(world, rotation, centre, s.focal_px, np.array([w / 2, h / 2]) + shift)
        lo, hi = xy.reshape(-1, 2).min(axis=0), xy.reshape(-1, 2).max(axis=0)
        need = float(np.max((hi - lo) / (np.array([w, h]) - 2 * margin)))
        if need <= 1.0:
            break
        distance *= need * 1.03
    xy = xy + np.maximum(0, margin - lo) - np.maximum(0, hi - (np.array([w, h]) - margin))
    params = {"size": float(size), "camera_distance_cm": float(distance), "tilt_deg": float(np.degrees(tilt)),
              "tilt_azimuth_deg": float(np.degrees(azimuth)), "roll_deg": float(np.degrees(roll)),
              "focal_px": float(s.focal_px), "px_per_cm": float(s.focal_px / distance), "model": "3d"}
    return xy, params, world
