"""Video access: a frame-exact reader and the seek proxy."""
