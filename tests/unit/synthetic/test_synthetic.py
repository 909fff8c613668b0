import numpy as np
import pytest

from gmdesk.pipeline.features import joint_angles
from gmdesk.synthetic.artefacts import ARTEFACT_NAMES, DROPOUT, OCCLUSION, SIDE_SWAP, SWAP
from gmdesk.synthetic.bodies import project
from gmdesk.synthetic.cohorts import make_infant
from gmdesk.synthetic.settings import SynthSettings
from gmdesk.synthetic.video import render_video


def limb_sync(inf, skeleton):
    """Mean correlation between the four limbs' elbow/knee angle series (clean truth)."""
    a = joint_angles(inf.truth_xy, skeleton)
    names = [x.name for x in skeleton.angles]
    cols = [names.index(n) for n in ("left_elbow", "right_elbow", "left_knee", "right_knee")]
    c = np.corrcoef(a[:, cols].T)
    return np.abs(c[np.triu_indices(4, 1)]).mean()


def test_same_seed_same_infant_and_different_seed_differs(skeleton):
    a = make_infant("X", 1, [5, 5], skeleton=skeleton, n_frames=600)
    b = make_infant("X", 1, [5, 5], skeleton=skeleton, n_frames=600)
    c = make_infant("X", 1, [5, 6], skeleton=skeleton, n_frames=600)
    assert np.array_equal(a.track.xy, b.track.xy, equal_nan=True) and a.params == b.params
    assert not np.array_equal(a.truth_xy[:10], c.truth_xy[:10])


@pytest.mark.parametrize("model", ["3d", "2d"])
def test_cramped_synchronised_limbs_move_together_normal_limbs_independently(skeleton, model):
    s = SynthSettings(normal_share=0.0, model=model)
    normal = np.mean([limb_sync(make_infant("N", 0, [1, i], s, skeleton, 3000), skeleton) for i in range(3)])
    abnormal = np.mean([limb_sync(make_infant("A", 1, [1, i], s, skeleton, 3000, phenotype="cramped-synchronised"),
                                  skeleton) for i in range(3)])
    print(f"\n{model} limb synchrony |r|: normal {normal:.2f}, abnormal {abnormal:.2f}")
    # projected angles of the 3-D model mix the lift into the bend, which dilutes the synchrony a little
    assert normal < 0.3 and abnormal > 0.4 and abnormal > 3 * normal


def test_the_3d_infant_lifts_limbs_and_each_recording_has_its_own_camera(skeleton):
    infants = [make_infant("N", 0, [2, i], skeleton=skeleton, n_frames=2400) for i in range(4)]
    cams = np.array([[i.params["body"][k] for k in ("camera_distance_cm", "tilt_deg", "roll_deg")] for i in infants])
    assert np.ptp(cams, axis=0).min() > 2 and (cams[:, 1] <= 25).all() and (np.abs(cams[:, 2]) <= 30).all()
    inf = infants[0]
    w = inf.truth_world
    k, a = skeleton.index("left_knee"), skeleton.index("left_hip")
    assert w.shape == (2400, 24, 3) and np.nanmax(w[:, k, 2] - w[:, a, 2]) > 5  # the knee rises towards the camera
    e = skeleton.edge_index
    px = np.linalg.norm(inf.truth_xy[:, e[:, 0]] - inf.truth_xy[:, e[:, 1]], axis=-1)
    thigh = list(map(tuple, e)).index((a, k))
    ratio = px[:, thigh] / np.quantile(px[:, thigh], 0.9)
    assert ratio.min() < 0.7 and ratio.max() < 1.3  # foreshortened often, never much longer
    true3d = np.linalg.norm(w[:, a] - w[:, k], axis=-1)
    assert np.ptp(true3d) < 1e-6  # the bone itself keeps its length


def test_projection_is_a_pinhole_camera():
    from gmdesk.synthetic.bodies import _camera

    rot, centre = _camera(100.0, 0.0, 0.0, 0.0, np.zeros(3))
    pts = np.array([[0.0, 0.0, 0.0], [10.0, 0.0, 0.0], [10.0, 0.0, 20.0], [0.0, 10.0, 0.0]])
    px = project(pts, rot, centre, 1000.0, np.array([960.0, 540.0]))
    assert np.allclose(px[0], [960, 540])
    assert np.allclose(px[1], [1060, 540])  # 10 cm at 100 cm: 100 px, the infant's left on the image right
    assert np.allclose(px[2], [960 + 1000 * 10 / 80, 540])  # nearer the camera looks larger
    assert np.allclose(px[3], [960, 440])  # towards the head: up in the image


def test_body_stays_in_the_image(skeleton, infant_normal):
    xy = infant_normal.truth_xy
    assert np.isfinite(xy).all()
    assert (xy[..., 0] > 0).all() and (xy[..., 0] < 1920).all() and (xy[..., 1] > 0).all() and (xy[..., 1] < 1080).all()
    e = skeleton.edge_index
    lengths = np.quantile(np.linalg.norm(xy[:, e[:, 0]] - xy[:, e[:, 1]], axis=-1), 0.9, axis=0)
    up = lengths[skeleton.edges.index(("left_shoulder", "left_elbow"))]
    fore = lengths[skeleton.edges.index(("left_elbow", "left_wrist"))]
    trunk = lengths[skeleton.edges.index(("sternum", "pelvis"))]
    assert 0.7 < fore / up < 1.05 and 1.5 < trunk / up < 2.6


def test_every_artefact_kind_is_planted_and_labelled(skeleton):
    inf = make_infant("A", 1, [7, 2], SynthSettings(pair_swap_rate=3, side_swap_rate=1, occlusion_rate=2), skeleton, 5400)
    codes = np.bincount(inf.artefact.ravel(), minlength=len(ARTEFACT_NAMES))
    assert all(codes[k] > 0 for k in range(1, len(ARTEFACT_NAMES))), dict(zip(ARTEFACT_NAMES.values(), codes, strict=True))
    assert np.isnan(inf.track.xy[inf.artefact == DROPOUT]).all()
    sw = inf.artefact == SIDE_SWAP
    assert sw.any(axis=1).sum() >= 3 and (sw.sum(axis=1)[sw.any(axis=1)] >= 10).all()  # every pair at once
    runs = np.diff(np.concatenate([[0], (inf.artefact == SWAP).any(axis=1).astype(int), [0]]))
    lengths = np.flatnonzero(runs == -1) - np.flatnonzero(runs == 1)
    assert lengths.max() > 15  # swaps longer than the 2-D model's 3-15 frames
    occ = inf.artefact == OCCLUSION
    assert ((inf.track.likelihood[occ] > 0.3) & (inf.track.likelihood[occ] < 0.9)).all()
    assert (inf.track.likelihood[inf.artefact == SWAP] >= 0.9).all()  # confident mistakes


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


def test_unknown_model_is_refused():
    with pytest.raises(ValueError, match="model"):
        SynthSettings(model="4d")
