"""A model no better than chance never shows a plain verdict: the validity rule, a calibration that ran against
the labels kept out of the bundle (which still opens), the status in the manifest and the first lines of the card."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from gmdesk.io.resources import bundle_path
from gmdesk.learning.bundle import BundleError, load_bundle, save_bundle
from gmdesk.learning.calibration import calibrate, calibrate_out_of_fold, fit_platt, out_of_fold_calibration
from gmdesk.learning.classifiers import make_classifier
from gmdesk.learning.model_card import model_card
from gmdesk.learning.validity import (
    LEGACY_REASON,
    status_problem,
    status_text,
    validation_status,
    verdict_note,
)
from gmdesk.pipeline.cohort import cohort_features, cut_cohort, read_cohort
from gmdesk.pipeline.features import feature_layout
from gmdesk.synthetic.cohorts import generate_cohort
from gmdesk.synthetic.settings import SynthSettings


def level(auc, lo, hi, scheme="infant-grouped CV (no infant in train and test)"):
    """Infant-level figures as gmdesk.evaluation.metrics.infant_level gives them (the keys the rule reads)."""
    share = {"value": 0.8, "ci": [0.5, 0.95], "k": 8, "n": 10}
    return {"auc": {"value": auc, "ci": [lo, hi]}, "snippet_auc": {"value": None, "ci": [None, None]},
            **{k: share for k in ("accuracy", "sensitivity", "specificity", "npv", "ppv")},
            "infants": 10, "snippets": 120, "scheme": scheme}


def sig(p):
    return {"p_value": p, "test": "label permutation test", "n_permutations": 999, "statistic": "infant AUC",
            "observed": 0.9}


PLATT = {"method": "platt", "a": 1.3, "b": -0.2, "n": 120}


def test_validated_only_when_every_condition_holds():
    ok = validation_status(level(0.9, 0.7, 1.0), sig(0.004), PLATT)
    assert ok["validated"] and ok["reasons"] == [] and ok["p_value"] == 0.004 and ok["auc_ci"] == [0.7, 1.0]
    assert ok["test"] == "label permutation test" and ok["scheme"].startswith("infant-grouped")
    assert status_text(ok).startswith("VALIDATED on its cohort: label permutation test, p = 0.004")
    assert verdict_note(ok) == "" and status_problem(ok) is None
    assert validation_status(level(0.9, 0.7, 1.0), sig(0.004), None)["validated"]  # uncalibrated is fine


@pytest.mark.parametrize("lvl, significance, calibration, reason", [
    (level(0.9, 0.7, 1.0), sig(0.05), PLATT, "no better than chance: p = 0.05"),
    (level(0.9, 0.7, 1.0), sig(0.31), PLATT, "no better than chance: p = 0.31"),
    (level(0.7, 0.45, 0.9), sig(0.01), PLATT, "interval 0.45-0.90 contains 0.5"),
    (level(0.2, 0.05, 0.4), sig(0.01), PLATT, "lies below 0.5"),
    (level(None, None, None), sig(0.01), PLATT, "no infant-level AUC"),
    (level(0.9, 0.7, 1.0), sig(0.01), {**PLATT, "a": -63.1}, "calibration slope -63.1 ≤ 0"),
    (level(0.9, 0.7, 1.0), sig(0.01), {"method": "none", "refused": {"a": -2.0, "b": 0.1}, "reason": "x"},
     "calibration slope -2 ≤ 0"),
    (None, sig(0.01), PLATT, "no validation on infants outside training"),
    (level(0.9, 0.7, 1.0), None, PLATT, "no test against chance was run"),
    (level(0.9, 0.7, 1.0), {"p_value": None, "test": "t"}, PLATT, "gave no p-value"),
])
def test_not_validated_and_why(lvl, significance, calibration, reason):
    st = validation_status(lvl, significance, calibration)
    assert st["validated"] is False and any(reason in r for r in st["reasons"]), st["reasons"]
    assert status_problem(st) is None
    text = status_text(st)
    assert text.startswith("NOT VALIDATED on its cohort — research only: ") and reason in text
    assert verdict_note(st).startswith("research only: model NOT VALIDATED on its cohort (")


def test_every_reason_is_listed():
    st = validation_status(level(0.4, 0.2, 0.6), sig(0.6), {**PLATT, "a": -1.0})
    assert len(st["reasons"]) == 3 and "p = 0.6" in verdict_note(st)
    assert validation_status(None, None, None)["reasons"] == ["no validation on infants outside training was run",
                                                              "no test against chance was run"]


@pytest.mark.parametrize("bad", ["yes", {"validated": True, "reasons": ["x"]}, {"validated": False, "reasons": []},
                                 {"validated": "true", "reasons": []}, {"validated": False, "reasons": ["x"], "p_value": "0.01"},
                                 {"validated": False, "reasons": ["x"], "auc_ci": [0.1]}])
def test_malformed_status_is_named(bad):
    assert status_problem(bad) is not None


def test_a_platt_fit_against_the_labels_is_refused_and_scores_stay_as_they_were():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 300)
    raw = np.clip(0.5 - 0.3 * (2 * y - 1) + rng.normal(0, 0.2, 300), 0.01, 0.99)  # high score for normal infants
    assert fit_platt(raw, y)["a"] < 0
    cal, scores = calibrate_out_of_fold(raw, y, "out-of-fold scores of a test")
    assert cal["method"] == "none" and cal["refused"]["a"] < 0 and "ran against the labels" in cal["reason"]
    assert cal["fitted_on"] == "out-of-fold scores of a test" and np.array_equal(scores, raw)
    assert np.array_equal(calibrate(raw, cal), raw)
    good, cal_scores = calibrate_out_of_fold(raw, 1 - y, "x")  # the same scores with the labels that fit them
    assert good["method"] == "platt" and good["a"] > 0 and not np.allclose(cal_scores, raw)


def test_the_calibration_a_bundle_keeps_depends_on_the_family_and_the_labels(skeleton):
    rng = np.random.default_rng(5)
    y = np.repeat([0, 1], 60)
    ids = np.repeat([f"I{k}" for k in range(12)], 10)
    raw = np.clip(0.5 + 0.25 * (2 * y - 1) + rng.normal(0, 0.2, 120), 0.01, 0.99)
    lay = feature_layout(skeleton, "both", "body")
    supervised, normative = (make_classifier(a, skeleton, lay) for a in ("kinematics", "fidgety-core"))
    cal, scores = out_of_fold_calibration(supervised, raw, y, ids, 0.6, "out-of-fold scores of a test")
    assert cal["method"] == "platt" and cal["a"] > 0 and cal["fitted_on"] == "out-of-fold scores of a test"
    assert np.allclose(scores, calibrate(raw, cal)) and not np.allclose(scores, raw)
    own, same = out_of_fold_calibration(normative, raw, y, ids, 0.6, "x")  # calibrated as it is fitted
    assert own["method"] == "none" and "fidgety-core is calibrated as it is fitted" in own["reason"]
    assert np.array_equal(same, raw)
    none, same = out_of_fold_calibration(supervised, raw, np.zeros(120), ids, 0.6, "x")  # one class: nothing to fit
    assert none is None and np.array_equal(same, raw)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, skeleton):
    """A kinematics classifier fitted on 4 synthetic infants of 30 s, and their snippets."""
    d = tmp_path_factory.mktemp("tiny")
    cohort = read_cohort(generate_cohort(d, 2, 2, 0, 0, seed=7, settings=SynthSettings(duration_s=(30, 30))))
    snips = cut_cohort(cohort_features(cohort, skeleton, "angles"), skeleton, 300, 150)
    clf = make_classifier("kinematics", skeleton, feature_layout(skeleton, "angles"), seed=1).fit(snips.X, snips.label)
    return clf, snips


def test_a_bundle_whose_calibration_ran_against_the_labels_opens_not_validated(tmp_path, tiny, skeleton):
    clf, snips = tiny
    raw = clf.score_snippets(snips.X)
    cal, _ = calibrate_out_of_fold(raw, 1 - snips.label, "out-of-fold scores of a test")  # scores against labels
    metrics = {"infant_level": level(0.9, 0.7, 1.0), "significance": sig(0.01)}
    out = save_bundle(tmp_path / "m", clf, skeleton, "angles", 300, 150, "against", metrics=metrics, calibration=cal)
    man = json.loads((out / "manifest.json").read_text())
    assert man["calibration"]["method"] == "none" and man["validation"]["validated"] is False
    b = load_bundle(out, skeleton)
    assert b.calibration is None and b.calibration_record["refused"]["a"] < 0
    assert np.array_equal(b.score_snippets(snips.X), raw)  # the refused fit is not applied
    assert not b.validated and any("ran against the labels" in r for r in b.validation["reasons"])
    # the same figures with a positive fit: validated, and the status written by save_bundle from the metrics
    good, _ = calibrate_out_of_fold(raw, snips.label, "x")
    ok = load_bundle(save_bundle(tmp_path / "ok", clf, skeleton, "angles", 300, 150, "ok", metrics=metrics,
                                 calibration=good), skeleton)
    assert good["method"] == "platt" and ok.validated and ok.validation["p_value"] == 0.01


EARLIER = Path(__file__).resolve().parents[2] / "data" / "earlier-kinematics-bundle"


def edited(tmp_path, change, source=None):
    """A copy of the shipped demo bundle (or ``source``) with its manifest changed by ``change(manifest)``."""
    out = shutil.copytree(source or bundle_path(), tmp_path / "edited")
    man = json.loads((out / "manifest.json").read_text())
    change(man)
    (out / "manifest.json").write_text(json.dumps(man))
    return out


def test_bundles_made_before_the_check_load_not_validated(tmp_path):
    demo = load_bundle(bundle_path())
    assert demo.validated and demo.validation["p_value"] < 0.05  # retrained with its test against chance
    earlier = load_bundle(EARLIER)  # the demo bundle of the version before
    assert not earlier.validated and earlier.validation["reasons"] == [LEGACY_REASON]
    old = load_bundle(edited(tmp_path, lambda m: m.pop("validation", None), EARLIER))
    assert old.validated is False and old.validation["reasons"] == [LEGACY_REASON]
    assert old.calibration is not None  # an old Platt calibration with a > 0 is still applied


def test_a_hand_edited_platt_slope_below_zero_is_refused_clearly(tmp_path):
    out = edited(tmp_path, lambda m: m["calibration"].update(a=-63.1), EARLIER)  # a bundle with a Platt step
    with pytest.raises(BundleError, match=r"'calibration'.*slope ≤ 0.*retrain the model"):
        load_bundle(out)


def test_a_manifest_that_claims_validated_without_figures_is_not_validated(tmp_path):
    claim = {"validated": True, "reasons": [], "p_value": 0.001, "auc": 0.99, "auc_ci": [0.9, 1.0], "test": "t",
             "scheme": "s"}
    b = load_bundle(edited(tmp_path, lambda m: m.update(validation=claim), EARLIER))
    assert not b.validated and "its manifest says validated" in b.validation["reasons"][0]
    assert "no test against chance was run" in b.validation["reasons"]
    with pytest.raises(BundleError, match="'validation'"):
        load_bundle(edited(tmp_path / "x", lambda m: m.update(validation={"validated": "yes"})))


def card(validation, metrics=None):
    cohort = {"infants": 10, "normal_infants": 6, "abnormal_infants": 4, "snippets": 120, "normal_snippets": 70,
              "abnormal_snippets": 50, "synthetic": True}
    return model_card("m", "kinematics", feature_set="angles", normalisation="body", overlap=150, threshold=0.6,
                      min_snippets=8, seed=1, flip=True, augment=0, epochs=10, patience=3, cohort=cohort,
                      metrics=metrics or {"infant_level": level(0.62, 0.41, 0.83)}, calibrated=False,
                      validation=validation).splitlines()


def test_the_card_says_not_validated_first():
    st = validation_status(level(0.62, 0.41, 0.83), sig(0.27), None)
    lines = card(st)
    assert lines[0] == "# Model card: m" and lines[1] == ""
    assert lines[2].startswith("**NOT VALIDATED on its cohort — research only.**")
    head = "\n".join(lines[3:8])
    assert "no better than chance: p = 0.27" in head and "contains 0.5" in head
    assert "p = 0.27 (label permutation test)" in head and "0.62 (95 % CI 0.41-0.83)" in head
    # without a test against chance (train until the lead adds it) the card says so
    assert "- no test against chance was run" in card(None)


def test_the_card_of_a_validated_model_names_its_test_and_p_value():
    metrics = {"infant_level": level(0.92, 0.75, 1.0), "significance": sig(0.002)}
    st = validation_status(metrics["infant_level"], metrics["significance"], None)
    lines = card(st, metrics)
    assert lines[2].startswith("**VALIDATED on its cohort: label permutation test, p = 0.002")
    assert "NOT VALIDATED" not in "\n".join(lines)
    assert any(line.startswith("- test against chance: label permutation test") and "p = 0.002" in line for line in lines)


@pytest.mark.parametrize(("name", "value", "message"), [
    ("cuts", [np.nan, 1.0, 1.0], r"'cuts' must be 3 finite numbers"),
    ("desc_mean", [0.0, 0.0, 0.0], r"'desc_mean' and 'desc_scale' must hold the 7 descriptors of fidgety-findings"),
])
def test_the_shipped_findings_bundle_with_damaged_arrays_is_refused_naming_the_file(tmp_path, name, value, message):
    """The demo bundle keeps one cut per finding beside the descriptors' normal means and sds; a cut that is not a
    number, or means for another number of descriptors (rehashed, so only the content check can catch them), is
    refused on loading with the file and the array named — not at the first snippet scored."""
    from gmdesk.io.hashing import file_sha256

    demo = load_bundle(bundle_path())
    assert demo.classifier.architecture == "fidgety-findings" and np.isfinite(demo.classifier.cuts_).all()
    out = shutil.copytree(bundle_path(), tmp_path / "damaged")
    with np.load(out / "descriptors.npz") as z:
        arrays = {k: z[k] for k in z.files}
    arrays[name] = np.array(value)
    np.savez(out / "descriptors.npz", **arrays)
    man = json.loads((out / "manifest.json").read_text())
    man["files"]["descriptors.npz"] = file_sha256(out / "descriptors.npz")
    (out / "manifest.json").write_text(json.dumps(man))
    with pytest.raises(BundleError, match=r"descriptors\.npz.*" + message):
        load_bundle(out)
