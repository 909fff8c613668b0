"""The errors pose estimators make, planted in a synthetic infant's clean positions with ground truth.
**Synthetic data, not recordings of infants.**

Detector noise is scaled to the body (shares of the crown–mid-hip length): white per-frame noise plus temporally
correlated jitter (0.1–4 Hz), larger at the hips (the worst-found joints) and a little at hands and feet
[Pas24, Jah25, NYCU in PHENOTYPES.md; the published 3.7±5.2 % of infant length is mostly the large-error tail,
which the planted errors below supply].

Each kind has its own ground-truth code (:data:`ARTEFACT_NAMES`): detector noise, low-likelihood
stretches, dropouts (NaN), confident jumps (some onto the mirror limb), confident left/right swaps of
3–90 frames (one pair, a limb chain, or the whole side) and occlusion runs (a hand or foot behind the
body, placed at the body's edge). The 3-D model gets all of them (:func:`add_artefacts_3d`); the planar
model short distal swaps and jumps only (:func:`add_artefacts`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from gmdesk.core.skeleton import Skeleton
from gmdesk.synthetic.movements import bandlimited
from gmdesk.synthetic.settings import SynthSettings

logger = logging.getLogger(__name__)

# Artefact codes of the ground truth.
CLEAN, NOISE_ONLY, LOW_LIKELIHOOD, DROPOUT, SWAP, JUMP, SIDE_SWAP, JUMP_OTHER_LIMB, OCCLUSION = range(9)
ARTEFACT_NAMES = {CLEAN: "clean", NOISE_ONLY: "noise", LOW_LIKELIHOOD: "low_likelihood", DROPOUT: "dropout",
                  SWAP: "swap", JUMP: "jump", SIDE_SWAP: "side_swap", JUMP_OTHER_LIMB: "jump_other_limb",
                  OCCLUSION: "occlusion"}


def body_length_px(truth: np.ndarray, skeleton: Skeleton) -> float:
    """Median crown–mid-hip length in pixels (four median bone lengths without those landmarks)."""
    try:
        top, lh, rh = (skeleton.index(q) for q in ("head_top", "left_hip", "right_hip"))
    except Exception:
        e = skeleton.edge_index
        return 4.0 * float(np.nanmedian(np.linalg.norm(truth[:, e[:, 0]] - truth[:, e[:, 1]], axis=-1)))
    return float(np.nanmedian(np.linalg.norm(truth[:, top] - (truth[:, lh] + truth[:, rh]) / 2, axis=-1)))


def _observe(rng: np.random.Generator, truth: np.ndarray, s: SynthSettings,
             skeleton: Skeleton) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Detector noise on every point and ordinary likelihoods: (xy, likelihood, code NOISE_ONLY).

    White noise and correlated jitter scaled to the crown–mid-hip length, larger at the hips."""
    n, L, _ = truth.shape
    body = body_length_px(truth, skeleton)
    factor = np.ones(L)
    for j, name in enumerate(skeleton.landmarks):
        if name.endswith("_hip"):
            factor[j] = s.hip_noise_factor
        elif name.endswith(("_hand", "_foot", "_wrist", "_ankle")):
            factor[j] = s.distal_noise_factor
    white = rng.uniform(*s.noise_body) * body
    jitter = rng.uniform(*s.jitter_body) * body
    noise = white * rng.standard_normal(truth.shape)
    if n >= 8 and jitter > 0:
        noise += jitter * bandlimited(rng, n, 2 * L, 0.1, 4.0, s.fps).reshape(n, L, 2)
    xy = truth + noise * factor[None, :, None]
    lik = np.clip(1 - rng.beta(1.2, 30, (n, L)), 0, 1)
    code = np.full((n, L), NOISE_ONLY, np.int8)
    return xy, lik, code


@dataclass
class _Planting:
    """Observations being spoilt in place (``xy``, ``lik``, ``code``), the clean positions they come from,
    the recording's length in minutes and its median bone length in pixels."""

    rng: np.random.Generator
    truth: np.ndarray
    xy: np.ndarray
    lik: np.ndarray
    code: np.ndarray
    minutes: float
    scale: float

    @classmethod
    def start(cls, rng: np.random.Generator, truth: np.ndarray, observed: tuple[np.ndarray, np.ndarray, np.ndarray],
              s: SynthSettings, skeleton: Skeleton) -> _Planting:
        e = skeleton.edge_index
        scale = float(np.nanmedian(np.linalg.norm(truth[:, e[:, 0]] - truth[:, e[:, 1]], axis=-1)))
        return cls(rng, truth, *observed, truth.shape[0] / s.fps / 60, scale)

    def events(self, rate: float, lo: int, hi: int, log: bool = False) -> list[tuple[int, int]]:
        """``[start, stop)`` frames of a Poisson number of events (``rate`` per minute), ``lo``–``hi`` frames
        long (log-uniform with ``log``)."""
        rng, n = self.rng, self.truth.shape[0]
        out = []
        for _ in range(rng.poisson(rate * self.minutes)):
            d = int(round(np.exp(rng.uniform(np.log(lo), np.log(hi))))) if log else int(rng.integers(lo, hi + 1))
            a = int(rng.integers(0, max(1, n - d)))
            out.append((a, a + d))
        return out

    def low_likelihood(self, j: int, rate: float) -> None:
        """Stretches where landmark ``j`` is found poorly: low likelihood, scattered positions."""
        rng = self.rng
        for a, b in self.events(rate, 3, 35):
            self.lik[a:b, j] = rng.uniform(0.02, 0.5, b - a)
            self.xy[a:b, j] = self.truth[a:b, j] + rng.normal(0, 0.3 * self.scale, (b - a, 2))
            self.code[a:b, j] = LOW_LIKELIHOOD

    def jump_away(self, j: int, a: int, b: int) -> None:
        """Frames ``[a, b)`` of landmark ``j`` put 0.6–1.6 bone lengths away in a random direction
        (the likelihood is the caller's)."""
        ang = self.rng.uniform(0, 2 * np.pi)
        offset = self.rng.uniform(0.6, 1.6) * self.scale * np.array([np.cos(ang), np.sin(ang)])
        self.xy[a:b, j] = self.truth[a:b, j] + offset
        self.code[a:b, j] = JUMP

    def exchange(self, a: int, b: int, li: list[int], ri: list[int], lik_range: tuple[float, float],
                 kind: int) -> None:
        """Frames ``[a, b)`` with the labels of the landmarks ``li`` and ``ri`` exchanged, found confidently."""
        self.xy[a:b, li + ri] = self.xy[a:b, ri + li].copy()
        self.lik[a:b, li + ri] = self.rng.uniform(*lik_range, (b - a, len(li) + len(ri)))
        self.code[a:b, li + ri] = kind

    def dropouts(self, rate: float) -> None:
        """Short runs (1–10 frames) of every landmark not found at all (NaN)."""
        for j in range(self.truth.shape[1]):
            for a, b in self.events(rate, 1, 10):
                self.xy[a:b, j] = np.nan
                self.lik[a:b, j] = np.nan
                self.code[a:b, j] = DROPOUT


def add_artefacts(rng: np.random.Generator, truth: np.ndarray, s: SynthSettings,
                  skeleton: Skeleton) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """DLC-like observations of clean positions: returns (xy, likelihood, artefact code).

    The 2-D model's artefacts (short distal swaps, jumps); the 3-D model uses :func:`add_artefacts_3d`.
    """
    xy, lik, code = _observe(rng, truth, s, skeleton)
    if not s.artefacts:
        return xy, lik, code
    p = _Planting.start(rng, truth, (xy, lik, code), s, skeleton)
    for j in range(truth.shape[1]):
        p.low_likelihood(j, s.low_likelihood_rate)
        for a, b in p.events(s.jump_rate, 1, 3):
            p.jump_away(j, a, b)
            lik[a:b, j] = rng.uniform(0.65, 0.99, b - a)
    # Left/right swaps of distal limb points (wrist+hand, ankle+foot), with confident likelihood.
    groups = [("wrist", "hand"), ("ankle", "foot"), ("elbow", "wrist", "hand"), ("knee", "ankle", "foot")]
    for parts in groups:
        try:
            li = [skeleton.index(f"left_{q}") for q in parts]
            ri = [skeleton.index(f"right_{q}") for q in parts]
        except Exception:
            continue
        for a, b in p.events(s.swap_rate / 2, 3, 15):
            p.exchange(a, b, li, ri, (0.7, 0.97), SWAP)
    p.dropouts(s.dropout_rate)
    return xy, lik, code


def _pair_chains(skeleton: Skeleton) -> list[tuple[list[int], list[int]]]:
    """For each mirror pair, the pair and its paired descendants away from the origin (e.g. wrists
    with hands), as (left indices, right indices)."""
    children: dict[int, list[int]] = {i: [] for i in range(skeleton.n_landmarks)}
    depth = skeleton.depth
    for a, b in skeleton.edge_index:
        parent, child = (a, b) if depth[a] < depth[b] else (b, a)
        children[int(parent)].append(int(child))
    partner = {int(i): int(j) for i, j in enumerate(skeleton.mirror_permutation) if i != j}
    out = []
    for a, b in skeleton.mirror_pairs:
        left, right = [skeleton.index(a)], [skeleton.index(b)]
        frontier = list(zip(left, right, strict=True))
        while frontier:
            nxt = []
            for la, rb in frontier:
                for c in children[la]:
                    if partner.get(c) in children[rb]:
                        left.append(c)
                        right.append(partner[c])
                        nxt.append((c, partner[c]))
            frontier = nxt
        out.append((left, right))
    return out


def _neighbours(skeleton: Skeleton, j: int) -> list[int]:
    e = skeleton.edge_index
    return [int(b) for a, b in e if a == j] + [int(a) for a, b in e if b == j]


def _jumps_3d(p: _Planting, j: int, partner: np.ndarray, s: SynthSettings) -> None:
    """Confident jumps of landmark ``j``, a share of them onto the other side's limb."""
    rng = p.rng
    for a, b in p.events(s.jump_rate, 1, 3):
        if partner[j] != j and rng.random() < s.jump_other_share:  # onto the other side's limb
            p.xy[a:b, j] = p.truth[a:b, partner[j]] + rng.normal(0, 1.5, (b - a, 2))
            p.code[a:b, j] = JUMP_OTHER_LIMB
        else:
            p.jump_away(j, a, b)
        p.lik[a:b, j] = rng.uniform(0.9, 1.0, b - a)


def _swaps_3d(p: _Planting, s: SynthSettings, skeleton: Skeleton) -> None:
    """Confident left/right swaps of one pair or a limb chain, and of the whole side."""
    chains = _pair_chains(skeleton)
    if not chains:
        return
    rng = p.rng
    for a, b in p.events(s.pair_swap_rate, *s.swap_frames, log=True):
        left, right = chains[int(rng.integers(len(chains)))]
        k = 1 if rng.random() < 0.5 else len(left)  # the pair alone, or with its paired descendants
        p.exchange(a, b, left[:k], right[:k], (0.9, 1.0), SWAP)
    li = [skeleton.index(q) for q, _ in skeleton.mirror_pairs]
    ri = [skeleton.index(q) for _, q in skeleton.mirror_pairs]
    for a, b in p.events(s.side_swap_rate, *s.swap_frames, log=True):
        p.exchange(a, b, li, ri, (0.9, 1.0), SIDE_SWAP)


def _occlusions(p: _Planting, s: SynthSettings, skeleton: Skeleton) -> None:
    """Occlusion: a hand or foot behind the body is placed by the estimator at the body's edge."""
    L = p.truth.shape[1]
    partner = skeleton.mirror_permutation
    depth = skeleton.depth
    leaves = [j for j in range(L) if partner[j] != j and depth[j] == depth[partner[j]]
              and not any(depth[c] > depth[j] for c in _neighbours(skeleton, j))]
    midline = [j for j in range(L) if partner[j] == j]
    if not leaves or len(midline) < 1:
        return
    rng, truth = p.rng, p.truth
    for a, b in p.events(s.occlusion_rate, *s.occlusion_frames):
        j = leaves[int(rng.integers(len(leaves)))]
        mid = truth[a:b][:, midline]
        nearest = np.argmin(np.linalg.norm(mid - truth[a:b, j][:, None, :], axis=-1), axis=1)
        edge = mid[np.arange(b - a), nearest]
        toward = truth[a:b, j] - edge
        toward /= np.maximum(np.linalg.norm(toward, axis=1, keepdims=True), 1e-9)
        p.xy[a:b, j] = edge + 0.35 * p.scale * toward + rng.normal(0, 2.0, (b - a, 2))
        p.lik[a:b, j] = rng.uniform(0.35, 0.85, b - a)
        p.code[a:b, j] = OCCLUSION


def add_artefacts_3d(rng: np.random.Generator, truth: np.ndarray, s: SynthSettings,
                     skeleton: Skeleton) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The errors pose estimators make, each kind with its own ground-truth code: detector noise,
    low-likelihood stretches, confident jumps (some to the mirror limb), confident left/right swaps of
    one pair or a limb chain (``swap_frames`` long), whole-side swaps, occlusion runs (a hand or foot
    behind the body, placed at the body's edge with middling likelihood) and dropouts (NaN)."""
    xy, lik, code = _observe(rng, truth, s, skeleton)
    if not s.artefacts:
        return xy, lik, code
    p = _Planting.start(rng, truth, (xy, lik, code), s, skeleton)
    partner = skeleton.mirror_permutation
    for j in range(truth.shape[1]):
        p.low_likelihood(j, s.low_likelihood_rate)
        _jumps_3d(p, j, partner, s)
    _swaps_3d(p, s, skeleton)
    _occlusions(p, s, skeleton)
    p.dropouts(s.dropout_rate)
    return xy, lik, code
