"""Core data types every stage shares: the skeleton (landmarks, parents, leaves, body axis) and the pose track."""
