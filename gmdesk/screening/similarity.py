"""Cosine similarity between snippet embeddings (an infant's snippets against reference snippets)."""

from __future__ import annotations

import logging

import numpy as np

logger = logging.getLogger(__name__)


def cosine_similarity_matrix(emb: np.ndarray, other: np.ndarray | None = None) -> np.ndarray:
    """Cosine similarity between every pair of embedding rows (of ``emb`` with ``other``, default
    ``emb`` itself); a zero row is similar to nothing (0)."""
    def unit(a: np.ndarray) -> np.ndarray:
        a = np.asarray(a, dtype=np.float64)
        norm = np.linalg.norm(a, axis=1, keepdims=True)
        return a / np.where(norm > 0, norm, 1.0)

    u = unit(emb)
    return u @ (u if other is None else unit(other)).T
