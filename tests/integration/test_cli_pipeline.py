import csv
import re

import numpy as np
import pytest

from gmdesk.cli.main import main
from gmdesk.core.posetrack import PointStatus
from gmdesk.io.skeletons import load_skeleton
from gmdesk.io.tracks import read_track, write_track
from gmdesk.pipeline.cleaning import clean_track
from gmdesk.pipeline.cohort import read_cohort, recording_snippets
from gmdesk.pipeline.features import compute_features
from gmdesk.pipeline.snippets import SnippetSet, n_snippets

SKELETON14 = """
name = "coco14"
origin = "neck"
landmarks = ["head", "neck", "l_sho", "r_sho", "l_elb", "r_elb", "l_wri", "r_wri",
             "l_hip", "r_hip", "l_kne", "r_kne", "l_ank", "r_ank"]
edges = [["head", "neck"], ["neck", "l_sho"], ["neck", "r_sho"], ["l_sho", "l_elb"], ["l_elb", "l_wri"],
         ["r_sho", "r_elb"], ["r_elb", "r_wri"], ["neck", "l_hip"], ["neck", "r_hip"], ["l_hip", "l_kne"],
         ["l_kne", "l_ank"], ["r_hip", "r_kne"], ["r_kne", "r_ank"]]
mirror_pairs = [["l_sho", "r_sho"], ["l_elb", "r_elb"], ["l_wri", "r_wri"], ["l_hip", "r_hip"],
                ["l_kne", "r_kne"], ["l_ank", "r_ank"]]
[[angles]]
name = "l_elbow"
points = ["l_sho", "l_elb", "l_wri"]
mirror = "r_elbow"
[[angles]]
name = "r_elbow"
points = ["r_sho", "r_elb", "r_wri"]
mirror = "l_elbow"
[[angles]]
name = "l_knee"
points = ["l_hip", "l_kne", "l_ank"]
mirror = "r_knee"
[[angles]]
name = "r_knee"
points = ["r_hip", "r_kne", "r_ank"]
mirror = "l_knee"
"""

MAP14 = {"head": "head_top", "neck": "sternum", "l_sho": "left_shoulder", "r_sho": "right_shoulder",
         "l_elb": "left_elbow", "r_elb": "right_elbow", "l_wri": "left_wrist", "r_wri": "right_wrist",
         "l_hip": "left_hip", "r_hip": "right_hip", "l_kne": "left_knee", "r_kne": "right_knee",
         "l_ank": "left_ankle", "r_ank": "right_ankle"}


def test_other_skeleton_works_through_the_pipeline(tmp_path, infant_normal):
    """A 14-joint skeleton with its own origin and 4 angles: read, clean, features, snippets, CLI."""
    sk_path = tmp_path / "coco14.toml"
    sk_path.write_text(SKELETON14)
    sk14 = load_skeleton(sk_path)
    full = infant_normal.track
    t = full.select_landmarks([MAP14[n] for n in sk14.landmarks])
    t.landmarks = sk14.landmarks
    pose = tmp_path / "infant14.h5"
    from gmdesk.io.dlc import write_dlc

    write_dlc(t, pose, file_names=False)
    cleaned, rep = clean_track(read_track(write_track(t, tmp_path / "t.npz")), sk14)
    assert rep.geometry_outliers + rep.smoothness_outliers > 0
    f, layout = compute_features(cleaned, sk14, "both")
    assert f.shape[1] == 14 * 2 + 4
    assert np.all(f[:, [layout.names.index("neck_x"), layout.names.index("neck_y")]][np.isfinite(f[:, 0])] == 0)
    s, _, _ = recording_snippets(t, sk14, "N01", 0, "both", overlap=200)
    assert s.X.shape[1:] == (300, 32) and s.skeleton == "coco14" and len(s) > 0
    out = tmp_path / "s14.npz"
    assert main(["snippets", str(pose), "-o", str(out), "--skeleton", str(sk_path), "--features", "angles"]) == 0
    assert SnippetSet.load(out).X.shape[2] == 4


def test_cli_synth_clean_snippets_on_a_13_infant_cohort(tmp_path, capsys):
    outdir = tmp_path / "cohort"
    assert main(["synth", str(outdir), "--duration", "30", "40", "--seed", "3"]) == 0
    table = outdir / "cohort.csv"
    entries = read_cohort(table)
    assert len(entries) == 13
    assert sum(e.set == "internal" for e in entries) == 10
    assert [e.label for e in entries if e.set == "external"] == [0, 0, 1]
    with open(table) as fh:
        assert "synthetic" in next(csv.reader(fh))

    pose = entries[0].pose_file
    cleaned = tmp_path / "clean.npz"
    assert main(["clean", str(pose), "-o", str(cleaned), "--dlc-out", str(tmp_path / "clean.h5"),
                 "--report", str(tmp_path / "r.json")]) == 0
    out = capsys.readouterr().out
    assert "geometry: removed" in out and "imputed" in out and "windows usable" in out
    track = read_track(cleaned)
    assert any(p["step"] == "impute_gaps" for p in track.provenance)

    snips = tmp_path / "s.npz"
    assert main(["snippets", str(table), "-o", str(snips), "--overlap", "150", "--subset", "internal"]) == 0
    s = SnippetSet.load(snips)
    assert set(s.infant_id) <= {e.infant_id for e in entries if e.set == "internal"}
    assert set(np.unique(s.label)) == {0, 1}
    first = entries[0].infant_id
    got = int((s.infant_id == first).sum()) + sum(d["infant_id"] == first for d in s.dropped)
    assert got == n_snippets(read_track(cleaned).n_frames, 300, 150)

    feats = tmp_path / "f.csv"
    assert main(["features", str(cleaned), "-o", str(feats), "--set", "angles"]) == 0
    assert feats.read_text().splitlines()[0].startswith("frame,left_shoulder_angle")


def test_cli_bad_input_exits_1_with_the_file_named(tmp_path, capsys):
    bad = tmp_path / "broken.h5"
    bad.write_bytes(b"garbage")
    assert main(["clean", str(bad)]) == 1
    assert "broken.h5" in capsys.readouterr().err
    short = tmp_path / "short"
    assert main(["synth", str(short), "--duration", "5", "6", "--n-normal", "1", "--n-abnormal", "0",
                 "--n-external-normal", "0", "--n-external-abnormal", "0"]) == 0
    assert main(["snippets", str(short / "cohort.csv"), "-o", str(tmp_path / "x.npz")]) == 1
    err = capsys.readouterr().err
    assert "shorter than one 300-frame snippet" in err and "N01" in err
    assert main(["skeleton", str(tmp_path / "none.toml")]) == 1


@pytest.mark.parametrize("overlap", [299, 100])
def test_cohort_snippets_follow_overlap(small_cohort, skeleton, overlap):
    from gmdesk.pipeline.cohort import cohort_snippets

    entries = read_cohort(small_cohort)[:2]
    s = cohort_snippets(entries, skeleton, "angles", overlap=overlap)
    for e in entries:
        from gmdesk.io.dlc import read_dlc

        n = read_dlc(e.pose_file, skeleton).n_frames
        kept = int((s.infant_id == e.infant_id).sum())
        dropped = sum(d["infant_id"] == e.infant_id for d in s.dropped)
        assert kept + dropped == n_snippets(n, 300, overlap)


def test_cli_clean_puts_planted_swaps_back_and_lists_them(tmp_path, capsys, skeleton):
    """`gmdesk clean` on a 3-D synthetic recording with planted swaps: the swaps are reported, the
    written track has them put back (status REPAIRED), and --report lists the whole review queue."""
    import json

    from gmdesk.io.dlc import read_dlc, write_dlc
    from gmdesk.synthetic.artefacts import SWAP
    from gmdesk.synthetic.cohorts import make_infant
    from gmdesk.synthetic.settings import SynthSettings

    inf = make_infant("S1", 1, [71, 3], SynthSettings(pair_swap_rate=4.0), skeleton, n_frames=2700)
    planted = (inf.artefact == SWAP) & (np.linalg.norm(inf.track.xy - inf.truth_xy, axis=-1) > 15)
    assert planted.sum() > 100
    pose = write_dlc(inf.track, tmp_path / "s1.h5")
    out_h5 = tmp_path / "s1.clean.h5"
    assert main(["clean", str(pose), "-o", str(tmp_path / "s1.clean.npz"), "--dlc-out", str(out_h5),
                 "--report", str(tmp_path / "s1.json")]) == 0
    text = capsys.readouterr().out
    assert "left/right swaps put back:" in text and "review queue:" in text and "swap " in text
    track = read_track(tmp_path / "s1.clean.npz")
    # put back as a swap; a point the outlier checks took first may be filled in instead (1 of 238 here)
    assert np.mean(track.status[planted] == PointStatus.REPAIRED) > 0.99
    assert np.all(np.isin(track.status[planted], (PointStatus.REPAIRED, PointStatus.IMPUTED)))
    assert np.all(np.linalg.norm(track.xy[planted] - inf.truth_xy[planted], axis=-1) < 15)
    back = read_dlc(out_h5, skeleton)
    assert np.allclose(back.xy, track.xy, equal_nan=True)
    doc = json.loads((tmp_path / "s1.json").read_text())
    swaps = [it for it in doc["review"] if it["kind"] in ("swap", "side_swap")]
    assert swaps and len(doc["swaps"]) >= len(swaps) and doc["coverage"]["windows"] == 17
    assert any(p["step"] == "repair_left_right_swaps" for p in doc["provenance"])
    assert main(["clean", str(pose), "-o", str(tmp_path / "again.npz"), "--report"]) == 0
    listed = [ln for ln in capsys.readouterr().out.splitlines() if re.match(r"\s+\d+\. ", ln)]
    assert len(listed) == len(doc["review"])


def _walk(parser):
    import argparse

    yield parser
    for a in parser._actions:
        if isinstance(a, argparse._SubParsersAction):
            for p in a.choices.values():
                yield from _walk(p)


def test_every_option_of_every_command_says_what_it_does():
    import argparse

    from gmdesk.cli.main import build_parser

    missing = []
    for p in _walk(build_parser()):
        for a in p._actions:
            if isinstance(a, argparse._SubParsersAction | argparse._HelpAction | argparse._VersionAction):
                continue
            if a.help != argparse.SUPPRESS and not (a.help or "").strip():
                missing.append(f"{p.prog} {'/'.join(a.option_strings) or a.dest}")
    assert missing == []
    text = build_parser().format_help()
    assert "exit codes: 0 success; 1 bad data" in text


def test_verbose_logs_debug_messages_on_stderr_and_leaves_logging_as_it_was(capsys):
    import logging

    root, ours = logging.getLogger(), logging.getLogger("gmdesk")
    before = (root.level, ours.level, list(root.handlers))
    assert main(["-v", "skeleton"]) == 0
    err = capsys.readouterr().err
    assert "DEBUG gmdesk.cli.main: gmdesk " in err
    assert (root.level, ours.level, list(root.handlers)) == before
    assert main(["skeleton"]) == 0
    assert "DEBUG" not in capsys.readouterr().err


def test_building_the_parser_imports_no_heavy_stack():
    import subprocess
    import sys

    code = ("import sys, gmdesk.cli.main as c; c.build_parser().format_help(); heavy = {'pandas', 'scipy', 'sklearn', "
            "'matplotlib', 'tensorflow', 'keras', 'torch', 'cv2', 'h5py', 'tables'}; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


@pytest.mark.parametrize("argv, message", [
    (["pose", "v.mp4", "--dlc-model", "m", "--max-size", "-1"], "--max-size: -1 is out of range"),
    (["pose", "v.mp4", "--dlc-model", "m", "--batch", "0"], "--batch: 0 is out of range"),
    (["clean", "x.h5", "-o", "y.txt"], "use .npz or .h5 or .csv"),
    (["clean", "x.h5", "--fps", "0"], "--fps: 0 is out of range"),
    (["clean", "x.h5", "--fps", "nan"], "'nan' is not a finite number"),
    (["clean", "x.h5", "--report", "r.txt"], "the report is JSON"),
    (["train", "c.csv", "-o", "m", "--overlap", "300"], "--overlap: 300 is out of range"),
    (["train", "c.csv", "-o", "m", "--threshold", "1"], "--threshold: 1 is out of range"),
    (["train", "c.csv", "-o", "m", "--epochs", "0"], "--epochs: 0 is out of range"),
    (["assess", "x.h5", "--bundle", "b", "--json", "out.txt"], "use .json"),
    (["case", "new", "c.db", "x.h5"], "use .gmcase"),
])
def test_bad_numbers_and_file_names_are_usage_errors(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_old_option_names_still_work_and_missing_files_are_data_errors(tmp_path, capsys):
    from gmdesk.io.resources import bundle_path

    model = str(bundle_path())
    missing = str(tmp_path / "none.h5")
    for argv in (["assess", missing, "--model", model], ["assess", missing, "--bundle", model],
                 ["pose", str(tmp_path / "none.mp4"), "--model", str(tmp_path / "none.pt")]):
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert "none." in err and "does not exist" in err and "Traceback" not in err
