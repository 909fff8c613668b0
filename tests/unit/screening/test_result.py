"""A verdict and an assessment result read back from their stored form are the ones that were stored."""

import numpy as np

from gmdesk.screening.result import AssessmentResult
from gmdesk.screening.verdict import InfantVerdict, infant_verdict


def test_verdict_round_trips_through_its_plain_form():
    rng = np.random.default_rng(5)
    for scores in (rng.uniform(0, 1, 24), np.full(30, 0.1), np.full(5, 0.9)):
        v = infant_verdict(scores, "I1", overlap=150)
        d = v.to_dict()
        back = InfantVerdict.from_dict(d | {"window": 300, "fps": 29.97, "dropped": [], "track_sha256": "x"})
        assert back.to_dict() == d  # basis and binary verdict recomputed identically from the stored fields


def test_a_stored_result_reads_back_as_the_result_it_was():
    v = infant_verdict(np.array([0.2, 0.7, 0.1, 0.9, 0.3, 0.2, 0.1, 0.8, 0.2, 0.1]), "I2", overlap=150)
    snippets = [{"index": i, "start_frame": 150 * i, "p_abnormal": 0.5} for i in range(10)]
    stored = {"id": 3, "model_id": "m", "model_path": "/m", "edit_seq": 4, "time": "t", "author": "a",
              "model": {"classifier": "kinematics", "calibration": {"method": "platt"}, "cohort": {"synthetic": True}},
              "snippets": snippets,
              "verdict": v.to_dict() | {"window": 300, "fps": 25.0, "dropped": [{"start": 0, "missing": {"nose": 3}}],
                                        "track_sha256": "abc"}}
    r = AssessmentResult.from_stored(stored, fps=29.97)
    assert r.verdict.to_dict() == v.to_dict() and r.label == v.verdict  # the interval is stored to 4 decimals
    assert (r.result_id, r.stored, r.edit_seq, r.track_sha256, r.fps, r.window) == (3, True, 4, "abc", 25.0, 300)
    assert r.synthetic_model and r.calibrated and r.classifier == "kinematics" and r.snippets == snippets
    assert r.dropped == [{"start": 0, "missing": {"nose": 3}}] and r.similarity_reference is None
    d = r.to_dict()
    assert "result_id" not in d and "similarity_reference" not in d and d["verdict"] == v.to_dict()


def test_a_result_carries_its_models_validation_and_old_stored_results_count_as_not_validated():
    from gmdesk.learning.validity import validation_status
    from gmdesk.screening.result import UNKNOWN_VALIDATION

    v = infant_verdict(np.full(12, 0.9), "I3", overlap=150)
    stored = {"id": 1, "model_id": "m", "snippets": [], "model": {"classifier": "kinematics"},
              "verdict": v.to_dict() | {"window": 300, "fps": 25.0}}
    old = AssessmentResult.from_stored(stored, fps=25.0)  # stored before results kept the status
    assert not old.validated and old.validation["reasons"] == [UNKNOWN_VALIDATION]
    assert old.headline == f"ABNORMAL — research only: model NOT VALIDATED on its cohort ({UNKNOWN_VALIDATION})"
    lvl = {"auc": {"value": 0.95, "ci": [0.8, 1.0]}, "scheme": "infant-grouped CV"}
    ok = validation_status(lvl, {"p_value": 0.003, "test": "permutation"}, None)
    chance = validation_status(lvl, {"p_value": 0.4, "test": "permutation"}, None)
    for status, validated, headline in ((ok, True, "ABNORMAL"),
                                        (chance, False, "ABNORMAL — research only: model NOT VALIDATED on its cohort (p = 0.4)")):
        r = AssessmentResult.from_stored(stored | {"model": {"validation": status}}, fps=25.0)
        assert r.validated is validated and r.headline == headline and r.to_dict()["validation"] == status
        assert r.research_only == ("" if validated else "research only — model not validated on its cohort")
    damaged = AssessmentResult.from_stored(stored | {"model": {"validation": {"validated": "yes"}}}, fps=25.0)
    assert not damaged.validated  # a status of the wrong form is not trusted
