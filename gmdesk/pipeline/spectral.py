"""Spectral power of each joint's movement in frequency bands.

Fidgety movements are small movements of moderate speed, continual at 9-20 weeks post-term, seen by
Prechtl as circular movements of small amplitude at a few per second; their absence leaves large, slow
movements (writhing-like or sporadic). Frequency-band power of joint trajectories is a common
descriptor in automated GMA (e.g. Stahl et al. 2012, IEEE TNSRE 20(5); Adde et al. 2010 "frequency of
movement"; Orlandi et al. 2018).

Per landmark: the Hann-windowed power spectrum of its displacement about its mean position (x and y summed),
the share of the power (0 Hz excluded, up to the Nyquist frequency) in each band of :data:`BANDS`, as
log(share + 1e-4); and log of the total power (in body sizes², plus 1e-8). Then the mean of each over all
landmarks and over the end effectors.
"""

from __future__ import annotations

import logging

import numpy as np

from gmdesk.pipeline.body_frame import SnippetLayout, body_points, finite

logger = logging.getLogger(__name__)

#: Frequency bands in Hz: [low, high).
BANDS = ((0.0, 0.5), (0.5, 1.5), (1.5, 3.0), (3.0, 6.0))


def band_shares(p: np.ndarray, fps: float, bands: tuple[tuple[float, float], ...] = BANDS,
                taper: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Share of each landmark's movement power per band ``(n, landmarks, bands)`` and the total ``(n, landmarks)``
    (``taper``: a Hann window over the snippet first)."""
    T = p.shape[1]
    disp = p - p.mean(axis=1, keepdims=True)
    if taper:
        disp = disp * np.hanning(T)[None, :, None, None]
    spec = (np.abs(np.fft.rfft(disp, axis=1)) ** 2).sum(axis=-1)  # (n, F, L)
    f = np.fft.rfftfreq(T, 1.0 / fps)
    total = spec[:, f > 0].sum(axis=1)
    shares = np.stack([spec[:, (f > 0) & (f >= lo) & (f < hi)].sum(axis=1) for lo, hi in bands], axis=-1)
    return shares / np.maximum(total, 1e-12)[..., None], total


def spectral_descriptors(X: np.ndarray, layout: SnippetLayout) -> np.ndarray:
    """Log band shares and log total power per landmark, then their means over all landmarks and end effectors."""
    X = np.asarray(X)
    n = len(X)
    if not layout.coord_columns:
        return np.zeros((n, 0))
    shares, total = band_shares(body_points(X, layout.coord_columns), layout.fps)
    per = np.concatenate([np.log(shares + 1e-4), np.log(total + 1e-8)[..., None]], axis=-1)  # (n, L, 5)
    ee = list(layout.end_effectors)
    parts = [per.reshape(n, -1), per.mean(axis=1), per[:, ee].mean(axis=1) if ee else np.zeros((n, per.shape[2]))]
    return finite(np.concatenate(parts, axis=1))
