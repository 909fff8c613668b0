"""Folds in parallel (joblib's local processes, or a Dask cluster through joblib's dask backend) give the numbers
of a serial run with the same seed."""

from __future__ import annotations

import numpy as np
import pytest

from gmdesk.evaluation.protocol import Recipe, cross_validate, nested_selection
from gmdesk.learning.classifiers import make_classifier
from gmdesk.pipeline.cohort import cohort_features, cut_cohort, read_cohort
from gmdesk.pipeline.features import feature_layout
from gmdesk.synthetic.cohorts import generate_cohort
from gmdesk.synthetic.settings import SynthSettings

RECIPES = [Recipe("kinematics", "angles", "paper", 150), Recipe("svm-rbf", "angles", "paper", 150)]


@pytest.fixture(scope="module")
def data(tmp_path_factory, skeleton):
    """Eight synthetic infants of 40 s (4 normal, 4 abnormal), angle snippets at overlap 150."""
    entries = read_cohort(generate_cohort(tmp_path_factory.mktemp("par"), 4, 4, 0, 0, seed=606, truth=False,
                                          settings=SynthSettings(duration_s=(40.0, 40.0))))
    return {("angles", "paper", 150): cut_cohort(cohort_features(entries, skeleton, "angles"), skeleton, 300, 150)}


def maker(skeleton):
    def make(r: Recipe):
        return make_classifier(r.classifier, skeleton, feature_layout(skeleton, r.feature_set, r.normalisation), seed=3)

    return make


def _same_nested(a: dict, b: dict) -> None:
    assert a["chosen"] == b["chosen"] and a["per_fold"] == b["per_fold"]
    np.testing.assert_array_equal(a["oof_scores"], b["oof_scores"])
    np.testing.assert_array_equal(a["infant_ids"], b["infant_ids"])
    assert a["inner_scores"] == b["inner_scores"]


def test_cross_validation_in_processes_equals_the_serial_run(data, skeleton):
    s = data[("angles", "paper", 150)]
    est = maker(skeleton)(RECIPES[0])
    serial = cross_validate(s, est, "infant", n_splits=4, seed=7, bootstrap=200, n_jobs=1)
    seen = []
    parallel = cross_validate(s, est, "infant", n_splits=4, seed=7, bootstrap=200, n_jobs=2,
                              progress=lambda d, t, m: seen.append(d))
    np.testing.assert_array_equal(serial.oof_scores, parallel.oof_scores)
    assert serial.folds == parallel.folds and serial.infant_level == parallel.infant_level
    assert seen[-1] == 4  # one progress report per fold as the results come in


def test_nested_selection_in_processes_and_on_dask_equals_the_serial_run(data, skeleton):
    import joblib
    from distributed import Client, LocalCluster, get_task_stream

    make = maker(skeleton)
    serial = nested_selection(data, RECIPES, make, n_splits=3, inner_splits=3, seed=11, n_jobs=1)
    assert len(set(serial["chosen"])) >= 1 and len(serial["per_fold"]) == 3
    _same_nested(serial, nested_selection(data, RECIPES, make, n_splits=3, inner_splits=3, seed=11, n_jobs=2))
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            Client(cluster, set_as_default=False) as client, joblib.parallel_config(backend="dask", client=client), \
            get_task_stream(client) as stream:
        on_dask = nested_selection(data, RECIPES, make, n_splits=3, inner_splits=3, seed=11, n_jobs=-1)
    _same_nested(serial, on_dask)
    assert len({t["worker"] for t in stream.data}) >= 1 and len(stream.data) >= 3  # the outer folds ran on the cluster
