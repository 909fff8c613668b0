"""The bad-input corpus: one line per input — what it is, the command it is given to, and what must
happen. Every line: the exit code says what went wrong (1 data/input, 2 usage), the message names the
file (or option) and the problem, no traceback is printed, no code from the file runs, and the input is
unchanged afterwards. ``python -m pytest tests/integration/test_bad_inputs.py -q -rA`` lists the outcome of each."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import sqlite3
import warnings
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from gmdesk.cli.main import main
from tests.conftest import REPO

MODEL = REPO / "models" / "demo-synthetic"
MARKER = "ran-payload"


class Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def _frame(n=600, start=0, parts=None):
    from gmdesk.io.skeletons import load_skeleton

    parts = parts or list(load_skeleton().landmarks)
    cols = pd.MultiIndex.from_product([["DLC_r50"], parts, ["x", "y", "likelihood"]], names=["scorer", "bodyparts", "coords"])
    rng = np.random.default_rng(0)
    d = rng.uniform(200, 800, (n, len(cols)))
    d[:, 2::3] = rng.uniform(0.9, 1.0, (n, len(cols) // 3))
    return pd.DataFrame(d, columns=cols, index=pd.RangeIndex(start, start + n))


def h5(edit=None, fmt="table", **kw):
    def make(d: Path) -> Path:
        df = _frame(**kw)
        if edit:
            edit(df)
        p = d / "pose.h5"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            df.to_hdf(p, key="df_with_missing", format=fmt, mode="w")
        return p
    return make


def csv_file(text_edit=None):
    def make(d: Path) -> Path:
        p = d / "pose.csv"
        _frame().to_csv(p)
        if text_edit:
            p.write_text(text_edit(p.read_text()))
        return p
    return make


def raw(name, data: bytes):
    def make(d: Path) -> Path:
        p = d / name
        p.write_bytes(data)
        return p
    return make


def evil_object_column(d: Path) -> Path:
    df = _frame()
    df[("DLC_r50", "x", "x")] = [Payload(d / MARKER)] * len(df)
    p = d / "pose.h5"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df.to_hdf(p, key="df_with_missing", format="fixed", mode="w")
    return p


def evil_attribute(d: Path) -> Path:
    p = h5()(d)
    with h5py.File(p, "r+") as f:
        f["df_with_missing"].attrs["info"] = np.bytes_(pickle.dumps(Payload(d / MARKER), protocol=0))
    return p


def cohort(text):
    def make(d: Path) -> Path:
        h5()(d)
        shutil.copy(d / "pose.h5", d / "pose2.h5")
        p = d / "cohort.csv"
        p.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
        return p
    return make


def skeleton_file(text):
    return raw("sk.toml", text.encode())


def bundle(edit):
    def make(d: Path) -> Path:
        b = d / "bundle"
        shutil.copytree(MODEL, b)
        m = json.loads((b / "manifest.json").read_text())
        m = edit(m)
        (b / "manifest.json").write_text(m if isinstance(m, str) else json.dumps(m))
        h5()(d)
        return b
    return make


def bundle_file(name, data):
    def make(d: Path) -> Path:
        b = d / "bundle"
        shutil.copytree(MODEL, b)
        (b / name).write_bytes(data)
        h5()(d)
        return b
    return make


def case(sql=None):
    def make(d: Path) -> Path:
        from gmdesk.io.skeletons import load_skeleton
        from gmdesk.record.case import import_pose_file

        pose = h5()(d)
        p = d / "c.gmcase"
        with import_pose_file(p, pose, load_skeleton(), clean=True) as c:
            c.move(5, "nose", 300.0, 300.0)
            c.undo()
        if sql:
            con = sqlite3.connect(p)
            con.executescript(sql)
            con.commit()
            con.close()
        return p
    return make


def video(data: bytes, name="v.mp4"):
    def make(d: Path) -> Path:
        h5()(d)
        return raw(name, data)(d)
    return make


def short_video(d: Path) -> Path:
    from gmdesk.io.skeletons import load_skeleton
    from gmdesk.synthetic.cohorts import make_infant
    from gmdesk.synthetic.video import render_video

    h5()(d)
    inf = make_infant("V", 0, [1, 1], n_frames=62)
    return render_video(inf.truth_xy * 0.1, load_skeleton(), d / "v.avi", size=(192, 108), codec="MJPG")


def track_npz(d: Path) -> Path:
    from gmdesk.io.dlc import read_dlc
    from gmdesk.io.skeletons import load_skeleton
    from gmdesk.io.tracks import write_track

    return write_track(read_dlc(h5()(d), load_skeleton()), d / "t.npz")


def cohort_of_tracks(d: Path) -> Path:
    track_npz(d)
    p = d / "cohort.csv"
    p.write_text("infant_id,label,pose_file\nA,normal,t.npz\n")
    return d / "t.npz"


def case_named(name):
    def make(d: Path) -> Path:
        return case()(d).rename(d / name)
    return make


def text_named(name, text="my notes: not a PDF\n"):
    def make(d: Path) -> Path:
        case()(d)
        return raw(name, text.encode())(d)
    return make


def linked(kind):
    """The pose file, and a symbolic or hard link to it (link.h5) to name as the output."""
    def make(d: Path) -> Path:
        p = h5()(d)
        (d / "link.h5").symlink_to(p) if kind == "symlink" else (d / "link.h5").hardlink_to(p)
        return p
    return make


def case_and_link(d: Path) -> Path:
    p = case()(d)
    (d / "t.h5").symlink_to(p)
    return p


def h5_external_link(d: Path) -> Path:
    """A pose file whose frame is an external link to a FIFO (opening it would wait forever)."""
    os.mkfifo(d / "fifo.h5")
    p = d / "pose.h5"
    with h5py.File(p, "w") as f:
        f["df_with_missing"] = h5py.ExternalLink("fifo.h5", "/df_with_missing")
    return p


def h5_external_storage(d: Path) -> Path:
    """A pose file whose table's data live in external storage: a FIFO."""
    p = h5()(d)
    os.mkfifo(d / "fifo.bin")
    with h5py.File(p, "r+") as f:
        t = f["df_with_missing/table"]
        dtype, n = t.dtype, t.shape[0]
        del f["df_with_missing/table"]
        f.create_dataset("df_with_missing/table", shape=(n,), dtype=dtype,
                         external=[(str(d / "fifo.bin"), 0, h5py.h5f.UNLIMITED)])
    return p


def h5_virtual(d: Path) -> Path:
    other = h5()(d).rename(d / "other.h5")
    p = h5()(d)
    with h5py.File(p, "r+") as f:
        t = f["df_with_missing/table"]
        layout = h5py.VirtualLayout(shape=t.shape, dtype=t.dtype)
        layout[:] = h5py.VirtualSource(str(other), "df_with_missing/table", shape=t.shape, dtype=t.dtype)
        del f["df_with_missing/table"]
        f.create_virtual_dataset("df_with_missing/table", layout)
    return p


def h5_memo_bomb(d: Path) -> Path:
    """2 kB of pickle whose list refers to itself 2**400 ways (pickle memo): walking it never ends."""
    body = b"(l" + b"p0\n" + b"".join(b"(g%d\ng%d\nlp%d\n" % (i, i, i + 1) for i in range(400)) + b"."
    p = h5()(d)
    with h5py.File(p, "r+") as f:
        f["df_with_missing"].attrs["info"] = np.bytes_(body)
    return p


def h5_huge_dataset(d: Path) -> Path:
    """A small file that declares a 64-GB chunked, compressed dataset (mostly fill value)."""
    p = h5()(d)
    with h5py.File(p, "r+") as f:
        f.create_dataset("df_with_missing/zeros", shape=(1 << 33,), dtype="f8", chunks=(1 << 20,), compression="gzip")
    return p


def npz_bomb(inflate: int):
    """A .npz whose member declares ``inflate`` bytes (what a deflated run of zeros that size declares; the test
    patches the declaration of a small member instead of compressing gigabytes: the check reads declarations,
    and ``zipfile`` never inflates a member past what it declares)."""
    def write(p: Path) -> None:
        import zipfile

        real = 1 << 20
        with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as z:
            with z.open("xy.npy", "w", force_zip64=True) as fh:
                np.lib.format.write_array_header_1_0(fh, {"descr": "<f8", "fortran_order": False, "shape": (real // 8,)})
                fh.write(bytes(real))
            z.filelist[0].file_size = inflate  # the central directory, written on close, declares it
        assert zipfile.ZipFile(p).infolist()[0].file_size == inflate
    return write


def track_bomb(d: Path) -> Path:
    h5()(d)
    p = d / "t.npz"
    npz_bomb(5 << 30)(p)
    return p


def bundle_npz_bomb(d: Path) -> Path:
    b = bundle(lambda m: m)(d)
    npz_bomb(3 << 29)(b / "scaler.npz")
    m = json.loads((b / "manifest.json").read_text())
    m["files"]["scaler.npz"] = hashlib.sha256((b / "scaler.npz").read_bytes()).hexdigest()
    (b / "manifest.json").write_text(json.dumps(m))
    return b


def bundle_unlisted(d: Path) -> Path:
    """Weights changed and their file left out of the manifest's list (so no hash is checked)."""
    b = bundle(lambda m: m | {"files": {k: v for k, v in m["files"].items() if k != "scaler.npz"}})(d)
    with np.load(b / "scaler.npz") as z:
        np.savez(b / "scaler.npz", mean=z["mean"], scale=-z["scale"])
    return b


def video_pattern(d: Path) -> Path:
    h5()(d)
    import cv2

    for i in range(3):
        cv2.imwrite(str(d / f"img{i:03d}.png"), np.zeros((8, 8, 3), np.uint8))
    shutil.copy(d / "img000.png", d / "img%03d.png")  # a file of that name exists: OpenCV would still read the sequence
    return d / "img%03d.png"


def yaml_bomb(d: Path) -> Path:
    (d / "v.mp4").write_bytes(b"x")
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"] + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    return raw("config.yaml", ("\n".join(lines) + "\n").encode())(d)


def _set(df, r, c, v):
    df.iloc[r, c] = v


# input, how to make it, command ({in} = the input, {dir} = its folder), exit code, message (regex)
CORPUS = [
    ("pose: fixed-format object column (pickle payload)", evil_object_column, "clean {in}", 1, "executable content"),
    ("pose: pickled metadata naming a function", evil_attribute, "assess {in} --bundle {model}", 1, "executable content"),
    ("pose: same, through case new", evil_attribute, "case new {dir}/x.gmcase {in}", 1, "executable content"),
    ("pose: same, through snippets", evil_object_column, "snippets {in} -o {dir}/s.npz", 1, "executable content"),
    ("pose: 0-byte .h5", raw("pose.h5", b""), "clean {in}", 1, r"pose\.h5' cannot be read"),
    ("pose: text named .h5", raw("pose.h5", b"hello"), "features {in} -o {dir}/f.csv", 1, "cannot be read"),
    ("pose: HDF5 without a pandas frame", raw("pose.h5", b"\x89HDF\r\n\x1a\n" + b"\0" * 300), "clean {in}", 1, "pose.h5"),
    ("pose: other landmark names", h5(parts=[f"bp{i}" for i in range(24)]), "clean {in}", 1, "lacks 24 landmark"),
    ("pose: frames not consecutive", h5(edit=lambda df: setattr(df, "index", pd.Index(np.arange(600) * 2))), "clean {in}", 1,
     "not consecutive"),
    ("pose: infinite coordinate", h5(edit=lambda df: _set(df, 3, 0, np.inf)), "clean {in}", 1, "infinite coordinates"),
    ("pose: coordinate 1e300", h5(edit=lambda df: _set(df, 3, 0, 1e300)), "clean {in}", 1, "coordinates outside"),
    ("pose: negated coordinates", h5(edit=lambda df: _set(df, slice(None), slice(0, None, 3), -500.0)),
     "assess {in} --bundle {model}", 1, "coordinates outside"),
    ("pose: likelihood 7.5", h5(edit=lambda df: _set(df, 2, 2, 7.5)), "clean {in}", 1, r"likelihood outside 0\.\.1"),
    ("pose: likelihood NaN for a point", h5(edit=lambda df: _set(df, 2, 2, np.nan)), "clean {in}", 1,
     "without a likelihood"),
    ("pose: shorter than one snippet", h5(n=120), "assess {in} --bundle {model}", 1, "shorter than one 300-frame"),
    ("pose: every window missing a landmark", h5(edit=lambda df: _set(df, slice(None), 3, np.nan)),
     "assess {in} --bundle {model}", 1, "only one coordinate|missing landmarks"),
    ("pose: csv cut mid-row", csv_file(lambda t: t[:-30]), "clean {in}", 1, r"line 603: .* fields"),
    ("pose: csv with text in a number column", csv_file(lambda t: t.replace(t.splitlines()[5].split(",")[4], "abc", 1)),
     "clean {in}", 1, "holds text"),
    ("pose: csv in UTF-16", raw("pose.csv", "scorer,x\n".encode("utf-16")), "clean {in}", 1, "not UTF-8"),
    ("pose: unknown extension", raw("pose.txt", b"x"), "clean {in}", 1, "unknown extension"),
    ("pose: missing file", lambda d: d / "none.h5", "clean {in}", 1, "does not exist"),
    ("track .npz: not a track", raw("t.npz", b"PK\x03\x04garbage"), "features {in} -o {dir}/f.csv", 1, "cannot read"),
    ("cohort: Excel CSV UTF-8 with BOM (accepted)", cohort("\ufeffinfant_id,label,pose_file,fps\nA,normal,pose.h5,30\n"
                                                           "B,abnormal,pose2.h5,30\n"),
     "snippets {in} -o {dir}/s.npz --subset ''", 0, ""),
    ("cohort: fps 0", cohort("infant_id,label,pose_file,fps\nA,normal,pose.h5,0\n"), "snippets {in} -o {dir}/s.npz", 1,
     "fps '0' is not a frame rate"),
    ("cohort: missing cell", cohort("infant_id,label,pose_file\nA,,pose.h5\n"), "snippets {in} -o {dir}/s.npz", 1,
     "no value in column 'label'"),
    ("cohort: one pose file, two infants", cohort("infant_id,label,pose_file\nA,normal,pose.h5\nB,abnormal,pose.h5\n"),
     "train {in} --classifier svm-rbf -o {dir}/m --subset ''", 1, "already the pose file of infant 'A'"),
    ("cohort: no such columns", cohort("id,x\n1,2\n"), "snippets {in} -o {dir}/s.npz", 1, "not a DeepLabCut csv"),
    ("cohort: Latin-1 bytes", cohort(b"infant_id,label,pose_file\nJos\xe9,normal,pose.h5\n"),
     "snippets {in} -o {dir}/s.npz", 1, "not UTF-8"),
    ("skeleton: nested 5000 deep", skeleton_file("x=" + "[" * 5000 + "]" * 5000), "skeleton {in}", 1,
     "nested too deeply|not valid TOML"),
    ("skeleton: garbage", skeleton_file("landmarks = ["), "skeleton {in}", 1, "not valid TOML"),
    ("skeleton: a key 20000 dots deep", skeleton_file(".".join(["a"] * 20000) + " = 1"), "skeleton {in}", 1,
     "keys nested more than 32 levels deep"),
    ("skeleton: landmarks a string", skeleton_file("origin='a'\nlandmarks='abc'"), "skeleton {in}", 1,
     "landmarks must be a list"),
    ("skeleton: edges not pairs", skeleton_file("origin='a'\nlandmarks=['a','b']\nedges=['ab']"), "skeleton {in}", 1,
     "each edge must be"),
    ("skeleton: unknown origin", skeleton_file("origin='z'\nlandmarks=['a','b']"), "skeleton {in}", 1,
     "origin name unknown"),
    ("bundle: decision 2", bundle(lambda m: m | {"decision": 2}), "assess {dir}/pose.h5 --bundle {in}", 1,
     "'decision' is '2'"),
    ("bundle: threshold 0", bundle(lambda m: m | {"threshold": 0}), "assess {dir}/pose.h5 --bundle {in}", 1,
     "'threshold' is '0'"),
    ("bundle: decision NaN", bundle(lambda m: json.dumps(m).replace('"decision": 0.5', '"decision": NaN')),
     "assess {dir}/pose.h5 --bundle {in}", 1, "NaN is not a number"),
    ("bundle: manifest is a list", bundle(lambda m: [m]), "assess {dir}/pose.h5 --bundle {in}", 1, "JSON object, not list"),
    ("bundle: no hyper_parameters", bundle(lambda m: {k: v for k, v in m.items() if k != "hyper_parameters"}),
     "assess {dir}/pose.h5 --bundle {in}", 1, "missing 'hyper_parameters'"),
    ("bundle: unknown hyper-parameter", bundle(lambda m: m | {"hyper_parameters": m["hyper_parameters"] | {"x": 1}}),
     "assess {dir}/pose.h5 --bundle {in}", 1, "unknown hyper-parameter 'x'"),
    ("bundle: other skeleton", bundle(lambda m: m), "assess {dir}/pose.h5 --bundle {in} --skeleton {dir}/sk.toml", 1,
     "trained for skeleton 'infant24'"),
    ("bundle: weights changed (hash)", bundle_file("scaler.npz", b"changed"), "assess {dir}/pose.h5 --bundle {in}", 1,
     "does not match its hash"),
    ("case: trigger that deletes edits", case("CREATE TRIGGER t AFTER INSERT ON edits BEGIN DELETE FROM edits; END;"),
     "case info {in}", 1, "objects gmdesk did not create"),
    ("case: out-of-range frame in an edit", case("UPDATE edits SET points = '[[99999, 0]]' WHERE seq = 1;"),
     "case info {in}", 1, "outside"),
    ("case: orphaned undo", case("DELETE FROM edits WHERE seq = 1;"), "case export {in} --edits {dir}/e.csv", 1,
     "undo of edit 1"),
    ("case: schema version text", case("UPDATE meta SET value = 'x' WHERE key = 'schema_version';"), "case info {in}", 1,
     "schema version 'x'"),
    ("case: schema version 99", case("UPDATE meta SET value = '99' WHERE key = 'schema_version';"), "case info {in}", 1,
     "newer gmdesk"),
    ("case: truncated track", case("UPDATE raw_track SET xy = substr(xy, 1, 64);"), "case export {in} --track {dir}/t.h5",
     1, "checksum"),
    ("case: bad JSON in a result", case("INSERT INTO results(model_id, verdict, snippets, author, time) VALUES "
                                        "('m', '{x', '[]', 'a', 't');"), "case info {in}", 1, "not valid JSON"),
    ("case: not SQLite", raw("c.gmcase", b"hello"), "case info {in}", 1, "not a gmdesk case file"),
    ("case new: text file as video", video(b"not a video"), "case new {dir}/n.gmcase {dir}/pose.h5 --video {in}", 1,
     "cannot be linked"),
    ("case new: 0-byte video", video(b""), "case new {dir}/n.gmcase {dir}/pose.h5 --video {in}", 1, "cannot be linked"),
    ("case new: 62-frame clip for 600 frames", short_video, "case new {dir}/n.gmcase {dir}/pose.h5 --video {in}", 1,
     "62 frames but the pose track has 600"),
    ("CLI: --max-size -1", video(b"x"), "pose {in} --dlc-model {dir} --max-size -1", 2, "--max-size: -1 is out of range"),
    ("CLI: clean -o Y.txt", h5(), "clean {in} -o {dir}/y.txt", 2, "use .npz or .h5 or .csv"),
    ("CLI: --overlap 300", cohort("infant_id,label,pose_file\nA,normal,pose.h5\n"), "train {in} -o {dir}/m --overlap 300",
     2, "--overlap: 300 is out of range"),
    ("CLI: --fps 0", h5(), "clean {in} --fps 0", 2, "--fps: 0 is out of range"),
    # outputs never replace inputs (exit 2, both named, nothing written)
    ("output: clean -o the pose file", h5(), "clean {in} -o {in}", 2, r"-o .* is the input pose file"),
    ("output: clean --dlc-out the pose file", h5(), "clean {in} -o {dir}/c.npz --dlc-out {in}", 2,
     r"--dlc-out .* is the input pose file"),
    ("output: clean -o a symbolic link to the pose file", linked("symlink"), "clean {in} -o {dir}/link.h5", 2,
     "is the input pose file"),
    ("output: clean -o a hard link to the pose file", linked("hardlink"), "clean {in} -o {dir}/link.h5", 2,
     "is the input pose file"),
    ("output: clean -o and --dlc-out the same file", h5(), "clean {in} -o {dir}/a.h5 --dlc-out {dir}/a.h5", 2,
     "are the same file"),
    ("output: clean --report the --mapping file", video(b"[bodyparts]\n", "map.json"),
     "clean {dir}/pose.h5 --mapping {in} --report {in}", 2,
     "is the input --mapping"),
    ("output: features -o the pose csv", csv_file(), "features {in} -o {in}", 2, "is the input pose file"),
    ("output: features -o the pose csv, spelt with ..", csv_file(), "features {in} -o {dir}/../{dir_name}/pose.csv", 2,
     "is the input pose file"),
    ("output: assess --csv the pose csv", csv_file(), "assess {in} --bundle {model} --csv {in}", 2, "is the input pose file"),
    ("output: assess --json into the bundle", bundle(lambda m: m), "assess {dir}/pose.h5 --bundle {in} --json "
     "{in}/manifest.json", 2, r"is the input --bundle .*\(inside it\)"),
    ("output: snippets -o the track", track_npz, "snippets {in} -o {in}", 2, "is the input input"),
    ("output: snippets -o a cohort infant's track", cohort_of_tracks, "snippets {dir}/cohort.csv -o {in}", 2,
     "is the input pose file of infant 'A'"),
    ("output: report -o the case (named .pdf)", case_named("c.pdf"), "report {in} -o {in}", 2, "is the input case file"),
    ("output: report -o a file that is not a PDF", text_named("notes.pdf"), "report {dir}/c.gmcase -o {in}", 2,
     "exists and is not a PDF"),
    ("output: report -o a case file named .pdf", text_named("other.pdf", "SQLite format 3\0"),
     "report {dir}/c.gmcase -o {in}", 2, "exists and is not a PDF"),
    ("output: case export --track a link to the case", case_and_link, "case export {in} --track {dir}/t.h5", 2,
     "is the input case file"),
    ("output: batch -o inside the bundle", bundle(lambda m: m), "batch {dir}/cohort.csv -o {in}/out --bundle {in}", 2,
     r"is the input --bundle .*\(inside it\)"),
    ("output: train -o the folder holding the cohort", cohort("infant_id,label,pose_file\nA,normal,pose.h5\n"),
     "train {in} -o {dir} --overwrite --classifier svm-rbf", 2, "holds the input cohort table"),
    # files that read other files, or inflate
    ("pose: HDF5 external link to a FIFO", h5_external_link, "clean {in}", 1, "external link to another file"),
    ("pose: HDF5 external storage in a FIFO", h5_external_storage, "clean {in}", 1, "external storage"),
    ("pose: HDF5 virtual dataset", h5_virtual, "clean {in}", 1, "virtual dataset"),
    ("pose: pickle memo bomb in HDF5 metadata", h5_memo_bomb, "clean {in}", 1, "more deeply nested than pandas"),
    ("pose: HDF5 dataset declaring 64 GB", h5_huge_dataset, "clean {in}", 1, "would take .* bytes in memory"),
    ("track .npz: inflates to 5 GiB", track_bomb, "features {in} -o {dir}/f.csv", 1, "would inflate to"),
    ("bundle: .npz inflating to 1.5 GiB (hash updated)", bundle_npz_bomb, "assess {dir}/pose.h5 --bundle {in}", 1,
     "would inflate to"),
    ("bundle: weights changed and left out of the file list", bundle_unlisted, "assess {dir}/pose.h5 --bundle {in}", 1,
     r"\['scaler.npz'\] is not listed with a hash"),
    ("bundle: duplicate 'threshold' key", bundle(lambda m: json.dumps(m)[:-1] + ', "threshold": 0.01}'),
     "assess {dir}/pose.h5 --bundle {in}", 1, "key 'threshold' is given twice"),
    ("DLC model: YAML alias bomb", yaml_bomb, "pose {dir}/v.mp4 --dlc-model {in}", 1, "an alias"),
    ("case new: image-sequence pattern as video", video_pattern, "case new {dir}/n.gmcase {dir}/pose.h5 --video {in}", 1,
     "numbered image sequence"),
    ("CLI: --fps 1e-300", h5(), "clean {in} --fps 1e-300", 2, "--fps: 1e-300 is out of range"),
    ("cohort: fps 0.5", cohort("infant_id,label,pose_file,fps\nA,normal,pose.h5,0.5\n"), "snippets {in} -o {dir}/s.npz",
     1, r"fps '0.5' is not a frame rate \(1 <= fps <= 1000\)"),
    ("cohort: one class only (train)", cohort("infant_id,label,pose_file\nA,normal,pose.h5\nB,normal,pose2.h5\n"),
     "train {in} -o {dir}/m --classifier svm-rbf --subset ''", 1, "has 2 normal and 0 abnormal infant"),
    ("cohort: one infant (evaluate)", cohort("infant_id,label,pose_file\nA,abnormal,pose.h5\n"),
     "evaluate {in} -o {dir}/ev --classifiers svm-rbf --subset ''", 1, "has 0 normal and 1 abnormal infant"),
    ("CLI: unknown classifier", cohort("infant_id,label,pose_file\nA,normal,pose.h5\nB,abnormal,pose2.h5\n"),
     "train {in} -o {dir}/m --classifier xgboost --subset ''", 2, "unknown classifier 'xgboost'"),
]


def _hash_tree(p: Path) -> dict:
    if not p.exists():
        return {}
    if p.is_file():
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()}
    return {str(q.relative_to(p)): hashlib.sha256(q.read_bytes()).hexdigest() for q in sorted(p.rglob("*")) if q.is_file()}


@pytest.mark.parametrize("name, make, command, code, message", CORPUS, ids=[c[0] for c in CORPUS])
def test_bad_input(tmp_path, capsys, name, make, command, code, message):
    src = make(tmp_path)
    if "other skeleton" in name:
        (tmp_path / "sk.toml").write_text("origin='a'\nlandmarks=['a','b']\nedges=[['a','b']]")
    before = _hash_tree(src)
    argv = [a.replace("{in}", str(src)).replace("{dir_name}", tmp_path.name).replace("{dir}", str(tmp_path))
            .replace("{model}", str(MODEL)) for a in command.split()]
    argv = ["" if a == "''" else a for a in argv]
    got = main(argv)
    out, err = capsys.readouterr()
    assert "Traceback" not in err + out
    assert got == code, f"{name}: exit {got}, expected {code}\n{err[-800:]}"
    if message:
        import re

        assert re.search(message, err), f"{name}: {err[-800:]}"
        assert (Path(str(src)).name in err) or code == 2 or "{in}" not in command, f"{name}: the message does not name the input"
    assert not (tmp_path / MARKER).exists(), f"{name}: the file's code ran"
    assert _hash_tree(src) == before, f"{name}: the input was changed"


def _fifo(name):
    def make(d: Path) -> Path:
        h5()(d)
        os.mkfifo(d / name)
        return d / name
    return make


def _cohort_with_fifo(d: Path) -> Path:
    h5()(d)
    os.mkfifo(d / "pose2.h5")
    p = d / "cohort.csv"
    p.write_text("infant_id,label,pose_file\nA,normal,pose.h5\nB,abnormal,pose2.h5\n")
    return d / "pose2.h5"


def _bundle_with_fifo(d: Path) -> Path:
    b = bundle(lambda m: m)(d)
    (b / "scaler.npz").unlink()
    os.mkfifo(b / "scaler.npz")
    return b / "scaler.npz"


# special files: a FIFO (open() waits forever for a writer) or a device (reads forever); run in a child process
# with a timeout so that a regression fails the test instead of hanging it
SPECIAL = [
    ("FIFO as pose .npz", _fifo("t.npz"), "features {in} -o {dir}/f.csv"),
    ("FIFO as pose .h5", _fifo("p.h5"), "clean {in}"),
    ("FIFO as pose .csv", _fifo("p.csv"), "clean {in}"),
    ("FIFO as --mapping", _fifo("map.toml"), "clean {dir}/pose.h5 --mapping {in}"),
    ("/dev/zero as --mapping", lambda d: (h5()(d), Path("/dev/zero"))[1], "clean {dir}/pose.h5 --mapping {in}"),
    ("FIFO as --skeleton", _fifo("sk.toml"), "skeleton {in}"),
    ("FIFO as a cohort infant's pose file", _cohort_with_fifo, "snippets {dir}/cohort.csv -o {dir}/s.npz"),
    ("FIFO as the cohort table", _fifo("cohort.csv"), "train {in} -o {dir}/m --classifier svm-rbf"),
    ("FIFO as the batch table", _fifo("batch.csv"), f"batch {{in}} -o {{dir}}/out --bundle {MODEL}"),
    ("FIFO as a bundle file", _bundle_with_fifo, "assess {dir}/pose.h5 --bundle {dir}/bundle"),
    ("FIFO as a case file", _fifo("c.gmcase"), "case info {in}"),
    ("/dev/zero as video", lambda d: (h5()(d), Path("/dev/zero"))[1], "case new {dir}/n.gmcase {dir}/pose.h5 --video {in}"),
    ("a folder as pose file", lambda d: (h5()(d), (d / "dir.h5").mkdir(), d / "dir.h5")[2], "clean {in}"),
]


@pytest.mark.parametrize("name, make, command", SPECIAL, ids=[c[0] for c in SPECIAL])
def test_special_file_is_refused_without_waiting(tmp_path, name, make, command):
    import subprocess
    import sys

    src = make(tmp_path)
    argv = [a.replace("{in}", str(src)).replace("{dir}", str(tmp_path)) for a in command.split()]
    code = "import sys; from gmdesk.cli.main import main; sys.exit(main(sys.argv[1:]))"
    try:
        got = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=60,
                             cwd=REPO, env=os.environ | {"PYTHONPATH": str(REPO)})
    except subprocess.TimeoutExpired:
        pytest.fail(f"{name}: still waiting after 60 s")
    assert "Traceback" not in got.stderr
    assert got.returncode == 1, got.stderr[-800:]
    assert "is not a regular file" in got.stderr and src.name in got.stderr, got.stderr[-800:]


@pytest.mark.parametrize("how", ["ENOSPC", "zlib error on a full disk"])
def test_disk_full_says_what_and_where_and_writes_nothing(tmp_path, capsys, monkeypatch, how):
    import errno
    import shutil as shutil_module
    import zlib

    import gmdesk.io.atomic as atomic

    src = h5()(tmp_path)
    out = tmp_path / "out" / "clean.npz"
    if how == "ENOSPC":
        def fsync(fd):
            raise OSError(errno.ENOSPC, "No space left on device")
        monkeypatch.setattr(atomic.os, "fsync", fsync)
    else:
        def savez(*a, **k):
            raise zlib.error("Error -2 while flushing: inconsistent stream state")
        monkeypatch.setattr(np, "savez_compressed", savez)
        usage = shutil_module.disk_usage(tmp_path)
        monkeypatch.setattr(atomic.shutil, "disk_usage", lambda p: usage._replace(free=0))
    assert main(["clean", str(src), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert f"{out} was not written: the disk holding {out.parent} is full" in err and "nothing was written" in err
    assert "internal error" not in err and ".part" not in err
    assert not out.exists() and not [p for p in out.parent.iterdir()]  # no temporary part left behind
