"""Synthetic infants and cohorts for tests and the demo. **Synthetic data, not recordings of infants.**

:func:`make_infant` simulates one recording of an infant of a fidgety-age phenotype
(:mod:`gmdesk.synthetic.movements`: ``normal-fm`` for label 0; ``absent-fm``, ``sporadic-fm``, ``abnormal-fm`` or
``cramped-synchronised`` for label 1): a body model moves (:mod:`gmdesk.synthetic.bodies`; 3-D with a pinhole
camera by default, planar with ``model="2d"``) and the errors pose estimators make are planted
(:mod:`gmdesk.synthetic.artefacts`). The clean positions, the code of every point and the per-frame presence of
fidgety movements and fussing are kept so cleaning and screening can be scored. :func:`generate_cohort` writes a
cohort: a DLC ``.h5`` per infant, its ground truth and ``cohort.csv`` (with a ``phenotype`` column).
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from gmdesk.core.posetrack import PoseTrack
from gmdesk.core.skeleton import Skeleton
from gmdesk.io.dlc import write_dlc
from gmdesk.io.skeletons import load_skeleton
from gmdesk.progress import CancelFn, ProgressFn, check_cancel, report
from gmdesk.synthetic.artefacts import ARTEFACT_NAMES, DROPOUT, add_artefacts, add_artefacts_3d
from gmdesk.synthetic.bodies import simulate_body, simulate_body_3d
from gmdesk.synthetic.movements import choose_phenotype, parse_mix, phenotype_sequence, simulate_movement
from gmdesk.synthetic.settings import PHENOTYPE_LABEL, PHENOTYPES, SynthSettings

PhenotypeMix = str | Mapping[str, float] | Iterable[str] | Iterable[tuple[str, float]]

logger = logging.getLogger(__name__)


@dataclass
class SyntheticInfant:
    """One synthetic recording: observed track, clean truth and artefact codes."""

    infant_id: str
    label: int
    track: PoseTrack
    truth_xy: np.ndarray
    artefact: np.ndarray
    params: dict
    truth_world: np.ndarray | None = None  #: 3-D model: world positions (frames, landmarks, 3) in cm
    phenotype: str = ""  #: the movement finding (one of PHENOTYPES)
    fm: np.ndarray | None = None  #: per frame, presence of fidgety movements (0–1)
    state: np.ndarray | None = None  #: per frame, 0 calm, 1 active, 2 fussy

    def save_truth(self, path: str | Path) -> Path:
        """Write the ground truth to ``.npz`` (no pickle): positions, artefact codes, params (JSON), and where
        present the world positions, ``fm`` (presence of fidgety movements) and ``state`` per frame."""
        path = Path(path)
        extra = {} if self.truth_world is None else {"truth_world": self.truth_world.astype(np.float32)}
        if self.fm is not None:
            extra["fm"] = self.fm.astype(np.float16)
        if self.state is not None:
            extra["state"] = self.state.astype(np.int8)
        np.savez_compressed(path, truth_xy=self.truth_xy, artefact=self.artefact,
                            params=np.array(json.dumps(self.params)), codes=np.array(json.dumps(ARTEFACT_NAMES)),
                            **extra)
        return path


def load_truth(path: str | Path) -> tuple[np.ndarray, np.ndarray, dict]:
    """Read a ground-truth file: (truth_xy, artefact codes, params)."""
    with np.load(path, allow_pickle=False) as z:
        return z["truth_xy"], z["artefact"], json.loads(str(z["params"]))


def make_infant(infant_id: str, label: int, seed: int | list[int], settings: SynthSettings | None = None,
                skeleton: Skeleton | None = None, n_frames: int | None = None,
                phenotype: str | None = None) -> SyntheticInfant:
    """Simulate one infant.

    Parameters
    ----------
    infant_id : str
    label : int
        0 normal, 1 abnormal.
    seed : int or list of int
        Seed of the random generator; same seed (and arguments) → same infant.
    settings : SynthSettings, optional
    skeleton : Skeleton, optional
        Default infant24 (the body model needs its landmark names).
    n_frames : int, optional
        Length; default drawn from ``settings.duration_s``.
    phenotype : str, optional
        One of :data:`~gmdesk.synthetic.settings.PHENOTYPES`, matching ``label``. Default: ``normal-fm`` for
        label 0; for label 1 drawn (seeded) from ``settings.abnormal_mix``.

    Raises
    ------
    ValueError
        An unknown phenotype, or one whose label is not ``label``.
    """
    s = settings or SynthSettings()
    skeleton = skeleton or load_skeleton()
    rng = np.random.default_rng(seed)
    if phenotype is None:
        phenotype = choose_phenotype(rng, int(label), s.abnormal_mix)
    phenotype = phenotype.strip().lower()
    if phenotype not in PHENOTYPES:
        raise ValueError(f"phenotype must be one of {PHENOTYPES}, got {phenotype!r}")
    if PHENOTYPE_LABEL[phenotype] != int(label):
        raise ValueError(f"phenotype {phenotype!r} has label {PHENOTYPE_LABEL[phenotype]}, not {label}")
    n = n_frames or int(rng.uniform(*s.duration_s) * s.fps)
    mv = simulate_movement(rng, n, phenotype, s)
    world = None
    if s.model == "3d":
        truth, body, world = simulate_body_3d(rng, n, phenotype, s, skeleton, mv)
        xy, lik, code = add_artefacts_3d(rng, truth, s, skeleton)
    else:
        truth, body = simulate_body(rng, n, phenotype, s, skeleton, mv)
        xy, lik, code = add_artefacts(rng, truth, s, skeleton)
    code[np.isnan(truth).any(-1)] = DROPOUT
    # a detector reports points inside its image: a jump planted near the border stops at the border
    xy = np.clip(xy, 0.0, np.array(s.image_size, dtype=float) - 1.0)
    track = PoseTrack.from_xy(xy, skeleton.landmarks, s.fps, lik, source="gmdesk.synthetic")
    track.meta = {"source": f"synthetic:{infant_id}", "scorer": "gmdesk-synthetic", "synthetic": True}
    params = {"infant_id": infant_id, "label": int(label), "phenotype": phenotype, "seed": seed, "frames": n,
              "settings": asdict(s), "body": body, "movement": mv.draws, "synthetic": True}
    params = json.loads(json.dumps(params))
    track.provenance[-1]["params"]["synthetic"] = json.loads(json.dumps(params))
    return SyntheticInfant(infant_id, int(label), track, truth, code, params, world, phenotype, mv.fm, mv.state)


def generate_cohort(
    outdir: str | Path,
    n_normal: int = 6,
    n_abnormal: int = 4,
    n_external_normal: int = 2,
    n_external_abnormal: int = 1,
    seed: int = 0,
    settings: SynthSettings | None = None,
    truth: bool = True,
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
    phenotypes: PhenotypeMix | None = None,
) -> Path:
    """Write a synthetic cohort: one DLC ``.h5`` per infant (plus ground truth) and ``cohort.csv``.

    The defaults mirror the paper's 13 infants: 10 internal (6 normal, 4 abnormal) and 3
    external (2 normal, 1 abnormal). ``cohort.csv`` has columns infant_id, label
    (normal/abnormal), set (internal/external), pose_file (relative to the csv), fps, synthetic, phenotype.

    Normal infants are ``normal-fm``. The abnormal infants' phenotypes follow ``phenotypes`` (default
    ``settings.abnormal_mix``: absent-fm 40 %, sporadic-fm, abnormal-fm and cramped-synchronised 20 % each):
    a mapping name → weight, a list of names (equal weights) or text ``"absent-fm=2,abnormal-fm=1"``
    (see :func:`~gmdesk.synthetic.movements.parse_mix`). They are assigned in a fixed cycling order
    (:func:`~gmdesk.synthetic.movements.phenotype_sequence`; internal infants first, then external), so
    small cohorts get every phenotype and integer weights summing to the number of abnormal infants give
    exactly those counts.

    Returns
    -------
    Path
        The cohort table.
    """
    s = settings or SynthSettings()
    mix = parse_mix(phenotypes, s.abnormal_mix)
    if any(m == "normal-fm" for m, _ in mix):
        raise ValueError("the abnormal phenotype mix cannot hold normal-fm")
    abnormal = iter(phenotype_sequence(mix, n_abnormal + n_external_abnormal))
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    plan = ([("internal", 0)] * n_normal + [("internal", 1)] * n_abnormal
            + [("external", 0)] * n_external_normal + [("external", 1)] * n_external_abnormal)
    plan = [(which, label, next(abnormal) if label else "normal-fm") for which, label in plan]
    rows = []
    for i, (which, label, phenotype) in enumerate(plan):
        check_cancel(cancel, "synthetic cohort")
        iid = f"{'N' if label == 0 else 'A'}{i + 1:02d}"
        inf = make_infant(iid, label, [seed, i], s, phenotype=phenotype)
        pose = out / f"{iid}.h5"
        write_dlc(inf.track, pose)
        if truth:
            inf.save_truth(out / f"{iid}.truth.npz")
        rows.append({"infant_id": iid, "label": "abnormal" if label else "normal", "set": which,
                     "pose_file": pose.name, "fps": inf.track.fps, "synthetic": "yes", "phenotype": phenotype})
        report(progress, i + 1, len(plan), iid)
    table = out / "cohort.csv"
    with open(table, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    (out / "README.txt").write_text(
        f"SYNTHETIC DATA generated by gmdesk.synthetic (seed {seed}). These are simulated stick-figure\n"
        "infants, not recordings of real infants; they exist for testing and demonstration only.\n",
        encoding="utf-8",
    )
    return table
