"""The classifier classes: one per family, parameters checked against the constraints declared on the class,
the same constraints checking a bundle's manifest (no TensorFlow needed)."""

import ast
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone

from gmdesk.learning.architectures import ALIASES, ARCHITECTURES
from gmdesk.learning.base import SnippetClassifier
from gmdesk.learning.bundle import BundleError, load_bundle
from gmdesk.learning.classifiers import CLASSIFIERS, classifier_class, classifier_for
from gmdesk.learning.kinematics_lr import KinematicsLogisticRegression
from gmdesk.learning.params import Interval, ParameterError, validate_parameters

REPO = Path(__file__).resolve().parents[3]
DEMO = REPO / "models" / "demo-synthetic"
EARLIER = REPO / "tests" / "data" / "earlier-kinematics-bundle"


def test_every_architecture_has_one_class_and_aliases_resolve():
    served = [a for cls in CLASSIFIERS for a in cls.architectures]
    assert sorted(served) == sorted(ARCHITECTURES)
    for name, full in ALIASES.items():
        clf = classifier_for(name)
        assert clf.architecture == full and isinstance(clf, classifier_class(full))
        assert clf.family == ARCHITECTURES[full]["family"]
    with pytest.raises(TypeError):
        SnippetClassifier("svm-rbf")  # the base has no model of its own


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_same_parameters_for_every_family_and_clone(cls):
    clf = cls(cls.architectures[-1], C=0.5, seed=3)
    assert clf.get_params() == classifier_for("svm-rbf").get_params() | {"architecture": cls.architectures[-1],
                                                                           "C": 0.5, "seed": 3}
    twin = clone(clf)
    assert type(twin) is cls and twin.get_params() == clf.get_params()
    cls.validate_parameters(clf.get_params())


def test_no_family_branching_left():
    src = (REPO / "gmdesk" / "learning").glob("*.py")
    for path in src:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Compare) and isinstance(node.left, ast.Attribute) and node.left.attr == "family":
                pytest.fail(f"{path.name}:{node.lineno} branches on .family")


@pytest.mark.parametrize("params, message", [
    ({"epochs": 0}, r"'epochs' is '0'; it must be a whole number 1-100000"),
    ({"C": -1}, r"'C' is '-1'; it must be a number > 0 or None"),
    ({"dropout": 1.0}, r"'dropout' is '1.0'; it must be a number in \[0, 1\)"),
    ({"seed": 1.5}, r"'seed' is '1.5'"),
    ({"aug_copies": True}, r"'aug_copies' is 'True'"),
    ({"mirror_signs": (1.0, 2.0)}, r"'mirror_signs'.*signs"),
    ({"coord_columns": (0, -2)}, r"'coord_columns'.*indices"),
])
def test_fit_refuses_parameters_out_of_range_before_training(params, message):
    X, y = np.zeros((20, 300, 4), np.float32), np.array([0, 1] * 10)
    with pytest.raises(ParameterError, match=message):
        classifier_for("svm-rbf", **params).fit(X, y)


def test_a_family_accepts_only_its_own_architectures():
    with pytest.raises(ParameterError, match=r"'architecture' is 'lstm-2'; it must be one of \['svm-poly', 'svm-rbf'\]"):
        classifier_class("svm-rbf").validate_parameters({"architecture": "lstm-2"})
    with pytest.raises(ParameterError, match="unknown hyper-parameter 'evil'"):
        classifier_class("kinematics").validate_parameters({"evil": 1})


def test_validator_accepts_numpy_numbers_and_json_lists():
    constraints = {"n": [Interval(int, 0, 10)], "x": [None, Interval(float, 0, None, "neither")]}
    validate_parameters(constraints, {"n": np.int64(3), "x": np.float32(0.5)})
    validate_parameters(constraints, {"x": None})
    with pytest.raises(ParameterError, match="'x' is '0'"):
        validate_parameters(constraints, {"x": 0})


def test_shipped_bundle_loads_as_its_class_and_scores_with_scikit_learn():
    from gmdesk.learning.classifiers import classifier_class

    b = load_bundle(DEMO)
    assert type(b.classifier) is classifier_class(b.manifest["classifier"])
    assert type(b.classifier.estimator_).__module__.startswith("sklearn.")


def test_an_earlier_versions_bundle_loads_its_logistic_regression_into_scikit_learn():
    b = load_bundle(EARLIER)  # the demo bundle of the version before skops (coefficients in kinematics.npz)
    assert type(b.classifier) is KinematicsLogisticRegression and type(b.classifier.estimator_).__name__ == "LogisticRegression"
    # made before limb segments and named limbs were parameters: those it lacks stay at their defaults
    stored = {k: tuple(v) if isinstance(v, list) else v for k, v in b.manifest["hyper_parameters"].items()}
    assert b.classifier.get_params() == {**stored, "segments": None, "limbs": None}
    # an earlier version's logistic regression is read into scikit-learn's and scores with it
    p = b.classifier.estimator_.predict_proba(np.zeros((1, b.classifier.estimator_.n_features_in_)))[0, 1]
    assert 0 < p < 1


def test_manifest_with_another_familys_architecture_is_refused(tmp_path):
    out = tmp_path / "m"
    shutil.copytree(DEMO, out)
    m = json.loads((out / "manifest.json").read_text())
    m["hyper_parameters"]["architecture"] = "svm-rbf"
    (out / "manifest.json").write_text(json.dumps(m))
    own = json.loads((DEMO / "manifest.json").read_text())["hyper_parameters"]["architecture"]
    with pytest.raises(BundleError, match=rf"hyper-parameter 'architecture' is 'svm-rbf'; it must be one of \['{own}'\]"):
        load_bundle(out)
    m["classifier"] = "cnn"
    (out / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(BundleError, match=r"'classifier' is 'cnn'; it must be one of"):
        load_bundle(out)
