"""Every file format gmdesk reads or writes: DeepLabCut files, HDF5 without unpickling, TOML, pose tracks,
atomic writes, hashing, skeleton files and the shipped resources."""
