"""File formats: DeepLabCut pose files, atomic writes."""
