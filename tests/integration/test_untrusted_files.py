"""Files from elsewhere never run code and never crash: pose files, DLC snapshots, bundles, cohorts,
skeletons. Each bad input gives the project's error naming the file and the problem, and the file's
bytes are unchanged afterwards."""

import hashlib
import json
import pickle
import warnings
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from gmdesk.cli.main import main
from gmdesk.errors import PoseFileError
from gmdesk.io.dlc import read_dlc, write_dlc
from gmdesk.io.hdf5 import UnsafeFileError, read_pandas_hdf
from gmdesk.io.tracks import read_track, write_track
from tests.conftest import REPO


class Payload:
    """Pickles to a call that creates a marker file: if it ever exists, the reader ran code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def sha(p: Path) -> str:
    return hashlib.sha256(Path(p).read_bytes()).hexdigest()


def dlc_frame(skeleton, n=40, start=0):
    cols = pd.MultiIndex.from_product([["DLC_resnet50"], list(skeleton.landmarks), ["x", "y", "likelihood"]],
                                      names=["scorer", "bodyparts", "coords"])
    rng = np.random.default_rng(1)
    data = rng.uniform(10, 900, (n, len(cols)))
    data[:, 2::3] = rng.uniform(0.7, 1.0, (n, len(cols) // 3))
    return pd.DataFrame(data, columns=cols, index=pd.RangeIndex(start, start + n))


@pytest.fixture
def evil_fixed(tmp_path, skeleton):
    """A pandas 'fixed' file with an object column: pandas.read_hdf would unpickle it."""
    marker = tmp_path / "ran-fixed"
    df = dlc_frame(skeleton, n=700)
    df[("DLC_resnet50", "note", "x")] = [Payload(marker)] * len(df)
    p = tmp_path / "evil_fixed.h5"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df.to_hdf(p, key="df_with_missing", format="fixed", mode="w")
    assert not marker.exists()
    return p, marker


@pytest.fixture
def evil_table(tmp_path, skeleton):
    """A DLC table file whose pickled column metadata names a function."""
    marker = tmp_path / "ran-table"
    p = tmp_path / "evil_table.h5"
    dlc_frame(skeleton, n=700).to_hdf(p, key="df_with_missing", format="table", mode="w")
    with h5py.File(p, "r+") as f:
        f["df_with_missing"].attrs["non_index_axes"] = np.bytes_(pickle.dumps(Payload(marker), protocol=0))
    return p, marker


def test_pandas_itself_would_run_the_payload(evil_table):
    """The attack is real: pandas.read_hdf runs the code (so gmdesk must never call it)."""
    p, marker = evil_table
    try:
        pd.read_hdf(p)
    except Exception:  # noqa: S110 - what pandas makes of the payload's return value does not matter
        pass
    assert marker.exists()


@pytest.mark.parametrize("which", ["evil_fixed", "evil_table"])
def test_executable_content_is_refused_by_every_reader(which, request, skeleton, tmp_path, capsys):
    p, marker = request.getfixturevalue(which)
    before = sha(p)
    with pytest.raises(UnsafeFileError, match=r"evil_\w+\.h5.*executable content; refusing to open it"):
        read_dlc(p, skeleton)
    model = REPO / "models" / "demo-synthetic"
    cohort = tmp_path / "cohort.csv"
    twin = tmp_path / "twin.h5"
    twin.write_bytes(p.read_bytes())
    cohort.write_text(f"infant_id,label,pose_file\nA,abnormal,{p}\nB,normal,{twin}\n", encoding="utf-8")
    for argv in (["clean", str(p), "-o", str(tmp_path / "c.npz")], ["features", str(p), "-o", str(tmp_path / "f.csv")],
                 ["snippets", str(p), "-o", str(tmp_path / "s.npz")], ["assess", str(p), "--model", str(model)],
                 ["case", "new", str(tmp_path / "x.gmcase"), str(p)],
                 ["train", str(cohort), "--model", "svm-rbf", "-o", str(tmp_path / "m"), "--subset", ""]):
        code = main(argv)
        err = capsys.readouterr().err
        assert code != 0 and "executable content" in err and "Traceback" not in err, argv
    assert not marker.exists() and sha(p) == before
    assert not (tmp_path / "x.gmcase").exists() and not (tmp_path / "m").exists()


@pytest.mark.parametrize("fmt", ["table", "fixed"])
@pytest.mark.parametrize("individuals", [None, ["infant", "parent"]])
def test_safe_reader_matches_pandas_exactly_on_trusted_files(tmp_path, skeleton, fmt, individuals):
    df = dlc_frame(skeleton, start=12)
    if individuals:
        df = pd.concat({i: df.droplevel(0, axis=1) for i in individuals}, axis=1)
        df = pd.concat({"DLC_resnet50": df}, axis=1)
        df.columns = df.columns.set_names(["scorer", "individuals", "bodyparts", "coords"])
    df.iloc[3, :5] = np.nan
    p = tmp_path / f"ok_{fmt}.h5"
    df.to_hdf(p, key="df_with_missing", format=fmt, mode="w")
    pd.testing.assert_frame_equal(read_pandas_hdf(p), pd.read_hdf(p), check_exact=True)


def test_gmdesk_written_files_read_back_exactly(tmp_path, skeleton, infant_normal):
    p = write_dlc(infant_normal.track, tmp_path / "w.h5")
    pd.testing.assert_frame_equal(read_pandas_hdf(p), pd.read_hdf(p), check_exact=True)


def _write(tmp_path, skeleton, name, edit):
    df = dlc_frame(skeleton)
    edit(df)
    p = tmp_path / name
    df.to_hdf(p, key="df_with_missing", format="table", mode="w")
    return p


@pytest.mark.parametrize("name, edit, message", [
    ("inf.h5", lambda d: d.iloc.__setitem__((5, 0), np.inf), r"infinite coordinates \(head_top at frame 5\)"),
    ("neg.h5", lambda d: d.iloc.__setitem__((slice(None), slice(0, None, 3)), -d.iloc[:, 0::3].to_numpy()),
     "coordinates outside"),
    ("huge.h5", lambda d: d.iloc.__setitem__((7, 3), 1e300), r"coordinates outside .*\(nose at frame 7\)"),
    ("lik.h5", lambda d: d.iloc.__setitem__((2, 5), 7.5), r"likelihood outside 0\.\.1 \(nose at frame 2\)"),
    ("liknan.h5", lambda d: d.iloc.__setitem__((4, 2), np.nan), r"a point without a likelihood \(head_top at frame 4\)"),
    ("half.h5", lambda d: d.iloc.__setitem__((9, 0), np.nan), r"only one coordinate \(head_top at frame 9\)"),
])
def test_impossible_values_are_refused_not_used(tmp_path, skeleton, name, edit, message):
    p = _write(tmp_path, skeleton, name, edit)
    before = sha(p)
    with pytest.raises(PoseFileError, match=rf"{name}.*{message}"):
        read_dlc(p, skeleton)
    assert sha(p) == before


def test_a_csv_cut_mid_row_is_refused(tmp_path, skeleton):
    p = tmp_path / "cut.csv"
    dlc_frame(skeleton).to_csv(p)
    text = p.read_text()
    p.write_text(text[: len(text) - 40])
    with pytest.raises(PoseFileError, match=r"cut\.csv', line 43: 71 fields, expected 73"):
        read_dlc(p, skeleton)


def test_a_csv_with_text_in_a_column_is_refused(tmp_path, skeleton):
    p = tmp_path / "text.csv"
    df = dlc_frame(skeleton)
    df = df.astype(object)
    df.iloc[3, 4] = "abc"
    df.to_csv(p)
    with pytest.raises(PoseFileError, match=r"text\.csv': column DLC_resnet50/nose/y holds text"):
        read_dlc(p, skeleton)


def test_damaged_track_npz_is_refused(tmp_path, skeleton, infant_normal):
    p = write_track(infant_normal.track, tmp_path / "t.npz")
    with np.load(p) as z:
        parts = dict(z)
    parts["xy"] = parts["xy"].copy()
    parts["xy"][0, 0, 0] = -1e9
    bad = tmp_path / "bad.npz"
    np.savez(bad, **parts)
    with pytest.raises(PoseFileError, match="bad.npz.*coordinates outside"):
        read_track(bad)
    parts["fps"] = np.float64(0)
    np.savez(bad, **parts)
    with pytest.raises(PoseFileError, match=r"bad.npz: cannot read pose track \(ValueError: fps must be a frame "
                                                r"rate between 1 and 1000"):
        read_track(bad)
    (tmp_path / "empty.npz").write_bytes(b"")
    with pytest.raises(PoseFileError, match="empty.npz"):
        read_track(tmp_path / "empty.npz")


def test_other_hdf5_files_get_clear_errors(tmp_path, skeleton):
    p = tmp_path / "two.h5"
    dlc_frame(skeleton).to_hdf(p, key="a", format="table", mode="w")
    dlc_frame(skeleton).to_hdf(p, key="b", format="table", mode="a")
    with pytest.raises(PoseFileError, match=r"two\.h5' holds several pandas frames"):
        read_dlc(p, skeleton)
    q = tmp_path / "plain.h5"
    with h5py.File(q, "w") as f:
        f["x"] = np.arange(3)
    with pytest.raises(PoseFileError, match=r"plain\.h5' holds no pandas frames"):
        read_dlc(q, skeleton)
    lab = tmp_path / "labelled.h5"
    df = dlc_frame(skeleton)
    df.index = [f"labeled-data/v/img{i:03d}.png" for i in range(len(df))]
    df.to_hdf(lab, key="df_with_missing", format="table", mode="w")
    with pytest.raises(PoseFileError, match="labelled.h5': rows are not frame numbers"):
        read_dlc(lab, skeleton)
    (tmp_path / "zero.h5").write_bytes(b"")
    with pytest.raises(PoseFileError, match=r"zero\.h5' cannot be read"):
        read_dlc(tmp_path / "zero.h5", skeleton)


def test_gmdesk_code_never_unpickles():
    """No reader in gmdesk or app calls pandas.read_hdf, pickle.load(s), np.load(allow_pickle=True) or
    torch.load without weights_only=True."""
    root = REPO
    found = []
    for f in [*root.glob("gmdesk/**/*.py"), *root.glob("app/**/*.py")]:
        text = f.read_text(encoding="utf-8")
        for bad in ("read_hdf(", "pickle.load(", "pickle.loads(", "allow_pickle=True", "joblib.load", "HDFStore("):
            if bad in text:
                found.append(f"{f.relative_to(root)}: {bad}")
        for line in text.splitlines():
            if "torch.load(" in line and "weights_only=True" not in line:
                found.append(f"{f.relative_to(root)}: {line.strip()}")
    assert found == [], found
    assert json.dumps(found) == "[]"


def test_a_dlc_snapshot_that_would_run_code_is_refused(tmp_path, skeleton, capsys):
    """A `snapshot-*.pt` in a training folder is loaded with weights_only=True; one holding a pickled
    object is refused by the loader and by `gmdesk pose`, and its code never runs."""
    import importlib.util

    from gmdesk.pose.deeplabcut import PoseModelError, import_torch, load_pose_model

    if importlib.util.find_spec("torch") is None or importlib.util.find_spec("deeplabcut") is None:
        pytest.skip("pose estimation (torch, DeepLabCut) not installed")
    torch = import_torch()  # before anything imports deeplabcut: keeps Triton out (see gmdesk.pose.deeplabcut.import_torch)
    train = tmp_path / "dlc-models-pytorch" / "train"
    train.mkdir(parents=True)
    (train / "pytorch_config.yaml").write_text(f"metadata:\n  bodyparts: [{', '.join(skeleton.landmarks)}]\n",
                                               encoding="utf-8")
    marker = tmp_path / "ran-snapshot"
    torch.save({"model": {"w": torch.zeros(2)}, "extra": Payload(marker)}, train / "snapshot-100.pt")
    before = sha(train / "snapshot-100.pt")
    with pytest.raises(PoseModelError, match=r"snapshot-100\.pt: refusing to load .*executable content"):
        load_pose_model(train)
    video = tmp_path / "v.mp4"
    video.write_bytes(b"not a video")
    assert main(["pose", str(video), "--model", str(train)]) != 0
    err = capsys.readouterr().err
    assert "executable content" in err and "Traceback" not in err
    assert not marker.exists() and sha(train / "snapshot-100.pt") == before
    torch.save({"model": {"w": torch.zeros(2)}, "optimizer": {"lr": 0.1}}, train / "snapshot-200.pt")
    m = load_pose_model(train)
    assert m.bodyparts == list(skeleton.landmarks) and m.snapshot.name.startswith("gmdesk-dlc-")
    assert set(torch.load(m.snapshot, weights_only=True)) == {"model"}


def _cohort(tmp_path, text, encoding="utf-8"):
    p = tmp_path / "cohort.csv"
    p.write_bytes(text.encode(encoding))
    return p


def test_cohort_tables_from_excel_and_their_mistakes(tmp_path, small_cohort):
    from gmdesk.errors import GmdeskError
    from gmdesk.pipeline.cohort import read_cohort

    pose = read_cohort(small_cohort)[0].pose_file
    other = read_cohort(small_cohort)[1].pose_file
    ok = read_cohort(_cohort(tmp_path, f"\ufeffinfant_id,label,pose_file,fps\nA,abnormal,{pose},25\n"))
    assert ok[0].infant_id == "A" and ok[0].fps == 25.0  # Excel's "CSV UTF-8" starts with a BOM
    for text, message in [
        (f"infant_id,label,pose_file,fps\nA,abnormal,{pose},0\n", r"cohort.csv:2: fps '0' is not a frame rate"),
        (f"infant_id,label,pose_file,fps\nA,abnormal,{pose},fast\n", r"cohort.csv:2: fps 'fast' is not a number"),
        (f"infant_id,label,pose_file,fps\nA,abnormal,{pose},inf\n", r"cohort.csv:2: fps 'inf' is not a frame rate"),
        (f"infant_id,label,pose_file\nA,,{pose}\n", r"cohort.csv:2: no value in column 'label'"),
        ("infant_id,label,pose_file\nA,normal\n", r"cohort.csv:2: no value in column 'pose_file'"),
        (f"infant_id,label,pose_file\nA,normal,{pose}\nB,abnormal,{pose}\n",
         r"cohort.csv:3: pose file .* is already the pose file of infant 'A'"),
        (f"infant_id,label,pose_file\nA,normal,{pose}\nA,abnormal,{other}\n", r"cohort.csv:3: infant_id 'A' is repeated"),
        (f"infant_id,label,pose_file\nA,maybe,{pose}\n", r"cohort.csv:2: label 'maybe'"),
        (f"infant_id,label,pose_file\nA,normal,{pose},x,y\n", r"cohort.csv:2: more cells than columns"),
        (f"id,label,pose\nA,normal,{pose}\n", r"lacks columns \['infant_id', 'pose_file'\]"),
    ]:
        p = _cohort(tmp_path, text)
        before = sha(p)
        with pytest.raises(GmdeskError, match=message):
            read_cohort(p)
        assert sha(p) == before
    with pytest.raises(GmdeskError, match="is not UTF-8 text: save it as CSV UTF-8"):
        read_cohort(_cohort(tmp_path, f"infant_id,label,pose_file\nJosé,normal,{pose}\n", "utf-16"))


@pytest.mark.parametrize("text, message", [
    ("name='x'\norigin='a'\nlandmarks='abc'\n", "landmarks must be a list"),
    ("origin='a'\nlandmarks=['a','b']\nedges=['ab']\n", "each edge must be a list of 2 names"),
    ("origin='a'\nlandmarks=['a','b']\nedges=[['a','b','a']]\n", "each edge must be a list of 2 names"),
    ("origin='a'\nlandmarks=['a',2]\n", "landmarks must be a name"),
    ("origin=['a']\nlandmarks=['a','b']\n", "origin must be a name"),
    ("origin='a'\nlandmarks=['a','b']\nmirror_pairs='ab'\n", "mirror_pairs must be a list"),
    ("origin='a'\nlandmarks=['a','b','c']\n[[angles]]\nname='t'\npoints='abc'\n", "exactly three points"),
    ("origin='a'\nlandmarks=['a','b','c']\n[[angles]]\npoints=['a','b','c']\n", "each angle needs a name"),
    ("origin='a'\nlandmarks=['a','b']\nx=" + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply|not valid TOML"),
])
def test_malformed_skeleton_files_are_refused(tmp_path, text, message):
    from gmdesk.errors import SkeletonError
    from gmdesk.io.skeletons import load_skeleton

    p = tmp_path / "bad.toml"
    p.write_text(text)
    with pytest.raises(SkeletonError, match=rf"bad\.toml.*({message})"):
        load_skeleton(p)


def test_a_skeleton_with_60k_angles_loads_in_linear_time(tmp_path):
    """It took 2 min 48 s before (list.index inside loops); the timing is in bench/, here it must load."""
    from gmdesk.io.skeletons import load_skeleton

    n = 30000
    lines = ["origin='a'", "landmarks=['a','b','c','d']"]
    for i in range(n):
        lines += ["[[angles]]", f"name='l{i}'", "points=['a','b','c']", f"mirror='r{i}'",
                  "[[angles]]", f"name='r{i}'", "points=['a','b','d']", f"mirror='l{i}'"]
    p = tmp_path / "big.toml"
    p.write_text("\n".join(lines))
    sk = load_skeleton(p)
    assert len(sk.angles) == 2 * n and sk.angle_mirror_permutation[:2].tolist() == [1, 0]


@pytest.fixture(scope="module")
def svm_bundle(tmp_path_factory, skeleton):
    from gmdesk.learning.bundle import save_bundle
    from gmdesk.learning.classifiers import classifier_for
    from gmdesk.pipeline.cohort import cohort_snippets, read_cohort
    from gmdesk.synthetic.cohorts import generate_cohort
    from gmdesk.synthetic.settings import SynthSettings

    d = tmp_path_factory.mktemp("bundle")
    table = generate_cohort(d / "c", 2, 2, 0, 0, seed=5, settings=SynthSettings(duration_s=(25, 30)))
    snips = cohort_snippets(read_cohort(table), skeleton, "angles", overlap=150)
    clf = classifier_for("svm-rbf").fit(snips.X, snips.label)
    return save_bundle(d / "svm", clf, skeleton, "angles", 300, 150, "svm-test")


def _tamper(bundle: Path, tmp_path: Path, edit) -> Path:
    import shutil

    out = tmp_path / "tampered"
    shutil.copytree(bundle, out)
    m = json.loads((out / "manifest.json").read_text())
    m = edit(m)
    (out / "manifest.json").write_text(m if isinstance(m, str) else json.dumps(m))
    return out


@pytest.mark.parametrize("edit, message", [
    (lambda m: m | {"decision": 2}, r"'decision' is '2'; it must be a probability strictly between 0 and 1"),
    (lambda m: m | {"threshold": 0}, r"'threshold' is '0'; it must be a share strictly between 0 and 1"),
    (lambda m: json.dumps(m | {"decision": 0.5}).replace('"decision": 0.5', '"decision": NaN'), "NaN is not a number"),
    (lambda m: [m], "must be a JSON object, not list"),
    (lambda m: {k: v for k, v in m.items() if k != "hyper_parameters"}, "missing 'hyper_parameters'"),
    (lambda m: m | {"hyper_parameters": m["hyper_parameters"] | {"evil": 1}}, "unknown hyper-parameter 'evil'"),
    (lambda m: m | {"hyper_parameters": m["hyper_parameters"] | {"C": -1}}, "hyper-parameter 'C' is '-1'"),
    (lambda m: m | {"overlap": 300}, "do not fit together"),
    (lambda m: m | {"files": {"../x": "0" * 64}}, "'files' is"),
    (lambda m: m | {"feature_names": m["feature_names"][::-1]}, "feature names do not match"),
    (lambda m: m | {"skeleton": m["skeleton"] | {"landmarks": "abc"}}, "skeleton: .*landmarks must be a list"),
    (lambda m: "{" * 100000, "not valid JSON"),
    (lambda m: m | {"calibration": {"method": "platt", "a": -63.1, "b": 0.2}}, r"'calibration' is .*slope ≤ 0.*retrain"),
    (lambda m: m | {"calibration": {"method": "none", "refused": 3}}, r"'calibration' is .*a refused calibration"),
    (lambda m: m | {"validation": {"validated": True, "reasons": ["x"]}}, r"'validation' is .*validated exactly when"),
])
def test_damaged_bundle_manifests_are_refused(svm_bundle, tmp_path, skeleton, edit, message):
    from gmdesk.learning.bundle import BundleError, load_bundle

    b = _tamper(svm_bundle, tmp_path, edit)
    before = sha(b / "manifest.json")
    with pytest.raises(BundleError, match=rf"tampered.*{message}"):
        load_bundle(b, skeleton)
    assert sha(b / "manifest.json") == before


def test_verdict_rule_refuses_impossible_parameters():
    from gmdesk.screening.verdict import infant_verdict

    for bad in ({"threshold": 0}, {"threshold": 1.5}, {"decision": float("nan")}, {"decision": 2}):
        with pytest.raises(ValueError, match="strictly between 0 and 1"):
            infant_verdict(np.array([0.2, 0.8]), "x", **bad)
    with pytest.raises(ValueError, match="finite"):
        infant_verdict(np.array([0.2, np.nan]), "x")
