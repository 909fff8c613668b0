"""The descriptor families: fit and score on small cohorts (degenerate ones too), class balance, the
descriptor cache, and skops files read back with explicit trusted types only."""

import json

import numpy as np
import pytest

from gmdesk.errors import GmdeskError
from gmdesk.io.hashing import file_sha256
from gmdesk.learning.bundle import BundleError, load_bundle, save_bundle
from gmdesk.learning.classifiers import classifier_class, make_classifier
from gmdesk.learning.descriptors import DESCRIPTOR_CACHE, DescriptorCache, DescriptorClassifier
from gmdesk.learning.persist import load_estimator, save_estimator
from gmdesk.pipeline.descriptor_sets import compute_descriptors
from gmdesk.pipeline.features import feature_layout

pytest.importorskip("skops")

FAMILIES = ["kinematics", "kinematics-gb", "histograms", "joint-stats", "spectral", "complexity", "asymmetry",
            "movement", "normative", "fidgety", "fidgety-normative", "fidgety-core", "fidgety-findings"]


def test_every_descriptor_family_is_tested_here():
    from gmdesk.learning.architectures import ARCHITECTURES

    assert set(FAMILIES) == {a for a, s in ARCHITECTURES.items() if s["family"] in ("kinematics", "descriptors")}
T = 300
FPS = 30.0


def _cohort(skeleton, n_normal, n_abnormal, signal=1.0, seed=0, n_infants=None):
    """Snippets in the ``both`` layout: a fixed pose plus per-landmark movement; abnormal snippets (with
    ``signal``) move with larger, slower movements, less on the left, normal ones with small 2-4 Hz ones. Angles are noise."""
    layout = feature_layout(skeleton, "both", "body")
    rng = np.random.default_rng(seed)
    L = skeleton.n_landmarks
    left = [j for j, name in enumerate(skeleton.landmarks) if name.startswith("left_")]
    body = np.random.default_rng(0).normal(0, 1, (L, 2))  # one body, each snippet's pose varied a little
    t = np.arange(T) / FPS
    n = n_normal + n_abnormal
    y = np.r_[np.zeros(n_normal, int), np.ones(n_abnormal, int)]
    X = np.zeros((n, T, layout.n_features), np.float32)
    for i in range(n):
        ab = y[i] == 1 and signal > 0
        freq = rng.uniform(0.2, 0.8, (L, 2, 1)) if ab else rng.uniform(2, 4, (L, 2, 1))
        amp = rng.uniform(0.1, 0.2, (L, 2, 1)) if ab else rng.uniform(0.02, 0.05, (L, 2, 1))
        if ab:
            amp[left] *= 0.2  # and one-sided
        pose = body + rng.normal(0, 0.05, (L, 2))
        pts = pose[:, :, None] + amp * np.sin(2 * np.pi * freq * t + rng.uniform(0, 6, (L, 2, 1)))
        pts = pts + rng.normal(0, 0.01, pts.shape)
        X[i, :, :2 * L] = pts.transpose(2, 0, 1).reshape(T, 2 * L)
        X[i, :, 2 * L:] = rng.normal(120, 10, (T, layout.n_features - 2 * L))
    return X, y, layout


@pytest.fixture(scope="module")
def cohort(skeleton):
    return _cohort(skeleton, 24, 24, seed=1)


@pytest.mark.parametrize("arch", FAMILIES)
def test_every_descriptor_family_learns_and_scores_new_snippets(cohort, skeleton, arch):
    X, y, layout = cohort
    clf = make_classifier(arch, skeleton, layout, seed=3).fit(X, y)
    Xn, yn, _ = _cohort(skeleton, 8, 8, seed=2)
    p = clf.score_snippets(Xn)
    assert p.shape == (16,) and np.all((p >= 0) & (p <= 1))
    assert p[yn == 1].mean() > p[yn == 0].mean() + 0.2
    assert isinstance(clf, DescriptorClassifier) and clf.embed(Xn[:2]).shape[0] == 2


@pytest.mark.parametrize("arch", FAMILIES)
def test_degenerate_and_very_imbalanced_cohorts_do_not_crash(skeleton, arch):
    X, y, layout = _cohort(skeleton, 30, 3, seed=4)
    X[0] = X[0, :1]  # a constant snippet
    X[1, :, 0:2] = X[1, 0, 0:2]  # one landmark still
    X[2] = 0.0  # everything at the origin
    clf = make_classifier(arch, skeleton, layout, seed=1).fit(X, y)
    p = clf.score_snippets(np.concatenate([X[:3], X[-2:]]))
    assert np.isfinite(p).all() and np.all((p >= 0) & (p <= 1))


@pytest.mark.parametrize("arch", [*FAMILIES, "svm-rbf"])
def test_without_signal_an_imbalanced_cohort_scores_about_half_not_the_prior(skeleton, arch):
    """Class-balanced fitting: 100 normal and 25 abnormal snippets that differ in nothing; new snippets score
    P(abnormal) near 0.5 on average, not near the training share 0.2."""
    X, y, layout = _cohort(skeleton, 100, 25, signal=0.0, seed=5)
    clf = make_classifier(arch, skeleton, layout, seed=2).fit(X, y)
    Xn, _, _ = _cohort(skeleton, 60, 0, signal=0.0, seed=6)
    mean = float(clf.score_snippets(Xn).mean())
    print(f"\n{arch}: mean P(abnormal) {mean:.3f} (training share 0.2)")
    assert 0.35 < mean < 0.65


@pytest.mark.parametrize("arch", FAMILIES)
def test_bundle_round_trip_gives_identical_scores(tmp_path, cohort, skeleton, arch):
    X, y, layout = cohort
    clf = make_classifier(arch, skeleton, layout, seed=3).fit(X, y)
    out = save_bundle(tmp_path / arch, clf, skeleton, "both", 300, 150, f"{arch}-test", normalisation="body")
    man = json.loads((out / "manifest.json").read_text())
    assert {"scaler.npz", "descriptors.npz", "descriptors.json", "model.skops"} == set(man["files"])
    b = load_bundle(out, skeleton)
    assert type(b.classifier) is classifier_class(arch)
    assert np.array_equal(b.classifier.score_snippets(X), clf.score_snippets(X))


class Sneaky:
    """Not a type any model trusts; building it would record that it ran."""

    ran = False

    def __setstate__(self, state):
        Sneaky.ran = True
        self.__dict__.update(state)


def test_a_skops_file_naming_an_untrusted_type_is_refused_without_running_it(tmp_path, cohort, skeleton):
    import skops.io as sio

    X, y, layout = cohort
    clf = make_classifier("histograms", skeleton, layout, seed=3).fit(X, y)
    out = save_bundle(tmp_path / "m", clf, skeleton, "both", 300, 150, "h", normalisation="body")
    sio.dump(Sneaky(), out / "model.skops")
    with pytest.raises(GmdeskError, match=r"model\.skops holds types this model does not trust: .*Sneaky"):
        load_estimator(out / "model.skops", "LogisticRegression")
    man = json.loads((out / "manifest.json").read_text())
    man["files"]["model.skops"] = file_sha256(out / "model.skops")
    (out / "manifest.json").write_text(json.dumps(man))
    with pytest.raises(BundleError, match=r"model\.skops holds types this model does not trust"):
        load_bundle(out)
    assert not Sneaky.ran


def test_a_trusted_estimator_of_another_class_is_refused(tmp_path):
    from sklearn.svm import SVC

    save_estimator(tmp_path, "m.skops", SVC().fit(np.random.default_rng(0).normal(size=(10, 2)), [0, 1] * 5))
    with pytest.raises(GmdeskError, match="m.skops"):
        load_estimator(tmp_path / "m.skops", "LogisticRegression")


def test_boosted_trees_in_the_earlier_hand_exported_format_are_refused(tmp_path, cohort, skeleton):
    X, y, layout = cohort
    clf = make_classifier("kinematics-gb", skeleton, layout, seed=3).fit(X, y)
    clf.save(tmp_path)
    for name in ("descriptors.npz", "descriptors.json", "model.skops"):
        (tmp_path / name).unlink()
    np.savez(tmp_path / "kinematics.npz", desc_mean=clf.desc_mean_, desc_scale=clf.desc_scale_, left=np.zeros(3))
    (tmp_path / "kinematics.json").write_text(json.dumps({"model": "gb", "init": 0.0, "learning_rate": 0.05}))
    fresh = make_classifier("kinematics-gb", skeleton, layout)
    with pytest.raises(GmdeskError, match=r"kinematics\.npz.*retrain with this version"):
        fresh.load(tmp_path, 300, layout.n_features)


def test_the_cache_returns_the_same_descriptors_and_computes_each_snippet_once(cohort, skeleton):
    X, y, layout = cohort
    clf = make_classifier("movement", skeleton, layout)
    lay = clf.descriptor_layout()
    cache = DescriptorCache()
    first = cache.descriptors("spectral", X[:10], lay)
    again = cache.descriptors("spectral", X[5:15], lay)
    assert cache.misses == 15 and cache.hits == 5
    assert np.array_equal(first[5:], again[:5])
    assert np.allclose(again, compute_descriptors("spectral", X[5:15], lay))
    small = DescriptorCache(max_bytes=3 * first[0].nbytes)
    small.descriptors("spectral", X[:10], lay)
    assert len(small) == 3
    assert len(DESCRIPTOR_CACHE) > 0  # the families use the shared one


def test_reading_a_skops_model_does_not_import_torch():
    """skops lists scikit-learn's types by importing all of scikit-learn, whose torch adapter imports torch: torch
    loaded before TensorFlow made a later torch._dynamo import (pose estimation, gmdesk doctor) crash the process."""
    import subprocess
    import sys

    code = ("import sys; from gmdesk.learning.bundle import load_bundle; from gmdesk.io.resources import bundle_path;"
            "b = load_bundle(bundle_path()); assert (b.path / 'model.skops').is_file(); b.classifier.score_snippets;"
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "False"


#: The findings of the earlier versions as they were written then (descriptor column, sign): four descriptors
#: (before ``fm_jerkiness``), five (before ``limb_fm_level_p80``, "exaggerated" on the median level) and six
#: (before ``limb_fm_jerkiness_p80``).
EARLIER_VERSION_FINDINGS = {
    4: {"fidgety movements not seen": ((2, -1), (3, -1)), "exaggerated movements": ((2, 1), (0, 1)),
        "synchronised limbs": ((1, 1), (3, -1))},
    5: {"fidgety movements not seen": ((2, -1), (3, -1)), "exaggerated movements": ((2, 1), (0, 1), (4, 1)),
        "synchronised limbs": ((1, 1), (3, -1))},
    6: {"fidgety movements not seen": ((2, -1), (3, -1)), "exaggerated movements": ((5, 1), (0, 1), (4, 1)),
        "synchronised limbs": ((1, 1), (3, -1))},
}


@pytest.mark.parametrize("d", [4, 5, 6])
def test_a_fidgety_findings_bundle_of_an_earlier_version_scores_as_it_did(tmp_path, cohort, skeleton, d):
    """A bundle written before ``fm_jerkiness`` (four descriptors), ``limb_fm_level_p80`` (five) or
    ``limb_fm_jerkiness_p80`` (six) holds
    that version's descriptors and cuts set with that version's findings: it loads and scores exactly as that
    version did."""
    from gmdesk.learning.normative import FidgetyFindings

    class Earlier(FidgetyFindings):  # the earlier version: its first d descriptors, its own findings
        def _raw_descriptors(self, X):
            return DescriptorClassifier._raw_descriptors(self, X)[:, :d]

        def _findings(self, Z):
            if d >= 5:
                Z = Z.copy()
                Z[:, 4] = np.clip(Z[:, 4], -2.0, 2.0)
            return np.stack([sum(s * Z[:, j] for j, s in parts) / len(parts)
                             for parts in EARLIER_VERSION_FINDINGS[d].values()], axis=1)

    X, y, layout = cohort
    now = make_classifier("fidgety-findings", skeleton, layout, seed=3)
    earlier = Earlier(**now.get_params()).fit(X, y)
    assert len(earlier.desc_mean_) == d
    assert FidgetyFindings.FINDINGS["exaggerated movements"] != EARLIER_VERSION_FINDINGS[d]["exaggerated movements"]
    out = save_bundle(tmp_path / "earlier", earlier, skeleton, "both", 300, 150, "earlier", normalisation="body")
    b = load_bundle(out, skeleton)
    assert type(b.classifier) is FidgetyFindings
    assert np.array_equal(b.classifier.score_snippets(X), earlier.score_snippets(X))
    assert np.array_equal(b.classifier.finding_margins(X), earlier.finding_margins(X))
    # refitting it learns all seven
    assert len(b.classifier.fit(X, y).desc_mean_) == 7
    # three descriptors are no version's
    npz = dict(np.load(out / "descriptors.npz"))
    npz["desc_mean"], npz["desc_scale"] = npz["desc_mean"][:3], npz["desc_scale"][:3]
    np.savez(out / "descriptors.npz", **npz)
    man = json.loads((out / "manifest.json").read_text())
    man["files"]["descriptors.npz"] = file_sha256(out / "descriptors.npz")
    (out / "manifest.json").write_text(json.dumps(man))
    with pytest.raises(BundleError, match="must hold the 7 descriptors of fidgety-findings"):
        load_bundle(out, skeleton)


def test_the_demo_bundle_of_the_five_descriptor_version_assesses_the_demo_infant_as_it_did(skeleton):
    """The shipped demo bundle of 2026-12-03 before ``limb_fm_level_p80`` (kept in tests/data): five descriptors,
    its own findings — the demo infant as that version assessed it: 23 of 71 snippets abnormal, every one for
    synchronised limbs, indeterminate."""
    from pathlib import Path

    from gmdesk.io.resources import demo_path
    from gmdesk.screening.assess import assess_recording

    bundle = load_bundle(Path(__file__).resolve().parents[2] / "data" / "earlier-findings-bundle", skeleton)
    assert len(bundle.classifier.desc_mean_) == 5
    res = assess_recording(demo_path(), bundle, skeleton)
    abnormal = [r for r in res.snippets if r["p_abnormal"] >= 0.5]
    assert (len(abnormal), len(res.snippets)) == (23, 71)
    assert {r["finding"] for r in abnormal} == {"synchronised limbs"}
    assert res.verdict.indeterminate


def test_a_descriptor_count_no_version_had_is_refused_when_scoring(cohort, skeleton):
    X, y, layout = cohort
    clf = make_classifier("fidgety-findings", skeleton, layout, seed=3).fit(X, y)
    with pytest.raises(GmdeskError, match="reads 7 descriptors .* got 3"):
        clf._findings(np.zeros((2, 3)))


def test_an_extreme_jerkiness_cannot_cancel_an_exaggerated_amplitude(cohort, skeleton):
    """The jerkiness enters the exaggerated finding clipped at ±jerk_z_clip: a stream read at the jerkiness floor
    (noise over-subtracted) lowers the finding by at most that much, whatever its z."""
    from gmdesk.learning.normative import FidgetyFindings

    X, y, layout = cohort
    clf = make_classifier("fidgety-findings", skeleton, layout, seed=3).fit(X, y)
    Z = np.zeros((3, 7))
    Z[:, 5] = Z[:, 0] = 4.0  # large amplitude
    Z[:, 4] = [0.0, -2.0, -9.0]  # smooth, and at the floor
    ex = clf._findings(Z)[:, list(FidgetyFindings.FINDINGS).index("exaggerated movements")]
    assert ex[0] == pytest.approx(2.0) and ex[1] == pytest.approx(1.5) and ex[2] == pytest.approx(ex[1])
