"""A model trained on SHUFFLED labels through the CLI: its bundle opens, is marked NOT VALIDATED on its cohort,
its card says so first, and ``gmdesk assess``, ``gmdesk case assess`` and ``gmdesk report`` show its verdict as
research only, never as a plain normal/abnormal."""

import csv
import json
import shutil
import subprocess

import pytest

from gmdesk.cli.main import main
from gmdesk.io.resources import demo_path
from gmdesk.learning.bundle import load_bundle


def test_a_model_of_shuffled_labels_is_not_validated(shuffled_bundle, capsys):
    man = json.loads((shuffled_bundle / "manifest.json").read_text())
    st = man["validation"]
    assert st["validated"] is False and st["reasons"]
    # training tested the out-of-fold infant scores against chance: the reasons are its p-value or the AUC interval
    sig = man["metrics"]["significance"]
    assert 0 < sig["p_value"] <= 1 and "relabellings of the infants" in sig["test"]
    assert any("p = " in r or "0.5" in r for r in st["reasons"]), st["reasons"]
    b = load_bundle(shuffled_bundle)
    assert b.validated is False and b.validation == st
    card = (shuffled_bundle / "MODEL_CARD.md").read_text().splitlines()
    assert card[0] == "# Model card: shuffled-labels"
    assert card[2].startswith("**NOT VALIDATED on its cohort — research only.**")
    assert card[3] == f"- {st['reasons'][0]}"


def test_assess_prints_research_only_beside_the_verdict(shuffled_bundle, tmp_path, capsys):
    pose = demo_path("demo_infant.h5")
    out = tmp_path / "r.json"
    assert main(["assess", str(pose), "--bundle", str(shuffled_bundle), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    res = json.loads(out.read_text())
    word = res["verdict"]["verdict"].upper()
    line = next(x for x in printed.splitlines() if x.startswith("VERDICT:"))
    assert line.startswith(f"VERDICT: {word} — research only: model NOT VALIDATED on its cohort (")
    assert res["validation"]["validated"] is False and res["validation"] == load_bundle(shuffled_bundle).validation


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs pdftotext")
def test_the_report_of_a_not_validated_model_says_research_only(shuffled_bundle, tmp_path, capsys):
    pose = shutil.copy(demo_path("demo_infant.h5"), tmp_path / "d.h5")
    case = tmp_path / "d.gmcase"
    assert main(["case", "new", str(case), str(pose), "--infant-id", "SHUF-1"]) == 0
    assert main(["case", "assess", str(case), "--bundle", str(shuffled_bundle)]) == 0
    assert main(["case", "signoff", str(case), "--reviewer", "Dr A", "--comment", "research use only"]) == 0
    assert main(["case", "info", str(case)]) == 0
    printed = capsys.readouterr().out
    assert "research only: model NOT VALIDATED on its cohort" in printed
    assert "(research only: model NOT VALIDATED)" in next(x for x in printed.splitlines() if x.startswith("  result 1:"))
    pdf = tmp_path / "d.pdf"
    assert main(["report", str(case), "-o", str(pdf)]) == 0
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    flat = " ".join(text.split())
    assert "RESEARCH ONLY — the model is not validated on its cohort" in flat  # the heading of both pages
    assert "Result: RESEARCH ONLY — MODEL NOT VALIDATED ON ITS COHORT" in flat
    assert "Model output, not a clinical result:" in flat and "Not validated because:" in flat
    assert "NOT VALIDATED on its cohort — research only:" in flat  # the model section
    assert "Reviewed by Dr A" in flat and "research use only" in flat  # the signed report flow still works
    for word in ("NORMAL", "ABNORMAL", "INDETERMINATE"):
        assert f"Result: {word}" not in flat  # never a plain verdict


def test_evaluate_of_a_cohort_with_shuffled_labels_says_not_validated(shuffled_bundle, tmp_path, capsys):
    """Nested selection (the default) on the shuffled cohort: the outer figures are tested against chance and
    the procedure is not validated."""
    table = shuffled_bundle.parent / "cohort" / "cohort.csv"
    out = tmp_path / "ev"
    assert main(["evaluate", str(table), "-o", str(out), "--cv", "infant"]) == 0
    text = capsys.readouterr().out
    assert "nested selection over" in text and "against chance: p = " in text
    assert "NOT VALIDATED on its cohort" in text
    row = next(csv.DictReader(open(out / "cv_results.csv", encoding="utf-8")))
    assert row["scheme"] == "nested-infant" and (float(row["p_value"]) >= 0.05 or float(row["infant_auc_lo"]) <= 0.5)
