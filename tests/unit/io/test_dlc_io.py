import numpy as np
import pandas as pd
import pytest

from gmdesk.core.posetrack import PointStatus
from gmdesk.errors import PoseFileError
from gmdesk.io.dlc import read_dlc, read_dlc_frame, write_dlc, write_dlc_frame
from gmdesk.io.tracks import read_track, write_track


def dlc_frame(bodyparts, n=40, scorer="DLC_resnet50_infantOct1shuffle1_100000", individuals=None, seed=0):
    """A DataFrame laid out exactly as DeepLabCut writes it."""
    rng = np.random.default_rng(seed)
    if individuals:
        cols = pd.MultiIndex.from_product(
            [[scorer], individuals, bodyparts, ["x", "y", "likelihood"]],
            names=["scorer", "individuals", "bodyparts", "coords"],
        )
    else:
        cols = pd.MultiIndex.from_product(
            [[scorer], bodyparts, ["x", "y", "likelihood"]], names=["scorer", "bodyparts", "coords"]
        )
    data = rng.uniform(0, 1000, (n, len(cols)))
    data[:, 2::3] = rng.uniform(0, 1, (n, len(cols) // 3))
    data[5, 0:2] = np.nan
    return pd.DataFrame(data, columns=cols)


@pytest.mark.parametrize("suffix", [".h5", ".csv"])
def test_file_to_track_to_file_is_exact(tmp_path, skeleton, suffix):
    df = dlc_frame(list(skeleton.landmarks))
    src = tmp_path / f"in{suffix}"
    if suffix == ".h5":
        df.to_hdf(src, key="df_with_missing", format="table", mode="w")  # as DLC writes it
    else:
        df.to_csv(src)
    track = read_dlc(src, skeleton)
    assert track.xy.shape == (40, 24, 2)
    assert track.status[5, 0] == PointStatus.MISSING
    dst = tmp_path / f"out{suffix}"
    write_dlc(track, dst)
    back = read_dlc_frame(dst)
    pd.testing.assert_frame_equal(back, read_dlc_frame(src), check_exact=True)
    if suffix == ".h5":
        with pd.HDFStore(dst, "r") as store:
            assert list(store.keys()) == ["/df_with_missing"]
    else:
        assert dst.read_text().splitlines()[0].startswith("scorer,DLC_resnet50")


def test_h5_and_csv_hold_the_same_numbers(tmp_path, skeleton, infant_normal):
    write_dlc(infant_normal.track, tmp_path / "a.h5")
    write_dlc(infant_normal.track, tmp_path / "a.csv")
    a, b = read_dlc(tmp_path / "a.h5", skeleton), read_dlc(tmp_path / "a.csv", skeleton)
    assert np.array_equal(a.xy, b.xy, equal_nan=True)
    assert np.array_equal(a.likelihood, b.likelihood, equal_nan=True)


def test_name_mapping_file_and_order(tmp_path, skeleton):
    file_names = [f"BP{i}" for i in range(24)][::-1] + ["tail"]
    df = dlc_frame(file_names)
    src = tmp_path / "mapped.h5"
    df.to_hdf(src, key="df_with_missing", format="table", mode="w")
    mapping = tmp_path / "map.toml"
    mapping.write_text("[bodyparts]\n" + "\n".join(f'BP{i} = "{lm}"' for i, lm in enumerate(skeleton.landmarks)))
    track = read_dlc(src, skeleton, mapping=mapping)
    j = skeleton.index("left_knee")
    bp = f"BP{j}"
    assert np.array_equal(track.xy[:, j, 0], df[(df.columns[0][0], bp, "x")].to_numpy())
    assert track.provenance[-1]["summary"]["ignored_bodyparts"] == ["tail"]
    out = tmp_path / "back.h5"
    write_dlc(track, out)  # written back with the file's own names
    assert set(read_dlc_frame(out).columns.get_level_values("bodyparts")) == {f"BP{i}" for i in range(24)}


def test_missing_landmarks_are_listed(tmp_path, skeleton):
    parts = [lm for lm in skeleton.landmarks if lm not in ("left_foot", "nose")]
    src = tmp_path / "short.h5"
    dlc_frame(parts).to_hdf(src, key="df_with_missing", format="table", mode="w")
    with pytest.raises(PoseFileError, match=r"short\.h5.*lacks 2 landmark.*\['nose', 'left_foot'\]"):
        read_dlc(src, skeleton)


def test_multi_animal_file_choose_or_fail(tmp_path, skeleton):
    df = dlc_frame(list(skeleton.landmarks), individuals=["infant", "parent"])
    src = tmp_path / "ma.h5"
    df.to_hdf(src, key="df_with_missing", format="table", mode="w")
    with pytest.raises(PoseFileError, match=r"multi-animal.*\['infant', 'parent'\].*choose one"):
        read_dlc(src, skeleton)
    t = read_dlc(src, skeleton, individual="parent")
    scorer = df.columns[0][0]
    assert np.array_equal(t.xy[:, 3, 1], df[(scorer, "parent", skeleton.landmarks[3], "y")].to_numpy())
    with pytest.raises(PoseFileError, match="no individual 'baby'"):
        read_dlc(src, skeleton, individual="baby")
    out = tmp_path / "ma_out.csv"
    write_dlc(t, out)
    back = read_dlc_frame(out)
    assert back.columns.names == ["scorer", "individuals", "bodyparts", "coords"]
    pd.testing.assert_frame_equal(back, df.loc[:, df.columns.get_level_values(1) == "parent"], check_exact=True)


def test_bad_files_give_clear_errors(tmp_path, skeleton):
    junk = tmp_path / "corrupt.h5"
    junk.write_bytes(b"\x89HDF\r\n not really hdf5")
    with pytest.raises(PoseFileError, match=r"corrupt\.h5.*cannot be read"):
        read_dlc(junk, skeleton)
    plain = tmp_path / "plain.csv"
    plain.write_text("a,b\n1,2\n")
    with pytest.raises(PoseFileError, match=r"plain\.csv"):
        read_dlc(plain, skeleton)
    with pytest.raises(PoseFileError, match="does not exist"):
        read_dlc(tmp_path / "missing.h5", skeleton)
    with pytest.raises(PoseFileError, match="unknown extension"):
        read_dlc(_touch(tmp_path / "x.txt"), skeleton)


def _touch(p):
    p.write_text("x")
    return p


def test_atomic_write_keeps_old_file_when_writing_fails(tmp_path, skeleton, infant_normal):
    dst = tmp_path / "keep.h5"
    write_dlc(infant_normal.track, dst)
    before = dst.read_bytes()
    bad = pd.DataFrame({"x": [object()]})
    with pytest.raises(Exception):  # noqa: B017 - pandas raises TypeError for objects in table format
        write_dlc_frame(bad, dst)
    assert dst.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["keep.h5"]


def test_native_track_file_round_trip(tmp_path, infant_abnormal):
    p = write_track(infant_abnormal.track, tmp_path / "t.npz")
    t = read_track(p)
    assert np.array_equal(t.xy, infant_abnormal.track.xy, equal_nan=True)
    assert np.array_equal(t.status, infant_abnormal.track.status)
    assert t.provenance == infant_abnormal.track.provenance
    with pytest.raises(PoseFileError):
        read_track(_touch(tmp_path / "bad.npz"))


def test_written_files_get_normal_permissions(tmp_path, infant_normal):
    import os

    p = write_dlc(infant_normal.track, tmp_path / "perm.h5")
    mask = os.umask(0)
    os.umask(mask)
    assert (p.stat().st_mode & 0o777) == (0o666 & ~mask)
