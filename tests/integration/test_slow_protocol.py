"""Full-protocol runs (minutes to hours on CPU): ``pytest -m slow``."""

import csv

import pytest

from gmdesk.cli.main import main

pytestmark = pytest.mark.slow
pytest.importorskip("tensorflow")


def test_paper_sweep_and_external_validation_on_13_synthetic_infants(tmp_path):
    cohort = tmp_path / "cohort"
    assert main(["synth", str(cohort), "--seed", "2026"]) == 0
    out = tmp_path / "eval"
    assert main(["evaluate", str(cohort / "cohort.csv"), "-o", str(out), "--models", "svm-rbf,cnn1d-2", "--sweep",
                 "--cv", "snippet,infant", "--external", "--epochs", "250"]) == 0
    rows = list(csv.DictReader(open(out / "cv_results.csv")))
    assert {int(r["overlap"]) for r in rows} == {299, 290, 270, 250, 200, 150, 100}
    cnn150 = next(r for r in rows if r["classifier"] == "cnn1d-2" and r["overlap"] == "150" and r["scheme"] == "infant")
    assert float(cnn150["fold_accuracy_mean"]) > 0.7
    ext = [r for r in csv.DictReader(open(out / "external_validation.csv")) if r["classifier"] == "cnn1d-2"]
    assert sum(r["correct"] == "True" for r in ext) >= 2
