"""Landmarks from video with a site's DeepLabCut model."""
