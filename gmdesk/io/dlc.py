"""DeepLabCut pose files (``.h5`` and ``.csv``) in DLC's own layout.

DLC writes a pandas DataFrame with column levels ``scorer / bodyparts / coords`` (single
animal) or ``scorer / individuals / bodyparts / coords`` (multi-animal), one row per frame and
coords ``x, y, likelihood``; ``.h5`` files use key ``df_with_missing`` in table format. These
functions read and write exactly that, so DLC, napari-deeplabcut and ``movement`` open what
gmdesk writes, and a file read and written again is unchanged.

Body-part names that differ from the skeleton's are mapped through a TOML file::

    # DLC body part name = skeleton landmark name
    [bodyparts]
    Head = "head_top"
    LShoulder = "left_shoulder"
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from gmdesk.constants import DEFAULT_FPS
from gmdesk.core.posetrack import PointStatus, PoseTrack, check_pose_values
from gmdesk.core.skeleton import Skeleton
from gmdesk.errors import PoseFileError
from gmdesk.io.atomic import atomic_path
from gmdesk.io.hdf5 import read_pandas_hdf
from gmdesk.io.paths import check_regular
from gmdesk.io.skeletons import load_skeleton
from gmdesk.io.tomlfile import read_toml

logger = logging.getLogger(__name__)

H5_KEY = "df_with_missing"
COORDS = ("x", "y", "likelihood")


def load_name_mapping(path: str | Path | None) -> dict[str, str]:
    """Read a body-part name mapping (``[bodyparts]`` table of file name = skeleton name)."""
    if path is None:
        return {}

    p = Path(path)
    data = read_toml(p, PoseFileError, "name-mapping file")
    table = data.get("bodyparts")
    if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
        raise PoseFileError(f"name-mapping file {str(p)!r}: needs a [bodyparts] table of name = \"landmark\"")
    targets = list(table.values())
    dup = sorted({t for t in targets if targets.count(t) > 1})
    if dup:
        raise PoseFileError(f"name-mapping file {str(p)!r}: several body parts map to {dup}")
    return dict(table)


def landmark_sources(
    body_parts: list[str],
    skeleton: Skeleton,
    mapping: dict[str, str],
    owner: str,
    error: type[Exception] = PoseFileError,
) -> list[str]:
    """For each skeleton landmark, the body part (of a file or model) that provides it.

    Parameters
    ----------
    body_parts : list of str
        Names as the file or model has them.
    mapping : dict
        Body-part name → skeleton landmark name (names not in it map to themselves).
    owner : str
        What the names belong to, for the error message ("pose file 'a.h5'").
    error : exception class
        Raised when landmarks are missing; the message lists all of them.
    """
    to_skel = {bp: mapping.get(bp, bp) for bp in body_parts}
    from_skel = {v: k for k, v in to_skel.items()}
    missing = [lm for lm in skeleton.landmarks if lm not in from_skel]
    if missing:
        raise error(
            f"{owner} lacks {len(missing)} landmark(s) of skeleton {skeleton.name!r}: "
            f"{missing}. Its body parts are {list(body_parts)}; map them with a name-mapping file."
        )
    return [from_skel[lm] for lm in skeleton.landmarks]


def read_dlc_frame(path: str | Path) -> pd.DataFrame:
    """Read a DLC ``.h5`` or ``.csv`` file into its DataFrame, checking the layout."""
    p = Path(path)
    check_regular(p, "pose file", PoseFileError)
    suffix = p.suffix.lower()
    try:
        if suffix in (".h5", ".hdf5", ".hdf"):
            df = read_pandas_hdf(p)  # never pandas.read_hdf: it unpickles
        elif suffix == ".csv":
            df = _read_dlc_csv(p)
        else:
            raise PoseFileError(f"pose file {str(p)!r}: unknown extension {p.suffix!r} (expected .h5 or .csv)")
    except PoseFileError:
        raise
    except Exception as exc:  # pandas/HDF5 raise many kinds
        raise PoseFileError(f"pose file {str(p)!r} cannot be read as a DeepLabCut file: {exc}") from exc
    if not isinstance(df, pd.DataFrame) or not isinstance(df.columns, pd.MultiIndex):
        raise PoseFileError(f"pose file {str(p)!r}: not in DeepLabCut layout (no scorer/bodyparts/coords columns)")
    names = list(df.columns.names)
    if df.columns.nlevels == 3:
        expected = ["scorer", "bodyparts", "coords"]
    elif df.columns.nlevels == 4:
        expected = ["scorer", "individuals", "bodyparts", "coords"]
    else:
        expected = None
    if expected is None or (suffix != ".csv" and names != expected):
        raise PoseFileError(
            f"pose file {str(p)!r}: column levels {names} are not DeepLabCut's "
            "(scorer/bodyparts/coords or scorer/individuals/bodyparts/coords)"
        )
    df.columns = df.columns.set_names(expected)
    bad = sorted(set(df.columns.get_level_values("coords")) - set(COORDS))
    if bad:
        raise PoseFileError(f"pose file {str(p)!r}: unexpected coords {bad} (expected x, y, likelihood)")
    if len(df) == 0:
        raise PoseFileError(f"pose file {str(p)!r} has no frames")
    text = [c for c, dt in df.dtypes.items() if not np.issubdtype(dt, np.number)]
    if text:
        raise PoseFileError(f"pose file {str(p)!r}: column {'/'.join(map(str, text[0]))} holds text, not numbers")
    return df


def _read_dlc_csv(p: Path) -> pd.DataFrame:
    """A DLC ``.csv``: 3 (single animal) or 4 (multi-animal) header rows, then one row per frame. A
    row with another number of fields than the header (a file cut mid-row) is refused."""
    try:
        with open(p, encoding="utf-8-sig", newline="") as fh:
            lines = fh.read().splitlines()
    except UnicodeDecodeError:
        raise PoseFileError(f"pose file {str(p)!r} is not UTF-8 text") from None
    if not lines or not lines[0].startswith("scorer,"):
        raise PoseFileError(f"pose file {str(p)!r} is not a DeepLabCut csv (its first line should start with 'scorer,')")
    if len(lines) < 4:
        raise PoseFileError(f"pose file {str(p)!r} has no frames (a DLC csv has 3-4 header rows, then frames)")
    nlev = 4 if lines[1].startswith("individuals") else 3
    width = lines[0].count(",")
    for i, line in enumerate(lines[nlev:], start=nlev + 1):
        if line.count(",") != width:
            raise PoseFileError(f"pose file {str(p)!r}, line {i}: {line.count(',') + 1} fields, expected {width + 1} "
                                "(the file may be cut off or damaged)")
    # pandas >= 3 parses floats exactly by default; older pandas needs "round_trip"
    exact = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}
    return pd.read_csv(p, header=list(range(nlev)), index_col=0, encoding="utf-8-sig", **exact)


def read_dlc(
    path: str | Path,
    skeleton: Skeleton | None = None,
    mapping: dict[str, str] | str | Path | None = None,
    individual: str | None = None,
    fps: float | None = None,
) -> PoseTrack:
    """Read a DLC pose file as a :class:`PoseTrack` in the skeleton's landmark order.

    Parameters
    ----------
    path : str or Path
        DLC ``.h5`` or ``.csv`` file.
    skeleton : Skeleton, optional
        Landmarks wanted (default: the 24-landmark infant skeleton).
    mapping : dict or path, optional
        Body-part name in the file → skeleton landmark name, or a mapping TOML file.
    individual : str, optional
        For multi-animal files: which individual to read. Required when there are several.
    fps : float, optional
        Frame rate (DLC files do not store it); default 29.97.

    Returns
    -------
    PoseTrack
        Positions exactly as in the file (nothing removed); status OBSERVED, or MISSING where
        the file has NaN.

    Raises
    ------
    PoseFileError
        Unreadable file, wrong layout, several individuals and none chosen, or skeleton
        landmarks missing from the file (all listed).
    """
    p = Path(path)
    skeleton = skeleton or load_skeleton()
    if not isinstance(mapping, dict):
        mapping = load_name_mapping(mapping)
    df = read_dlc_frame(p)
    scorers = list(dict.fromkeys(df.columns.get_level_values("scorer")))
    if len(scorers) != 1:
        raise PoseFileError(f"pose file {str(p)!r}: several scorers {scorers}; expected one")
    chosen = None
    if df.columns.nlevels == 4:
        inds = list(dict.fromkeys(df.columns.get_level_values("individuals")))
        if individual is None:
            if len(inds) != 1:
                raise PoseFileError(
                    f"pose file {str(p)!r} is a multi-animal file with individuals {inds}: choose one"
                )
            individual = inds[0]
        if individual not in inds:
            raise PoseFileError(f"pose file {str(p)!r}: no individual {individual!r} (has {inds})")
        chosen = individual
        df = df.xs(individual, axis=1, level="individuals", drop_level=True)
    elif individual is not None:
        raise PoseFileError(f"pose file {str(p)!r} is single-animal; no individual {individual!r} in it")
    file_parts = list(dict.fromkeys(df.columns.get_level_values("bodyparts")))
    sources = landmark_sources(file_parts, skeleton, mapping, f"pose file {str(p)!r}")
    try:
        index = np.asarray(df.index, dtype=np.int64)
    except (TypeError, ValueError):
        raise PoseFileError(
            f"pose file {str(p)!r}: rows are not frame numbers (a labelled-data file?)"
        ) from None
    if len(index) > 1 and not np.all(np.diff(index) == 1):
        raise PoseFileError(f"pose file {str(p)!r}: frame numbers are not consecutive")
    n = len(df)
    xy = np.full((n, skeleton.n_landmarks, 2), np.nan)
    lik = np.full((n, skeleton.n_landmarks), np.nan)
    cols = df.columns
    scorer = scorers[0]
    for j, bp in enumerate(sources):
        for k, c in enumerate(("x", "y")):
            if (scorer, bp, c) not in cols:
                raise PoseFileError(f"pose file {str(p)!r}: body part {bp!r} has no {c!r} column")
            xy[:, j, k] = df[(scorer, bp, c)].to_numpy(dtype=np.float64)
        if (scorer, bp, "likelihood") in cols:
            lik[:, j] = df[(scorer, bp, "likelihood")].to_numpy(dtype=np.float64)
    has_lik = bool(np.isfinite(lik).any())
    check_pose_values(xy, lik if has_lik else None, skeleton.landmarks, f"pose file {str(p)!r}", int(index[0]))
    if fps is not None and not (np.isfinite(fps) and 0 < fps <= 1000):
        raise PoseFileError(f"pose file {str(p)!r}: frame rate {fps} is not plausible (0 < fps <= 1000)")
    nan = np.isnan(xy).any(axis=2)
    status = np.where(nan, PointStatus.MISSING, PointStatus.OBSERVED).astype(np.uint8)
    track = PoseTrack(xy, lik, status, float(fps or DEFAULT_FPS), skeleton.landmarks)
    track.meta = {
        "source": str(p.resolve()),
        "format": "dlc-" + p.suffix.lower().lstrip("."),
        "scorer": scorer,
        "individual": chosen,
        "file_bodyparts": sources,
        "first_frame": int(index[0]),
        "has_likelihood": has_lik,
        "skeleton": skeleton.name,
    }
    track.record(
        "read_dlc",
        {"path": str(p.resolve()), "individual": chosen, "mapping": mapping, "fps": float(fps or DEFAULT_FPS),
         "fps_source": "caller" if fps else "default"},
        frames=n, ignored_bodyparts=[bp for bp in file_parts if bp not in sources],
    )
    logger.debug("read %s: %d frames, %d landmarks, individual %s", p.name, n, len(sources), chosen)
    return track


def export_likelihood(track: PoseTrack) -> np.ndarray:
    """Likelihoods as written to a DLC file: the estimator's, except that a point placed by a person
    (EDITED) gets 1 and a point interpolated where the estimator gave nothing gets 0 — DLC files have a
    likelihood for every point, and a re-read file must not lose a person's edit to the cut-off."""
    lik = track.likelihood.copy()
    has = np.isfinite(track.xy).all(axis=-1)
    if np.isfinite(lik).any() or track.meta.get("has_likelihood"):
        lik[has & ~np.isfinite(lik)] = 0.0
    lik[has & (track.status == PointStatus.EDITED)] = 1.0
    return lik


def track_to_frame(track: PoseTrack, scorer: str | None = None, file_names: bool = True) -> pd.DataFrame:
    """The DLC DataFrame of a track (NaN where a point is missing).

    Parameters
    ----------
    track : PoseTrack
    scorer : str, optional
        Scorer name; default the one the track was read with, else ``"gmdesk"``.
    file_names : bool
        Use the body-part names of the file the track came from (so a mapped file is written
        back with its own names); False writes skeleton landmark names.
    """
    scorer = scorer or track.meta.get("scorer") or "gmdesk"
    names = list(track.landmarks)
    fb = track.meta.get("file_bodyparts")
    if file_names and fb and len(fb) == len(names):
        names = list(fb)
    ind = track.meta.get("individual")
    if ind:
        columns = pd.MultiIndex.from_tuples(
            [(scorer, ind, bp, c) for bp in names for c in COORDS],
            names=["scorer", "individuals", "bodyparts", "coords"],
        )
    else:
        columns = pd.MultiIndex.from_tuples(
            [(scorer, bp, c) for bp in names for c in COORDS], names=["scorer", "bodyparts", "coords"]
        )
    data = np.empty((track.n_frames, len(names) * 3), dtype=np.float64)
    data[:, 0::3] = track.xy[:, :, 0]
    data[:, 1::3] = track.xy[:, :, 1]
    data[:, 2::3] = export_likelihood(track)
    first = int(track.meta.get("first_frame", 0))
    index = pd.RangeIndex(first, first + track.n_frames)
    return pd.DataFrame(data, columns=columns, index=index)


def write_dlc_frame(df: pd.DataFrame, path: str | Path) -> Path:
    """Write a DLC DataFrame as ``.h5`` (key ``df_with_missing``, table format) or ``.csv``,
    atomically (temporary file, then rename)."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in (".h5", ".hdf5", ".hdf", ".csv"):
        raise PoseFileError(f"cannot write {str(p)!r}: extension must be .h5 or .csv")
    with atomic_path(p) as tmp:
        if suffix == ".csv":
            df.to_csv(tmp)
        else:
            df.to_hdf(tmp, key=H5_KEY, format="table", mode="w")
    return p


def write_dlc(track: PoseTrack, path: str | Path, scorer: str | None = None, file_names: bool = True) -> Path:
    """Write a track as a DLC ``.h5`` or ``.csv`` file (see :func:`track_to_frame`)."""
    return write_dlc_frame(track_to_frame(track, scorer=scorer, file_names=file_names), path)
