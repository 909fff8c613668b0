"""Exceptions raised by gmdesk for bad input.

Every error names the file (where there is one) and says what is wrong, so a user can act
on the message without reading a traceback.
"""

from __future__ import annotations


class GmdeskError(Exception):
    """Base class of every error gmdesk raises on purpose."""


class SkeletonError(GmdeskError):
    """A skeleton file is malformed (unknown names, duplicates, missing keys)."""


class PoseFileError(GmdeskError):
    """A pose file cannot be read, or does not fit the skeleton."""


class RecordingTooShortError(GmdeskError):
    """A recording is shorter than one snippet window."""


class CancelledError(GmdeskError):
    """A long operation was cancelled by its caller."""
