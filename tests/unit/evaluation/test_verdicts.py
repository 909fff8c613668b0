"""Verdicts that hold on unseen infants (issue #12): infant-level figures with intervals, camera-invariant
features, augmentation, the kinematics classifier, calibration and indeterminate verdicts."""

import json

import numpy as np
import pytest
from sklearn.base import clone

from gmdesk.core.posetrack import PoseTrack
from gmdesk.evaluation.metrics import infant_level
from gmdesk.evaluation.protocol import cross_validate
from gmdesk.learning.base import augment_snippets
from gmdesk.learning.bundle import load_bundle, save_bundle
from gmdesk.learning.calibration import calibrate, fit_platt
from gmdesk.learning.classifiers import classifier_for, make_classifier
from gmdesk.pipeline.cohort import cohort_features, cut_cohort, read_cohort
from gmdesk.pipeline.features import compute_features, feature_layout
from gmdesk.screening.intervals import wilson_interval
from gmdesk.synthetic.cohorts import generate_cohort, make_infant
from gmdesk.synthetic.settings import SynthSettings


@pytest.fixture(scope="module")
def cohort3d(tmp_path_factory):
    """12 synthetic 3-D infants of 60-70 s (each its own camera), seed used nowhere else."""
    out = tmp_path_factory.mktemp("c3d")
    return read_cohort(generate_cohort(out, 6, 6, 0, 0, seed=404, settings=SynthSettings(duration_s=(60, 70))))


@pytest.fixture(scope="module")
def snips_both(cohort3d, skeleton):
    return {norm: cut_cohort(cohort_features(cohort3d, skeleton, "both", normalisation=norm), skeleton, 300, 150)
            for norm in ("paper", "body")}


def test_wilson_interval_against_hand_computed_values():
    lo, hi = wilson_interval(7, 10)  # p = 0.7, n = 10: 0.3968-0.8922
    assert abs(lo - 0.3968) < 1e-3 and abs(hi - 0.8922) < 1e-3
    assert wilson_interval(0, 5)[0] == 0.0 and wilson_interval(5, 5)[1] == 1.0
    assert all(np.isnan(wilson_interval(0, 0)))


def test_infant_level_figures_pool_out_of_fold_scores():
    """Six infants, scores constructed by hand: the verdicts, counts and AUCs follow."""
    ids = np.repeat(["a", "b", "c", "d", "e", "f"], 10)
    labels = np.repeat([0, 0, 0, 1, 1, 1], 10)
    share_abn = {"a": 0.1, "b": 0.2, "c": 0.5, "d": 0.3, "e": 0.8, "f": 0.9}  # c: false abnormal, d: missed
    scores = np.concatenate([np.r_[np.full(int(10 * share_abn[i]), 0.9), np.full(10 - int(10 * share_abn[i]), 0.1)]
                             for i in "abcdef"])
    fig = infant_level(scores, labels, ids, threshold=0.6)
    assert fig["accuracy"]["k"] == 4 and fig["accuracy"]["n"] == 6
    assert (fig["sensitivity"]["k"], fig["sensitivity"]["n"]) == (2, 3)
    assert (fig["specificity"]["k"], fig["specificity"]["n"]) == (2, 3)
    assert (fig["npv"]["k"], fig["npv"]["n"]) == (2, 3) and (fig["ppv"]["k"], fig["ppv"]["n"]) == (2, 3)
    lo, hi = fig["accuracy"]["ci"]
    assert np.allclose([lo, hi], wilson_interval(4, 6), atol=1e-6)
    # infant AUC: normal shares 0.1, 0.2, 0.5 vs abnormal 0.3, 0.8, 0.9 -> 8 of 9 pairs ordered
    assert abs(fig["auc"]["value"] - 8 / 9) < 1e-6
    assert fig["auc"]["ci"][0] <= fig["auc"]["value"] <= fig["auc"]["ci"][1]
    assert fig["infants"] == 6 and fig["snippets"] == 60 and len(fig["per_infant"]) == 6
    again = infant_level(scores, labels, ids, threshold=0.6)
    assert again["auc"]["ci"] == fig["auc"]["ci"]  # seeded bootstrap


def test_leave_one_infant_out_gives_infant_level_figures_where_fold_auc_is_undefined(snips_both, skeleton):
    s = snips_both["body"]
    est = make_classifier("kinematics", skeleton, feature_layout(skeleton, "both", "body"), seed=3)
    res = cross_validate(s, est, "loio", seed=3)
    assert all(np.isnan(f["roc_auc"]) for f in res.folds)  # one class per fold
    fig = res.infant_level
    assert fig["infants"] == 12 and fig["auc"]["value"] is not None and fig["accuracy"]["n"] == 12
    assert res.row()["infant_auc"] == fig["auc"]["value"]


def _camera(xy, scale, deg, shift):
    th = np.radians(deg)
    rot = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    return (xy @ rot.T) * scale + shift


@pytest.mark.parametrize("scale, deg", [(0.5, -40), (2.0, 40), (1.3, 17)])
def test_body_features_do_not_change_with_the_camera(skeleton, scale, deg):
    inf = make_infant("C", 1, [9, 4], SynthSettings(artefacts=False), skeleton, n_frames=900)
    a = PoseTrack.from_xy(inf.truth_xy, skeleton.landmarks, 29.97)
    b = PoseTrack.from_xy(_camera(inf.truth_xy, scale, deg, np.array([130.0, -70.0])), skeleton.landmarks, 29.97)
    for norm in ("body", "body-frame"):
        fa, _ = compute_features(a, skeleton, "both", norm)
        fb, _ = compute_features(b, skeleton, "both", norm)
        assert np.nanmax(np.abs(fa - fb)) < 1e-6
    pa, _ = compute_features(a, skeleton, "coords", "paper")
    pb, _ = compute_features(b, skeleton, "coords", "paper")
    assert np.nanmax(np.abs(pa - pb)) > 10  # the paper's coordinates carry the camera


def test_the_same_infant_under_another_camera_gets_the_same_scores(snips_both, skeleton):
    s = snips_both["body"]
    layout = feature_layout(skeleton, "both", "body")
    clf = classifier_for("svm-rbf", seed=1, mirror_columns=tuple(int(c) for c in layout.mirror_columns),
                         mirror_signs=tuple(float(v) for v in layout.mirror_signs)).fit(s.X, s.label)
    inf = make_infant("D", 0, [9, 5], SynthSettings(artefacts=False), skeleton, n_frames=900)
    scores = []
    for scale, deg in ((1.0, 0.0), (0.6, -35.0), (1.8, 25.0)):
        t = PoseTrack.from_xy(_camera(inf.truth_xy, scale, deg, np.array([40.0, 60.0])), skeleton.landmarks, 29.97)
        f, _ = compute_features(t, skeleton, "both", "body")
        windows = np.stack([f[a:a + 300] for a in range(0, 600, 150)]).astype(np.float32)
        scores.append(clf.score_snippets(windows))
    assert np.allclose(scores[0], scores[1], atol=1e-5) and np.allclose(scores[0], scores[2], atol=1e-5)


def test_flip_in_the_body_frame_is_the_anatomical_mirror(skeleton):
    """In the body frame a right-left flip of the movement equals swapping the sides of the features."""
    from gmdesk.pipeline.features import mirror_features

    inf = make_infant("M", 0, [9, 6], SynthSettings(artefacts=False), skeleton, n_frames=300)
    xy = inf.truth_xy
    flipped = xy.copy()
    flipped[..., 0] *= -1
    flipped = flipped[:, skeleton.mirror_permutation]
    a, layout = compute_features(PoseTrack.from_xy(xy, skeleton.landmarks, 29.97), skeleton, "both", "body")
    b, _ = compute_features(PoseTrack.from_xy(flipped, skeleton.landmarks, 29.97), skeleton, "both", "body")
    assert np.nanmax(np.abs(mirror_features(a, layout) - b)) < 1e-6


def test_augmentation_changes_only_training_copies_and_is_seeded(snips_both, skeleton):
    s = snips_both["paper"]
    layout = feature_layout(skeleton, "both")
    X = s.X[:20]
    a = augment_snippets(X, np.random.default_rng(1), tuple(layout.coord_columns), 0.1, 15, 0.05, 0.02)
    b = augment_snippets(X, np.random.default_rng(1), tuple(layout.coord_columns), 0.1, 15, 0.05, 0.02)
    assert np.array_equal(a, b) and not np.allclose(a, X) and a.shape == X.shape
    ang = layout.angle_columns
    no_warp = augment_snippets(X, np.random.default_rng(2), tuple(layout.coord_columns), 0.2, 30, 0.0, 0.0)
    assert np.allclose(no_warp[..., ang], X[..., ang])  # scale and rotation leave angles alone
    r0 = np.linalg.norm(X[..., layout.coord_columns[0]: layout.coord_columns[0] + 2], axis=-1)
    r1 = np.linalg.norm(no_warp[..., layout.coord_columns[0]: layout.coord_columns[0] + 2], axis=-1)
    ratio = r1 / np.where(r0 > 1e-6, r0, np.nan)
    assert np.nanstd(ratio, axis=1).max() < 1e-4 and 0.8 <= np.nanmin(ratio) and np.nanmax(ratio) <= 1.2
    est = make_classifier("kinematics", skeleton, layout, augment=2, seed=5)
    est.fit(s.X, s.label)
    plain = make_classifier("kinematics", skeleton, layout, seed=5).fit(s.X, s.label)
    assert est.train_info_["n_train_augmented"] == 3 * plain.train_info_["n_train_augmented"]
    assert np.array_equal(est.score_snippets(s.X[:5]), clone(est).fit(s.X, s.label).score_snippets(s.X[:5]))


@pytest.mark.parametrize("arch", ["kinematics", "kinematics-gb"])
def test_kinematics_bundle_round_trip_gives_identical_scores(tmp_path, snips_both, skeleton, arch):
    s = snips_both["body"]
    layout = feature_layout(skeleton, "both", "body")
    clf = make_classifier(arch, skeleton, layout, seed=2).fit(s.X, s.label)
    cal = fit_platt(clf.score_snippets(s.X), s.label)
    out = save_bundle(tmp_path / arch, clf, skeleton, "both", 300, 150, f"{arch}-test", normalisation="body",
                      calibration=cal, min_snippets=6)
    man = json.loads((out / "manifest.json").read_text())
    assert man["normalisation"] == "body" and man["calibration"]["method"] == "platt" and man["min_snippets"] == 6
    assert {"descriptors.npz", "descriptors.json", "model.skops"} <= set(man["files"]) and not (out / "model.keras").exists()
    b = load_bundle(out, skeleton)
    assert np.array_equal(b.classifier.score_snippets(s.X), clf.score_snippets(s.X))
    assert np.allclose(b.score_snippets(s.X), calibrate(clf.score_snippets(s.X), cal))
    emb = b.classifier.embed(s.X[:4])
    assert emb.shape[0] == 4 and emb.shape[1] > 50


def test_calibration_makes_probabilities_mean_what_they_say():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 4000)
    raw = 1 / (1 + np.exp(-(3.0 * (2 * y - 1) + rng.normal(0, 2, 4000))))  # over-confident scores
    cal = fit_platt(raw, y)
    p = calibrate(raw, cal)

    def ece(q):
        bins = np.clip((q * 10).astype(int), 0, 9)
        return sum(abs(q[bins == b].mean() - y[bins == b].mean()) * (bins == b).mean() for b in range(10) if (bins == b).any())

    assert ece(p) < 0.5 * ece(raw) and ece(p) < 0.05
    assert np.array_equal(calibrate(raw, None), raw)


def test_cli_evaluate_prints_infant_level_figures_and_writes_the_plots(tmp_path, cohort3d, capsys):
    from gmdesk.cli.main import main

    table = cohort3d[0].pose_file.parent / "cohort.csv"
    out = tmp_path / "ev"
    assert main(["evaluate", str(table), "-o", str(out), "--classifiers", "kinematics", "--feature-sets", "both",
                 "--normalise", "paper,body", "--cv", "snippet,loio"]) == 0
    text = capsys.readouterr().out
    assert "leave-one-infant-out CV" in text and "12 infants: accuracy" in text and "infant AUC" in text
    assert "snippets of one infant in train and test" in text and "leaks infants" in text
    assert (out / "infant_level_kinematics_both_body_o150_loio.png").stat().st_size > 10_000
    import csv

    rows = list(csv.DictReader(open(out / "cv_results.csv")))
    assert {r["normalisation"] for r in rows} == {"paper", "body"}
    loio = [r for r in rows if r["scheme"] == "loio"]
    assert all(r["infant_accuracy_lo"] and r["infant_auc"] for r in loio)
    assert len(list(csv.DictReader(open(out / "infant_level.csv")))) == 12 * 4


def test_nested_selection_never_looks_at_test_infants(tmp_path, cohort3d, capsys):
    from gmdesk.cli.main import main

    table = cohort3d[0].pose_file.parent / "cohort.csv"
    assert main(["evaluate", str(table), "-o", str(tmp_path / "sel"), "--classifiers", "kinematics,svm-rbf",
                 "--feature-sets", "angles", "--normalise", "paper", "--select"]) == 0
    text = capsys.readouterr().out
    assert text.count(": chose ") == 5 and "nested selection over 2 recipes" in text
    import csv

    rows = list(csv.DictReader(open(tmp_path / "sel" / "nested_selection.csv")))
    tested = [set(r["test_infants"].split()) for r in rows]
    assert sum(len(t) for t in tested) == 12 and len(set().union(*tested)) == 12  # each infant tested once


def test_train_reports_infant_level_figures_and_calibrates(tmp_path, cohort3d, capsys):
    from gmdesk.cli.main import main

    table = cohort3d[0].pose_file.parent / "cohort.csv"
    out = tmp_path / "m"
    assert main(["train", str(table), "--classifier", "kinematics", "--normalise", "body", "-o", str(out)]) == 0
    card = (out / "MODEL_CARD.md").read_text()
    assert "infant-grouped CV" in card and "infant verdict accuracy" in card and "95 % CI" in card
    man = json.loads((out / "manifest.json").read_text())
    assert man["calibration"]["fitted_on"].startswith("out-of-fold scores of infant-grouped CV")
    assert man["metrics"]["infant_level"]["accuracy"]["n"] == 12
    pose = cohort3d[0].pose_file
    assert main(["assess", str(pose), "--bundle", str(out), "--json", str(tmp_path / "r.json")]) == 0
    res = json.loads((tmp_path / "r.json").read_text())
    # applied when the out-of-fold scores allowed a Platt fit (slope > 0), else recorded as refused and not applied
    assert res["normalisation"] == "body" and res["calibrated"] is (man["calibration"]["method"] == "platt")
    assert res["verdict"]["verdict"] in ("normal", "abnormal", "indeterminate") and "interval" in res["verdict"]


def test_angles_of_a_skeleton_without_angles_is_a_clear_error_not_an_empty_feature_set(skeleton):
    """A 14-joint skeleton file may define no angles: 'angles' must say so instead of crashing in a fit."""
    import dataclasses

    from gmdesk.errors import GmdeskError

    bare = dataclasses.replace(skeleton, angles=())
    with pytest.raises(GmdeskError, match="defines no joint angles"):
        feature_layout(bare, "angles")
    assert len(feature_layout(bare, "both").names) == 2 * len(skeleton.landmarks)
