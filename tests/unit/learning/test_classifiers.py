import json

import numpy as np
import pytest
from sklearn.base import clone

from gmdesk.evaluation.protocol import cross_validate
from gmdesk.learning.architectures import ARCHITECTURES
from gmdesk.learning.base import paper_validation_split
from gmdesk.learning.bundle import BundleError, load_bundle, save_bundle
from gmdesk.learning.classifiers import classifier_for
from gmdesk.pipeline.cohort import cohort_features, cut_cohort, read_cohort
from gmdesk.pipeline.features import feature_layout
from gmdesk.screening.verdict import infant_verdict
from gmdesk.synthetic.cohorts import generate_cohort
from gmdesk.synthetic.settings import SynthSettings

pytest.importorskip("tensorflow")


@pytest.fixture(scope="module")
def separable(tmp_path_factory, skeleton):
    """8 synthetic infants (4 normal, 4 cramped-synchronised without normal-like periods), 40-45 s each. The
    planar model and the one phenotype that one statistic separates, on purpose: these tests check the
    classifiers' mechanics with the paper's features; how recipes hold on the fidgety-age phenotypes and
    other cameras is measured on 3-D phenotype cohorts (bench/bench_selection.py)."""
    out = tmp_path_factory.mktemp("sep")
    table = generate_cohort(out, 4, 4, 0, 0, seed=31, phenotypes="cramped-synchronised",
                            settings=SynthSettings(duration_s=(40, 45), normal_share=0.0, model="2d"))
    entries = read_cohort(table)
    recs = cohort_features(entries, skeleton, "both")
    return cut_cohort(recs, skeleton, 300, 200)


def _mirror(skeleton, fs="both"):
    lay = feature_layout(skeleton, fs)
    return {"mirror_columns": tuple(int(c) for c in lay.mirror_columns),
            "mirror_signs": tuple(float(v) for v in lay.mirror_signs)}


FAST = {"svm-rbf": {}, "svm-poly": {}, "cnn1d-2": {"epochs": 25}, "lstm-2": {"epochs": 12}, "vit-2": {"epochs": 10}}


@pytest.mark.parametrize("arch", list(FAST))
def test_each_family_learns_unseen_infants_above_chance(separable, skeleton, arch):
    test_ids = {"N01", "A08"}
    te = np.isin(separable.infant_id, list(test_ids))
    clf = classifier_for(arch, seed=1, **FAST[arch], **_mirror(skeleton)).fit(separable.X[~te], separable.label[~te])
    p = clf.score_snippets(separable.X[te])
    acc = float(((p >= 0.5) == separable.label[te]).mean())
    print(f"\n{arch}: accuracy {acc:.2f} on {te.sum()} snippets of unseen infants {sorted(test_ids)}")
    assert p.shape == (te.sum(),) and np.all((p >= 0) & (p <= 1))
    assert acc >= 0.8
    emb = clf.embed(separable.X[te][:3])
    assert emb.ndim == 2 and emb.shape[0] == 3
    assert np.allclose(clf.predict_proba(separable.X[te][:3]).sum(axis=1), 1)


def test_sklearn_clone_and_params():
    c = classifier_for("lstm-3", epochs=7, seed=3)
    d = clone(c)
    assert d.get_params() == c.get_params() and d is not c
    d.set_params(epochs=9)
    assert d.epochs == 9 and c.epochs == 7
    assert set(ARCHITECTURES) == {"svm-rbf", "svm-poly", "lstm-2", "lstm-3", "cnn1d-2", "cnn1d-3", "vit-2", "vit-4",
                                  "kinematics", "kinematics-gb", "histograms", "joint-stats", "spectral",
                                  "complexity", "asymmetry", "movement", "normative", "fidgety", "fidgety-normative",
                                  "fidgety-core", "fidgety-findings"}


def test_paper_validation_split_is_ten_percent_half_per_class():
    y = np.array([0] * 140 + [1] * 60)
    tr, va = paper_validation_split(y, 0.1, seed=42)
    assert len(va) == 20 and (y[va] == 0).sum() == 10 and (y[va] == 1).sum() == 10
    assert len(np.intersect1d(tr, va)) == 0 and len(tr) + len(va) == 200
    assert np.array_equal(va, paper_validation_split(y, 0.1, seed=42)[1])


def test_grouped_cv_never_shares_an_infant_snippet_cv_does(separable):
    svm = classifier_for("svm-rbf")
    grouped = cross_validate(separable, svm, "infant", n_splits=4)
    assert all(f["shared_infants"] == [] for f in grouped.folds)
    snippet = cross_validate(separable, svm, "snippet", n_splits=5)
    assert any(f["shared_infants"] for f in snippet.folds)
    assert len(snippet.folds) == 5 and np.isfinite(snippet.oof_scores).all()
    assert 0 <= grouped.summary["infant_accuracy"][0] <= 1


@pytest.mark.parametrize("n_normal,n,expected", [(6, 10, "abnormal"), (7, 10, "normal"), (61, 100, "normal"),
                                                  (60, 100, "abnormal"), (0, 5, "abnormal"), (5, 5, "normal")])
def test_verdict_threshold_edges(n_normal, n, expected):
    """The paper's rule at its edges (exactly 60 % is abnormal)."""
    scores = np.array([0.1] * n_normal + [0.9] * (n - n_normal))
    v = infant_verdict(scores, "X")
    assert v.binary_verdict == expected and v.label == int(expected == "abnormal")
    assert v.n_normal == n_normal and v.n_snippets == n
    assert f"{n_normal} of {n} snippets normal" in v.basis


def test_verdict_threshold_is_a_parameter():
    scores = np.array([0.1] * 5 + [0.9] * 5)
    assert infant_verdict(scores, threshold=0.4).binary_verdict == "normal"
    assert infant_verdict(scores, threshold=0.5).binary_verdict == "abnormal"
    assert infant_verdict(np.array([0.5]), decision=0.5).binary_verdict == "abnormal"  # P = 0.5 counts abnormal


@pytest.mark.parametrize("n_normal,n,overlap,expected", [
    (60, 100, 150, "indeterminate"),  # 60 %: CI 46-73 % with 50 effective snippets straddles 60 %
    (90, 100, 150, "normal"),  # 90 %: CI 79-96 %
    (10, 100, 150, "abnormal"),
    (26, 30, 150, "normal"),  # 87 %, CI 62-96 % (15 effective)
    (25, 30, 150, "indeterminate"),  # 83 %, CI 58-95 %
    (25, 30, 0, "normal"),  # without overlap 30 snippets are 30 windows: CI 66-93 %
    (7, 7, 150, "indeterminate"),  # fewer than 8 snippets
    (0, 7, 150, "indeterminate"),
])
def test_indeterminate_when_the_interval_straddles_the_threshold_or_too_few_snippets(n_normal, n, overlap, expected):
    v = infant_verdict(np.array([0.1] * n_normal + [0.9] * (n - n_normal)), "X", window=300, overlap=overlap)
    assert v.verdict == expected
    lo, hi = v.interval
    assert lo <= v.fraction_normal <= hi and v.effective_n == max(1, n * (300 - overlap) / 300)
    if expected == "indeterminate":
        assert "indeterminate, review" in v.basis and v.reason and v.indeterminate
        assert ("at least 8 needed" in v.reason) == (n < 8)
    assert v.to_dict()["binary_verdict"] == ("normal" if n_normal / n > 0.6 else "abnormal")


def test_same_seed_same_numbers(separable, skeleton):
    X, y = separable.X[:60], separable.label[:60]
    a = classifier_for("cnn1d-2", epochs=4, seed=7, **_mirror(skeleton)).fit(X, y).score_snippets(X)
    b = classifier_for("cnn1d-2", epochs=4, seed=7, **_mirror(skeleton)).fit(X, y).score_snippets(X)
    c = classifier_for("cnn1d-2", epochs=4, seed=8, **_mirror(skeleton)).fit(X, y).score_snippets(X)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("arch", ["svm-poly", "cnn1d-2", "vit-2"])
def test_bundle_round_trip_gives_identical_scores(tmp_path, separable, skeleton, arch):
    clf = classifier_for(arch, epochs=3, seed=2).fit(separable.X, separable.label)
    folder = save_bundle(tmp_path / "m", clf, skeleton, "both", 300, 200, "test-model", {"infants": 8})
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["feature_set"] == "both" and manifest["skeleton"]["name"] == "infant24"
    assert manifest["threshold"] == 0.6 and "numpy" in manifest["library_versions"]
    assert not list(folder.glob("*.pkl")) and not list(folder.glob("*.joblib"))
    b = load_bundle(folder, skeleton, "both")
    got, want = b.classifier.score_snippets(separable.X), clf.score_snippets(separable.X)
    if clf.family in ("svm", "kinematics", "descriptors"):
        assert np.array_equal(got, want)
    else:  # the bundle's network runs in ONNX Runtime: equal to Keras within the tolerance checked at writing
        assert "model.onnx" in manifest["files"] and manifest["training"]["onnx"]["max_abs_difference_vs_keras"] <= 1e-4
        assert b.classifier.model_ is None and np.max(np.abs(got - want)) <= 1e-4
        assert np.max(np.abs(b.classifier.embed(separable.X[:20]) - clf.embed(separable.X[:20]))) <= 1e-4


def test_a_network_bundle_assesses_without_tensorflow_or_torch(tmp_path, separable, skeleton):
    """The workstation runs the network through ONNX Runtime: loading and scoring imports neither TensorFlow,
    Keras nor torch, and gives Keras' scores (within 1e-4)."""
    import subprocess
    import sys

    clf = classifier_for("lstm-2", epochs=2, seed=3).fit(separable.X, separable.label)
    folder = save_bundle(tmp_path / "m", clf, skeleton, "both", 300, 200, "lstm")
    np.save(tmp_path / "X.npy", separable.X[:40])
    code = ("import sys, numpy as np\n"
            "from gmdesk.learning.bundle import load_bundle\n"
            f"b = load_bundle({str(folder)!r})\n"
            f"np.save({str(tmp_path / 'p.npy')!r}, b.score_snippets(np.load({str(tmp_path / 'X.npy')!r})))\n"
            "print(sorted(m for m in ('tensorflow', 'keras', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"
    from gmdesk.learning.calibration import calibrate

    want = calibrate(clf.score_snippets(separable.X[:40]), None)
    assert np.max(np.abs(np.load(tmp_path / "p.npy") - want)) <= 1e-4


def test_bundle_reference_embeddings_and_ica(tmp_path, separable, skeleton):
    clf = classifier_for("cnn1d-2", epochs=2).fit(separable.X, separable.label)
    folder = save_bundle(tmp_path / "m", clf, skeleton, "both", 300, 200, "ref", reference=separable, n_reference=30)
    b = load_bundle(folder, skeleton)
    ref = b.reference()
    assert ref["embeddings"].shape == (len(ref["label"]), 32) and set(ref["label"]) == {0, 1}
    assert 25 <= len(ref["label"]) <= 32
    ica = b.ica()
    assert np.allclose(b.ica_project(separable.X), ica["ic"], atol=1e-6)
    ic1, lab = ica["ic"][:, 0], ica["label"]
    assert np.median(ic1[lab == 1]) >= np.median(ic1[lab == 0])  # oriented: abnormal to the right


def test_tampered_and_mismatched_bundles_are_refused(tmp_path, separable, skeleton):
    clf = classifier_for("svm-rbf").fit(separable.X, separable.label)
    folder = save_bundle(tmp_path / "m", clf, skeleton, "both", 300, 200, "svm")
    from gmdesk.core.skeleton import Skeleton

    other = Skeleton.from_dict({"name": "tiny", "landmarks": ["a", "b", "c"], "origin": "a"})
    with pytest.raises(BundleError, match="trained for skeleton 'infant24'.*'tiny'"):
        load_bundle(folder, other)
    with pytest.raises(BundleError, match="feature set 'both', not 'angles'"):
        load_bundle(folder, skeleton, "angles")
    data = bytearray((folder / "svm.skops").read_bytes())
    data[-40] ^= 0xFF
    (folder / "svm.skops").write_bytes(bytes(data))
    with pytest.raises(BundleError, match="svm.skops does not match its hash"):
        load_bundle(folder)
    with pytest.raises(BundleError, match="not a gmdesk model bundle"):
        load_bundle(tmp_path)


def test_bundle_with_code_in_the_network_is_refused_by_safe_mode(tmp_path, separable, skeleton):
    import hashlib

    import keras

    clf = classifier_for("cnn1d-2", epochs=1).fit(separable.X, separable.label)
    folder = save_bundle(tmp_path / "m", clf, skeleton, "both", 300, 200, "cnn")
    inp = keras.Input((300, 60))
    out = keras.layers.Dense(1)(keras.layers.Lambda(lambda t: t[:, 0, :] * 2)(inp))
    keras.Model(inp, out).save(folder / "model.keras")
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"]["model.keras"] = hashlib.sha256((folder / "model.keras").read_bytes()).hexdigest()
    # a bundle written before ONNX has only model.keras (a file the manifest does not list is refused: #23)
    del manifest["files"]["model.onnx"]
    (folder / "model.onnx").unlink()
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="cannot load the model"):
        load_bundle(folder)
