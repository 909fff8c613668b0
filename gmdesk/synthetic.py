"""Synthetic infants for tests and the demo. **Synthetic data, not recordings of infants.**

A kinematic stick model of a supine infant seen from above (24 landmarks of ``infant24``)
with plausible body proportions, varying size and camera distance, driven by joint-angle
time series:

* **normal** — fidgety movements: small, circular, fluent, moderate speed, variable
  acceleration; each limb moves independently (band-limited noise per joint with a slowly
  varying amplitude envelope).
* **abnormal** — cramped-synchronised: all limbs contract and relax together (one shared
  slow driver), held more flexed, rigid, with little independent variability; a tunable
  share (``normal_share``) of normal-like (fidgety) periods inside the recording, as
  clinicians observe in infants with abnormal GMs.

DLC-like artefacts are then added — position noise, low-likelihood stretches, dropouts,
left/right swaps and outlier jumps — and the ground truth (clean positions and an
artefact code per point) is kept so cleaning can be scored.
"""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from gmdesk.io.dlc import write_dlc
from gmdesk.posetrack import PoseTrack
from gmdesk.progress import CancelFn, ProgressFn, check_cancel, report
from gmdesk.skeleton import Skeleton, load_skeleton

FPS = 29.97

# Artefact codes of the ground truth.
CLEAN, NOISE_ONLY, LOW_LIKELIHOOD, DROPOUT, SWAP, JUMP = 0, 1, 2, 3, 4, 5
ARTEFACT_NAMES = {CLEAN: "clean", NOISE_ONLY: "noise", LOW_LIKELIHOOD: "low_likelihood", DROPOUT: "dropout",
                  SWAP: "swap", JUMP: "jump"}


@dataclass(frozen=True)
class SynthSettings:
    """Parameters of one synthetic infant (defaults give a 2–3 min iPad-like recording).

    Rates are events per landmark (or per limb for swaps) per minute.
    """

    duration_s: tuple[float, float] = (120.0, 180.0)
    fps: float = FPS
    image_size: tuple[int, int] = (1920, 1080)
    px_per_cm: tuple[float, float] = (11.0, 17.0)  # camera distance
    body_size_sd: float = 0.07  # relative sd of segment lengths between infants
    normal_share: float = 0.25  # share of normal-like periods in abnormal infants
    severity: tuple[float, float] = (0.7, 1.0)  # strength of the abnormal pattern
    artefacts: bool = True
    noise_px: tuple[float, float] = (0.8, 1.6)
    low_likelihood_rate: float = 0.3
    dropout_rate: float = 0.15
    swap_rate: float = 0.4
    jump_rate: float = 0.8


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
        return normal, np.ones(n)
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
    return {key: m * normal[key] + (1 - m) * cramped[key] for key in normal}, m


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


def add_artefacts(rng: np.random.Generator, truth: np.ndarray, s: SynthSettings,
                  skeleton: Skeleton) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """DLC-like observations of clean positions: returns (xy, likelihood, artefact code)."""
    n, L, _ = truth.shape
    xy = truth + rng.normal(0, rng.uniform(*s.noise_px), truth.shape)
    lik = np.clip(1 - rng.beta(1.2, 30, (n, L)), 0, 1)
    code = np.full((n, L), NOISE_ONLY, np.int8)
    if not s.artefacts:
        return xy, lik, code
    minutes = n / s.fps / 60
    e = skeleton.edge_index
    scale = float(np.nanmedian(np.linalg.norm(truth[:, e[:, 0]] - truth[:, e[:, 1]], axis=-1)))

    def events(rate: float, lo: int, hi: int) -> list[tuple[int, int]]:
        out = []
        for _ in range(rng.poisson(rate * minutes)):
            d = int(rng.integers(lo, hi + 1))
            a = int(rng.integers(0, max(1, n - d)))
            out.append((a, a + d))
        return out

    for j in range(L):
        for a, b in events(s.low_likelihood_rate, 3, 35):
            lik[a:b, j] = rng.uniform(0.02, 0.5, b - a)
            xy[a:b, j] = truth[a:b, j] + rng.normal(0, 0.3 * scale, (b - a, 2))
            code[a:b, j] = LOW_LIKELIHOOD
        for a, b in events(s.jump_rate, 1, 3):
            ang = rng.uniform(0, 2 * np.pi)
            xy[a:b, j] = truth[a:b, j] + rng.uniform(0.6, 1.6) * scale * np.array([np.cos(ang), np.sin(ang)])
            lik[a:b, j] = rng.uniform(0.65, 0.99, b - a)
            code[a:b, j] = JUMP
    # Left/right swaps of distal limb points (wrist+hand, ankle+foot), with confident likelihood.
    groups = [("wrist", "hand"), ("ankle", "foot"), ("elbow", "wrist", "hand"), ("knee", "ankle", "foot")]
    for parts in groups:
        try:
            li = [skeleton.index(f"left_{p}") for p in parts]
            ri = [skeleton.index(f"right_{p}") for p in parts]
        except Exception:
            continue
        for a, b in events(s.swap_rate / 2, 3, 15):
            xy[a:b, li + ri] = xy[a:b, ri + li].copy()
            lik[a:b, li + ri] = rng.uniform(0.7, 0.97, (b - a, 2 * len(parts)))
            code[a:b, li + ri] = SWAP
    for j in range(L):
        for a, b in events(s.dropout_rate, 1, 10):
            xy[a:b, j] = np.nan
            lik[a:b, j] = np.nan
            code[a:b, j] = DROPOUT
    return xy, lik, code


@dataclass
class SyntheticInfant:
    """One synthetic recording: observed track, clean truth and artefact codes."""

    infant_id: str
    label: int
    track: PoseTrack
    truth_xy: np.ndarray
    artefact: np.ndarray
    params: dict

    def save_truth(self, path: str | Path) -> Path:
        """Write the ground truth to ``.npz`` (no pickle)."""
        path = Path(path)
        np.savez_compressed(path, truth_xy=self.truth_xy, artefact=self.artefact,
                            params=np.array(json.dumps(self.params)), codes=np.array(json.dumps(ARTEFACT_NAMES)))
        return path


def load_truth(path: str | Path) -> tuple[np.ndarray, np.ndarray, dict]:
    """Read a ground-truth file: (truth_xy, artefact codes, params)."""
    with np.load(path, allow_pickle=False) as z:
        return z["truth_xy"], z["artefact"], json.loads(str(z["params"]))


def make_infant(infant_id: str, label: int, seed: int | list[int], settings: SynthSettings | None = None,
                skeleton: Skeleton | None = None, n_frames: int | None = None) -> SyntheticInfant:
    """Simulate one infant.

    Parameters
    ----------
    infant_id : str
    label : int
        0 normal (fidgety), 1 abnormal (cramped-synchronised).
    seed : int or list of int
        Seed of the random generator; same seed → same infant.
    settings : SynthSettings, optional
    skeleton : Skeleton, optional
        Default infant24 (the body model needs its landmark names).
    n_frames : int, optional
        Length; default drawn from ``settings.duration_s``.
    """
    s = settings or SynthSettings()
    skeleton = skeleton or load_skeleton()
    rng = np.random.default_rng(seed)
    n = n_frames or int(rng.uniform(*s.duration_s) * s.fps)
    truth, body = simulate_body(rng, n, bool(label), s, skeleton)
    xy, lik, code = add_artefacts(rng, truth, s, skeleton)
    code[np.isnan(truth).any(-1)] = DROPOUT
    track = PoseTrack.from_xy(xy, skeleton.landmarks, s.fps, lik, source="gmdesk.synthetic")
    track.meta = {"source": f"synthetic:{infant_id}", "scorer": "gmdesk-synthetic", "synthetic": True}
    params = {"infant_id": infant_id, "label": int(label), "seed": seed, "frames": n,
              "settings": asdict(s), "body": body, "synthetic": True}
    track.provenance[-1]["params"]["synthetic"] = json.loads(json.dumps(params))
    return SyntheticInfant(infant_id, int(label), track, truth, code, params)


def generate_cohort(
    outdir: str | Path,
    n_normal: int = 6,
    n_abnormal: int = 4,
    n_external_normal: int = 2,
    n_external_abnormal: int = 1,
    seed: int = 0,
    settings: SynthSettings | None = None,
    truth: bool = True,
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
) -> Path:
    """Write a synthetic cohort: one DLC ``.h5`` per infant (plus ground truth) and ``cohort.csv``.

    The defaults mirror the paper's 13 infants: 10 internal (6 normal, 4 abnormal) and 3
    external (2 normal, 1 abnormal). ``cohort.csv`` has columns infant_id, label
    (normal/abnormal), set (internal/external), pose_file (relative to the csv), fps, synthetic.

    Returns
    -------
    Path
        The cohort table.
    """
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    plan = ([("internal", 0)] * n_normal + [("internal", 1)] * n_abnormal
            + [("external", 0)] * n_external_normal + [("external", 1)] * n_external_abnormal)
    rows = []
    for i, (which, label) in enumerate(plan):
        check_cancel(cancel, "synthetic cohort")
        iid = f"{'N' if label == 0 else 'A'}{i + 1:02d}"
        inf = make_infant(iid, label, [seed, i], settings)
        pose = out / f"{iid}.h5"
        write_dlc(inf.track, pose)
        if truth:
            inf.save_truth(out / f"{iid}.truth.npz")
        rows.append({"infant_id": iid, "label": "abnormal" if label else "normal", "set": which,
                     "pose_file": pose.name, "fps": inf.track.fps, "synthetic": "yes"})
        report(progress, i + 1, len(plan), iid)
    table = out / "cohort.csv"
    with open(table, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    (out / "README.txt").write_text(
        f"SYNTHETIC DATA generated by gmdesk.synthetic (seed {seed}). These are simulated stick-figure\n"
        "infants, not recordings of real infants; they exist for testing and demonstration only.\n",
        encoding="utf-8",
    )
    return table


def render_video(
    xy: np.ndarray,
    skeleton: Skeleton,
    path: str | Path,
    fps: float = FPS,
    size: tuple[int, int] = (1920, 1080),
    scale: float = 1.0,
    offset: tuple[float, float] = (0.0, 0.0),
    frames: slice | None = None,
    codec: str = "mp4v",
) -> Path:
    """Render an infant figure from positions to a video file (OpenCV writer).

    Each frame draws the body on a plain blanket-coloured background: limbs as thick
    segments, the head as an ellipse, joints as dots coloured per landmark, so a pose
    estimator can learn them. Positions are mapped as ``xy * scale + offset``.
    """
    import cv2

    path = Path(path)
    w, h = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*codec), fps, (w, h))
    if not writer.isOpened():
        raise OSError(f"cannot open a video writer for {path} (codec {codec})")
    data = xy[frames] if frames is not None else xy
    pts_all = data * scale + np.asarray(offset)
    thick = max(2, int(round(0.012 * min(w, h) * max(scale, 0.05))))  # limb width grows with the image
    rng = np.random.default_rng(0)
    colours = [tuple(int(c) for c in rng.integers(40, 255, 3)) for _ in skeleton.landmarks]
    bg = np.full((h, w, 3), (180, 200, 215), np.uint8)
    edges = skeleton.edge_index
    try:
        for pts in pts_all:
            img = bg.copy()
            ok = np.isfinite(pts).all(axis=1)
            p = np.where(ok[:, None], pts, 0).round().astype(np.int32)
            for a, b in edges:
                if ok[a] and ok[b]:
                    cv2.line(img, tuple(p[a]), tuple(p[b]), (120, 150, 200), thick * 2, cv2.LINE_AA)
            for j in range(len(p)):
                if ok[j]:
                    cv2.circle(img, tuple(p[j]), max(2, thick), colours[j], -1, cv2.LINE_AA)
            writer.write(img)
    finally:
        writer.release()
    return path
