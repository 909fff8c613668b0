"""Body models of a synthetic infant: a supine body, its limb chains, a camera. **Synthetic data, not recordings
of infants.**

A kinematic model of a supine infant seen from above (24 landmarks of ``infant24``) with plausible body
proportions, driven by the joint-angle time series of :mod:`gmdesk.synthetic.movements`. The default model is
**3-D** (:func:`simulate_body_3d`): limbs lift off the mat towards the camera (a lifted limb looks shorter:
foreshortening; a limb near the camera looks larger: perspective), the head turns, hips and shoulders flex, and a
pinhole camera whose distance, tilt (up to 25° off vertical), roll and aim vary per recording projects the joints
to pixels. The earlier planar model stays available (:func:`simulate_body`).

Movement character comes from the infant's **phenotype** (see :mod:`gmdesk.synthetic.movements` for what each
changes and its published source):

* ``normal-fm`` — large movements (kicks, swipes, wiggling, calm and fussy periods) plus a continual or
  intermittent stream of small, circular fidgety movements of every limb joint, the head and the trunk [Pre97,
  EP05, HAP92].
* ``absent-fm`` (F−) — the same large movements, a little larger and more variable [Stø17], no fidgety stream
  (less curved trajectories [Kan17, Kan19]).
* ``sporadic-fm`` (F±) — fidgety movements in short sporadic bouts only [Ein16].
* ``abnormal-fm`` (AF) — the fidgety stream exaggerated in amplitude, speed and jerkiness [Ein16].
* ``cramped-synchronised`` (CS) — all limbs contract and relax together (one shared slow driver), held more
  flexed, rigid, head stiffer; a share (``normal_share``) of normal-looking periods without fidgety movements
  [EP05, Yan12].

In the planar model a joint's elevation (towards the camera) shows as foreshortening of the limb and as a bend of
the next joint, so the small circular movements stay two-dimensional in the image.
"""

from __future__ import annotations

import logging

import numpy as np

from gmdesk.core.skeleton import Skeleton
from gmdesk.synthetic.movements import Movement, bandlimited, simulate_movement
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
_LIFT_CHILD = {"shoulder": "elbow", "elbow": "wrist", "wrist": "elbow", "hip": "knee", "knee": "ankle", "ankle": "knee"}


def _movement_for(rng: np.random.Generator, n: int, phenotype: str | bool, s: SynthSettings,
                  movement: Movement | None) -> Movement:
    """The given movement, or a new one of ``phenotype`` (``False``/``True``: normal-fm/cramped-synchronised)."""
    if movement is not None:
        if len(movement.fm) != n:
            raise ValueError(f"the movement has {len(movement.fm)} frames, not {n}")
        return movement
    if isinstance(phenotype, (bool, np.bool_)):
        phenotype = "cramped-synchronised" if phenotype else "normal-fm"
    return simulate_movement(rng, n, phenotype, s)


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


def simulate_body(rng: np.random.Generator, n: int, phenotype: str | bool, s: SynthSettings,
                  skeleton: Skeleton, movement: Movement | None = None) -> tuple[np.ndarray, dict]:
    """Clean landmark positions in pixels, shape (n, 24, 2), and the infant's body parameters (planar model).

    ``phenotype``: one of :data:`~gmdesk.synthetic.settings.PHENOTYPES` (``False``/``True``: normal-fm /
    cramped-synchronised); ``movement``: a movement already simulated (then ``phenotype`` is not used).
    """
    size = rng.normal(1.0, s.body_size_sd)
    ppcm = rng.uniform(*s.px_per_cm)
    mv = _movement_for(rng, n, phenotype, s, movement)
    ang = dict(mv.azimuth)
    for key, el in mv.elevation.items():  # a lift shows in the plane as a bend of the next joint
        side, j = key.split("_", 1)
        ang[f"{side}_{_LIFT_CHILD[j]}"] = ang[f"{side}_{_LIFT_CHILD[j]}"] + 0.5 * (el - np.median(el))
    rigid = 0.3 + 0.7 * mv.normal_like  # head movement is rigid only while movements are cramped
    pos: dict[str, np.ndarray] = {}
    zero = np.zeros((n, 2))
    pos["sternum"] = zero
    pos["pelvis"] = zero + np.array([0.0, _PELVIS_Y * size])
    head_rot = np.radians(rigid * 10 * bandlimited(rng, n, 1, 0.05, 0.5, s.fps)[:, 0] + mv.head[:, 0] + mv.head[:, 2])
    c, si = np.cos(head_rot), np.sin(head_rot)
    for name, (hx, hy) in _HEAD.items():
        v = np.array([hx, hy]) * size - _NECK * size
        pos[name] = _NECK * size + np.stack([c * v[0] - si * v[1], si * v[0] + c * v[1]], axis=1)
    lift = {}
    for side, sign in (("left", 1.0), ("right", -1.0)):
        lift_arm = np.clip(1 - np.cos(np.radians(mv.elevation[f"{side}_shoulder"])), 0, 0.5)
        lift_leg = np.clip(1 - np.cos(np.radians(mv.elevation[f"{side}_hip"] - 20.0)), 0, 0.5)
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
    sway = bandlimited(rng, n, 3, 0.02, 0.3, s.fps) * np.array([0.6, 0.6, np.radians(2.0)])
    sway = sway + mv.trunk * np.array([1.0, 1.0, np.radians(1.0)])
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


def simulate_body_3d(rng: np.random.Generator, n: int, phenotype: str | bool, s: SynthSettings,
                     skeleton: Skeleton, movement: Movement | None = None) -> tuple[np.ndarray, dict, np.ndarray]:
    """Clean landmark positions in pixels ``(n, 24, 2)`` of a 3-D infant filmed by a pinhole camera,
    the recording's body and camera parameters, and the world positions ``(n, 24, 3)`` in cm.

    ``phenotype``: one of :data:`~gmdesk.synthetic.settings.PHENOTYPES` (``False``/``True``: normal-fm /
    cramped-synchronised); ``movement``: a movement already simulated (then ``phenotype`` is not used).
    """
    size = rng.normal(1.0, s.body_size_sd)
    mv = _movement_for(rng, n, phenotype, s, movement)
    ang, elev = mv.azimuth, mv.elevation
    rigid = 0.3 + 0.7 * mv.normal_like  # the head moves less while movements are cramped
    head = bandlimited(rng, n, 3, 0.02, 0.25, s.fps).clip(-2.5, 2.5)
    yaw = np.radians(rigid * 30 * head[:, 0] + mv.head[:, 0])  # turning the head to a side
    pitch = np.radians(rigid * 6 * head[:, 1] + mv.head[:, 1])
    roll_head = np.radians(rigid * 8 * head[:, 2] + mv.head[:, 2])
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
    sway = bandlimited(rng, n, 4, 0.02, 0.3, s.fps)
    trunk_roll = np.radians(5.0 * sway[:, 3].clip(-2.5, 2.5) + mv.trunk[:, 2])
    turn = np.radians(2.0 * sway[:, 2])
    rot = _rotation("z", turn) @ _rotation("y", trunk_roll)
    world = np.einsum("nij,nlj->nli", rot, body)
    place = np.stack([0.6 * sway[:, 0] + mv.trunk[:, 0], 0.6 * sway[:, 1] + mv.trunk[:, 1], np.full(n, -_MAT_Z)], axis=1)
    world = world + place[:, None, :]
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
