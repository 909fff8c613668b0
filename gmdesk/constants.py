"""The method's numbers, defined once (paper section 3: 10-s windows at 29.97 fps, overlap 150, the 60 % rule)."""

from __future__ import annotations

#: Frames in one snippet: 10 s at 29.97 fps (paper section 3.2).
WINDOW = 300
#: Default overlap between consecutive snippets, in frames (paper: 150).
DEFAULT_OVERLAP = 150
#: The overlaps of the paper's sweep (Fig. 2).
PAPER_OVERLAPS = (299, 290, 270, 250, 200, 150, 100)
#: Frame rate assumed when a file does not store one (iPad video).
DEFAULT_FPS = 29.97
#: Frame rates gmdesk accepts anywhere (command line, pose files, cohort tables, tracks, model bundles).
MIN_FPS, MAX_FPS = 1.0, 1000.0
#: An infant is normal if *more than* this share of its snippets is classified normal (paper: 60 %).
DEFAULT_THRESHOLD = 0.6
#: A snippet is classified abnormal when P(abnormal) is at least this.
DEFAULT_DECISION = 0.5
#: Fewest valid snippets for a verdict (8 snippets at overlap 150 span 45 s of movement; with fewer the
#: interval of the normal share is so wide that nearly every verdict would be indeterminate anyway). At overlap 250
#: 8 snippets span 22 s: the interval, counted in non-overlapping windows, is then what makes it indeterminate.
DEFAULT_MIN_SNIPPETS = 8
