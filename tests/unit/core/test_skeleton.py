import numpy as np
import pytest

from gmdesk.errors import SkeletonError
from gmdesk.io.skeletons import load_skeleton


def test_default_skeleton_has_the_papers_24_landmarks_and_12_angles(skeleton):
    assert skeleton.name == "infant24"
    assert skeleton.n_landmarks == 24
    assert len(skeleton.angles) == 12
    assert skeleton.origin == "sternum"
    names = {a.name for a in skeleton.angles}
    for side in ("left", "right"):
        for joint in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle"):
            assert f"{side}_{joint}" in names
    elbow = next(a for a in skeleton.angles if a.name == "left_elbow")
    assert elbow.points == ("left_shoulder", "left_elbow", "left_wrist")


def test_mirror_permutations_are_involutions(skeleton):
    p = skeleton.mirror_permutation
    assert np.array_equal(p[p], np.arange(skeleton.n_landmarks))
    assert p[skeleton.index("left_hand")] == skeleton.index("right_hand")
    assert p[skeleton.index("sternum")] == skeleton.index("sternum")
    a = skeleton.angle_mirror_permutation
    assert np.array_equal(a[a], np.arange(len(skeleton.angles)))


def _write(tmp_path, text):
    p = tmp_path / "sk.toml"
    p.write_text(text)
    return p


def test_unknown_landmark_in_edges_is_named(tmp_path):
    p = _write(tmp_path, 'landmarks = ["a", "b"]\norigin = "a"\nedges = [["a", "zz"]]\n')
    with pytest.raises(SkeletonError, match=r"edges.*\['zz'\]"):
        load_skeleton(p)


def test_duplicate_landmarks_are_refused(tmp_path):
    p = _write(tmp_path, 'landmarks = ["a", "b", "a"]\norigin = "a"\n')
    with pytest.raises(SkeletonError, match=r"duplicate landmarks \['a'\]"):
        load_skeleton(p)


def test_unknown_origin_and_bad_toml_and_missing_file(tmp_path):
    with pytest.raises(SkeletonError, match="origin"):
        load_skeleton(_write(tmp_path, 'landmarks = ["a", "b"]\norigin = "c"\n'))
    with pytest.raises(SkeletonError, match="not valid TOML"):
        load_skeleton(_write(tmp_path, "landmarks = [\n"))
    with pytest.raises(SkeletonError, match="does not exist"):
        load_skeleton(tmp_path / "nope.toml")


def test_angles_must_mirror_each_other(tmp_path):
    text = (
        'landmarks = ["a", "b", "c", "d"]\norigin = "a"\n'
        '[[angles]]\nname = "x"\npoints = ["a", "b", "c"]\nmirror = "y"\n'
        '[[angles]]\nname = "y"\npoints = ["b", "c", "d"]\nmirror = "x"\n'
        '[[angles]]\nname = "z"\npoints = ["a", "c", "d"]\nmirror = "x"\n'
    )
    with pytest.raises(SkeletonError, match="do not mirror"):
        load_skeleton(_write(tmp_path, text))


def test_fingerprint_changes_with_landmark_order(tmp_path):
    a = load_skeleton(_write(tmp_path, 'landmarks = ["a", "b"]\norigin = "a"\n'))
    b = load_skeleton(_write(tmp_path, 'landmarks = ["b", "a"]\norigin = "a"\n'))
    assert a.fingerprint != b.fingerprint
