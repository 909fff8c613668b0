"""The fidgety-age phenotypes of the synthetic generator: shapes, seeds, cohort tables, and the published effect
directions (on clean truth, several seeds), while no single simple statistic separates normal from absent FMs."""

import numpy as np
import pytest

from gmdesk.pipeline.cohort import read_cohort
from gmdesk.synthetic.checks import auc, movement_stats
from gmdesk.synthetic.cohorts import generate_cohort, load_truth, make_infant
from gmdesk.synthetic.movements import parse_mix, phenotype_sequence
from gmdesk.synthetic.settings import ABNORMAL_PHENOTYPES, PHENOTYPE_LABEL, PHENOTYPES, SynthSettings

FPS = 30.0
SECONDS = 40


def stats(phenotype, seeds, skeleton, truth=True, model="3d"):
    s = SynthSettings(model=model, artefacts=False)
    out = []
    for i in seeds:
        inf = make_infant("X", PHENOTYPE_LABEL[phenotype], [90, i], s, skeleton, int(SECONDS * FPS), phenotype=phenotype)
        out.append(movement_stats(inf.truth_xy if truth else inf.track.xy, skeleton, FPS))
    return {k: np.array([o[k] for o in out]) for k in out[0]}


@pytest.mark.parametrize("model", ["3d", "2d"])
@pytest.mark.parametrize("phenotype", PHENOTYPES)
def test_every_phenotype_gives_finite_tracks_of_the_right_shape(skeleton, model, phenotype):
    inf = make_infant("P", PHENOTYPE_LABEL[phenotype], [3, 1], SynthSettings(model=model), skeleton, 450,
                      phenotype=phenotype)
    assert inf.truth_xy.shape == (450, 24, 2) and np.isfinite(inf.truth_xy).all()
    assert inf.track.xy.shape == (450, 24, 2) and inf.phenotype == phenotype
    mv = inf.params["movement"]
    assert inf.params["phenotype"] == phenotype and mv["phenotype"] == phenotype
    assert 0.5 <= mv["activity"] <= 1.6 and inf.fm.shape == (450,) and inf.state.shape == (450,)
    if phenotype in ("absent-fm", "cramped-synchronised"):
        assert mv["fm_gain"] == 0 and not inf.fm.any()
    elif phenotype == "sporadic-fm":
        assert mv["fm_gain"] > 0 and 0.05 <= mv["fm_duty"] <= 0.25  # bouts may miss a 15-s recording
    else:
        assert mv["fm_gain"] > 0 and inf.fm.max() > 0 and mv["fm_duty"] >= 0.4
    assert not inf.fm[inf.state == 2].any()  # no fidgety movements while fussing


def test_abnormal_fms_are_exaggerated_against_normal_fms_not_the_infants_own_draw(skeleton):
    """Einspieler et al. 2016: abnormal FMs are 'moderately to greatly exaggerated' - as an assessor sees them, i.e.
    against normal FMs. Every AF stream is larger than every normal one, across seeds and settings, and the other
    draws of an AF infant are those of the normal infant with the same seed."""
    for s in (SynthSettings(), SynthSettings(fm_amplitude=(0.5, 1.5), af_gain=(1.6, 2.0))):
        lo, hi = s.fm_amplitude
        normal = [make_infant("X", 0, [7, i], s, skeleton, 60).params["movement"] for i in range(30)]
        af = [make_infant("X", 1, [7, i], s, skeleton, 60, phenotype="abnormal-fm").params["movement"]
              for i in range(30)]
        n_gain, a_gain = np.array([m["fm_gain"] for m in normal]), np.array([m["fm_gain"] for m in af])
        assert lo <= n_gain.min() and n_gain.max() <= hi
        assert a_gain.min() > hi
        factor = a_gain / ((lo + hi) / 2)
        assert s.af_gain[0] <= factor.min() and factor.max() <= s.af_gain[1]
        # the normal draw is still made: the FM kind and duty, drawn after it, are those of the normal infant
        assert [m["fm_duty"] for m in normal] == [m["fm_duty"] for m in af]
        assert ["exaggerated-" + m["fm_kind"] for m in normal] == [m["fm_kind"] for m in af]
    with pytest.raises(ValueError, match="exaggerated against normal FMs"):
        SynthSettings(fm_amplitude=(0.3, 1.5))  # 1.6 × 0.9 would fall inside the normal range
    with pytest.raises(ValueError, match="ranges"):
        SynthSettings(af_gain=(2.4, 1.6))


def test_same_seed_same_infant_and_the_phenotype_follows_the_label(skeleton):
    a = make_infant("X", 1, [5, 9], skeleton=skeleton, n_frames=300)
    b = make_infant("X", 1, [5, 9], skeleton=skeleton, n_frames=300)
    assert np.array_equal(a.track.xy, b.track.xy, equal_nan=True) and a.params == b.params
    assert a.phenotype in ABNORMAL_PHENOTYPES
    assert make_infant("X", 0, [5, 9], skeleton=skeleton, n_frames=300).phenotype == "normal-fm"
    drawn = {make_infant("X", 1, [5, i], skeleton=skeleton, n_frames=60).phenotype for i in range(40)}
    assert drawn == set(ABNORMAL_PHENOTYPES)  # label 1 draws from the whole default mix
    only = SynthSettings(abnormal_mix=(("abnormal-fm", 1.0),))
    assert make_infant("X", 1, [5, 1], only, skeleton, 60).phenotype == "abnormal-fm"
    with pytest.raises(ValueError, match="label"):
        make_infant("X", 0, [5, 9], skeleton=skeleton, n_frames=60, phenotype="absent-fm")
    with pytest.raises(ValueError, match="phenotype"):
        make_infant("X", 1, [5, 9], skeleton=skeleton, n_frames=60, phenotype="writhing")
    with pytest.raises(ValueError, match="abnormal_mix"):
        SynthSettings(abnormal_mix=(("normal-fm", 1.0),))


def test_mixes_cycle_so_small_cohorts_get_every_phenotype():
    mix = SynthSettings().abnormal_mix
    assert set(phenotype_sequence(mix, 4)) == set(ABNORMAL_PHENOTYPES)
    ten = phenotype_sequence(mix, 10)
    assert ten.count("absent-fm") == 4 and all(ten.count(p) == 2 for p in ABNORMAL_PHENOTYPES[1:])
    counts = parse_mix("absent-fm=3, abnormal-fm=1,sporadic-fm=2")
    seq = phenotype_sequence(counts, 6)
    assert (seq.count("absent-fm"), seq.count("sporadic-fm"), seq.count("abnormal-fm")) == (3, 2, 1)
    assert parse_mix(["Absent-FM", "abnormal-fm"]) == (("absent-fm", 1.0), ("abnormal-fm", 1.0))
    assert parse_mix({"sporadic-fm": 2}) == (("sporadic-fm", 2.0),)
    for bad in ("absent-fm=x", "fidgety", "absent-fm=0", "absent-fm=-1"):
        with pytest.raises(ValueError):
            parse_mix(bad)


def test_cohort_table_has_the_phenotype_column(tmp_path):
    s = SynthSettings(duration_s=(6.0, 8.0))
    table = generate_cohort(tmp_path, 2, 4, 0, 1, seed=4, settings=s)
    entries = read_cohort(table)
    assert [e.infant_id for e in entries] == ["N01", "N02", "A03", "A04", "A05", "A06", "A07"]
    assert [e.phenotype for e in entries[:2]] == ["normal-fm"] * 2
    assert {e.phenotype for e in entries[2:6]} == set(ABNORMAL_PHENOTYPES)
    for e in entries:
        _, _, params = load_truth(tmp_path / f"{e.infant_id}.truth.npz")
        assert params["phenotype"] == e.phenotype and params["label"] == e.label == PHENOTYPE_LABEL[e.phenotype]
        with np.load(tmp_path / f"{e.infant_id}.truth.npz") as z:
            assert z["fm"].shape == z["state"].shape == (params["frames"],)
    only = generate_cohort(tmp_path / "b", 1, 3, 0, 0, seed=4, settings=s, phenotypes="absent-fm=2,abnormal-fm=1")
    assert sorted(e.phenotype for e in read_cohort(only)) == ["abnormal-fm", "absent-fm", "absent-fm", "normal-fm"]
    with pytest.raises(ValueError, match="normal-fm"):
        generate_cohort(tmp_path / "c", 1, 1, 0, 0, settings=s, phenotypes=["normal-fm"])


def test_published_directions_hold_on_clean_truth(skeleton):
    """Same seeds for every phenotype: the same gross layer, so the fidgety stream is what differs."""
    seeds = range(10)
    normal, absent, sporadic = (stats(p, seeds, skeleton) for p in ("normal-fm", "absent-fm", "sporadic-fm"))
    af, cs = stats("abnormal-fm", seeds, skeleton), stats("cramped-synchronised", seeds, skeleton)
    print({k: [round(float(np.mean(v[k])), 4) for v in (normal, sporadic, absent, af, cs)] for k in normal})
    # small 0.5–3 Hz movement of hands and feet: normal > sporadic > absent (paired by seed, and on average)
    assert (normal["fm_band"] > absent["fm_band"]).mean() >= 0.8
    assert normal["fm_capped"].mean() > sporadic["fm_capped"].mean() > absent["fm_capped"].mean()
    # abnormal FMs: larger and jerkier than normal FMs
    assert (af["fm_band"] > normal["fm_band"]).all() and (af["jerk"] > normal["jerk"]).all()
    # jerkier, within published infant accelerations (Tru17: peak 3-9 m/s2), so not without bound
    assert af["jerk"].mean() > 1.2 * normal["jerk"].mean()
    # cramped-synchronised: limbs together (most infants, and on average)
    assert cs["sync"].mean() > normal["sync"].mean() and (cs["sync"] > normal["sync"]).mean() >= 0.6
    # without FMs the centroid of motion varies more [Stø17] and paths are less curved [Kan17]
    assert absent["csd"].mean() > normal["csd"].mean()
    assert absent["curvature"].mean() < normal["curvature"].mean()


def test_no_single_simple_statistic_separates_normal_from_absent_fms(skeleton):
    """Observed tracks (detector noise), 10 infants each with their own seeds: overall distal speed, the overall
    0.5–3 Hz power and limb synchrony overlap between normal-fm and absent-fm infants."""
    normal = stats("normal-fm", range(10), skeleton, truth=False)
    absent = stats("absent-fm", range(10, 20), skeleton, truth=False)
    for key in ("speed", "band_power", "sync"):
        a = auc(normal[key], absent[key])
        assert 0.05 < a < 0.95, (key, a)
        lo, hi = max(normal[key].min(), absent[key].min()), min(normal[key].max(), absent[key].max())
        assert lo < hi, key  # the ranges overlap


def test_cli_synth_phenotype_options(tmp_path, capsys):
    from gmdesk.cli.main import main

    out = tmp_path / "c"
    assert main(["synth", str(out), "--duration", "5", "6", "--n-normal", "1", "--n-external-normal", "0",
                 "--n-external-abnormal", "0", "--phenotype-counts", "absent-fm=2,abnormal-fm=1"]) == 0
    assert sorted(e.phenotype for e in read_cohort(out / "cohort.csv")) == ["abnormal-fm", "absent-fm", "absent-fm",
                                                                            "normal-fm"]
    assert "absent-fm 2" in capsys.readouterr().out
    assert main(["synth", str(tmp_path / "d"), "--duration", "5", "6", "--n-normal", "0", "--n-abnormal", "2",
                 "--n-external-normal", "0", "--n-external-abnormal", "0", "--phenotypes", "sporadic-fm"]) == 0
    assert {e.phenotype for e in read_cohort(tmp_path / "d" / "cohort.csv")} == {"sporadic-fm"}
    for bad in (["--phenotypes", "normal-fm"], ["--phenotype-mix", "absent-fm=x"], ["--phenotype-counts", "absent-fm=1.5"],
                ["--phenotypes", "absent-fm", "--phenotype-mix", "absent-fm=1"]):
        assert main(["synth", str(tmp_path / "e"), *bad]) == 2, bad
