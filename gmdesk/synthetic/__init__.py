"""Synthetic infants and cohorts with ground truth, for tests, demos and benchmarks."""
