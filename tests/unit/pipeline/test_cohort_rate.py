"""A cohort filmed at another frame rate trains the model it will be assessed with: every recording reaches the
model at its rate (29.97 fps: a 300-frame snippet is 10 s), as ``assess`` resamples what it scores."""

import csv

import numpy as np

from gmdesk.constants import DEFAULT_FPS, WINDOW
from gmdesk.io.tracks import write_track
from gmdesk.learning.classifiers import make_classifier
from gmdesk.pipeline.cohort import cohort_features, cut_cohort, read_cohort
from gmdesk.pipeline.features import feature_layout
from gmdesk.pipeline.resample import resample_track
from gmdesk.synthetic.cohorts import make_infant


def test_a_25_fps_cohort_is_cut_into_10_s_snippets_at_the_model_rate(tmp_path, skeleton):
    infant = make_infant("N07", 0, [17, 0], skeleton=skeleton, n_frames=int(45 * DEFAULT_FPS))
    write_track(infant.track, tmp_path / "at_model_rate.npz")
    write_track(resample_track(infant.track, 25.0), tmp_path / "at_25.npz")
    with open(tmp_path / "cohort.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["infant_id", "label", "pose_file"])
        w.writerow(["model-rate", "normal", "at_model_rate.npz"])
        w.writerow(["filmed-at-25", "normal", "at_25.npz"])
    recs = cohort_features(read_cohort(tmp_path / "cohort.csv"), skeleton, "both", normalisation="body")
    assert [r.track.fps for r in recs] == [DEFAULT_FPS, DEFAULT_FPS]
    assert abs(recs[1].track.n_frames - recs[0].track.n_frames) <= 2  # the same 45 s
    assert any(p.get("step") == "resample" for p in recs[1].track.provenance)
    assert not any(p.get("step") == "resample" for p in recs[0].track.provenance)
    snips = cut_cohort(recs, skeleton, WINDOW)
    assert snips.fps == DEFAULT_FPS
    a, b = (snips.X[snips.infant_id == k] for k in ("model-rate", "filmed-at-25"))
    assert len(a) == len(b) > 0
    # resampling does not distort what the default family reads: the same movement, the same fidgety descriptors
    layout = feature_layout(skeleton, "both", "body")
    est = make_classifier("fidgety-findings", skeleton, layout)
    da, db = est._raw_descriptors(a), est._raw_descriptors(b)
    assert np.allclose(da, db, rtol=0.1, atol=0.05), (da - db)


def test_training_on_files_of_another_rate_makes_a_model_at_the_models_rate(tmp_path, small_cohort, skeleton):
    """DLC files store no frame rate: ``--fps 25`` says what they are; the bundle still learns (and will assess)
    at 29.97 fps, each recording resampled from 25 fps — before, the classifier and the bundle took the files' 25 fps
    and the snippets were 12 s."""
    import json

    from gmdesk.cli.main import main

    rows = list(csv.DictReader(open(small_cohort, encoding="utf-8")))
    table = tmp_path / "no_rate.csv"
    with open(table, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["infant_id", "label", "pose_file", "set"])
        for r in rows:
            w.writerow([r["infant_id"], r["label"], str(small_cohort.parent / r["pose_file"]), r["set"]])
    out = tmp_path / "m"
    assert main(["train", str(table), "--classifier", "fidgety-findings", "--cv", "none", "--fps", "25", "-o", str(out)]) == 0
    assert json.loads((out / "manifest.json").read_text(encoding="utf-8"))["fps"] == DEFAULT_FPS
    recs = cohort_features(read_cohort(table)[:2], skeleton, "both", fps=25.0, normalisation="body")
    for r in recs:
        assert r.track.fps == DEFAULT_FPS
        assert any(p.get("step") == "resample" and p["params"]["from_fps"] == 25.0 for p in r.track.provenance)
