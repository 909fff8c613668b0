"""Leave-one-phenotype-out folds, the infant-level test against chance, and nested selection by default."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

from gmdesk.errors import GmdeskError
from gmdesk.evaluation.metrics import per_phenotype
from gmdesk.evaluation.protocol import infant_folds, phenotype_folds
from gmdesk.evaluation.significance import infant_rank_test, permutation_test


def _cohort(phen: dict[str, str]) -> tuple[list[str], dict[str, int]]:
    infants = list(phen)
    return infants, {i: int(p != "normal-fm") for i, p in phen.items()}


PHEN = {"N1": "normal-fm", "N2": "normal-fm", "N3": "normal-fm", "N4": "normal-fm", "N5": "normal-fm",
        "A1": "absent-fm", "A2": "absent-fm", "A3": "abnormal-fm", "A4": "cramped-synchronised",
        "A5": "sporadic-fm", "A6": "absent-fm"}


def test_each_abnormal_phenotype_is_held_out_once_and_never_trained_on_in_its_fold():
    infants, labels = _cohort(PHEN)
    folds = phenotype_folds(infants, labels, PHEN, seed=3)
    assert sorted(name for _, _, name in folds) == ["abnormal-fm", "absent-fm", "cramped-synchronised", "sporadic-fm"]
    tested = [i for _, te, _ in folds for i in te]
    assert sorted(tested) == sorted(infants)  # every infant tested exactly once
    for tr, te, name in folds:
        assert not set(tr) & set(te)
        assert {PHEN[i] for i in te if labels[i]} == {name}
        assert name not in {PHEN[i] for i in tr}
        assert {labels[i] for i in tr} == {0, 1}  # something to learn from in every fold
    # another seed deals the normal infants out differently, the abnormal ones stay with their phenotype
    other = phenotype_folds(infants, labels, PHEN, seed=4)
    assert [sorted(i for i in te if labels[i]) for _, te, _ in other] == [sorted(i for i in te if labels[i])
                                                                        for _, te, _ in folds]


def test_one_abnormal_phenotype_cannot_be_held_out():
    phen = {"N1": "normal-fm", "N2": "normal-fm", "A1": "absent-fm", "A2": "absent-fm"}
    infants, labels = _cohort(phen)
    with pytest.raises(GmdeskError, match="at least two abnormal phenotypes"):
        phenotype_folds(infants, labels, phen)
    with pytest.raises(GmdeskError, match="phenotype column"):
        infant_folds(infants, labels, "lopo")


def test_infant_folds_never_share_an_infant():
    infants, labels = _cohort(PHEN)
    for scheme in ("infant", "loio"):
        folds = infant_folds(infants, labels, scheme, 5, seed=1)
        assert sorted(i for _, te, _ in folds for i in te) == sorted(infants)
        assert all(not set(tr) & set(te) for tr, te, _ in folds)
    assert len(infant_folds(infants, labels, "loio")) == len(infants)


def _snippet_scores(infant_scores: dict[str, float], labels: dict[str, int], per: int = 5):
    ids = np.repeat(list(infant_scores), per)
    scores = np.repeat(list(infant_scores.values()), per)
    y = np.array([labels[i] for i in ids])
    return scores, y, ids


def test_rank_test_is_exact_for_a_perfect_ranking_and_large_for_a_reversed_one():
    labels = {f"N{i}": 0 for i in range(6)} | {f"A{i}": 1 for i in range(4)}
    perfect = {i: (0.9 if labels[i] else 0.1) + 0.001 * k for k, i in enumerate(labels)}
    res = infant_rank_test(*_snippet_scores(perfect, labels))
    assert res["observed"] == 1.0 and "exact" in res["test"]
    assert res["p_value"] == pytest.approx(1 / math.comb(10, 4))
    reversed_ = {i: 1 - v for i, v in perfect.items()}
    assert infant_rank_test(*_snippet_scores(reversed_, labels))["p_value"] == 1.0
    one_class = infant_rank_test(np.full(5, 0.7), np.ones(5), np.array(["A"] * 5))
    assert one_class["p_value"] is None


def test_rank_test_of_chance_scores_is_not_significant_and_sampled_when_large():
    rng = np.random.default_rng(0)
    labels = {f"I{i}": int(i < 15) for i in range(40)}
    scores = {i: float(rng.uniform()) for i in labels}
    res = infant_rank_test(*_snippet_scores(scores, labels), n_resamples=2000, exact_limit=1000, seed=5)
    assert "2000 seeded relabellings" in res["test"] and res["p_value"] > 0.05
    again = infant_rank_test(*_snippet_scores(scores, labels), n_resamples=2000, exact_limit=1000, seed=5)
    assert again["p_value"] == res["p_value"]


def _auc_of_feature(feature: dict[str, float], labels: dict[str, int]) -> float:
    from gmdesk.evaluation.metrics import _auc

    names = sorted(labels)
    return _auc(np.array([labels[i] for i in names]), np.array([feature[i] for i in names]))


def test_permutation_test_of_a_procedure_separates_signal_from_none():
    from functools import partial

    labels = {f"N{i}": 0 for i in range(7)} | {f"A{i}": 1 for i in range(5)}
    signal = {i: labels[i] + 0.1 * k for k, i in enumerate(labels)}
    strong = permutation_test(partial(_auc_of_feature, signal), labels, n_permutations=99, seed=1, n_jobs=1)
    assert strong["observed"] == 1.0 and strong["p_value"] == pytest.approx(0.01)
    rng = np.random.default_rng(2)
    noise = {i: float(rng.uniform()) for i in labels}
    weak = permutation_test(partial(_auc_of_feature, noise), labels, n_permutations=99, seed=1, n_jobs=1)
    assert weak["p_value"] > 0.05 and len(weak["null"]) == 99


def test_per_phenotype_accuracy_counts_each_infant_under_its_phenotype():
    rows = [{"infant_id": "N1", "label": 0, "verdict": 0, "correct": True, "phenotype": "normal-fm"},
            {"infant_id": "A1", "label": 1, "verdict": 1, "correct": True, "phenotype": "absent-fm"},
            {"infant_id": "A2", "label": 1, "verdict": 0, "correct": False, "phenotype": "absent-fm"},
            {"infant_id": "A3", "label": 1, "verdict": 1, "correct": True, "phenotype": ""}]
    out = per_phenotype(rows)
    assert out["absent-fm"]["accuracy"]["k"] == 1 and out["absent-fm"]["accuracy"]["n"] == 2
    assert out["abnormal"]["accuracy"]["n"] == 1 and out["normal-fm"]["label"] == 0


@pytest.fixture(scope="module")
def phenotype_cohort(tmp_path_factory):
    """8 short synthetic infants, 2 abnormal phenotypes (seed used nowhere else)."""
    from gmdesk.synthetic.cohorts import generate_cohort
    from gmdesk.synthetic.settings import SynthSettings

    out = tmp_path_factory.mktemp("lopo")
    table = generate_cohort(out, 4, 4, 0, 0, seed=515, settings=SynthSettings(duration_s=(40.0, 45.0)))
    rows = list(csv.DictReader(open(table, encoding="utf-8")))
    if not rows[0].get("phenotype"):  # a generator without phenotypes: name two for the folds
        for k, r in enumerate(x for x in rows if x["label"] == "abnormal"):
            r["phenotype"] = ("absent-fm", "cramped-synchronised")[k % 2]
        for r in rows:
            r.setdefault("phenotype", "normal-fm")
            r["phenotype"] = r["phenotype"] or "normal-fm"
        with open(table, "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    return table


def test_evaluate_without_recipe_options_runs_nested_selection_under_loio(tmp_path, phenotype_cohort, capsys):
    from gmdesk.cli.main import main

    out = tmp_path / "ev"
    assert main(["evaluate", str(phenotype_cohort), "-o", str(out), "--cv", "loio,lopo"]) == 0
    text = capsys.readouterr().out
    assert "nested selection over" in text and "outer leave-one-infant-out CV" in text
    assert text.count(": chose ") >= 8 + 2  # a recipe per held-out infant, then per held-out phenotype
    assert "8 infants: accuracy" in text and "against chance: p = " in text
    rows = list(csv.DictReader(open(out / "nested_selection.csv", encoding="utf-8")))
    loio = [r for r in rows if r["scheme"] == "loio"]
    assert len(loio) == 8 and all(len(r["test_infants"].split()) == 1 for r in loio)
    lopo = [r for r in rows if r["scheme"] == "lopo"]
    assert {r["held_out"] for r in lopo} >= {"absent-fm"} and all(r["chosen"] for r in lopo)
    assert all(r["chosen"].endswith("/o250") for r in rows)  # the selection's overlap, not the fixed recipes' 150
    results = list(csv.DictReader(open(out / "cv_results.csv", encoding="utf-8")))
    assert {r["scheme"] for r in results} == {"nested-loio", "nested-lopo"}
    assert all(0 < float(r["p_value"]) <= 1 for r in results)


def test_a_normative_family_gets_no_second_calibration_and_its_bundle_opens(tmp_path, phenotype_cohort):
    """The normative families' regression on out-of-fold surprises is their calibration: training records
    ``{method: none, reason}`` instead of a Platt fit, the bundle opens and scores with the classifier's own
    P(abnormal); a supervised family still gets a Platt fit."""
    import json

    from gmdesk.cli.main import main
    from gmdesk.learning.bundle import load_bundle

    core, lr = tmp_path / "core", tmp_path / "lr"
    assert main(["train", str(phenotype_cohort), "-o", str(core), "--classifier", "fidgety-core", "--cv", "infant"]) == 0
    assert main(["train", str(phenotype_cohort), "-o", str(lr), "--classifier", "fidgety", "--cv", "infant"]) == 0
    assert json.loads((core / "manifest.json").read_text(encoding="utf-8"))["overlap"] == 150  # a fixed recipe: the paper's
    cal = json.loads((core / "manifest.json").read_text(encoding="utf-8"))["calibration"]
    assert cal["method"] == "none" and "calibrated as it is fitted" in cal["reason"] and "refused" not in cal
    lr_cal = json.loads((lr / "manifest.json").read_text(encoding="utf-8"))["calibration"]
    assert lr_cal["method"] == "platt" or "a" in lr_cal["refused"]  # a Platt fit, kept or refused
    bundle = load_bundle(core)
    assert bundle.calibration is None and bundle.calibration_record == cal
    assert "calibration" not in " ".join(bundle.validation.get("reasons", []))
    assert "no Platt step: fidgety-core is calibrated as it is fitted" in (core / "MODEL_CARD.md").read_text(encoding="utf-8")


def test_train_without_a_recipe_cuts_at_the_selections_overlap(tmp_path, phenotype_cohort, capsys):
    """The default procedure chooses among recipes at overlap 250; the bundle, its name and its verdicts use it."""
    import json

    from gmdesk.cli.main import main
    from gmdesk.constants import DEFAULT_OVERLAP
    from gmdesk.learning.architectures import SELECTION_OVERLAPS

    out = tmp_path / "chosen"
    assert main(["train", str(phenotype_cohort), "-o", str(out), "--cv", "none"]) == 0
    assert "/o250 (inner" in capsys.readouterr().out
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert SELECTION_OVERLAPS == (250,) and manifest["overlap"] == 250 != DEFAULT_OVERLAP
    assert manifest["model_id"].endswith("-o250-s42")
    pinned = tmp_path / "pinned"
    assert main(["train", str(phenotype_cohort), "-o", str(pinned), "--cv", "none", "--overlap", "200"]) == 0
    assert json.loads((pinned / "manifest.json").read_text(encoding="utf-8"))["overlap"] == 200
