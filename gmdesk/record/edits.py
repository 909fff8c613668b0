"""Edits of a case's track: an **append-only edit log** replayed over the cleaned track.

Every edit is committed in its own transaction the moment it is made. Undo and redo append entries that
re-apply the recorded old or new values, so the log is never rewritten and the audit trail is complete;
the undo/redo position is derived from the log and maps one-to-one onto a GUI undo stack. Rows are
validated against the track's shape and the undo/redo rules when read.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass

import numpy as np

from gmdesk.core.posetrack import PointStatus, PoseTrack
from gmdesk.pipeline.imputation import impute_gaps
from gmdesk.record.casefile import CaseFile
from gmdesk.record.store import STATUS_CODES, CaseError, json_column, now

logger = logging.getLogger(__name__)

EDIT_KINDS = ("move", "delete", "restore", "interpolate-range", "copy-from-previous", "swap")
LOG_KINDS = EDIT_KINDS + ("undo", "redo")


@dataclass(frozen=True)
class EditEntry:
    """One row of the edit log."""

    seq: int
    kind: str
    landmark: str
    frame: int
    frame_stop: int
    points: list[tuple[int, int]]
    old: list[tuple[float, float, int]]
    new: list[tuple[float, float, int]]
    author: str
    time: str
    reverts: int | None


def _nan_json(v: float) -> float | None:
    return None if not np.isfinite(v) else float(v)


def _apply(track: PoseTrack, points: list, values: list) -> None:
    if not len(points):
        return
    idx = np.asarray(points, dtype=int)
    vals = np.array([[np.nan if v[0] is None else v[0], np.nan if v[1] is None else v[1]] for v in values])
    track.xy[idx[:, 0], idx[:, 1]] = vals
    track.status[idx[:, 0], idx[:, 1]] = [v[2] for v in values]


class CaseEdits(CaseFile):
    """The edit log of a case, the current track it makes, and the edit operations with undo and redo."""

    # -- the log and the current track --------------------------------------------------------
    def _edit_rows(self) -> list[tuple]:
        return self.conn.execute(
            "SELECT seq, kind, landmark, frame, frame_stop, points, old, new, author, time, reverts FROM edits ORDER BY seq"
        ).fetchall()

    def _checked_edits(self) -> list[EditEntry]:
        """Every edit row, validated against the track's shape and the undo/redo rules."""
        n, L = self.raw_track().xy.shape[:2]
        out = []
        undo: list[int] = []
        redo: list[int] = []
        for r in self._edit_rows():
            seq, kind = r[0], r[1]
            where = f"case file {self.path}: edit {seq}"
            if kind not in LOG_KINDS:
                raise CaseError(f"{where} has unknown kind {kind!r} (damaged)")
            points, old, new = json_column(r[5], where, list), json_column(r[6], where, list), json_column(r[7], where, list)
            if not (len(points) == len(old) == len(new)):
                raise CaseError(f"{where} is damaged (points and values differ in number)")
            for pt in points:
                if not (isinstance(pt, list) and len(pt) == 2 and all(isinstance(v, int) for v in pt)
                        and 0 <= pt[0] < n and 0 <= pt[1] < L):
                    raise CaseError(f"{where} is damaged (point {str(pt)[:40]} outside {n} frames x {L} landmarks)")
            for v in (*old, *new):
                if not (isinstance(v, list) and len(v) == 3 and v[2] in STATUS_CODES
                        and all(c is None or (isinstance(c, int | float) and math.isfinite(c)) for c in v[:2])):
                    raise CaseError(f"{where} is damaged (value {str(v)[:40]})")
            if kind == "undo":
                if not undo or r[10] != undo[-1]:
                    raise CaseError(f"{where} is damaged: an undo of edit {r[10]} where the log has "
                                    f"{'nothing to undo' if not undo else f'edit {undo[-1]} to undo'}")
                redo.append(undo.pop())
            elif kind == "redo":
                if not redo or r[10] != redo[-1]:
                    raise CaseError(f"{where} is damaged: a redo of edit {r[10]} where the log has "
                                    f"{'nothing to redo' if not redo else f'edit {redo[-1]} to redo'}")
                undo.append(redo.pop())
            else:
                undo.append(seq)
                redo.clear()
            out.append(EditEntry(seq, kind, r[2], r[3], r[4], [tuple(p) for p in points], [tuple(v) for v in old],
                                 [tuple(v) for v in new], r[8], r[9], r[10]))
        self._stack = (undo, redo)
        return out

    def current_track(self) -> PoseTrack:
        """Base track with every logged edit replayed in order (a copy)."""
        if self._current is None:
            t = self.base_track()
            edits = self._checked_edits()
            for e in edits:
                _apply(t, e.points, e.new)
            if edits:
                t.record("replay_edits", {"case": str(self.path)}, edits=len(edits))
            self._current = t
        return self._current.copy()

    def history(self) -> list[EditEntry]:
        """The whole edit log in order (validated)."""
        return self._checked_edits()

    def edit_position(self) -> int:
        """Sequence number of the latest edit-log entry (0 when there is none)."""
        return int(self.conn.execute("SELECT COALESCE(MAX(seq), 0) FROM edits").fetchone()[0])

    # -- edits --------------------------------------------------------------------------------
    def _cur(self) -> PoseTrack:
        if self._current is None:
            self.current_track()
        assert self._current is not None
        return self._current

    def _landmark(self, name: str) -> int:
        lms = self._cur().landmarks
        if name not in lms:
            raise CaseError(f"case {self.path}: no landmark {name!r}")
        return lms.index(name)

    def _frame(self, frame: int) -> int:
        n = self._cur().n_frames
        if not 0 <= frame < n:
            raise CaseError(f"case {self.path}: frame {frame} outside 0..{n - 1}")
        return int(frame)

    def _write_edit(self, kind: str, landmark: str, frame: int, frame_stop: int, points: list[list[int]],
                    new: list[list], reverts: int | None = None, old: list[list] | None = None) -> int:
        cur = self._cur()
        if old is None:
            old = [[_nan_json(cur.xy[f, j, 0]), _nan_json(cur.xy[f, j, 1]), int(cur.status[f, j])] for f, j in points]
        with self._writing(f"the {kind} edit") as conn:
            c = conn.execute(
                "INSERT INTO edits(kind, landmark, frame, frame_stop, points, old, new, author, time, reverts) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (kind, landmark, frame, frame_stop, json.dumps(points), json.dumps(old), json.dumps(new), self.author,
                 now(), reverts),
            )
        _apply(cur, points, new)
        seq = int(c.lastrowid)
        if self._stack is not None:
            undo, redo = self._stack
            if kind == "undo":
                redo.append(undo.pop())
            elif kind == "redo":
                undo.append(redo.pop())
            else:
                undo.append(seq)
                redo.clear()
        return seq

    def move(self, frame: int, landmark: str, x: float, y: float) -> int:
        """Place ``landmark`` at (x, y) in ``frame`` (status EDITED). Returns the log sequence number."""
        f, j = self._frame(frame), self._landmark(landmark)
        if not (np.isfinite(x) and np.isfinite(y)):
            raise CaseError("move needs finite coordinates; use delete to mark a point missing")
        return self._write_edit("move", landmark, f, f + 1, [[f, j]], [[float(x), float(y), int(PointStatus.EDITED)]])

    def delete(self, frame: int, landmark: str) -> int:
        """Mark ``landmark`` missing in ``frame``."""
        f, j = self._frame(frame), self._landmark(landmark)
        return self._write_edit("delete", landmark, f, f + 1, [[f, j]], [[None, None, int(PointStatus.MISSING)]])

    def restore(self, frame: int, landmark: str) -> int:
        """Put back the cleaned (pre-edit) value of ``landmark`` in ``frame``."""
        f, j = self._frame(frame), self._landmark(landmark)
        base = self.base_track()
        new = [[_nan_json(base.xy[f, j, 0]), _nan_json(base.xy[f, j, 1]), int(base.status[f, j])]]
        return self._write_edit("restore", landmark, f, f + 1, [[f, j]], new)

    def set_points(self, frame: int, points: dict[str, tuple[float, float]]) -> int:
        """Place several landmarks in ``frame`` at once (one ``move`` entry, one undo step);
        used to paste points copied from another frame. NaN coordinates mark a point missing."""
        f = self._frame(frame)
        if not points:
            raise CaseError("no points to set")
        pts, new = [], []
        for name, (x, y) in points.items():
            pts.append([f, self._landmark(name)])
            ok = np.isfinite(x) and np.isfinite(y)
            new.append([float(x) if ok else None, float(y) if ok else None,
                        int(PointStatus.EDITED if ok else PointStatus.MISSING)])
        label = next(iter(points)) if len(points) == 1 else "*"
        return self._write_edit("move", label, f, f + 1, pts, new)

    def copy_from_previous(self, frame: int, landmarks: list[str] | None = None) -> int:
        """Copy the previous frame's points (all landmarks, or ``landmarks``) into ``frame``; points
        missing in the previous frame are skipped (a deletion is not spread)."""
        f = self._frame(frame)
        if f == 0:
            raise CaseError("frame 0 has no previous frame")
        cur = self._cur()
        names = list(landmarks) if landmarks else list(cur.landmarks)
        idx = [j for j in (self._landmark(n) for n in names) if np.isfinite(cur.xy[f - 1, j]).all()]
        if not idx:
            raise CaseError(f"frame {f - 1} has no point of {names[0] if len(names) == 1 else 'these landmarks'} to copy")
        pts = [[f, j] for j in idx]
        new = [[float(cur.xy[f - 1, j, 0]), float(cur.xy[f - 1, j, 1]), int(PointStatus.EDITED)] for j in idx]
        label = cur.landmarks[idx[0]] if len(idx) == 1 else "*"
        return self._write_edit("copy-from-previous", label, f, f + 1, pts, new)

    def swap_range(self, left: str, right: str, start: int, stop: int) -> int:
        """Exchange two landmarks (a left/right pair) over frames ``[start, stop)`` — one edit; the
        swapped points keep their positions and become EDITED (a person decided which is which)."""
        a, b = self._landmark(left), self._landmark(right)
        cur = self._cur()
        start, stop = int(start), int(stop)
        if a == b or not (0 <= start < stop <= cur.n_frames):
            raise CaseError(f"swap needs two landmarks and frames inside 0..{cur.n_frames - 1}")
        pts, new = [], []
        for f in range(start, stop):
            for j, k in ((a, b), (b, a)):
                ok = bool(np.isfinite(cur.xy[f, k]).all())
                pts.append([f, j])
                new.append([float(cur.xy[f, k, 0]) if ok else None, float(cur.xy[f, k, 1]) if ok else None,
                            int(PointStatus.EDITED if ok else PointStatus.MISSING)])
        return self._write_edit("swap", f"{left}/{right}", start, stop, pts, new)

    def interpolate_range(self, landmark: str, start: int, stop: int) -> int:
        """Replace frames ``[start, stop)`` of ``landmark`` by a makima interpolation through the
        points outside the range (status IMPUTED): the cleaning's own imputation, run on this landmark
        alone with the range taken out."""
        j = self._landmark(landmark)
        cur = self._cur()
        start, stop = int(start), int(stop)
        if not (0 < start < stop < cur.n_frames):
            raise CaseError(f"interpolation range {start}..{stop} needs points on both sides inside 0..{cur.n_frames - 1}")
        valid = np.isfinite(cur.xy[:, j]).all(axis=1)
        valid[start:stop] = False
        if not (valid[:start].any() and valid[stop:].any()) or valid.sum() < 3:
            raise CaseError(f"{landmark}: not enough observed points around frames {start}..{stop - 1} to interpolate")
        one = PoseTrack(np.where(valid[:, None], cur.xy[:, j], np.nan)[:, None], cur.likelihood[:, [j]],
                        cur.status[:, [j]], cur.fps, (landmark,))
        impute_gaps(one, max_gap=cur.n_frames)  # every inner gap filled, the range's among them
        vals = one.xy[start:stop, 0]
        pts = [[f, j] for f in range(start, stop)]
        new = [[float(x), float(y), int(PointStatus.IMPUTED)] for x, y in vals]
        return self._write_edit("interpolate-range", landmark, start, stop, pts, new)

    # -- undo and redo ------------------------------------------------------------------------
    def undo_state(self) -> tuple[list[int], list[int]]:
        """``(undo_stack, redo_stack)`` of edit sequence numbers, derived from the log.

        The last element of each is the edit the next :meth:`undo` / :meth:`redo` acts on.
        """
        if self._stack is None:
            self._checked_edits()
        assert self._stack is not None
        return list(self._stack[0]), list(self._stack[1])

    def undo(self) -> int:
        """Undo the latest edit by appending an ``undo`` entry that restores its old values."""
        undo, _ = self.undo_state()
        if not undo:
            raise CaseError("nothing to undo")
        target = undo[-1]
        kind, landmark, frame, stop, points, old, new = self.conn.execute(
            "SELECT kind, landmark, frame, frame_stop, points, old, new FROM edits WHERE seq = ?", (target,)
        ).fetchone()
        return self._write_edit("undo", landmark, frame, stop, json.loads(points), json.loads(old), reverts=target,
                                old=json.loads(new))

    def redo(self) -> int:
        """Redo the latest undone edit by appending a ``redo`` entry that re-applies its new values."""
        _, redo = self.undo_state()
        if not redo:
            raise CaseError("nothing to redo")
        target = redo[-1]
        landmark, frame, stop, points, old, new = self.conn.execute(
            "SELECT landmark, frame, frame_stop, points, old, new FROM edits WHERE seq = ?", (target,)
        ).fetchone()
        return self._write_edit("redo", landmark, frame, stop, json.loads(points), json.loads(new), reverts=target,
                                old=json.loads(old))
