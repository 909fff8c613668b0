"""What a case writes out for other tools: the current track as a DLC file, the edit log as CSV."""

from __future__ import annotations

import csv
import logging
from pathlib import Path

from gmdesk.core.posetrack import PointStatus
from gmdesk.io.atomic import atomic_path
from gmdesk.io.dlc import write_dlc
from gmdesk.record.edits import CaseEdits
from gmdesk.record.store import CaseError

logger = logging.getLogger(__name__)


class CaseExport(CaseEdits):
    """Export of a case's current track and edit log (atomically: a failure writes nothing)."""

    def export_track(self, path: str | Path) -> Path:
        """Write the current track as a DLC ``.h5``/``.csv`` (atomically) for DLC / napari-deeplabcut."""
        try:
            return write_dlc(self.current_track(), path)
        except OSError as exc:
            raise CaseError(f"export to {path} failed ({exc.strerror or exc}); nothing was written") from None

    def export_edit_log(self, path: str | Path) -> Path:
        """Write the edit log as CSV, one row per changed point (atomically)."""
        lms = self._cur().landmarks
        path = Path(path)
        try:
            with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
                w = csv.writer(fh)
                w.writerow(["seq", "kind", "reverts", "author", "time", "frame", "landmark",
                            "old_x", "old_y", "old_status", "new_x", "new_y", "new_status"])
                for e in self.history():
                    for (f, j), o, n in zip(e.points, e.old, e.new, strict=True):
                        w.writerow([e.seq, e.kind, e.reverts or "", e.author, e.time, f, lms[j],
                                    "" if o[0] is None else o[0], "" if o[1] is None else o[1],
                                    PointStatus(o[2]).name.lower(), "" if n[0] is None else n[0],
                                    "" if n[1] is None else n[1], PointStatus(n[2]).name.lower()])
        except OSError as exc:
            raise CaseError(f"export to {path} failed ({exc.strerror or exc}); nothing was written") from None
        return path
