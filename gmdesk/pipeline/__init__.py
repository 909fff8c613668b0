"""Per-recording steps: cleaning, the review queue, features, movement descriptors, snippets, cohorts."""
