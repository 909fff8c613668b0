import numpy as np

from gmdesk.features import joint_angles
from gmdesk.synthetic import SynthSettings, make_infant, render_video


def limb_sync(inf, skeleton):
    """Mean correlation between the four limbs' elbow/knee angle series (clean truth)."""
    a = joint_angles(inf.truth_xy, skeleton)
    names = [x.name for x in skeleton.angles]
    cols = [names.index(n) for n in ("left_elbow", "right_elbow", "left_knee", "right_knee")]
    c = np.corrcoef(a[:, cols].T)
    return np.abs(c[np.triu_indices(4, 1)]).mean()


def test_same_seed_same_infant_and_different_seed_differs(skeleton):
    a = make_infant("X", 1, [5, 5], skeleton=skeleton)
    b = make_infant("X", 1, [5, 5], skeleton=skeleton)
    c = make_infant("X", 1, [5, 6], skeleton=skeleton)
    assert np.array_equal(a.track.xy, b.track.xy, equal_nan=True)
    assert not np.array_equal(a.truth_xy[:10], c.truth_xy[:10])


def test_abnormal_limbs_move_together_normal_limbs_independently(skeleton):
    s = SynthSettings(normal_share=0.0)
    normal = np.mean([limb_sync(make_infant("N", 0, [1, i], s, skeleton), skeleton) for i in range(3)])
    abnormal = np.mean([limb_sync(make_infant("A", 1, [1, i], s, skeleton), skeleton) for i in range(3)])
    print(f"\nlimb synchrony |r|: normal {normal:.2f}, abnormal {abnormal:.2f}")
    assert normal < 0.2 < 0.6 < abnormal


def test_body_proportions_and_image_placement(skeleton, infant_normal):
    xy = infant_normal.truth_xy
    assert np.isfinite(xy).all()
    assert (xy[..., 0] > 0).all() and (xy[..., 0] < 1920).all() and (xy[..., 1] > 0).all() and (xy[..., 1] < 1080).all()
    e = skeleton.edge_index
    lengths = np.median(np.linalg.norm(xy[:, e[:, 0]] - xy[:, e[:, 1]], axis=-1), axis=0)
    up = lengths[skeleton.edges.index(("left_shoulder", "left_elbow"))]
    fore = lengths[skeleton.edges.index(("left_elbow", "left_wrist"))]
    trunk = lengths[skeleton.edges.index(("sternum", "pelvis"))]
    assert 0.75 < fore / up < 1.0 and 1.5 < trunk / up < 2.4


def test_artefacts_are_planted_and_labelled(infant_abnormal):
    codes = np.bincount(infant_abnormal.artefact.ravel(), minlength=6)
    assert all(codes[k] > 0 for k in (1, 2, 3, 4, 5))
    drop = infant_abnormal.artefact == 3
    assert np.isnan(infant_abnormal.track.xy[drop]).all()


def test_render_video_writes_readable_frames(tmp_path, skeleton, infant_normal):
    import cv2

    p = render_video(infant_normal.truth_xy, skeleton, tmp_path / "v.mp4", size=(320, 240), scale=0.2,
                     offset=(-40, -20), frames=slice(0, 12))
    cap = cv2.VideoCapture(str(p))
    n = 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        n += 1
        assert frame.shape == (240, 320, 3) and frame.std() > 5
    assert n == 12
