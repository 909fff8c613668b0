"""Reading pandas HDF5 files (DeepLabCut's pose files) without running code from them.

``pandas.read_hdf`` unpickles: PyTables stores pandas' metadata (column labels, level names) as
pickled attributes, and a "fixed"-format frame with an object column stores the column as pickles.
A file from elsewhere can therefore run arbitrary code when opened with pandas. This module reads the
two layouts pandas writes — "table" (what DeepLabCut writes) and "fixed" — at the HDF5 level with
``h5py``, which never unpickles, and decodes pandas' metadata with a restricted unpickler that builds
only plain containers, strings, numbers, booleans and None. Anything else — a pickle that names any
Python object (class or function), an object column, a layout it does not know — is refused with
:class:`UnsafeFileError` or :class:`~gmdesk.errors.PoseFileError`, naming the file.

Only numeric columns with an integer row index are read: that is what pose files hold.
"""

from __future__ import annotations

import io
import logging
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from gmdesk.errors import PoseFileError
from gmdesk.io.paths import check_regular

logger = logging.getLogger(__name__)

EXECUTABLE = "this file contains executable content; refusing to open it"


class UnsafeFileError(PoseFileError):
    """A file holds content that would run code when read (a pickle naming a Python object)."""


class _RefusesObjects(pickle.Unpickler):
    """Unpickler that builds only lists, tuples, dicts, sets, strings, bytes, numbers, booleans and None."""

    def find_class(self, module: str, name: str) -> Any:  # noqa: D102 - pickle API
        raise _ObjectInPickle(f"{module}.{name}")

    def persistent_load(self, pid: Any) -> Any:  # noqa: D102 - pickle API
        raise _ObjectInPickle("persistent id")


class _ObjectInPickle(Exception):
    pass


#: Largest pickled attribute decoded (pandas' metadata attributes are a few hundred bytes).
MAX_PICKLE_BYTES = 64 * 1024
#: Most items a decoded attribute may hold, counting shared references each time they are reached (a 2-kB
#: pickle can reference one list from itself 2**500 ways; walking it is what would exhaust memory and time).
MAX_PICKLE_ITEMS = 100_000
#: Deepest nesting of a decoded attribute.
MAX_PICKLE_DEPTH = 32
#: Largest attribute read at all (HDF5 allows megabytes in dense attribute storage).
MAX_ATTRIBUTE_BYTES = 1 << 20


class _TooLarge(Exception):
    pass


def _check_plain_size(value: Any) -> None:
    """Refuse (``_TooLarge``) a decoded value with more than :data:`MAX_PICKLE_ITEMS` items reachable or nested
    deeper than :data:`MAX_PICKLE_DEPTH`; stops as soon as either limit is passed."""
    budget = MAX_PICKLE_ITEMS
    stack = [(value, 0)]
    while stack:
        v, depth = stack.pop()
        budget -= 1
        if budget < 0 or depth > MAX_PICKLE_DEPTH:
            raise _TooLarge
        if isinstance(v, dict):
            stack.extend((x, depth + 1) for kv in v.items() for x in kv)
        elif isinstance(v, list | tuple | set | frozenset):
            stack.extend((x, depth + 1) for x in v)
        if len(stack) > MAX_PICKLE_ITEMS:
            raise _TooLarge


def safe_unpickle(data: bytes) -> Any:
    """Decode a pickle that may only hold plain data; raise ``_ObjectInPickle`` if it names any object and
    ``_TooLarge`` if it is larger than pandas' metadata ever is (bytes, items reachable, nesting)."""
    if len(data) > MAX_PICKLE_BYTES:
        raise _TooLarge
    value = _RefusesObjects(io.BytesIO(data), encoding="utf-8").load()
    _check_plain_size(value)
    return value


def _looks_pickled(value: Any) -> bool:
    """PyTables' own test: a non-empty byte string ending with '.' may be a pickle."""
    return isinstance(value, bytes | np.bytes_) and len(value) > 0 and bytes(value).endswith(b".") and bytes(value) not in (
        b"0", b"0.")


def _attr(where: str, obj: Any, name: str, default: Any = None) -> Any:
    """An attribute as PyTables would return it, pickles decoded safely."""
    if name not in obj.attrs:
        return default
    value = _read_attribute(where, obj, name)
    if _looks_pickled(value):
        try:
            return safe_unpickle(bytes(value))
        except _ObjectInPickle:
            raise UnsafeFileError(f"{where}: {EXECUTABLE} (attribute {name!r} names a Python object)") from None
        except _TooLarge:
            raise PoseFileError(f"{where}: attribute {name!r} of {obj.name!r} is larger or more deeply nested than "
                                "pandas' metadata ever is; refusing the file") from None
        except Exception:  # not a pickle after all: a plain string ending with "."
            return bytes(value).decode("utf-8", "replace")
    if isinstance(value, bytes | np.bytes_):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, np.generic):
        return value.item()
    return value


def _scan_for_objects(where: str, group: Any) -> None:
    """Refuse any attribute pickle that names an object and any object-valued dataset under ``group``."""
    import h5py

    def check(name: str, obj: Any) -> None:
        if len(obj.attrs) > 10_000:
            raise PoseFileError(f"{where}: {obj.name!r} has {len(obj.attrs)} attributes; not a pandas frame")
        for key in obj.attrs:
            value = _read_attribute(where, obj, key)
            if _looks_pickled(value):
                try:
                    safe_unpickle(bytes(value))
                except _ObjectInPickle:
                    raise UnsafeFileError(f"{where}: {EXECUTABLE} (attribute {key!r} of {obj.name!r} names a "
                                          "Python object)") from None
                except _TooLarge:
                    raise PoseFileError(f"{where}: attribute {key!r} of {obj.name!r} is larger or more deeply nested "
                                        "than pandas' metadata ever is; refusing the file") from None
                except Exception:
                    pass
        if isinstance(obj, h5py.Dataset):
            pseudo = obj.attrs.get("PSEUDOATOM")
            if (pseudo is not None and bytes(pseudo) == b"object") or obj.dtype.kind == "O" or h5py.check_vlen_dtype(obj.dtype):
                raise UnsafeFileError(f"{where}: {EXECUTABLE} (dataset {obj.name!r} holds pickled objects)")

    check(group.name, group)
    group.visititems(check)


def _read_attribute(where: str, obj: Any, name: str) -> Any:
    """An attribute's raw value, refused before reading when it is larger than :data:`MAX_ATTRIBUTE_BYTES`."""
    try:
        size = obj.attrs.get_id(name).get_storage_size()
    except (KeyError, OSError, RuntimeError):
        size = 0
    if size > MAX_ATTRIBUTE_BYTES:
        raise PoseFileError(f"{where}: attribute {name!r} of {obj.name!r} is {size} bytes; pandas' metadata is far "
                            "smaller; refusing the file")
    return obj.attrs[name]


def _refuse_indirection(where: str, root: Any, file_size: int) -> None:
    """Refuse anything that reads another file or more data than the file can hold: external and soft links,
    datasets in external storage or virtual datasets (their data live in other files: another user's file, a
    FIFO that never answers), and datasets that would inflate past :data:`max_dataset_bytes` of the file's size.
    Checked link by link before any object is opened through a link."""
    import h5py

    limit = max_dataset_bytes(file_size)
    total = 0
    seen: set = set()
    groups = [root]
    while groups:
        g = groups.pop()
        for name in g:
            link = g.get(name, getlink=True)
            if not isinstance(link, h5py.HardLink):
                kind = "an external link to another file" if isinstance(link, h5py.ExternalLink) else "a soft link"
                raise PoseFileError(f"{where}: {g.name.rstrip('/')}/{name} is {kind}; a pose file must hold its own "
                                    "data; refusing it")
            obj = g[name]
            key = h5py.h5o.get_info(obj.id).addr
            if key in seen:
                continue
            seen.add(key)
            if isinstance(obj, h5py.Group):
                groups.append(obj)
                continue
            if not isinstance(obj, h5py.Dataset):
                continue
            if obj.is_virtual or obj.external:
                raise PoseFileError(f"{where}: dataset {obj.name!r} keeps its data in other files "
                                    f"({'virtual dataset' if obj.is_virtual else 'external storage'}); refusing it")
            total += int(obj.size or 0) * obj.dtype.itemsize
            if total > limit:
                raise PoseFileError(f"{where}: its datasets would take {total} bytes in memory from a {file_size}-byte "
                                    f"file (more than {limit}); refusing it")


def max_dataset_bytes(file_size: int) -> int:
    """Most bytes of datasets read from an HDF5 file of ``file_size`` bytes: 8 times its size (DeepLabCut writes
    uncompressed tables; compressed ones rarely shrink pose data 8-fold), at least 16 MB."""
    return max(8 * file_size, 16 << 20)


def _decode(values: np.ndarray, encoding: str) -> list[Any]:
    if values.dtype.kind == "S":
        return [v.decode(encoding) for v in values.tolist()]
    if values.dtype.kind in "iu":
        return values.astype(np.int64).tolist()
    if values.dtype.kind == "f":
        return values.astype(np.float64).tolist()
    raise ValueError(f"labels of type {values.dtype}")


def read_pandas_hdf(path: str | Path, key: str | None = None) -> Any:
    """Read the DataFrame pandas wrote to ``path`` (``key``, or the only frame in the file) without
    unpickling anything.

    Returns
    -------
    pandas.DataFrame
        Numeric values with the file's row index and column labels (MultiIndex kept), equal to what
        ``pandas.read_hdf`` returns for the same trusted file.

    Raises
    ------
    UnsafeFileError
        The file holds pickled objects (pandas would run code to read it).
    PoseFileError
        Not HDF5, no pandas frame, a layout this reader does not know, or non-numeric data.
    """
    import h5py
    import pandas as pd

    p = Path(path)
    where = f"pose file {str(p)!r}"
    size = check_regular(p, "pose file", PoseFileError).st_size
    try:
        fh = h5py.File(p, "r")
    except OSError as exc:
        raise PoseFileError(f"{where} cannot be read as a DeepLabCut file: not HDF5 or damaged ({exc})") from None
    try:
        with fh:
            _refuse_indirection(where, fh, size)
            frames = [k for k in fh if isinstance(fh[k], h5py.Group) and "pandas_type" in fh[k].attrs]
            if key is None:
                key = "df_with_missing" if "df_with_missing" in frames else (frames[0] if len(frames) == 1 else None)
                if key is None:
                    raise PoseFileError(f"{where} holds {'no' if not frames else 'several'} pandas frames "
                                        f"{frames or ''}: expected DeepLabCut's 'df_with_missing'".rstrip())
            if key not in fh or not isinstance(fh[key], h5py.Group):
                raise PoseFileError(f"{where} has no frame {key!r}")
            g = fh[key]
            _scan_for_objects(where, g)
            kind = _attr(where, g, "pandas_type")
            encoding = _attr(where, g, "encoding", "UTF-8") or "UTF-8"
            if kind == "frame_table":
                data, index, columns, names, index_name = _read_table(where, g, encoding)
            elif kind == "frame":
                data, index, columns, names, index_name = _read_fixed(where, g, encoding)
            else:
                raise PoseFileError(f"{where}: pandas object of type {kind!r} is not a data frame")
    except (PoseFileError, UnsafeFileError):
        raise
    except (KeyError, ValueError, TypeError, IndexError, OSError) as exc:
        raise PoseFileError(f"{where} cannot be read as a DeepLabCut file: unexpected layout ({exc})") from None
    if len(columns) and isinstance(columns[0], tuple):
        cols = pd.MultiIndex.from_tuples(columns, names=names)
    else:
        cols = pd.Index(columns, name=names[0] if names else None)
    return pd.DataFrame(data, index=pd.Index(index, name=index_name), columns=cols)


def _read_table(where: str, g: Any, encoding: str) -> tuple[np.ndarray, np.ndarray, list, list, Any]:
    if "table" not in g:
        raise PoseFileError(f"{where}: table-format frame without its table")
    t = g["table"]
    fields = list(t.dtype.names or ())
    index_cols = _attr(where, g, "index_cols", [])
    values_cols = _attr(where, g, "values_cols", [])
    data_columns = _attr(where, g, "data_columns", [])
    non_index = _attr(where, g, "non_index_axes", [])
    info = _attr(where, g, "info", {}) or {}
    if data_columns:
        raise PoseFileError(f"{where}: table with data columns {data_columns} is not a DeepLabCut layout")
    if [c[1] for c in index_cols] != ["index"] or "index" not in fields:
        raise PoseFileError(f"{where}: table without a plain row index")
    if _attr(where, t, "index_kind") != "integer":
        raise PoseFileError(f"{where}: rows are not frame numbers (index kind {_attr(where, t, 'index_kind')!r})")
    if not values_cols or sorted(fields) != sorted(["index", *values_cols]):
        raise PoseFileError(f"{where}: unexpected table fields {fields}")
    if len(non_index) != 1 or non_index[0][0] != 1:
        raise PoseFileError(f"{where}: unexpected column axes")
    order = [tuple(c) if isinstance(c, list | tuple) else c for c in non_index[0][1]]
    rows = t[()]
    index = np.asarray(rows["index"], dtype=np.int64)
    blocks, labels = [], []
    for name in values_cols:
        vals = np.asarray(rows[name])
        if vals.dtype.kind not in "fiu":
            raise PoseFileError(f"{where}: column block {name!r} is not numeric ({vals.dtype})")
        vals = vals.reshape(len(rows), -1).astype(np.float64)
        kind = _attr(where, t, f"{name}_kind", [])
        kind = [tuple(c) if isinstance(c, list | tuple) else c for c in kind]
        if len(kind) != vals.shape[1]:
            raise PoseFileError(f"{where}: block {name!r} has {vals.shape[1]} columns but {len(kind)} labels")
        blocks.append(vals)
        labels += kind
    data = np.concatenate(blocks, axis=1) if blocks else np.zeros((len(rows), 0))
    pos = {c: i for i, c in enumerate(labels)}
    if sorted(map(repr, pos)) != sorted(map(repr, order)) or len(pos) != len(order):
        raise PoseFileError(f"{where}: column labels of the blocks do not match the frame's columns")
    data = data[:, [pos[c] for c in order]]
    col_info = info.get(1, {}) if isinstance(info, dict) else {}
    names = list(col_info.get("names", [None])) if isinstance(col_info, dict) else [None]
    idx_info = info.get("index", {}) if isinstance(info, dict) else {}
    index_name = idx_info.get("names", [None])[0] if isinstance(idx_info, dict) and idx_info.get("names") else None
    return data, index, order, names, index_name


def _read_fixed(where: str, g: Any, encoding: str) -> tuple[np.ndarray, np.ndarray, list, list, Any]:
    def axis(prefix: str) -> tuple[list, list]:
        variety = _attr(where, g, f"{prefix}_variety")
        if variety == "multi":
            n = int(_attr(where, g, f"{prefix}_nlevels"))
            levels, codes, names = [], [], []
            for i in range(n):
                lev = g[f"{prefix}_level{i}"]
                levels.append(_decode(lev[()], encoding))
                codes.append(np.asarray(g[f"{prefix}_label{i}"][()], dtype=np.int64))
                nm = _attr(where, lev, "name")
                names.append(None if nm in (None, "N.", "N") else nm)
            values = list(zip(*[[lv[c] for c in cd] for lv, cd in zip(levels, codes, strict=True)], strict=True))
            return [tuple(v) for v in values], names
        if variety == "regular":
            ds = g[prefix]
            nm = _attr(where, ds, "name")
            return _decode(ds[()], encoding), [None if nm in (None, "N.", "N") else nm]
        raise PoseFileError(f"{where}: axis {prefix!r} of kind {variety!r} is not supported")

    if int(_attr(where, g, "ndim", 2)) != 2:
        raise PoseFileError(f"{where}: not a two-dimensional frame")
    columns, names = axis("axis0")
    index, index_names = axis("axis1")
    if not all(isinstance(i, int) for i in index):
        raise PoseFileError(f"{where}: rows are not frame numbers")
    data = np.full((len(index), len(columns)), np.nan)
    pos = {c: i for i, c in enumerate(columns)}
    for b in range(int(_attr(where, g, "nblocks", 0))):
        items, _ = axis(f"block{b}_items")
        ds = g[f"block{b}_values"]
        vals = np.asarray(ds[()])
        if vals.dtype.kind not in "fiu":
            raise PoseFileError(f"{where}: column block {b} is not numeric ({vals.dtype})")
        if not _attr(where, ds, "transposed", 0):
            vals = vals.T
        if vals.shape != (len(index), len(items)):
            raise PoseFileError(f"{where}: block {b} has shape {vals.shape}, expected {(len(index), len(items))}")
        for k, c in enumerate(items):
            data[:, pos[c]] = vals[:, k]
    return data, np.asarray(index, dtype=np.int64), columns, names, index_names[0]
