"""A skeleton can name the limbs whose fidgety movements are read. Found from the bones (the end effectors at least
four bones from the origin) they fit infant24, but a COCO-like skeleton with its origin at the nose has its wrists
three bones away: its arms were silently left out. ``gmdesk skeleton`` says which limbs are read either way."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gmdesk.cli.main import main
from gmdesk.errors import SkeletonError
from gmdesk.io.skeletons import load_skeleton
from gmdesk.learning.classifiers import make_classifier
from gmdesk.learning.params import ParameterError
from gmdesk.pipeline.features import feature_layout
from gmdesk.pipeline.fidgety import fidgety_findings_descriptors, limb_groups
from gmdesk.synthetic.cohorts import make_infant

COCO = """
name = "coco17"
origin = "nose"
landmarks = ["nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
             "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
             "right_knee", "left_ankle", "right_ankle"]
edges = [["nose", "left_eye"], ["nose", "right_eye"], ["left_eye", "left_ear"], ["right_eye", "right_ear"],
         ["nose", "left_shoulder"], ["nose", "right_shoulder"], ["left_shoulder", "left_elbow"],
         ["left_elbow", "left_wrist"], ["right_shoulder", "right_elbow"], ["right_elbow", "right_wrist"],
         ["left_shoulder", "left_hip"], ["right_shoulder", "right_hip"], ["left_hip", "left_knee"],
         ["left_knee", "left_ankle"], ["right_hip", "right_knee"], ["right_knee", "right_ankle"]]
mirror_pairs = [["left_eye", "right_eye"], ["left_ear", "right_ear"], ["left_shoulder", "right_shoulder"],
                ["left_elbow", "right_elbow"], ["left_wrist", "right_wrist"], ["left_hip", "right_hip"],
                ["left_knee", "right_knee"], ["left_ankle", "right_ankle"]]
"""
LIMBS = ('limbs = [["left_elbow", "left_wrist"], ["right_elbow", "right_wrist"], '
         '["left_knee", "left_ankle"], ["right_knee", "right_ankle"]]\n')


def _limbs(sk) -> list[list[str]]:
    layout = make_classifier("fidgety-findings", sk, feature_layout(sk, "both", "body")).descriptor_layout()
    return [[sk.landmarks[j] for j in g] for g in limb_groups(layout, sk.origin_index, sk.n_landmarks)]


def test_named_limbs_are_read_and_printed(tmp_path, capsys):
    (tmp_path / "coco.toml").write_text(COCO)
    (tmp_path / "coco_limbs.toml").write_text(COCO + LIMBS)
    found, named = load_skeleton(tmp_path / "coco.toml"), load_skeleton(tmp_path / "coco_limbs.toml")
    assert _limbs(found) == [["left_knee", "left_ankle"], ["right_knee", "right_ankle"]]  # the arms left out
    assert _limbs(named) == [["left_elbow", "left_wrist"], ["right_elbow", "right_wrist"],
                             ["left_knee", "left_ankle"], ["right_knee", "right_ankle"]]
    # the limbs are the model's (stored with its parameters), not the paper's features: same fingerprint
    assert found.fingerprint == named.fingerprint
    assert type(named).from_dict(named.to_dict()).limbs == named.limbs
    assert main(["skeleton", str(tmp_path / "coco.toml")]) == 0
    assert "(found from the bones): left_knee - left_ankle, right_knee - right_ankle\n" in capsys.readouterr().out
    assert main(["skeleton", str(tmp_path / "coco_limbs.toml")]) == 0
    assert "(named in the file): left_elbow - left_wrist, right_elbow" in capsys.readouterr().out


def test_a_limb_naming_an_unknown_landmark_is_refused(tmp_path):
    (tmp_path / "bad.toml").write_text(COCO + 'limbs = [["left_elbow", "left_hand"]]\n')
    with pytest.raises(SkeletonError, match=r"limbs name unknown landmarks \['left_hand'\]"):
        load_skeleton(tmp_path / "bad.toml")
    (tmp_path / "three.toml").write_text(COCO + 'limbs = [["left_shoulder", "left_elbow", "left_wrist"]]\n')
    with pytest.raises(SkeletonError, match="each limb"):
        load_skeleton(tmp_path / "three.toml")


def test_the_fidgety_level_reads_the_named_limbs(skeleton):
    """infant24 with only its legs named: the stillest limb is then a leg, never a hand, so the level can only
    rise (the minimum over fewer limbs) — and does where a hand was the stillest."""
    legs = replace(skeleton, limbs=(("left_ankle", "left_foot"), ("right_ankle", "right_foot")))
    snips = make_infant("L", 0, [2, 5], skeleton=skeleton, n_frames=1200).track
    from gmdesk.pipeline.cohort import recording_snippets

    s, _, _ = recording_snippets(snips, skeleton, "L", 0, "both", normalisation="body")
    levels = {}
    for name, sk in (("found", skeleton), ("legs", legs)):
        est = make_classifier("fidgety-findings", sk, feature_layout(sk, "both", "body"))
        levels[name] = fidgety_findings_descriptors(s.X, est.descriptor_layout())[:, 2]
    assert (levels["legs"] >= levels["found"] - 1e-9).all() and (levels["legs"] > levels["found"] + 1e-6).any()


def test_a_bundle_with_odd_limb_indices_is_refused(skeleton):
    """What loading a bundle checks of its manifest's parameters: pairs come in twos (a crash in zip before)."""
    est = make_classifier("fidgety-findings", skeleton, feature_layout(skeleton, "both", "body"))
    params = est.get_params(deep=False)
    type(est).validate_parameters(params | {"limbs": [12, 14, 13, 15]})
    for key in ("limbs", "segments", "mirror_landmarks"):
        with pytest.raises(ParameterError, match=key):
            type(est).validate_parameters(params | {key: [12, 14, 13]})
