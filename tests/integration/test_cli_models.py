import csv
import json

import pytest

from gmdesk.cli.main import main

pytest.importorskip("tensorflow")


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    out = tmp_path_factory.mktemp("clicohort")
    assert main(["synth", str(out), "--duration", "40", "45", "--seed", "4"]) == 0
    return out / "cohort.csv"


def test_train_then_assess_writes_bundle_json_and_csv(tmp_path, cohort, capsys):
    model = tmp_path / "svm"
    assert main(["train", str(cohort), "--model", "svm-poly", "-o", str(model), "--features", "angles",
                 "--cv", "infant"]) == 0
    manifest = json.loads((model / "manifest.json").read_text())
    assert manifest["classifier"] == "svm-poly" and manifest["cohort"]["infants"] == 10
    assert manifest["cohort"]["synthetic"] is True and "infant_cv" in manifest["metrics"]
    assert "SYNTHETIC" in (model / "MODEL_CARD.md").read_text()
    pose = cohort.parent / "A13.h5"  # external infant: never seen in training
    out_json, out_csv = tmp_path / "a.json", tmp_path / "a.csv"
    assert main(["assess", str(pose), "--model", str(model), "--json", str(out_json), "--csv", str(out_csv)]) == 0
    printed = capsys.readouterr().out
    res = json.loads(out_json.read_text())
    v = res["verdict"]
    n_normal = sum(s["class"] == "normal" for s in res["snippets"])
    assert v["n_snippets"] == len(res["snippets"]) and v["n_normal"] == n_normal
    # the paper's rule, and (a 40-45 s recording has fewer than 8 snippets) indeterminate with the reason printed
    assert v["binary_verdict"] == ("normal" if n_normal / len(res["snippets"]) > 0.6 else "abnormal")
    assert v["verdict"] == "indeterminate" and f"only {len(res['snippets'])} valid 10-s snippets" in printed
    assert "VERDICT: INDETERMINATE" in printed
    rows = list(csv.DictReader(open(out_csv)))
    assert len(rows) == len(res["snippets"]) and float(rows[0]["p_abnormal"]) == res["snippets"][0]["p_abnormal"]


def test_assess_refuses_a_model_for_another_skeleton(tmp_path, cohort, capsys):
    model = tmp_path / "svm"
    assert main(["train", str(cohort), "--model", "svm-rbf", "-o", str(model), "--features", "coords"]) == 0
    sk = tmp_path / "sk.toml"
    sk.write_text('name = "mini"\nlandmarks = ["head_top", "nose", "sternum"]\norigin = "sternum"\n')
    assert main(["assess", str(cohort.parent / "N01.h5"), "--model", str(model), "--skeleton", str(sk)]) == 1
    assert "trained for skeleton 'infant24'" in capsys.readouterr().err
    # an existing model folder is refused before anything is read or trained (not minutes later), untouched
    before = {p.name: p.read_bytes() for p in model.iterdir()}
    assert main(["train", str(tmp_path / "no-such-cohort.csv"), "-o", str(model)]) == 2
    assert "the model folder already exists" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in model.iterdir()} == before


def test_evaluate_two_overlaps_and_external(tmp_path, cohort, capsys):
    out = tmp_path / "eval"
    assert main(["evaluate", str(cohort), "-o", str(out), "--models", "svm-rbf", "--overlaps", "200,150",
                 "--cv", "snippet,infant", "--external", "--feature-sets", "angles"]) == 0
    rows = list(csv.DictReader(open(out / "cv_results.csv")))
    assert {(r["overlap"], r["scheme"]) for r in rows} == {("200", "snippet"), ("200", "infant"),
                                                           ("150", "snippet"), ("150", "infant")}
    assert all(int(r["n_snippets"]) > 0 for r in rows)
    folds = list(csv.DictReader(open(out / "cv_folds.csv")))
    assert all(f["infants_in_train_and_test"] == "0" for f in folds if f["scheme"] == "infant")
    assert (out / "overlap_sweep.png").stat().st_size > 10_000
    ext = list(csv.DictReader(open(out / "external_validation.csv")))
    assert {r["infant_id"] for r in ext} == {"N11", "N12", "A13"}
    assert "infants correct" in capsys.readouterr().out


def test_analyse_ica_and_cosine(tmp_path, cohort):
    out = tmp_path / "an"
    assert main(["analyse", str(cohort), "-o", str(out), "--epochs", "3", "--overlap", "200"]) == 0
    rows = list(csv.DictReader(open(out / "ica_components.csv")))
    assert {r["feature_set"] for r in rows} == {"coords", "angles", "both"}
    assert {r["fold"] for r in rows} == {"1", "2", "3", "4", "5"}
    assert (out / "ica_first_component.png").stat().st_size > 10_000
    header = (out / "cosine_fold1.csv").read_text().splitlines()[0].split(",")
    assert any(h.startswith("Normal-N") and "@" in h for h in header) and any(h.startswith("Abnormal-A") for h in header)
    assert (out / "cosine_fold1.png").is_file() and (out / "abnormal_closer_to_normal.csv").is_file()


def test_demo_command_runs_the_whole_pipeline_with_the_shipped_model(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out)]) == 0
    res = json.loads((out / "demo_assessment.json").read_text())
    assert res["model_id"] == "demo-synthetic" and res["synthetic_model"] is True
    assert res["verdict"]["n_snippets"] == len(res["snippets"]) > 10
    from gmdesk.pipeline.snippets import SnippetSet

    written = SnippetSet.load(out / "demo_infant.snippets.npz")  # cut at the demo model's own overlap
    assert written.overlap == res["overlap"] and len(written) == res["verdict"]["n_snippets"]
    printed = capsys.readouterr().out
    assert "VERDICT:" in printed and "SYNTHETIC" in printed


def test_assessing_with_a_network_imports_neither_tensorflow_nor_torch(tmp_path, cohort):
    """`python -X importtime -m gmdesk assess` and the app's assessment with a network bundle: the network runs in
    ONNX Runtime; neither TensorFlow, Keras nor torch is imported; the scores equal Keras' within 1e-4."""
    import subprocess
    import sys

    model = tmp_path / "cnn"
    assert main(["train", str(cohort), "--model", "cnn1d-2", "-o", str(model), "--epochs", "3", "--cv", "none"]) == 0
    assert "model.onnx" in json.loads((model / "manifest.json").read_text())["files"]
    pose = cohort.parent / "A13.h5"
    out = tmp_path / "a.json"
    res = subprocess.run([sys.executable, "-X", "importtime", "-m", "gmdesk", "assess", str(pose), "--model", str(model),
                          "--json", str(out)], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    imported = {line.split("|")[-1].strip().split(".")[0] for line in res.stderr.splitlines() if line.startswith("import time:")}
    assert "onnxruntime" in imported and not imported & {"tensorflow", "keras", "torch", "tf2onnx"}
    app = ("import os, sys, json; os.environ['QT_QPA_PLATFORM'] = 'offscreen'\n"
           "from PySide6 import QtWidgets; a = QtWidgets.QApplication([])\n"
           "from app.window import MainWindow\n"
           f"w = MainWindow(); w.set_model({str(model)!r}); assert w.open_path({str(pose)!r})\n"
           "w.run_assessment(block=True); a.processEvents()\n"
           "print(json.dumps([w.result is not None, sorted(m for m in ('tensorflow', 'keras', 'torch') if m in sys.modules)]))\n")
    res = subprocess.run([sys.executable, "-c", app], capture_output=True, text=True, timeout=300,
                         env={**__import__("os").environ, "XDG_CONFIG_HOME": str(tmp_path / "cfg")})
    assert res.returncode == 0 and json.loads(res.stdout.strip().splitlines()[-1]) == [True, []], res.stderr[-2000:]
    import keras

    from gmdesk.io.skeletons import load_skeleton
    from gmdesk.learning.bundle import load_bundle
    from gmdesk.learning.networks import register_custom_layers
    from gmdesk.screening.assess import assess_recording

    b = load_bundle(model)
    assert b.classifier.model_ is None  # the bundle's network is the ONNX one
    onnx_scores = [s["p_abnormal"] for s in json.loads(out.read_text())["snippets"]]
    register_custom_layers()
    b.classifier.model_ = keras.saving.load_model(model / "model.keras", safe_mode=True, compile=False)
    b.classifier.onnx_session_ = None
    keras_scores = [s["p_abnormal"] for s in assess_recording(pose, b, load_skeleton()).snippets]
    assert len(onnx_scores) == len(keras_scores) > 0
    assert max(abs(x - y) for x, y in zip(onnx_scores, keras_scores, strict=True)) <= 1e-4
