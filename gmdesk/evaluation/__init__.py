"""Judging models: cross-validation protocols, infant-level metrics, insight (ICA, similarity)."""
