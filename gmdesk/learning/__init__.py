"""Snippet classifiers (one module per family), calibration, model bundles and their cards."""
