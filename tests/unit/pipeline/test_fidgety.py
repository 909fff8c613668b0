"""Fidgety-movement descriptors on movements whose answer is known, and the model of normal movement built on
them meeting a phenotype it never saw."""

import numpy as np
import pytest

from gmdesk.pipeline.body_frame import SnippetLayout
from gmdesk.pipeline.fidgety import (
    FIDGETY_CORE_NAMES,
    FIDGETY_FINDINGS_NAMES,
    FIDGETY_NAMES,
    JERK_FLOOR,
    fidgety_core_descriptors,
    fidgety_descriptors,
    fidgety_findings_descriptors,
    limb_groups,
)

FPS = 30.0
T = 300
BASE = np.array([[0, 1.0], [-0.6, 0.2], [0.6, 0.2], [-0.4, 2.0], [0.4, 2.0], [0, 1.5]])
LAYOUT = SnippetLayout(coord_columns=tuple(range(0, 12, 2)), mirror_landmarks=((1, 2), (3, 4)),
                       end_effectors=(1, 2, 3, 4), fps=FPS)


def _snippet(fidgety: float, kicks: float, seed: int, shared: bool = False, jitter: float = 0.003) -> np.ndarray:
    """One snippet (1, T, 12): kicks of about 1 s every few seconds (``kicks`` high; at the same moments on every
    end effector when ``shared``, else each its own), small 1-2.5 Hz circles (``fidgety``) and detector jitter."""
    rng = np.random.default_rng(seed)
    t = np.arange(T) / FPS
    pts = np.repeat(BASE[None], T, axis=0).copy()  # (T, 6, 2)
    common = rng.uniform(0, 10, 3)
    for j in (1, 2, 3, 4):
        onsets = common if shared else rng.uniform(0, 10, 3)
        pts[:, j, 1] += kicks * sum(np.exp(-0.5 * ((t - o) / 0.25) ** 2) for o in onsets)
        g, ph = rng.uniform(1.0, 2.5), rng.uniform(0, 6)
        pts[:, j, 0] += fidgety * np.cos(2 * np.pi * g * t + ph)
        pts[:, j, 1] += fidgety * np.sin(2 * np.pi * g * t + ph)
    pts += rng.normal(0, jitter, pts.shape)
    return pts.reshape(1, T, 12)


def _d(X: np.ndarray) -> dict[str, float]:
    return dict(zip(FIDGETY_NAMES, fidgety_descriptors(X, LAYOUT)[0], strict=True))


def test_the_small_stream_raises_the_small_level_not_the_large_one():
    with_fm = _d(_snippet(0.04, 0.3, 1))
    without = _d(_snippet(0.0, 0.3, 1))
    assert with_fm["small_p25_mean"] > without["small_p25_mean"] + 0.5  # logs: more than 1.6 times
    assert with_fm["small_to_large"] > without["small_to_large"]
    assert abs(with_fm["large_p90_mean"] - without["large_p90_mean"]) < 0.5
    assert with_fm["band_share_0_5_3"] > without["band_share_0_5_3"] + 0.05
    # more large movement alone does not look like fidgety movements
    busy = _d(_snippet(0.0, 0.6, 1))
    assert busy["small_to_large"] < with_fm["small_to_large"]


def test_circles_go_in_all_directions_and_kicks_together_are_synchronous():
    circles = _d(_snippet(0.04, 0.0, 2))
    assert circles["direction_variability"] > 0.7
    together, apart = _d(_snippet(0.0, 0.5, 2, shared=True)), _d(_snippet(0.0, 0.5, 2))
    assert together["end_effector_sync"] > 0.8 and apart["end_effector_sync"] < 0.5


def test_jitter_is_the_detector_noise_and_sets_no_small_level_by_itself():
    quiet, noisy = _d(_snippet(0.0, 0.3, 3, jitter=0.002)), _d(_snippet(0.0, 0.3, 3, jitter=0.008))
    assert noisy["jitter"] - quiet["jitter"] == pytest.approx(np.log(4), abs=0.3)


def _core(X: np.ndarray) -> dict[str, float]:
    return dict(zip(FIDGETY_CORE_NAMES, fidgety_core_descriptors(X, LAYOUT)[0], strict=True))


def test_the_core_descriptors_read_the_small_stream_through_detector_noise():
    """White detector noise as large as a weak fidgety stream: without the stream, the raw small-movement level
    is mostly noise; the core descriptors (noise suppressed first) keep the stream's contrast larger."""
    weak, noise = 0.012, 0.012
    raw = [_d(_snippet(f, 0.3, 4, jitter=noise))["small_p50_mean"] for f in (weak, 0.0)]
    core = [_core(_snippet(f, 0.3, 4, jitter=noise))["small_p50_mean"] for f in (weak, 0.0)]
    print("raw (with, without)", np.round(raw, 2), "core", np.round(core, 2))
    assert core[0] - core[1] > raw[0] - raw[1] + 0.1
    assert core[0] - core[1] > 0.4
    # the same clean snippet: suppression changes the stream's level little
    clean = _snippet(0.04, 0.3, 5, jitter=0.0)
    assert _core(clean)["small_p50_mean"] == pytest.approx(_d(clean)["small_p50_mean"], abs=0.1)
    together = _core(_snippet(0.0, 0.5, 2, shared=True))
    assert together["end_effector_sync"] > 0.8


def test_a_still_or_constant_snippet_gives_finite_descriptors():
    X = np.repeat(BASE.reshape(1, 1, 12), T, axis=1)
    assert np.isfinite(fidgety_descriptors(X, LAYOUT)).all()
    assert fidgety_descriptors(X, LAYOUT).shape == (1, len(FIDGETY_NAMES))
    assert np.isfinite(fidgety_core_descriptors(X, LAYOUT)).all()
    assert np.isfinite(fidgety_findings_descriptors(X, LAYOUT)).all()
    for frames in (40, 8):  # shorter than the band filters' padding, and than a window
        assert np.isfinite(fidgety_findings_descriptors(X[:, :frames] + 0.01 * np.sin(np.arange(frames))[None, :, None],
                                                        LAYOUT)).all()
    assert fidgety_core_descriptors(X[:, :8], LAYOUT).shape == (1, len(FIDGETY_CORE_NAMES))  # shorter than the filter


def _findings(X: np.ndarray) -> dict[str, float]:
    return dict(zip(FIDGETY_FINDINGS_NAMES, fidgety_findings_descriptors(X, LAYOUT)[0], strict=True))


def test_the_stillest_limb_level_sees_the_stream_in_every_limb_not_the_kicks_of_some():
    """Kicks of one limb at a time leave the others still: the stillest limb's fidgety level stays low however
    many kicks; a stream of small circles in every limb raises it — also under detector noise as large as it."""
    for noise in (0.003, 0.012):
        with_fm = _findings(_snippet(0.012, 0.3, 6, jitter=noise))
        without, busy = (_findings(_snippet(0.0, k, 6, jitter=noise)) for k in (0.3, 0.8))
        print(noise, "with", round(with_fm["limb_fm_level"], 2), "without", round(without["limb_fm_level"], 2),
              "busier", round(busy["limb_fm_level"], 2))
        assert with_fm["limb_fm_level"] > without["limb_fm_level"] + 1.0  # a log amplitude: e times
        assert busy["limb_fm_level"] < with_fm["limb_fm_level"] - 1.0


def test_circles_are_circular_and_back_and_forth_is_not():
    t = np.arange(T) / FPS
    X = np.repeat(BASE[None], T, axis=0).copy()
    lines = X.copy()
    for j in (1, 2, 3, 4):
        X[:, j, 0] += 0.03 * np.cos(2 * np.pi * 1.5 * t)
        X[:, j, 1] += 0.03 * np.sin(2 * np.pi * 1.5 * t)
        lines[:, j, 0] += 0.03 * np.cos(2 * np.pi * 1.5 * t)
        lines[:, j, 1] += 0.015 * np.cos(2 * np.pi * 1.5 * t)
    circles, straight = (_findings(a.reshape(1, T, 12))["small_path_circularity"] for a in (X, lines))
    assert circles > 0.1 and straight < 0.1 * circles


def test_the_limbs_are_hands_and_feet_with_the_joint_before_not_the_head(skeleton):
    from gmdesk.learning.classifiers import make_classifier
    from gmdesk.pipeline.features import feature_layout

    lay = make_classifier("fidgety-findings", skeleton, feature_layout(skeleton, "both", "body")).descriptor_layout()
    names = list(skeleton.landmarks)
    limbs = limb_groups(lay, names.index(skeleton.origin), len(names))
    assert sorted(tuple(names[j] for j in g) for g in limbs) == [
        ("left_ankle", "left_foot"), ("left_wrist", "left_hand"), ("right_ankle", "right_foot"), ("right_wrist", "right_hand")]
    # without bones: every end effector alone
    assert limb_groups(LAYOUT, 0, 6) == ((1,), (2,), (3,), (4,))


@pytest.mark.parametrize("family", ["fidgety-normative", "fidgety-core", "fidgety-findings"])
def test_the_model_of_normal_movement_flags_a_phenotype_it_never_saw(skeleton, family):
    """Trained on normal and cramped-synchronised infants only, the normative fidgety families score infants with absent
    fidgety movements (never seen) higher than new normal infants (synthetic 3-D infants, seeds used nowhere else)."""
    from gmdesk.learning.classifiers import make_classifier
    from gmdesk.pipeline.features import compute_features, feature_layout
    from gmdesk.pipeline.snippets import SnippetSet, cut_snippets
    from gmdesk.synthetic.cohorts import make_infant
    from gmdesk.synthetic.settings import SynthSettings

    settings = SynthSettings(duration_s=(40.0, 40.0), artefacts=False)
    layout = feature_layout(skeleton, "both", "body")

    def snips(phenotype: str, label: int, seeds: range) -> SnippetSet:
        sets = []
        for k in seeds:
            inf = make_infant(f"{phenotype}{k}", label, [6060, k], settings, skeleton, phenotype=phenotype)
            feats, lay = compute_features(inf.track, skeleton, "both", "body")
            sets.append(cut_snippets(feats, lay, inf.track, inf.infant_id, label, 300, 150))
        return SnippetSet.concat(sets)

    train = SnippetSet.concat([snips("normal-fm", 0, range(0, 8)), snips("cramped-synchronised", 1, range(8, 11))])
    model = make_classifier(family, skeleton, layout).fit(train.X, train.label)
    normal, absent = snips("normal-fm", 0, range(12, 16)), snips("absent-fm", 1, range(16, 20))
    scores = [[model.score_snippets(s.X[s.infant_id == i]).mean() for i in s.infants] for s in (normal, absent)]
    print("normal infants", np.round(scores[0], 2), "absent-fm infants", np.round(scores[1], 2))
    assert np.mean(scores[1]) > np.mean(scores[0])


def test_the_findings_cuts_come_from_normal_snippets_whatever_the_abnormal_ones():
    """Trained beside 10 kicks-only (absent-like) or 25 synchronised snippets, ``fidgety-findings`` keeps the same
    cuts and the same snippet decisions: only the normal snippets set them, so the verdict on a phenotype left out
    of training does not move with the phenotypes a cohort happens to have."""
    from gmdesk.learning.classifiers import classifier_for

    def clf():
        return classifier_for("fidgety-findings", coord_columns=LAYOUT.coord_columns, end_effectors=LAYOUT.end_effectors,
                              fps=FPS)

    normal = np.concatenate([_snippet(0.012 * (1 + 0.1 * (k % 5)), 0.3, 100 + k) for k in range(30)])
    absent = np.concatenate([_snippet(0.0, 0.3, 200 + k) for k in range(10)])
    together = np.concatenate([_snippet(0.0, 0.5, 300 + k, shared=True) for k in range(25)])  # more of them, too
    fitted = [clf().fit(np.concatenate([normal, a]), np.r_[np.zeros(30, int), np.ones(len(a), int)]) for a in (absent, together)]
    np.testing.assert_allclose(fitted[0].cuts_, fitted[1].cuts_, rtol=1e-12)  # the same snippets, summed in another order
    new = np.concatenate([_snippet(0.012, 0.3, 400), _snippet(0.0, 0.3, 401), _snippet(0.0, 0.5, 402, shared=True)])
    decisions = [f.score_snippets(new) >= 0.5 for f in fitted]
    assert np.array_equal(decisions[0], decisions[1])
    assert decisions[0].tolist() == [False, True, True]  # the stream is normal; kicks alone and in unison are not


def _circling(seed: int, jerky: bool, amplitude: float = 0.03, noise: float = 0.0) -> np.ndarray:
    """One snippet (1, T, 12) whose end effectors run round circles at 0.7-2.5 Hz; ``jerky``: speed and radius
    change abruptly (a step every ~0.7 s, taking 0.12 s, as in the generator's abnormal fidgety movements)."""
    rng = np.random.default_rng(seed)
    pts = np.repeat(BASE[None], T, axis=0).copy()
    k = int(0.12 * FPS)
    for j in (1, 2, 3, 4):
        freq, radius = np.full(T, rng.uniform(0.7, 2.5)), np.ones(T)
        if jerky:
            for a in (freq, radius):
                for c in np.sort(rng.integers(0, T, 14)):
                    a[c:] *= np.exp(rng.normal(0, 0.45))
            freq = np.convolve(np.pad(np.clip(freq, 0.5, 3.0), k, mode="edge"), np.ones(k) / k, "same")[k:-k]
            radius = np.convolve(np.pad(radius, k, mode="edge"), np.ones(k) / k, "same")[k:-k]
        phase = 2 * np.pi * np.cumsum(freq) / FPS + rng.uniform(0, 6)
        circle = np.stack([np.cos(phase), np.sin(phase)], axis=1) * radius[:, None]
        pts[:, j] += amplitude * circle / np.sqrt((circle ** 2).mean() * 2)
    pts += rng.normal(0, noise, pts.shape)
    return pts.reshape(1, T, 12)


def test_jerkiness_reads_abrupt_changes_of_speed_and_radius_at_any_amplitude_and_under_noise():
    """Abnormal fidgety movements are jerky: abrupt changes of speed and radius raise the jerkiness of circles of
    the same size; it is a ratio (twice the amplitude reads the same) and the detector's white noise is
    subtracted (a smooth stream under noise as large as a fifth of its amplitude reads as without)."""
    smooth = np.array([_findings(_circling(s, False))["fm_jerkiness"] for s in range(6)])
    jerky = np.array([_findings(_circling(s, True))["fm_jerkiness"] for s in range(6)])
    big = np.array([_findings(_circling(s, True, amplitude=0.06))["fm_jerkiness"] for s in range(6)])
    noisy = np.array([_findings(_circling(s, False, noise=0.006))["fm_jerkiness"] for s in range(6)])
    print("smooth", smooth.round(2), "jerky", jerky.round(2), "twice", big.round(2), "noisy", noisy.round(2))
    assert jerky.min() > smooth.max()
    assert np.median(jerky) > np.median(smooth) + 1.0  # a log ratio: e times the power above the band
    assert np.all(jerky > np.log(JERK_FLOOR) + 2) and np.allclose(big, jerky, atol=1e-6)
    assert np.all(np.abs(noisy - smooth) < 0.5 * (np.median(jerky) - np.median(smooth)))


def test_jerkiness_below_the_rate_its_band_needs_reads_the_floor_not_a_crash():
    for fps in (10.0, 12.0, 15.0):
        layout = SnippetLayout(coord_columns=tuple(range(0, 12, 2)), end_effectors=(1, 2, 3, 4), fps=fps)
        D = fidgety_findings_descriptors(_circling(1, True), layout)
        assert np.isfinite(D).all()
        if fps <= 12:
            assert D[0, FIDGETY_FINDINGS_NAMES.index("fm_jerkiness")] == pytest.approx(np.log(JERK_FLOOR))


def test_the_level_where_the_stream_is_reads_an_intermittent_stream_as_large_as_a_continual_one():
    """An intermittent stream (here a third of the snippet) leaves the median window in a pause: the stillest
    limb's level (the median) reads the pause, its level where the stream is (80th percentile of the windows)
    reads the stream — as large as the same stream all the time, and twice as large for twice the amplitude."""
    t = np.arange(T)
    on = (t < T // 3).astype(float)[None, :, None]
    rows = []
    for seed in range(4):
        still, weak, strong = (_snippet(a, 0.0, 20 + seed) for a in (0.0, 0.03, 0.06))
        intermittent = [_findings(still + on * (x - still)) for x in (weak, strong)]
        continual = _findings(weak)
        rows.append((intermittent[0]["limb_fm_level"], intermittent[0]["limb_fm_level_p80"],
                     intermittent[1]["limb_fm_level_p80"], continual["limb_fm_level"], continual["limb_fm_level_p80"]))
    median_i, present_i, present_strong, median_c, present_c = np.array(rows).T
    print(np.round(np.array(rows), 2))
    assert np.all(median_i < median_c - 1.0)  # the median reads the pause
    assert np.all(np.abs(present_i - median_c) < 0.3)  # where the stream is: the stream's own level
    assert np.all(np.abs(present_strong - present_i - np.log(2)) < 0.25)  # an amplitude, in logs
    assert np.all(present_c >= median_c)
    # the descriptor column is the public function's value
    from gmdesk.pipeline.body_frame import body_points
    from gmdesk.pipeline.fidgety import limb_fm_present_level, origin_landmark

    X = still + on * (strong - still)
    b = body_points(X, LAYOUT.coord_columns)
    limbs = limb_groups(LAYOUT, int(origin_landmark(b)[0]), b.shape[2])
    assert _findings(X)["limb_fm_level_p80"] == limb_fm_present_level(b, FPS, limbs)[0]


def test_the_stillest_limbs_jerkiness_reads_the_stream_not_a_kick_of_another_limb():
    """Jerky circles read above smooth ones in the stillest limb's jerkiness too; a large smooth kick of one limb
    puts power in the fidgety band of that limb only: the snippet-wide jerkiness of the hands and feet falls,
    the stillest limb's stays that of the jerky stream (a window's stillest limb is never the kicking one)."""
    t = np.arange(T) / FPS
    kick = 0.4 * sum(np.exp(-0.5 * ((t - o) / 0.25) ** 2) for o in (2.0, 5.0, 8.0))
    rows = []
    for seed in range(6):
        smooth, jerky = _circling(seed, False), _circling(seed, True)
        kicked = jerky.copy()
        kicked[0, :, 2 * 1 + 1] += kick  # the y of end effector 1
        rows.append([_findings(x)[k] for x in (smooth, jerky, kicked) for k in ("limb_fm_jerkiness_p80", "fm_jerkiness")])
    r = np.array(rows)
    print(np.round(r, 2))
    limb_smooth, limb_jerky, limb_kicked = r[:, 0], r[:, 2], r[:, 4]
    ends_jerky, ends_kicked = r[:, 3], r[:, 5]
    assert np.median(limb_jerky) > np.median(limb_smooth) + 1.0
    assert np.all(ends_kicked < ends_jerky - 0.5)
    # the stillest limb of a window may become another (jerky too) limb, never the kicked one
    assert np.median(limb_kicked) > np.median(limb_smooth) + 1.0
    assert np.median(np.abs(limb_kicked - limb_jerky)) < 0.3
    # the column is the public function's value
    from gmdesk.pipeline.body_frame import body_points
    from gmdesk.pipeline.fidgety import limb_fm_jerkiness, origin_landmark

    b = body_points(kicked, LAYOUT.coord_columns)
    limbs = limb_groups(LAYOUT, int(origin_landmark(b)[0]), b.shape[2])
    assert _findings(kicked)["limb_fm_jerkiness_p80"] == limb_fm_jerkiness(b, FPS, limbs)[0]
