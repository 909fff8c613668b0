"""Cohort tables and the recording → snippets pipeline used by the CLI, the GUI and training.

A cohort table is a CSV with one row per infant: ``infant_id``, ``label`` (``normal`` /
``abnormal`` or 0 / 1), ``pose_file`` (DLC ``.h5``/``.csv`` or a gmdesk ``.npz`` track,
relative to the table), and optionally ``set`` (internal / external), ``fps`` and ``phenotype`` (the
movement finding behind the label, e.g. ``normal-fm``, ``absent-fm``, ``sporadic-fm``, ``abnormal-fm``,
``cramped-synchronised``: leave-one-phenotype-out validation holds each abnormal phenotype out in turn).
"""

from __future__ import annotations

import csv
import io
import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gmdesk.constants import DEFAULT_FPS, DEFAULT_OVERLAP, MAX_FPS, MIN_FPS, WINDOW
from gmdesk.core.posetrack import PoseTrack
from gmdesk.core.skeleton import Skeleton
from gmdesk.errors import GmdeskError, PoseFileError
from gmdesk.io.dlc import read_dlc
from gmdesk.io.paths import regular_file
from gmdesk.io.tracks import read_track
from gmdesk.pipeline.cleaning import CleaningReport, clean_track
from gmdesk.pipeline.cleaning_settings import CleaningSettings
from gmdesk.pipeline.features import FeatureLayout, compute_features
from gmdesk.pipeline.imputation import fill_within_limits
from gmdesk.pipeline.resample import resample_track
from gmdesk.pipeline.snippets import SnippetSet, cut_snippets
from gmdesk.progress import CancelFn, ProgressFn, check_cancel, report

logger = logging.getLogger(__name__)

#: Largest cohort table read (100 000 infants with long paths are about 30 MB).
MAX_COHORT_BYTES = 64 * 1024 * 1024

LABELS = {"normal": 0, "abnormal": 1, "0": 0, "1": 1, "unknown": -1, "": -1, "-1": -1}


@dataclass(frozen=True)
class CohortEntry:
    """One infant of a cohort table."""

    infant_id: str
    label: int
    pose_file: Path
    set: str = "internal"
    fps: float | None = None
    synthetic: bool = False
    phenotype: str = ""  #: the movement finding behind the label (optional; any text, compared as lower case)


def parse_label(value: str, where: str = "") -> int:
    """``normal``/``abnormal``/0/1 → 0/1 (``unknown`` or empty → -1)."""
    key = str(value).strip().lower()
    if key not in LABELS:
        raise GmdeskError(f"{where}label {value!r} is not normal/abnormal/0/1")
    return LABELS[key]


def read_csv_table(path: Path, what: str) -> tuple[list[str], list[dict[str, str]]]:
    """The header (names stripped) and rows of a UTF-8 CSV table (with or without Excel's byte-order mark),
    opened only when it is a regular file of at most ``MAX_COHORT_BYTES``.

    Raises
    ------
    GmdeskError
        Naming ``what`` and the file when it is not a readable, non-empty UTF-8 CSV table.
    """
    try:
        with regular_file(path, what, GmdeskError, MAX_COHORT_BYTES) as raw, \
                io.TextIOWrapper(raw, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            rows = list(reader)
            header = reader.fieldnames or []
    except UnicodeDecodeError:
        raise GmdeskError(f"{what} {str(path)!r} is not UTF-8 text: save it as CSV UTF-8") from None
    except csv.Error as exc:
        raise GmdeskError(f"{what} {str(path)!r} is not a readable CSV table ({exc})") from None
    if not rows:
        raise GmdeskError(f"{what} {str(path)!r} has no rows")
    return [h.strip() if h else h for h in header], rows


def read_cohort(path: str | Path) -> list[CohortEntry]:
    """Read a cohort table; relative pose paths resolve against the table's folder.

    The table is UTF-8 text, with or without a byte-order mark (Excel's "CSV UTF-8"). Every row needs
    an infant id, a label and a pose file; ``fps``, when given, must be a positive frame rate; one
    pose file cannot belong to two infants.

    Raises
    ------
    GmdeskError
        Naming the table, the row and the column at fault.
    """
    p = Path(path)
    header, rows = read_csv_table(p, "cohort table")
    need = {"infant_id", "label", "pose_file"}
    missing = need - set(header)
    if missing:
        raise GmdeskError(f"cohort table {str(p)!r} lacks columns {sorted(missing)} (it has {header})")
    out = []
    seen: set[str] = set()
    poses: dict[Path, str] = {}
    for i, raw in enumerate(rows, start=2):
        where = f"{p}:{i}: "
        if None in raw:
            raise GmdeskError(f"{where}more cells than columns")
        r = {(k.strip() if k else k): (v.strip() if isinstance(v, str) else v) for k, v in raw.items()}
        for col in need:
            if r.get(col) in (None, ""):
                raise GmdeskError(f"{where}no value in column {col!r}")
        iid = r["infant_id"]
        if iid in seen:
            raise GmdeskError(f"{where}infant_id {iid!r} is repeated")
        seen.add(iid)
        pose = Path(r["pose_file"])
        pose = pose if pose.is_absolute() else (p.parent / pose)
        key = pose.resolve()
        if key in poses:
            raise GmdeskError(f"{where}pose file {r['pose_file']!r} is already the pose file of infant {poses[key]!r}")
        poses[key] = iid
        fps = None
        if r.get("fps"):
            try:
                fps = float(r["fps"])
            except ValueError:
                raise GmdeskError(f"{where}fps {r['fps']!r} is not a number") from None
            if not (math.isfinite(fps) and MIN_FPS <= fps <= MAX_FPS):
                raise GmdeskError(f"{where}fps {r['fps']!r} is not a frame rate ({MIN_FPS:g} <= fps <= {MAX_FPS:g})")
        synthetic = (r.get("synthetic") or "").lower() in ("yes", "true", "1")
        out.append(CohortEntry(iid, parse_label(r["label"], where), pose, r.get("set") or "internal", fps, synthetic,
                               (r.get("phenotype") or "").lower()))
    return out


def load_track(path: str | Path, skeleton: Skeleton, mapping: dict | str | Path | None = None,
               fps: float | None = None, individual: str | None = None) -> PoseTrack:
    """Read a pose file: DLC ``.h5``/``.csv`` or a gmdesk ``.npz`` track."""
    p = Path(path)
    if p.suffix.lower() == ".npz":
        track = read_track(p)
        if tuple(track.landmarks) != skeleton.landmarks:
            raise PoseFileError(f"{p}: track landmarks do not match skeleton {skeleton.name!r}")
        return track
    return read_dlc(p, skeleton, mapping=mapping, individual=individual, fps=fps)


def is_cleaned(track: PoseTrack) -> bool:
    """True if the track's provenance shows it went through :func:`clean_track`."""
    return any(step.get("step") == "clean_track" for step in track.provenance)


def model_ready_track(track: PoseTrack, skeleton: Skeleton, fps: float = DEFAULT_FPS,
                      cleaning: CleaningSettings | None = None, fill_step: str = "fill_gaps_within_limits") -> PoseTrack:
    """A track as a model sees it, at the model's frame rate ``fps``: a raw one resampled, then cleaned (the
    cleaning's frame-based settings then mean what they mean at the model's rate); a cleaned one (perhaps edited
    since: an annotator marked points missing) with its short gaps filled as the cleaning fills them (``fill_step``
    names that step in the provenance), then resampled — so deleting one wrong point does not throw away the 10-s
    windows around it. Training (:func:`cohort_features`) and assessing
    (:func:`gmdesk.screening.assess.assess_track`) both prepare tracks here, so a model learns from what it scores."""
    if not is_cleaned(track):
        return clean_track(resample_track(track, fps), skeleton, cleaning)[0]
    return resample_track(fill_within_limits(track, skeleton, fill_step), fps)


def recording_snippets(
    track: PoseTrack,
    skeleton: Skeleton,
    infant_id: str,
    label: int = -1,
    feature_set: str = "both",
    window: int = WINDOW,
    overlap: int = DEFAULT_OVERLAP,
    cleaning: CleaningSettings | None = None,
    clean: bool = True,
    nan_policy: str = "drop",
    normalisation: str = "paper",
) -> tuple[SnippetSet, PoseTrack, CleaningReport | None]:
    """Clean a raw track (unless ``clean`` is False), compute features, cut snippets."""
    rep = None
    if clean:
        track, rep = clean_track(track, skeleton, cleaning)
    elif is_cleaned(track):
        track = fill_within_limits(track, skeleton)
    feats, layout = compute_features(track, skeleton, feature_set, normalisation)
    snips = cut_snippets(feats, layout, track, infant_id, label, window, overlap, nan_policy,
                         skeleton.name, skeleton.fingerprint)
    return snips, track, rep


@dataclass
class RecordingFeatures:
    """One cleaned recording's per-frame features, ready to be cut at any overlap."""

    entry: CohortEntry
    features: np.ndarray
    layout: FeatureLayout
    track: PoseTrack

    def snippets(self, skeleton: Skeleton, window: int = WINDOW, overlap: int = DEFAULT_OVERLAP,
                 nan_policy: str = "drop") -> SnippetSet:
        """Cut this recording into snippets."""
        return cut_snippets(self.features, self.layout, self.track, self.entry.infant_id, self.entry.label, window,
                            overlap, nan_policy, skeleton.name, skeleton.fingerprint)


def cohort_features(
    entries: list[CohortEntry],
    skeleton: Skeleton,
    feature_set: str = "both",
    cleaning: CleaningSettings | None = None,
    mapping: dict | str | Path | None = None,
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
    fps: float | None = None,
    individual: str | None = None,
    normalisation: str = "paper",
    cleaned: dict[str, PoseTrack] | None = None,
    model_fps: float = DEFAULT_FPS,
) -> list[RecordingFeatures]:
    """Load, bring to the model's frame rate, clean (unless already cleaned) and compute features for every
    infant of a cohort.

    ``fps`` is the frame rate of rows without an ``fps`` cell (DLC files do not store it; default
    29.97); ``individual`` chooses the individual of multi-animal DLC files; ``normalisation`` of the
    coordinates: ``paper``, ``body`` or ``body-frame`` (:mod:`gmdesk.pipeline.features`). ``cleaned``, when
    given, keeps each infant's cleaned track between calls (several feature sets of one cohort are
    cleaned once). Every recording is brought to ``model_fps`` (the paper's 29.97 fps: a 300-frame snippet is
    10 s) by :func:`model_ready_track`, as what is assessed is, so a cohort filmed at 25 fps trains the model it
    will be assessed with.
    """
    out = []
    unlocated: list[str] = []
    for i, e in enumerate(entries):
        check_cancel(cancel, "feature extraction")
        track = None if cleaned is None else cleaned.get(e.infant_id)
        if track is None:
            track = model_ready_track(load_track(e.pose_file, skeleton, mapping, e.fps or fps, individual), skeleton,
                                      model_fps, cleaning)
            if cleaned is not None:
                cleaned[e.infant_id] = track
        if names := track.unlocated_landmarks(landmarks_used(skeleton, feature_set)):
            unlocated.append(f"{e.pose_file} ({', '.join(names)})")
            continue
        feats, layout = compute_features(track, skeleton, feature_set, normalisation)
        out.append(RecordingFeatures(e, feats, layout, track))
        report(progress, i + 1, len(entries), e.infant_id)
    if unlocated:
        raise GmdeskError(unlocated_message(f"{len(unlocated)} of {len(entries)} recordings", unlocated, skeleton))
    return out


def landmarks_used(skeleton: Skeleton, feature_set: str) -> set[str]:
    """The landmarks a feature set reads: every one for coordinates, those of the joint-angle triplets for
    ``angles`` (a landmark in no triplet can be missing throughout without leaving a window out)."""
    if feature_set == "angles":
        return {n for a in skeleton.angles for n in a.points}
    return set(skeleton.landmarks)


def unlocated_message(what: str, details: list[str], skeleton: Skeleton) -> str:
    """The error for recordings with landmarks never located: every 10-s window of them would be left out, so
    an infant would silently leave the cohort (or a recording could not be assessed)."""
    shown = "; ".join(details[:8]) + (f"; and {len(details) - 8} more" if len(details) > 8 else "")
    return (f"{what}: landmarks of skeleton {skeleton.name!r} never located (no point, or none the cleaning kept "
            f"above the likelihood cut-off), so every window would be left out: {shown}. If the pose files name "
            f"their body parts differently, pass --mapping; if they have no such landmarks, use a skeleton without "
            f"them (--skeleton) and a model trained on it; a recording whose landmark was hidden throughout cannot be "
            f"used: remove it, or mark the landmark in the editor")


def cut_cohort(recordings: list[RecordingFeatures], skeleton: Skeleton, window: int = WINDOW,
               overlap: int = DEFAULT_OVERLAP, nan_policy: str = "drop") -> SnippetSet:
    """Snippets of every recording at one overlap, joined."""
    return SnippetSet.concat([r.snippets(skeleton, window, overlap, nan_policy) for r in recordings])


def cohort_snippets(
    entries: list[CohortEntry],
    skeleton: Skeleton,
    feature_set: str = "both",
    window: int = WINDOW,
    overlap: int = DEFAULT_OVERLAP,
    cleaning: CleaningSettings | None = None,
    mapping: dict | str | Path | None = None,
    nan_policy: str = "drop",
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
    fps: float | None = None,
    individual: str | None = None,
    normalisation: str = "paper",
    model_fps: float = DEFAULT_FPS,
) -> SnippetSet:
    """Snippets of every infant of a cohort, each carrying its infant's global label (``fps``,
    ``individual``, ``normalisation`` and ``model_fps`` as in :func:`cohort_features`)."""
    recs = cohort_features(entries, skeleton, feature_set, cleaning, mapping, progress, cancel, fps, individual,
                           normalisation, model_fps=model_fps)
    return cut_cohort(recs, skeleton, window, overlap, nan_policy)
