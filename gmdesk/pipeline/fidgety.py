"""Descriptors of fidgety movements: is the continual stream of small movements there, and how does it look?

At 9–20 weeks post-term the abnormal finding is mostly **absent fidgety movements**: the large movements
(kicking, swiping) remain; what is missing is the "ongoing stream of small, circular and elegant movements of
neck, trunk and limbs" of "moderate speed and variable acceleration ... in all directions" (Prechtl et al.
1997; Einspieler & Prechtl 2005). So these descriptors look *between and under* the large movements, in
body sizes (:func:`~gmdesk.pipeline.body_frame.body_points`), per snippet:

* the small-movement level of the hands and feet: the 25th and 50th percentiles of their displacement over
  1/6 s (McCay et al. 2019 take displacements over 5 frames at 30 fps; over 1/6 s detector jitter, which does
  not grow with the lag, is small beside a fidgety circle, which does) — mean over the end effectors, and the
  stillest one (a limb without fidgety movements);
* the same for every landmark (neck, trunk and head movements take part);
* the large-movement level (90th percentile) and the ratio of the small to the large level (fidgety
  movements are *superimposed* on the large ones: activity level alone moves both);
* the share of the displacement's power in the fidgety band (0.5–3 Hz) and above it (3–8 Hz, exaggerated
  speed and jerkiness of abnormal fidgety movements, Einspieler et al. 2016);
* the direction variability of the small displacements (fidgety movements go "in all directions"; Morais et
  al. 2023 found the direction variability of small distal movements discriminative);
* the mean pairwise correlation of the end effectors' displacement magnitudes (cramped-synchronised movement
  moves the limbs together, Einspieler et al. 2012);
* the detector's jitter: the median distance of a point from the midpoint of its neighbours one frame either
  side (a pose estimator's frame-to-frame noise, which differs between cameras and videos, sets the floor
  of the small-movement level: a model can read the level against it).

Levels enter as logarithms. Støen et al. 2017 found the variability of the centroid of motion *higher* without
fidgety movements, Kanemaru et al. 2017/2019 limb curvature lower: an absent stream is not simply "less
movement", which is why the small-movement level is read against the large one.
"""

from __future__ import annotations

import logging

import numpy as np

from gmdesk.pipeline.body_frame import SnippetLayout, body_points, finite
from gmdesk.pipeline.spectral import band_shares

logger = logging.getLogger(__name__)

#: Names of the descriptors, in order.
FIDGETY_NAMES = ("small_p25_mean", "small_p50_mean", "small_p25_stillest", "small_p50_stillest", "all_p25",
                 "all_p50", "large_p90_mean", "small_to_large", "band_share_0_5_3", "band_share_3_8",
                 "direction_variability", "end_effector_sync", "jitter")
#: The descriptors of ``fidgety-core`` (:func:`fidgety_core_descriptors`): one per clinical finding.
FIDGETY_CORE_NAMES = ("small_p50_mean", "small_to_large", "band_share_0_5_3", "end_effector_sync")
#: The descriptors of ``fidgety-findings`` (:func:`fidgety_findings_descriptors`).
FIDGETY_FINDINGS_NAMES = ("small_p50_mean", "end_effector_sync", "limb_fm_level", "small_path_circularity",
                          "fm_jerkiness", "limb_fm_level_p80", "limb_fm_jerkiness_p80")
#: Length of the Savitzky–Golay filter that suppresses detector noise (s).
SMOOTHING_S = 0.3
#: Fidgety band and the band above it (Hz).
FIDGETY_BAND = (0.5, 3.0)
FAST_BAND = (3.0, 8.0)


def _log(x: np.ndarray) -> np.ndarray:
    return np.log(np.maximum(x, 1e-6))


def _direction_variability(step: np.ndarray, small: np.ndarray) -> np.ndarray:
    """1 − mean resultant length of the doubled directions (axial: back-and-forth counts as one axis) of the
    displacements ``step`` ``(n, T, L, 2)`` where ``small`` ``(n, T, L)``; per snippet and landmark."""
    ang = 2 * np.arctan2(step[..., 1], step[..., 0])
    w = small.astype(float)
    cnt = np.maximum(w.sum(axis=1), 1)
    c, s = (w * np.cos(ang)).sum(axis=1) / cnt, (w * np.sin(ang)).sum(axis=1) / cnt
    return 1 - np.hypot(c, s)


def _sync(mag: np.ndarray) -> np.ndarray:
    """Mean pairwise correlation of the columns of ``mag`` ``(n, T, E)`` per snippet (0 with fewer than 2)."""
    n, _, e = mag.shape
    if e < 2:
        return np.zeros(n)
    z = mag - mag.mean(axis=1, keepdims=True)
    z = z / (np.sqrt((z * z).sum(axis=1, keepdims=True)) + 1e-12)
    c = np.einsum("nta,ntb->nab", z, z)
    iu = np.triu_indices(e, 1)
    return c[:, iu[0], iu[1]].mean(axis=1)


def descriptor_columns(p: np.ndarray, layout: SnippetLayout,
                       names: tuple[str, ...] = FIDGETY_NAMES) -> dict[str, np.ndarray]:
    """The descriptors ``names`` (of :data:`FIDGETY_NAMES`) of body points ``p`` ``(n, T, L, 2)``, by name; only
    what they need is computed (the band shares, direction variability and jitter cost most)."""
    n, T, L, _ = p.shape
    ee = list(layout.end_effectors) or list(range(L))
    lag = max(1, int(round(layout.fps / 6)))
    step = p[:, lag:] - p[:, :-lag]  # (n, T - lag, L, 2)
    mag = np.linalg.norm(step, axis=-1)
    q25, q50, q90 = (np.percentile(mag, q, axis=1) for q in (25, 50, 90))  # (n, L)
    want = set(names)
    cols: dict[str, np.ndarray] = {
        "small_p25_mean": _log(q25[:, ee].mean(axis=1)), "small_p50_mean": _log(q50[:, ee].mean(axis=1)),
        "small_p25_stillest": _log(q25[:, ee].min(axis=1)), "small_p50_stillest": _log(q50[:, ee].min(axis=1)),
        "all_p25": _log(q25.mean(axis=1)), "all_p50": _log(q50.mean(axis=1)),
        "large_p90_mean": _log(q90[:, ee].mean(axis=1)),
    }
    cols["small_to_large"] = cols["small_p50_mean"] - cols["large_p90_mean"]
    if want & {"band_share_0_5_3", "band_share_3_8"}:
        shares, _ = band_shares(p, layout.fps, (FIDGETY_BAND, FAST_BAND), taper=False)
        cols["band_share_0_5_3"] = shares[..., 0][:, ee].mean(axis=1)
        cols["band_share_3_8"] = shares[..., 1][:, ee].mean(axis=1)
    if "direction_variability" in want:
        cols["direction_variability"] = _direction_variability(step, mag <= q50[:, None, :])[:, ee].mean(axis=1)
    if "end_effector_sync" in want:
        cols["end_effector_sync"] = _sync(mag[:, :, ee])
    if "jitter" in want:
        cols["jitter"] = _log(np.median(np.linalg.norm(p[:, 1:-1] - 0.5 * (p[:, :-2] + p[:, 2:]), axis=-1),
                                        axis=(1, 2)))
    return {k: cols[k] for k in names}


def fidgety_descriptors(X: np.ndarray, layout: SnippetLayout) -> np.ndarray:
    """The descriptors of :data:`FIDGETY_NAMES` for snippets ``X`` ``(n, frames, features)``, ``(n, 13)``.

    The end effectors are ``layout.end_effectors`` (every landmark when there are none).
    """
    cols = descriptor_columns(body_points(X, layout.coord_columns), layout)
    return finite(np.stack([cols[k] for k in FIDGETY_NAMES], axis=1))


def suppress_detector_noise(p: np.ndarray, fps: float, seconds: float = SMOOTHING_S) -> np.ndarray:
    """Points ``p`` ``(n, T, L, 2)`` through a Savitzky–Golay filter (order 2, ``seconds`` long, odd, ≥ 5 frames)
    along time: a pose estimator's frame-to-frame noise is largely white (it sets the floor of the small-movement
    level), fidgety movements (≤ 3 Hz) pass (the filter's -3 dB point is ≈ 5.5 Hz at 30 fps)."""
    from scipy.signal import savgol_filter

    win = max(5, int(round(seconds * fps)) | 1)
    if p.shape[1] < win:
        return p
    return savgol_filter(p, win, 2, axis=1, mode="interp")


def fidgety_core_descriptors(X: np.ndarray, layout: SnippetLayout) -> np.ndarray:
    """The descriptors of :data:`FIDGETY_CORE_NAMES` for snippets ``X``, ``(n, 4)``, from points whose detector
    noise is suppressed first (:func:`suppress_detector_noise`).

    One descriptor per clinical finding, so that a departure is not diluted among descriptors that vary in
    normal infants too: the small-movement level of hands and feet (absent and sporadic fidgety movements
    lower it, abnormal ones raise it), that level against the large movements' (fidgety movements are
    superimposed on the large ones; without them the small level is what the large movements leave), the
    share of the fidgety band (abnormal fidgety movements are faster and jerkier; cramped movement slower)
    and the synchrony of the limbs (cramped-synchronised movement).
    """
    p = suppress_detector_noise(body_points(X, layout.coord_columns), layout.fps)
    cols = descriptor_columns(p, layout, FIDGETY_CORE_NAMES)
    return finite(np.stack([cols[k] for k in FIDGETY_CORE_NAMES], axis=1))


#: Window over which the limbs' fidgety movements are read (s): fidgety movements go on for seconds, a kick
#: lasts about one.
FM_WINDOW_S = 1.0
#: Band of the limbs' fidgety level (Hz) and the band above it that estimates the detector's noise there.
LIMB_FM_BAND = (1.0, 3.0)
NOISE_BAND = (5.0, 12.0)
#: Bones between the origin and an end effector that make it the end of a limb (the hands are four from the
#: sternum, the feet five; the head's leaves, two or three, are not limbs).
LIMB_DEPTH = 4
#: Band of the limb ends' movement above the fidgety band that abrupt changes of speed and radius put power in
#: (Hz), and the band whose power estimates the detector's noise there (clear of both).
JERK_BAND = (3.0, 6.0)
JERK_NOISE_BAND = (8.0, 12.0)
#: Smallest share of the fidgety band's power that :func:`fm_jerkiness` reads above it.
JERK_FLOOR = 1e-3
#: Percentile of the 1-s windows at which :func:`limb_fm_present_level` reads the stillest limb's level.
PRESENT_LEVEL_PERCENTILE = 80.0
#: Smallest amplitude the limbs' fidgety level reads (body sizes): below it nothing is measurable, and a floor
#: keeps one still window from setting a snippet's level at minus infinity.
LEVEL_FLOOR = 1e-3
#: Length of the Savitzky–Golay filter before the paths' circularity is read (s).
CIRCULARITY_SMOOTHING_S = 0.5


def origin_landmark(p: np.ndarray) -> np.ndarray:
    """Index of the landmark nearest the origin in each snippet of body points ``p`` ``(n, T, L, 2)`` (the
    skeleton's origin, at zero in body coordinates)."""
    return np.argmin(np.median(np.linalg.norm(np.nan_to_num(p), axis=-1), axis=1), axis=1)


def limb_groups(layout: SnippetLayout, origin: int, n_landmarks: int) -> tuple[tuple[int, ...], ...]:
    """The limbs whose fidgety movements are read: each end effector at least :data:`LIMB_DEPTH` bones from
    ``origin`` along ``layout.segments``, with the landmark before it (hand and wrist, foot and ankle).

    The depth fits the shipped ``infant24`` skeleton from its sternum (hands 4, feet 5, the head's leaves 2-3); a
    skeleton with a longer head chain (a neck landmark) or another origin can make a head leaf a "limb" — a
    still head would then read as a limb without fidgety movements. ``gmdesk skeleton FILE`` prints the limbs
    read; a skeleton file names them in ``limbs`` when the rule picks wrong ones.

    Without segments, or when no end effector is that deep, every end effector alone (every landmark but the
    origin when the layout names none). A skeleton that names its ``limbs`` gets those."""
    if named := tuple(g for g in layout.limbs if max(g) < n_landmarks):
        return named
    ee = [e for e in layout.end_effectors if e < n_landmarks] or [j for j in range(n_landmarks) if j != origin]
    if not layout.segments:
        return tuple((e,) for e in ee)
    nbr: dict[int, list[int]] = {}
    for a, b in layout.segments:
        nbr.setdefault(a, []).append(b)
        nbr.setdefault(b, []).append(a)
    depth, parent, todo = {origin: 0}, {origin: origin}, [origin]
    while todo:
        a = todo.pop(0)
        for b in nbr.get(a, []):
            if b not in depth:
                depth[b], parent[b] = depth[a] + 1, a
                todo.append(b)
    limbs = tuple((parent[e], e) for e in ee if depth.get(e, 0) >= LIMB_DEPTH)
    return limbs or tuple((e,) for e in ee)


def _band_passed(p: np.ndarray, fps: float, band: tuple[float, float]) -> np.ndarray:
    """Points ``p`` ``(n, T, L, 2)`` through a 4th-order Butterworth band-pass, forward and backward."""
    from scipy.signal import butter, sosfiltfilt

    sos = butter(4, band, btype="band", fs=fps, output="sos")
    return sosfiltfilt(sos, p, axis=1, padlen=min(3 * (2 * len(sos) + 1), p.shape[1] - 1))


def _white_noise_band(band: tuple[float, float], noise_band: tuple[float, float],
                      fps: float) -> tuple[tuple[float, float], float] | None:
    """Where a detector's white noise in ``band`` is estimated: ``noise_band`` cut below the Nyquist frequency (to
    0.45 ``fps``), and the factor that scales its power to ``band``'s width; ``None`` when less than 0.5 Hz of it
    is left (a low frame rate: nothing is subtracted)."""
    hi = min(noise_band[1], 0.45 * fps)
    if hi <= noise_band[0] + 0.5:
        return None
    return (noise_band[0], hi), (band[1] - band[0]) / (hi - noise_band[0])


def _window_power(p: np.ndarray, fps: float, band: tuple[float, float], w: int) -> np.ndarray:
    """Power (squared distance per frame) of points ``p`` ``(n, T, L, 2)`` in ``band`` (4th-order Butterworth,
    forward and backward), per window of ``w`` frames: ``(n, T // w, L)``."""
    n, T, L, _ = p.shape
    r = _band_passed(p, fps, band)
    k = T // w
    return (r * r).sum(axis=-1)[:, :k * w].reshape(n, k, w, L).mean(axis=2)


def _limb_window_power(p: np.ndarray, fps: float, limbs: tuple[tuple[int, ...], ...], band: tuple[float, float],
                       noise_band: tuple[float, float]) -> np.ndarray:
    """Power in ``band`` of each limb (the mean of its landmarks) in each :data:`FM_WINDOW_S` window, less the
    detector's white noise estimated in ``noise_band``: ``(n, windows, limbs)``."""
    n, T = p.shape[:2]
    w = max(2, min(T, int(round(FM_WINDOW_S * fps))))
    power = _window_power(p, fps, band, w)
    if noise := _white_noise_band(band, noise_band, fps):
        power = power - noise[1] * _window_power(p, fps, noise[0], w)
    return np.stack([power[..., list(g)].mean(axis=-1) for g in limbs], axis=-1)


def _limb_fm_power(p: np.ndarray, fps: float, limbs: tuple[tuple[int, ...], ...]) -> np.ndarray:
    """Fidgety power of each limb in each window, the detector's noise subtracted: ``(n, windows, limbs)``."""
    return _limb_window_power(p, fps, limbs, LIMB_FM_BAND, NOISE_BAND)


def _stillest_limb_windows(fm: np.ndarray) -> np.ndarray:
    """Log fidgety amplitude of the stillest limb in each :data:`FM_WINDOW_S` window ``(n, windows)`` from the
    limbs' fidgety power ``fm`` (:func:`_limb_fm_power`; see :func:`limb_fm_level`)."""
    stillest = np.maximum(fm.min(axis=-1), LEVEL_FLOOR ** 2)
    return 0.5 * np.log(stillest)


def _jerk_band_readable(fps: float) -> bool:
    """Whether :data:`JERK_BAND` lies below the Nyquist frequency of ``fps`` (0.45 ``fps``: 13.3 fps and below
    it does not)."""
    return JERK_BAND[1] < 0.45 * fps


def _stillest_limb_jerk_windows(p: np.ndarray, fps: float, limbs: tuple[tuple[int, ...], ...],
                                fm: np.ndarray) -> np.ndarray:
    """Log jerkiness of the stillest limb in each window ``(n, windows)``, the limbs' fidgety power ``fm`` given
    (:func:`_limb_fm_power`; see :func:`limb_fm_jerkiness`)."""
    if not _jerk_band_readable(fps):
        return np.full(fm.shape[:2], np.log(JERK_FLOOR))
    jerk = _limb_window_power(p, fps, limbs, JERK_BAND, JERK_NOISE_BAND)
    still = np.argmin(fm, axis=-1)[..., None]
    fm_s = np.maximum(np.take_along_axis(fm, still, axis=-1)[..., 0], LEVEL_FLOOR ** 2)
    jerk_s = np.take_along_axis(jerk, still, axis=-1)[..., 0]
    return np.log(np.maximum(jerk_s / fm_s, JERK_FLOOR))


def limb_fm_level(p: np.ndarray, fps: float, limbs: tuple[tuple[int, ...], ...]) -> np.ndarray:
    """Fidgety level of the stillest limb, per snippet of body points ``p`` ``(n, T, L, 2)``.

    Fidgety movements are a stream of the whole body — "neck, trunk and limbs", "continual" (Prechtl et al.
    1997; Einspieler & Prechtl 2005) — while a kick or a swipe moves one or two limbs and leaves the others
    still. So in each :data:`FM_WINDOW_S` window: the power in :data:`LIMB_FM_BAND` of each limb (the mean of
    its landmarks), less the detector's noise in that band (the power in :data:`NOISE_BAND`, where no infant
    movement is, scaled to the band's width: white noise), and of the limbs the *least* (at least
    :data:`LEVEL_FLOOR` squared); the snippet's value is the median over its windows of half the logarithm (a
    log amplitude). Below about 12 fps the noise band does not exist and nothing is subtracted.

    One limb whose points were interpolated over most of the snippet (a long occlusion) has no fidgety power and
    pulls the level down: the snippet's imputed share (flagged above 20 %) says when to distrust it.
    """
    return np.median(_stillest_limb_windows(_limb_fm_power(p, fps, limbs)), axis=1)


def limb_fm_present_level(p: np.ndarray, fps: float, limbs: tuple[tuple[int, ...], ...]) -> np.ndarray:
    """Fidgety level of the stillest limb *where fidgety movements are*, per snippet of body points ``p``
    ``(n, T, L, 2)``: the windows of :func:`limb_fm_level` read at their :data:`PRESENT_LEVEL_PERCENTILE`th
    percentile instead of the median.

    How large a stream is asks for the windows that have it: an infant whose (exaggerated) fidgety movements come
    and go — intermittent, pauses about half the observation (the GMA manual) — has snippets whose median window is a
    pause, which reads the pause, not the movements' amplitude (Einspieler et al. 2016: abnormal FMs are
    fidgety movements of exaggerated amplitude, speed and jerkiness). The median stays the measure of *whether*
    the stream is there.
    """
    return np.percentile(_stillest_limb_windows(_limb_fm_power(p, fps, limbs)), PRESENT_LEVEL_PERCENTILE, axis=1)


def limb_fm_jerkiness(p: np.ndarray, fps: float, limbs: tuple[tuple[int, ...], ...]) -> np.ndarray:
    """Jerkiness of the stillest limb *where fidgety movements are*, per snippet of body points ``p``
    ``(n, T, L, 2)``: in each :data:`FM_WINDOW_S` window the limb with the least fidgety power (as
    :func:`limb_fm_level`), the logarithm of its power in :data:`JERK_BAND` over its power in
    :data:`LIMB_FM_BAND`, each less the detector's white noise (estimated in :data:`JERK_NOISE_BAND` and
    :data:`NOISE_BAND`), at least :data:`JERK_FLOOR`; read at the :data:`PRESENT_LEVEL_PERCENTILE`th percentile
    of the windows.

    :func:`fm_jerkiness` sums the hands and feet over the whole snippet, so a kick or a swipe — large, smooth,
    in one limb — weighs in it as much as the stream; the stillest limb of a window is the one without them,
    and the upper windows are those that have the stream (an intermittent one too). Abnormal fidgety movements
    are jerky (Einspieler et al. 2016) at any amplitude. Every snippet reads the floor at 13.3 fps and below.
    """
    fm = _limb_fm_power(p, fps, limbs)
    return np.percentile(_stillest_limb_jerk_windows(p, fps, limbs, fm), PRESENT_LEVEL_PERCENTILE, axis=1)


def fm_jerkiness(p: np.ndarray, fps: float, ends: list[int]) -> np.ndarray:
    """How jerky the limb ends' movement is, per snippet of body points ``p`` ``(n, T, L, 2)``: the logarithm of
    the power in :data:`JERK_BAND` over the power in :data:`FIDGETY_BAND`, summed over the ``ends`` (hands and
    feet), the detector's noise in the jerk band subtracted first (the power in :data:`JERK_NOISE_BAND` scaled to
    the band's width: white noise); at least :data:`JERK_FLOOR`.

    Abnormal fidgety movements are fidgety movements with "moderately or greatly exaggerated amplitude, speed and
    jerkiness" (Einspieler et al. 2016): abrupt changes of speed and radius put power above the fidgety band at
    any amplitude — the finding that tells an exaggerated stream from a large normal one. A ratio, so body size
    and the stream's amplitude cancel. Kanemaru et al. 2014 found a jerk index of the legs higher at term in
    infants later diagnosed with cerebral palsy. On the generator's clean movement (six tuning cohorts, whole
    recordings) the ratio tells abnormal from normal fidgety movements with infant AUC 0.87; from the detected
    points, noise subtracted, 0.83 (snippets 0.72). Below about 19 fps the noise band does not exist and
    nothing is subtracted; at 13.3 fps and below the jerk band itself reaches the Nyquist frequency and every
    snippet reads the floor (the models resample recordings to 29.97 fps first).
    """
    if not _jerk_band_readable(fps):  # the jerk band reaches the Nyquist frequency: nothing to read
        return np.full(len(p), np.log(JERK_FLOOR))
    q = p[:, :, list(ends)]
    power = lambda r: (r * r).sum(axis=(1, 2, 3))  # noqa: E731
    fm, jerk = power(_band_passed(q, fps, FIDGETY_BAND)), power(_band_passed(q, fps, JERK_BAND))
    if noise := _white_noise_band(JERK_BAND, JERK_NOISE_BAND, fps):
        jerk = jerk - noise[1] * power(_band_passed(q, fps, noise[0]))
    fm = np.maximum(fm, 1e-12)
    return np.log(np.maximum(jerk, JERK_FLOOR * fm) / fm)


def window_turning(p: np.ndarray, fps: float, window_s: float = FM_WINDOW_S) -> tuple[np.ndarray, np.ndarray]:
    """How the paths of points ``p`` ``(n, T, L, 2)`` turn in each ``window_s`` window, over the squared lengths of
    their steps: the absolute *net* turning |Σ cross(v_t, v_t+1)| (round and round; 0 for straight or
    back-and-forth paths) and the *total* turning Σ |cross| (either sense), each ``(n, windows, L)``."""
    n = len(p)
    v = np.diff(p, axis=1)
    cross = v[:, :-1, :, 0] * v[:, 1:, :, 1] - v[:, :-1, :, 1] * v[:, 1:, :, 0]
    speed2 = (v[:, :-1] ** 2).sum(axis=-1)
    w = max(2, min(cross.shape[1], int(round(window_s * fps))))
    k = cross.shape[1] // w
    cs = cross[:, :k * w].reshape(n, k, w, -1)
    sp = speed2[:, :k * w].reshape(n, k, w, -1).sum(axis=2) + 1e-12
    return np.abs(cs.sum(axis=2)) / sp, np.abs(cs).sum(axis=2) / sp


def small_path_circularity(p: np.ndarray, fps: float, landmarks: list[int]) -> np.ndarray:
    """How circular the paths of ``landmarks`` are, per snippet of body points ``p`` ``(n, T, L, 2)`` (every window,
    weighted by its squared steps: a window with a kick reads mostly the kick, a window between large movements
    reads the small ones — hence the upper percentile over windows).

    Fidgety movements are "small, circular and elegant" (Prechtl et al. 1997) and the limbs' trajectories
    curve less without them (Kanemaru et al. 2017): after a :data:`CIRCULARITY_SMOOTHING_S` Savitzky–Golay filter
    (detector noise turns at random), the net turning of a path in a :data:`FM_WINDOW_S` window — the absolute
    sum of the cross products of consecutive steps over the sum of their squared lengths (:func:`window_turning`;
    0: straight or back-and-forth; larger: round and round, whatever the size) — its 75th percentile over the
    windows, the mean over the landmarks.
    """
    q = suppress_detector_noise(p, fps, CIRCULARITY_SMOOTHING_S)[:, :, landmarks]
    net, _ = window_turning(q, fps)
    return np.percentile(net, 75, axis=1).mean(axis=1)


def fidgety_findings_descriptors(X: np.ndarray, layout: SnippetLayout) -> np.ndarray:
    """The descriptors of :data:`FIDGETY_FINDINGS_NAMES` for snippets ``X``, ``(n, 7)``: the small-movement level
    and the limbs' synchrony of ``fidgety-core`` (:func:`fidgety_core_descriptors`), the fidgety level of the
    stillest limb (:func:`limb_fm_level`) and the circularity of the limbs' small paths
    (:func:`small_path_circularity`) — the two that tell a stream of fidgety movements from its absence — the
    jerkiness of the limb ends (:func:`fm_jerkiness`) and the stillest limb's level where the stream is
    (:func:`limb_fm_present_level`) and its jerkiness there (:func:`limb_fm_jerkiness`) — those that, with the
    small-movement level, tell an exaggerated one.

    Measured on two synthetic tuning cohorts (seeds 777 and 101, 32 infants each): for 1-s windows with and
    without the simulator's fidgety stream, the stillest limb's level separates them with AUC 0.78-0.86 inside
    normal infants and 0.87-0.93 between normal and absent-FM infants, where the mean small level of the hands
    and feet reaches 0.54-0.68 and 0.64-0.80 (``bench/bench_fm_detector.py`` prints the snippet-level figures).
    """
    b = body_points(X, layout.coord_columns)
    cols = descriptor_columns(suppress_detector_noise(b, layout.fps), layout, ("small_p50_mean", "end_effector_sync"))
    n, T, L, _ = b.shape
    level, circ, jerk, present, limb_jerk = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
    origins = origin_landmark(b) if n else np.zeros(0, dtype=int)
    for o in np.unique(origins):
        m = origins == o
        limbs = limb_groups(layout, int(o), L)
        fm = _limb_fm_power(b[m], layout.fps, limbs)  # filtered once for the three limb descriptors
        windows = _stillest_limb_windows(fm)
        level[m] = np.median(windows, axis=1)  # limb_fm_level
        present[m] = np.percentile(windows, PRESENT_LEVEL_PERCENTILE, axis=1)  # limb_fm_present_level
        limb_jerk[m] = np.percentile(_stillest_limb_jerk_windows(b[m], layout.fps, limbs, fm),  # limb_fm_jerkiness
                                     PRESENT_LEVEL_PERCENTILE, axis=1)
        circ[m] = small_path_circularity(b[m], layout.fps, sorted({j for g in limbs for j in g}))
        jerk[m] = fm_jerkiness(b[m], layout.fps, sorted({g[-1] for g in limbs}))
    return finite(np.stack([cols["small_p50_mean"], cols["end_effector_sync"], level, circ, jerk, present, limb_jerk],
                           axis=1))
