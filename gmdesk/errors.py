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


class UsageError(GmdeskError):
    """The command line asks for something that must not be done (an output that is one of the inputs): the
    CLI exits with 2, like any other bad command line."""
