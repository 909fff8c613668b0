"""The ``gmdesk`` command line: every step of the pipeline without the GUI."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np

from gmdesk import __version__
from gmdesk.errors import GmdeskError
from gmdesk.io.tracks import write_track
from gmdesk.learning.model_card import percent_mean_sd

logger = logging.getLogger(__name__)

#: Set by ``--progress-json``: progress goes to stderr as one JSON object per line (for the GUI).
_JSON_PROGRESS = False


class _Bar:
    """A progress bar usable as a gmdesk progress callback: tqdm for people, or JSON lines
    ``{"progress": desc, "done": n, "total": m, "message": ...}`` with ``--progress-json``."""

    def __init__(self, desc: str, unit: str = "it") -> None:
        self.desc = desc
        self.bar = None
        if not _JSON_PROGRESS:
            from tqdm import tqdm

            self.bar = tqdm(desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True, leave=False)

    def __call__(self, done: int, total: int, message: str = "") -> None:
        if self.bar is None:
            print(json.dumps({"progress": self.desc, "done": done, "total": total, "message": message}),
                  file=sys.stderr, flush=True)
            return
        self.bar.total = total
        self.bar.n = done
        if message:
            self.bar.set_postfix_str(message, refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _skeleton(args: argparse.Namespace):
    from gmdesk.io.skeletons import load_skeleton

    return load_skeleton(args.skeleton)


def _cleaning_settings(args: argparse.Namespace):
    from gmdesk.pipeline.cleaning import CleaningSettings

    kw = {f.name: getattr(args, f.name) for f in fields(CleaningSettings) if getattr(args, f.name, None) is not None}
    return CleaningSettings(**kw)


def _add_pose_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--skeleton", help="skeleton TOML file or shipped name (default infant24)")
    p.add_argument("--mapping", help="TOML file mapping the file's body-part names to skeleton landmarks")
    p.add_argument("--fps", type=FPS, help="frame rate (DLC files do not store it; default 29.97, or a cohort's fps column)")
    p.add_argument("--individual", help="individual to read from a multi-animal DLC file")


def _add_cleaning_args(p: argparse.ArgumentParser) -> None:
    from gmdesk.pipeline.cleaning import CleaningSettings

    d = CleaningSettings()
    g = p.add_argument_group("cleaning (defaults documented in gmdesk.pipeline.cleaning)")
    g.add_argument("--p-cutoff", dest="p_cutoff", type=PROBABILITY, help=f"likelihood cut-off (default {d.p_cutoff})")
    g.add_argument("--p-hysteresis", dest="p_hysteresis", type=PROBABILITY,
                   help=f"also remove points below this likelihood next to removed ones; 0 = off (default {d.p_hysteresis})")
    g.add_argument("--bone-max-rel", dest="bone_max_rel", type=_number(float, 0, 10),
                   help=f"a bone longer than its full length by this fraction is wrong (default {d.bone_max_rel})")
    g.add_argument("--smooth-k", dest="smooth_k", type=_number(float, 0),
                   help=f"jump threshold in robust sd (default {d.smooth_k})")
    g.add_argument("--max-gap", dest="max_gap", type=COUNT, help=f"longest gap imputed, frames (default {d.max_gap})")
    g.add_argument("--max-gap-distal", dest="max_gap_distal", type=COUNT,
                   help=f"longest hand/foot gap imputed in its parent's frame, frames (default {d.max_gap_distal})")
    g.add_argument("--no-swaps", dest="swaps", action="store_const", const=False, help="skip the left/right swap repair")
    g.add_argument("--no-geometry", dest="geometry", action="store_const", const=False, help="skip the bone-length check")
    g.add_argument("--no-smoothness", dest="smoothness", action="store_const", const=False, help="skip the trajectory-jump check")
    g.add_argument("--no-impute", dest="impute", action="store_const", const=False, help="leave gaps missing")


# -- commands ---------------------------------------------------------------------------------

def cmd_synth(args: argparse.Namespace) -> int:
    from gmdesk.io.skeletons import load_skeleton
    from gmdesk.synthetic.cohorts import SynthSettings, generate_cohort, make_infant, render_video

    base = SynthSettings()
    s = SynthSettings(
        duration_s=tuple(args.duration) if args.duration else base.duration_s,
        normal_share=args.normal_share if args.normal_share is not None else base.normal_share,
        artefacts=not args.no_artefacts, model=args.model,
    )
    bar = _Bar("synth", "infant")
    try:
        table = generate_cohort(args.outdir, args.n_normal, args.n_abnormal, args.n_external_normal,
                                args.n_external_abnormal, args.seed, s, progress=bar)
    finally:
        bar.close()
    print(f"wrote synthetic cohort {table} ({args.model} model; "
          f"{args.n_normal + args.n_abnormal} internal, {args.n_external_normal + args.n_external_abnormal} external)")
    if args.video:
        from gmdesk.pipeline.cohort import read_cohort

        entries = {e.infant_id: e for e in read_cohort(table)}
        if args.video not in entries:
            raise GmdeskError(f"no infant {args.video!r} in {table}")
        order = list(entries)
        i = order.index(args.video)
        inf = make_infant(args.video, entries[args.video].label, [args.seed, i], s)
        n = int(args.video_seconds * inf.track.fps)
        path = Path(args.outdir) / f"{args.video}.mp4"
        render_video(inf.truth_xy, load_skeleton(), path, inf.track.fps, frames=slice(0, n))
        print(f"wrote video {path} ({n} frames)")
    return 0


def cmd_clean(args: argparse.Namespace) -> int:
    from gmdesk.io.dlc import write_dlc
    from gmdesk.pipeline.cleaning import clean_track
    from gmdesk.pipeline.cohort import load_track
    from gmdesk.pipeline.review import report_document

    sk = _skeleton(args)
    track = load_track(args.pose, sk, args.mapping, args.fps, args.individual)
    bar = _Bar("clean", "step")
    try:
        cleaned, rep = clean_track(track, sk, _cleaning_settings(args), progress=bar)
    finally:
        bar.close()
    src = Path(args.pose)
    out = Path(args.output) if args.output else src.with_name(src.stem + ".clean.npz")
    if out.suffix.lower() == ".npz":
        write_track(cleaned, out)
    else:
        write_dlc(cleaned, out)
    doc = report_document(cleaned, rep, len(sk.mirror_pairs))
    summary = {"input": str(src), "output": str(out), "frames": track.n_frames, **doc}
    if args.dlc_out:
        write_dlc(cleaned, args.dlc_out)
        summary["dlc_output"] = str(args.dlc_out)
    hyst = next((p["summary"].get("removed_by_hysteresis", 0) for p in cleaned.provenance
                 if p["step"] == "remove_low_likelihood"), 0)
    cov = doc["coverage"]
    print(f"{src.name}: {track.n_frames} frames ({track.duration_s:.0f} s)")
    print(f"  likelihood: removed {rep.low_likelihood} points ({hyst} of them next to sub-cut-off points)")
    swaps = ", ".join(f"{e.left} ↔ {e.right} {e.start}-{e.stop - 1}" for e in rep.swaps[:4])
    print(f"  left/right swaps put back: {len(rep.swaps)} runs, {rep.swap_repaired} points"
          + (f" ({swaps}{', ...' if len(rep.swaps) > 4 else ''})" if rep.swaps else ""))
    print(f"  geometry: removed {rep.geometry_outliers} points; trajectory jumps: removed {rep.smoothness_outliers} points")
    print(f"  imputed {rep.imputed} points (makima); {len(rep.gaps)} gaps left for review "
          f"({sum(g.length for g in rep.gaps)} landmark-frames)")
    why = ", ".join(f"{k} {v}" for k, v in list(cov["missing_by_landmark"].items())[:4])
    print(f"  snippets ({cov['window']} frames, overlap {cov['overlap']}): {cov['windows_kept']} of {cov['windows']} windows "
          f"usable ({100 * cov['usable_share']:.0f} % of frames)"
          + (f"; left out for missing {why} (landmark-frames)" if why else "")
          + (f"; {len(cov['flagged'])} kept with a long end-point fill (flagged)" if cov["flagged"] else ""))
    items = doc["review"]
    shown = items if args.report == "-" else items[: args.show]
    if shown:
        print(f"review queue: {len(items)} items, most important first"
              + ("" if len(shown) == len(items) else f" (first {len(shown)}; --report lists all)"))
        for k, it in enumerate(shown, 1):
            print(f"  {k:>3}. {it['kind']:<14} {it['landmark']:<28} {it['start']:>6}-{it['stop'] - 1:<6} "
                  f"conf {it['confidence']:.2f}  {it['detail']}")
    if args.report and args.report != "-":
        from gmdesk.io.atomic import atomic_path

        with atomic_path(Path(args.report)) as tmp:
            tmp.write_text(json.dumps(summary | {"provenance": cleaned.provenance}, indent=2), encoding="utf-8")
        print(f"wrote {args.report}")
    print(f"wrote {out}")
    return 0


def cmd_features(args: argparse.Namespace) -> int:
    import pandas as pd

    from gmdesk.io.atomic import atomic_path
    from gmdesk.pipeline.cleaning import clean_track
    from gmdesk.pipeline.cohort import is_cleaned, load_track
    from gmdesk.pipeline.features import compute_features

    sk = _skeleton(args)
    track = load_track(args.pose, sk, args.mapping, args.fps, args.individual)
    if not is_cleaned(track) and not args.raw:
        track, _ = clean_track(track, sk, _cleaning_settings(args))
    feats, layout = compute_features(track, sk, args.set, args.normalise)
    df = pd.DataFrame(feats, columns=list(layout.names))
    df.index.name = "frame"
    out = Path(args.output)
    with atomic_path(out) as tmp:
        df.to_csv(tmp)
    print(f"wrote {out}: {feats.shape[0]} frames x {feats.shape[1]} {args.set} features "
          f"({int(np.isnan(feats).any(axis=1).sum())} frames with missing values)")
    return 0


def cmd_snippets(args: argparse.Namespace) -> int:
    from gmdesk.pipeline.cohort import CohortEntry, cohort_snippets, read_cohort

    sk = _skeleton(args)
    src = Path(args.input)
    if src.suffix.lower() == ".csv" and _looks_like_cohort(src):
        entries = read_cohort(src)
        if args.subset:
            entries = [e for e in entries if e.set == args.subset]
            if not entries:
                raise GmdeskError(f"{src}: no infants in set {args.subset!r}")
    else:
        entries = [CohortEntry(args.infant_id or src.stem, -1, src, fps=args.fps)]
    bar = _Bar("snippets", "infant")
    try:
        snips = cohort_snippets(entries, sk, args.features, args.window, args.overlap, _cleaning_settings(args),
                                args.mapping, args.nan_policy, progress=bar, fps=args.fps, individual=args.individual)
    finally:
        bar.close()
    out = Path(args.output)
    snips.save(out)
    print(f"{'infant':>10} {'label':>8} {'snippets':>8} {'dropped':>7}")
    for e in entries:
        n = int((snips.infant_id == e.infant_id).sum())
        d = sum(1 for x in snips.dropped if x["infant_id"] == e.infant_id)
        print(f"{e.infant_id:>10} {['normal', 'abnormal', 'unknown'][e.label]:>8} {n:>8} {d:>7}")
    lab = snips.label
    print(f"wrote {out}: {len(snips)} snippets ({int((lab == 0).sum())} normal, {int((lab == 1).sum())} abnormal), "
          f"shape {snips.X.shape}, window {args.window}, overlap {args.overlap}, features {args.features}")
    return 0


def cmd_skeleton(args: argparse.Namespace) -> int:
    sk = _skeleton(args)
    print(f"{sk.name}: {sk.n_landmarks} landmarks, {len(sk.edges)} bones, {len(sk.mirror_pairs)} mirror pairs, "
          f"{len(sk.angles)} angles, origin {sk.origin} (from {sk.source})")
    for a in sk.angles:
        print(f"  angle {a.name}: {' - '.join(a.points)} (at {a.points[1]})")
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    """Check an installation (a workstation bundle or a checkout): every stack imports, the
    shipped resources and model bundles are intact, and which device pose estimation would use."""
    import importlib
    import os
    import platform
    import time

    from gmdesk.io import resources

    problems: list[str] = []

    def check(label: str, fn) -> None:
        t0 = time.perf_counter()
        try:
            text = fn()
            print(f"  ok   {label}: {text} ({time.perf_counter() - t0:.1f} s)")
        except Exception as exc:  # report every failure, keep checking
            problems.append(f"{label}: {type(exc).__name__}: {exc}")
            print(f"  FAIL {label}: {type(exc).__name__}: {exc}")

    def version(mod: str) -> str:
        return getattr(importlib.import_module(mod), "__version__", "?")

    print(f"gmdesk {__version__} on Python {platform.python_version()} ({platform.system()} {platform.machine()})"
          f"{', bundle' if getattr(sys, 'frozen', False) else ''}")
    check("numpy / scipy / pandas / PyTables",
          lambda: " / ".join(version(m) for m in ("numpy", "scipy", "pandas", "tables")))

    def opencv() -> str:
        import cv2

        build = cv2.getBuildInformation()
        ffmpeg = "FFMPEG:" in build and "YES" in build.split("FFMPEG:")[1][:40]
        return f"{cv2.__version__}, FFmpeg {'yes' if ffmpeg else 'NO'}"

    check("OpenCV", opencv)
    check("scikit-learn", lambda: version("sklearn"))
    check("TensorFlow / Keras", lambda: f"{version('tensorflow')} / {version('keras')}")

    def pose_stack() -> str:
        from gmdesk.pose.deeplabcut import import_torch

        torch = import_torch()
        dlc = version("deeplabcut")
        if os.environ.get("GMDESK_CPU_ONLY") == "1":
            gpu = "CPU build: pose estimation on CPU"
        else:
            gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU: pose estimation on CPU"
        return f"torch {torch.__version__}, DeepLabCut {dlc}; {gpu}"

    check("pose estimation (torch, DeepLabCut)", pose_stack)
    def shipped_files() -> str:
        bad = resources.check_resources()
        if bad:
            raise GmdeskError(f"{len(bad)} shipped file(s) missing or damaged: " + "; ".join(bad[:5]))
        return f"{len(resources.expected_hashes())} files in {resources.resource_root()} (hashes ok)"

    def skeletons() -> str:
        from gmdesk.io.skeletons import load_skeleton

        names = resources.skeleton_names()
        if not names:
            raise GmdeskError(f"no skeletons in {resources.skeleton_dir()}")
        return ", ".join(f"{load_skeleton(resources.skeleton_path(n)).name} ({n}.toml parses)" for n in names)

    def demo_data() -> str:
        from gmdesk.io.dlc import read_dlc

        t = read_dlc(resources.demo_path("demo_infant.h5"))
        video = resources.demo_path("demo_infant.mp4")
        if not video.is_file():
            raise GmdeskError(f"{video} is missing")
        return f"demo_infant.h5 ({t.n_frames} frames read), demo_infant.mp4"

    check("shipped files", shipped_files)
    check("skeletons", skeletons)
    check("demo data", demo_data)

    def bundles() -> str:
        from gmdesk.learning.bundle import load_bundle

        found = resources.shipped_bundles()
        if not found:
            raise GmdeskError(f"no model bundles in {resources.models_root()}")
        return ", ".join(f"{load_bundle(p).manifest['model_id']} (hashes ok)" for p in found)

    check("shipped model bundles", bundles)
    if problems:
        print(f"{len(problems)} problem(s):", *problems, sep="\n  ")
        return 1
    print("all checks passed")
    return 0


def cmd_pose(args: argparse.Namespace) -> int:
    from gmdesk.pose.deeplabcut import estimate_pose, load_pose_model

    sk = _skeleton(args)
    video = Path(args.video)
    if not video.is_file():
        raise GmdeskError(f"video {video} does not exist")
    out = Path(args.output) if args.output else video.with_name(video.stem + ".gmdesk_pose.h5")
    model = load_pose_model(args.model, shuffle=args.shuffle)
    print(f"{video.name}: DeepLabCut model {model.name} ({len(model.bodyparts)} body parts) on {args.device}, "
          f"batch {args.batch}, max size {args.max_size or 'full frame'}")
    bar = _Bar("pose", "frame")
    try:
        track = estimate_pose(video, model, sk, args.mapping, args.device, args.batch, args.max_size, out, progress=bar)
    except KeyboardInterrupt:
        raise GmdeskError(f"pose estimation of {video} interrupted; nothing was written") from None
    finally:
        bar.close()
    step = track.provenance[-1]
    print(f"wrote {out}: {track.n_frames} frames x {track.n_landmarks} landmarks in {step['summary']['seconds']} s "
          f"({track.n_frames / max(step['summary']['seconds'], 1e-9):.1f} fps, device {step['params']['device']})")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from gmdesk.io.resources import bundle_path, demo_path
    from gmdesk.pipeline.cohort import load_track, recording_snippets

    demo = demo_path("demo_infant.h5")
    if not demo.is_file():
        raise GmdeskError(f"bundled demo recording {demo} is missing")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    sk = _skeleton(args)
    print(f"demo: {demo.name} (SYNTHETIC infant, not for clinical use)")
    track = load_track(demo, sk)
    snips, cleaned, rep = recording_snippets(track, sk, "DEMO-A", -1, "both", overlap=150)
    write_track(cleaned, out / "demo_infant.clean.npz")
    snips.save(out / "demo_infant.snippets.npz")
    print(f"  {track.n_frames} frames ({track.duration_s:.0f} s); cleaning removed {rep.low_likelihood} low-likelihood, "
          f"{rep.geometry_outliers + rep.smoothness_outliers} outlier points, imputed {rep.imputed}; "
          f"{len(rep.gaps)} gaps left for review")
    print(f"  {len(snips)} snippets of 300 frames (overlap 150), {len(snips.dropped)} left out for missing data")
    print(f"  wrote {out / 'demo_infant.clean.npz'} and {out / 'demo_infant.snippets.npz'}")
    model = bundle_path()
    if not model.is_dir():
        raise GmdeskError(f"bundled demo model {model} is missing")
    from gmdesk.io.jsonfile import json_safe
    from gmdesk.learning.bundle import load_bundle
    from gmdesk.screening.assess import assess_track

    res = assess_track(cleaned, load_bundle(model, sk), sk, "DEMO-A")
    (out / "demo_assessment.json").write_text(json.dumps(json_safe(res), indent=2, allow_nan=False), encoding="utf-8")
    line = "".join("A" if s["class"] == "abnormal" else "n" for s in res["snippets"])
    print(f"  model {res['model_id']} (trained on SYNTHETIC infants): snippet classes in time order {line}")
    print(f"  VERDICT: {res['verdict']['verdict'].upper()} — {res['verdict']['basis']}")
    print(f"  wrote {out / 'demo_assessment.json'}; the demo infant's true label is abnormal (30 % normal-like periods)")
    # the clinician's record: a case with the result and the report, as the app makes them
    from gmdesk.record.case import import_pose_file
    from gmdesk.record.report import collect_report, render_report
    from gmdesk.screening.assess import store_result

    case_path = out / "demo_infant.gmcase"
    for old in (case_path, case_path.with_name(case_path.name + "-wal"), case_path.with_name(case_path.name + "-shm")):
        old.unlink(missing_ok=True)  # the demo starts afresh each time
    with import_pose_file(case_path, demo, sk, infant_id="DEMO-A", clean=True) as c:
        c.set_patient_field("date_of_birth", "2026-01-05")
        c.set_patient_field("gestational_age", "39+2")
        c.set_patient_field("recording_date", "2026-04-10")
        store_result(c, res)
        report = render_report(collect_report(c), out / "demo_report.pdf")
    print(f"  wrote {case_path} and the report {report} (patient fields are made up for the demo)")
    return 0


def cmd_case(args: argparse.Namespace) -> int:
    from gmdesk.record.case import import_pose_file, open_case

    if args.case_command == "new":
        sk = _skeleton(args)
        settings = None if args.no_clean else _cleaning_settings(args)
        with import_pose_file(args.case, args.pose, sk, video=args.video, mapping=args.mapping, fps=args.fps,
                              individual=args.individual, infant_id=args.infant_id, clean=settings,
                              accept_frame_difference=args.accept_frame_difference) as c:
            cleaning = c.cleaning()
            if cleaning:
                rep = cleaning[1]
                print(f"cleaned: {len(rep.get('swaps', []))} swaps put back, "
                      f"{rep.get('geometry_outliers', 0) + rep.get('smoothness_outliers', 0)} outliers, "
                      f"{rep.get('imputed', 0)} imputed, {len(rep.get('review', []))} items for review")
            print(f"created case {c.path} for infant {c.meta()['infant_id']} ({c.raw_track().n_frames} frames)")
        return 0
    with open_case(args.case, read_only=args.case_command in ("info", "export")) as c:
        if args.case_command == "info":
            m = c.meta()
            undo, redo = c.undo_state()
            chk = c.check_video()
            print(f"case {c.path}: infant {m['infant_id']}, schema {m['schema_version']}, created {m['created']} "
                  f"by {m['created_by']}")
            print(f"  track: {c.raw_track().n_frames} frames; cleaning: {'yes' if c.cleaning() else 'no'}; "
                  f"edit log: {len(c.history())} entries ({len(undo)} undoable, {len(redo)} redoable)")
            print(f"  video: {chk.status} - {chk.message}")
            for k, v in c.patient().items():
                print(f"  {k.replace('_', ' ')}: {v}")
            for r in c.results():
                print(f"  result {r['id']}: model {r['model_id']} -> {r['verdict'].get('verdict')} ({r['time']})")
            st = c.result_status()
            if st and st["out_of_date"]:
                print(f"  the latest result is out of date: {st['edits_since']} edit-log entries since; re-run the assessment")
        elif args.case_command == "export":
            if not (args.track or args.edits):
                raise GmdeskError("export needs --track and/or --edits")
            if args.track:
                print(f"wrote {c.export_track(args.track)}")
            if args.edits:
                print(f"wrote {c.export_edit_log(args.edits)}")
        elif args.case_command == "relink":
            c.link_video(args.video, accept_different=args.accept_different,
                         accept_frame_difference=args.accept_frame_difference)
            print(f"relinked {c.path} to {args.video}")
        elif args.case_command == "assess":
            from gmdesk.learning.bundle import load_bundle
            from gmdesk.screening.assess import assess_track, store_result

            sk = _skeleton(args)
            res = assess_track(c.current_track(), load_bundle(args.model, sk), sk, c.meta().get("infant_id", ""))
            rid = store_result(c, res)
            print(f"result {rid}: {res['verdict']['verdict'].upper()} — {res['verdict']['basis']}")
        elif args.case_command == "patient":
            fields = {"date_of_birth": args.date_of_birth, "gestational_age": args.gestational_age,
                      "recording_date": args.recording_date, "reviewer": args.reviewer, "site": args.site}
            given = {k: v for k, v in fields.items() if v is not None}
            if not given:
                raise GmdeskError("give at least one field (--date-of-birth, --gestational-age, --recording-date, "
                                  "--reviewer, --site)")
            for k, v in given.items():
                c.set_patient_field(k, v)
            print(f"{c.path}: " + ", ".join(f"{k} {v}" for k, v in c.patient().items()))
        elif args.case_command == "review":
            rid = args.result or c.results()[-1]["id"] if c.results() else None
            if rid is None:
                raise GmdeskError(f"case {c.path} has no result to review")
            c.review_snippet(rid, args.snippet - 1, args.mark, args.note or "")
            print(f"result {rid}, snippet {args.snippet}: {args.mark}")
        elif args.case_command == "signoff":
            results = c.results()
            if not results:
                raise GmdeskError(f"case {c.path} has no result to sign off")
            rid = args.result or results[-1]["id"]
            c.sign_off(rid, args.reviewer, args.comment or "")
            print(f"result {rid} signed off by {args.reviewer}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from gmdesk.record.case import open_case
    from gmdesk.record.report import collect_report, render_report

    manifest = None
    if args.bundle:
        from gmdesk.learning.bundle import load_bundle

        manifest = load_bundle(args.bundle).manifest
    with open_case(args.case, read_only=True) as c:
        content = collect_report(c, manifest, args.result)
    out = args.output or Path(args.case).with_suffix(".report.pdf")
    render_report(content, out)
    v = content.result.get("verdict", {})
    print(f"wrote {out}: infant {content.infant_id}, {v.get('verdict', '?').upper()} — {v.get('basis', '')}")
    if content.age and content.age.get("warning"):
        print(f"  warning: {content.age['warning']}")
    return 0


# -- classifiers ------------------------------------------------------------------------------

def _features(args: argparse.Namespace, entries, sk, fs: str, normalisation: str = "paper"):
    """Cleaned per-frame features of cohort entries with the command's mapping, fps and individual."""
    from gmdesk.pipeline.cohort import cohort_features

    return cohort_features(entries, sk, fs, mapping=args.mapping, fps=args.fps, individual=args.individual,
                           normalisation=normalisation)


def _entries(path: str, subset: str | None):
    from gmdesk.pipeline.cohort import read_cohort

    entries = read_cohort(path)
    if subset:
        entries = [e for e in entries if e.set == subset]
        if not entries:
            raise GmdeskError(f"{path}: no infants in set {subset!r}")
    return entries


def _estimator(arch: str, args: argparse.Namespace, sk, layout):
    from gmdesk.learning.classifiers import make_classifier

    return make_classifier(arch, sk, layout, fps=getattr(args, "fps", None) or 29.97, flip=not args.no_flip,
                           augment=getattr(args, "augment", 0), epochs=args.epochs, patience=args.patience, seed=args.seed)


def _cohort_summary(entries, snips) -> dict:
    return {"infants": len(entries), "normal_infants": sum(e.label == 0 for e in entries),
            "abnormal_infants": sum(e.label == 1 for e in entries), "snippets": int(len(snips)),
            "normal_snippets": int((snips.label == 0).sum()), "abnormal_snippets": int((snips.label == 1).sum()),
            "infant_ids": [e.infant_id for e in entries],
            "synthetic": all(e.synthetic for e in entries)}


def _cross_validate_shown(snips, est, scheme: str, args: argparse.Namespace, label: str):
    """Cross-validate with a fold progress bar, then print the figures."""
    from gmdesk.evaluation.protocol import cross_validate

    bar = _Bar(label, "fold")
    try:
        res = cross_validate(snips, est, scheme, seed=args.seed, threshold=args.threshold, progress=bar)
    finally:
        bar.close()
    _print_cv(res)
    return res


def _print_cv(res) -> None:
    from gmdesk.evaluation.metrics import headline

    name = f"{res.architecture} {res.feature_set} ({res.normalisation}) o{res.overlap}"
    if res.scheme == "snippet":
        s = res.summary
        print(f"{name}: {res.label}, {len(res.folds)} folds, {res.seconds:.0f} s: snippet accuracy "
              f"{percent_mean_sd(s['accuracy'])} %, AUC {percent_mean_sd(s['roc_auc'])} % — leaks infants; not an estimate "
              "for new infants")
    else:
        print(f"{name}: {res.label}, {len(res.folds)} folds, {res.seconds:.0f} s:\n    {headline(res.infant_level)}")


def _split_list(text: str, what: str, allowed: tuple[str, ...] | None = None) -> list[str]:
    items = [t.strip() for t in text.split(",") if t.strip()]
    bad = [t for t in items if allowed and t not in allowed]
    if not items or bad:
        raise GmdeskError(f"{what}: {bad or text!r} is not one of {allowed}")
    return items


def cmd_train(args: argparse.Namespace) -> int:
    from gmdesk.evaluation.metrics import headline, infant_level
    from gmdesk.evaluation.protocol import CV_SCHEMES
    from gmdesk.learning.bundle import save_bundle
    from gmdesk.learning.calibration import calibrate, fit_platt
    from gmdesk.learning.classifiers import resolve_architecture
    from gmdesk.learning.model_card import model_card
    from gmdesk.pipeline.cohort import cohort_snippets
    from gmdesk.pipeline.features import feature_layout

    sk = _skeleton(args)
    arch = resolve_architecture(args.model)
    entries = _entries(args.cohort, args.subset)
    snips = cohort_snippets(entries, sk, args.features, overlap=args.overlap, mapping=args.mapping, fps=args.fps,
                            individual=args.individual, normalisation=args.normalise)
    layout = feature_layout(sk, args.features, args.normalise)
    est = _estimator(arch, args, sk, layout)
    print(f"training {arch} on {len(entries)} infants, {len(snips)} snippets ({args.features}, {args.normalise} "
          f"normalisation, overlap {args.overlap})")
    metrics: dict = {}
    calibration = None
    schemes = [] if args.cv == "none" else _split_list(args.cv, "--cv", CV_SCHEMES)
    for scheme in schemes:
        res = _cross_validate_shown(snips, est, scheme, args, f"{scheme} CV")
        metrics[f"{scheme}_cv"] = {"summary": res.summary, "folds": res.folds, "label": res.label}
        if scheme != "snippet" and "infant_level" not in metrics:
            lvl = {k: v for k, v in res.infant_level.items() if k != "per_infant"} | {"scheme": res.label}
            if not args.no_calibration:
                # The deployed rule counts calibrated P(abnormal) >= 0.5 as abnormal, so the card's figures are
                # those of the calibrated out-of-fold scores (2 parameters fitted on them; the raw figures stay).
                calibration = fit_platt(res.oof_scores, snips.label) | {"fitted_on": f"out-of-fold scores of {res.label}"}
                cal = infant_level(calibrate(res.oof_scores, calibration), snips.label, snips.infant_id,
                                   threshold=args.threshold, seed=args.seed)
                metrics["uncalibrated_infant_level"] = lvl
                lvl = {k: v for k, v in cal.items() if k != "per_infant"} | {"scheme": res.label, "calibrated": True}
                print(f"    calibrated (as the bundle decides): {headline(cal)}")
            metrics["infant_level"] = lvl
    bar = _Bar("train", "epoch")
    try:
        est.fit(snips.X, snips.label, progress=bar)
    finally:
        bar.close()
    summary = _cohort_summary(entries, snips)
    external = _external_validation(args, sk, est, entries, calibration)
    if external:
        metrics["external"] = external
    model_id = args.model_id or f"{arch}-{args.features}-{args.normalise}-o{args.overlap}-s{args.seed}"
    card = model_card(model_id, arch, feature_set=args.features, normalisation=args.normalise, overlap=args.overlap,
                      threshold=args.threshold, min_snippets=args.min_snippets, seed=args.seed, flip=not args.no_flip,
                      augment=getattr(args, "augment", 0), epochs=args.epochs, patience=args.patience, cohort=summary,
                      metrics=metrics, calibrated=bool(calibration))
    out = save_bundle(args.output, est, sk, args.features, 300, args.overlap, model_id, summary, metrics,
                      threshold=args.threshold, card=card, overwrite=args.overwrite, reference=snips,
                      normalisation=args.normalise, calibration=calibration, min_snippets=args.min_snippets)
    print(f"wrote model bundle {out} ({est.train_info_['seconds']:.1f} s, "
          f"{len(est.history_.get('loss', [])) or '-'} epochs)")
    return 0


def _external_validation(args: argparse.Namespace, sk, est, entries, calibration) -> dict | None:
    """Infant-level figures of the trained model on the cohort's ``external`` infants (none trained on),
    when training used another set; ``None`` when there are none."""
    from gmdesk.evaluation.metrics import headline, infant_level
    from gmdesk.learning.calibration import calibrate
    from gmdesk.pipeline.cohort import cohort_snippets, read_cohort

    if not args.subset or args.subset == "external":
        return None
    trained = {e.infant_id for e in entries}
    ext = [e for e in read_cohort(args.cohort) if e.set == "external" and e.infant_id not in trained]
    if not ext:
        return None
    snips = cohort_snippets(ext, sk, args.features, overlap=args.overlap, mapping=args.mapping, fps=args.fps,
                            individual=args.individual, normalisation=args.normalise)
    p = est.score_snippets(snips.X)
    if calibration:
        p = calibrate(p, calibration)
    lvl = infant_level(p, snips.label, snips.infant_id, threshold=args.threshold, seed=args.seed)
    print(f"external validation ({len(ext)} infants never trained on):\n    {headline(lvl)}")
    return {k: v for k, v in lvl.items() if k != "per_infant"} | {"scheme": "external set of the cohort"}


def cmd_evaluate(args: argparse.Namespace) -> int:
    from gmdesk.constants import PAPER_OVERLAPS
    from gmdesk.evaluation.metrics import headline
    from gmdesk.evaluation.protocol import CV_SCHEMES, Recipe, external_validation, nested_selection, write_table
    from gmdesk.pipeline.cohort import cut_cohort
    from gmdesk.pipeline.features import FEATURE_SETS, NORMALISATIONS, feature_layout
    from gmdesk.plots.evaluation import plot_infant_level, plot_overlap_sweep

    sk = _skeleton(args)
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    internal = _entries(args.cohort, args.subset)
    overlaps = list(PAPER_OVERLAPS) if args.sweep else [int(o) for o in _split_list(args.overlaps, "--overlaps")]
    models = _split_list(args.models, "--classifiers")
    feature_sets = _split_list(args.feature_sets, "--feature-sets", FEATURE_SETS)
    norms = _split_list(args.normalise, "--normalise", NORMALISATIONS)
    schemes = _split_list(args.cv, "--cv", CV_SCHEMES)
    rows, fold_rows, infant_rows = [], [], []
    data = {}
    for fs in feature_sets:
        for norm in norms:
            recs = _features(args, internal, sk, fs, norm)
            layout = feature_layout(sk, fs, norm)
            for ov in overlaps:
                snips = cut_cohort(recs, sk, 300, ov)
                data[(fs, norm, ov)] = snips
                if args.select:
                    continue
                for m in models:
                    est = _estimator(m, args, sk, layout)
                    for scheme in schemes:
                        res = _cross_validate_shown(snips, est, scheme, args, f"{m} {fs} {norm} o{ov} {scheme}")
                        rows.append(res.row() | {"n_snippets": len(snips), "n_normal": int((snips.label == 0).sum()),
                                                 "n_abnormal": int((snips.label == 1).sum()), "what": res.label})
                        fold_rows += [{"classifier": res.architecture, "feature_set": fs, "normalisation": norm,
                                       "overlap": ov, "scheme": scheme,
                                       **{k: v for k, v in f.items() if k not in ("test_infants", "shared_infants")},
                                       "test_infants": " ".join(f["test_infants"]),
                                       "infants_in_train_and_test": len(f["shared_infants"])} for f in res.folds]
                        infant_rows += [{"classifier": res.architecture, "feature_set": fs, "normalisation": norm,
                                         "overlap": ov, "scheme": scheme, **r} for r in res.infant_level["per_infant"]]
                        if scheme != "snippet":
                            png = out / f"infant_level_{res.architecture}_{fs}_{norm}_o{ov}_{scheme}.png"
                            print(f"    wrote {plot_infant_level(res, snips, png)}")
    if args.select:
        from gmdesk.learning.classifiers import resolve_architecture

        recipes = [Recipe(resolve_architecture(m), fs, norm, ov) for m in models for fs in feature_sets for norm in norms
                   for ov in overlaps]

        def make(r):
            return _estimator(r.classifier, args, sk, feature_layout(sk, r.feature_set, r.normalisation))

        bar = _Bar("nested selection", "fold")
        try:
            sel = nested_selection(data, recipes, make, seed=args.seed, threshold=args.threshold, progress=bar)
        finally:
            bar.close()
        for r in sel["per_fold"]:
            print(f"  outer fold {r['fold']}: chose {r['chosen']} (inner balanced accuracy {r['inner_balanced_accuracy']:.2f})")
        print(f"nested selection over {len(recipes)} recipes, infant-grouped outer CV:\n    {headline(sel['infant_level'])}")
        write_table(sel["per_fold"], out / "nested_selection.csv")
        rows.append({"scheme": "nested", "classifier": "selected per fold", "chosen": " ".join(sel["chosen"])}
                    | {f"infant_{k}": sel["infant_level"][k]["value"] for k in ("accuracy", "sensitivity", "specificity",
                                                                                "npv", "auc")})
    print(f"wrote {write_table(rows, out / 'cv_results.csv')}"
          + (f", {write_table(fold_rows, out / 'cv_folds.csv')}" if fold_rows else "")
          + (f" and {write_table(infant_rows, out / 'infant_level.csv')}" if infant_rows else ""))
    if (args.sweep or len(overlaps) > 1) and not args.select:
        print(f"wrote {plot_overlap_sweep(rows, out / 'overlap_sweep.png')}")
    if args.external:
        from gmdesk.pipeline.cohort import read_cohort

        ext = [e for e in read_cohort(args.cohort) if e.set == "external"]
        if not ext:
            raise GmdeskError(f"{args.cohort}: no infants with set=external")
        fs, norm = feature_sets[0], norms[0]
        train = data.get((fs, norm, overlaps[0])) or cut_cohort(_features(args, internal, sk, fs, norm), sk, 300, overlaps[0])
        test = cut_cohort(_features(args, ext, sk, fs, norm), sk, 300, overlaps[0])
        ext_rows = []
        for m in models:
            _, res = external_validation(train, test, _estimator(m, args, sk, feature_layout(sk, fs, norm)), args.threshold)
            print(f"external validation {m} ({fs}, {norm}, overlap {overlaps[0]}): {res['n_snippets']} snippets, "
                  f"snippet accuracy {100 * res['accuracy']:.1f} %, infants correct "
                  f"{sum(i['correct'] for i in res['infants'])}/{len(res['infants'])}")
            for i in res["infants"]:
                print(f"    {i['infant_id']:>6} ({i['label']:>8}): {i['basis']}  [{'correct' if i['correct'] else 'WRONG'}]")
                ext_rows.append({"classifier": m, "feature_set": fs, "normalisation": norm, "overlap": overlaps[0]} |
                                {k: v for k, v in i.items() if k not in ("basis", "interval")} | {"basis": i["basis"]})
        print(f"wrote {write_table(ext_rows, out / 'external_validation.csv')}")
    return 0


def cmd_assess(args: argparse.Namespace) -> int:
    from gmdesk.screening.assess import assess_recording

    sk = _skeleton(args)
    res = assess_recording(args.pose, args.model, sk, mapping=args.mapping, fps=args.fps, individual=args.individual,
                           infant_id=args.infant_id)
    v = res["verdict"]
    print(f"{Path(args.pose).name}: model {res['model_id']} ({res['classifier']}, {res['feature_set']})")
    print(f"  {'start':>6} {'time':>7} {'P(abn)':>7} {'class':>8} {'imputed':>7}")
    for sn in res["snippets"]:
        flag = f"  flagged: {'; '.join(sn['flags'])}" if sn.get("flags") else ""
        print(f"  {sn['start_frame']:>6} {sn['start_s']:>6.1f}s {sn['p_abnormal']:>7.3f} {sn['class']:>8} "
              f"{100 * sn['imputed_fraction']:>6.1f}%{flag}")
    if res["dropped"]:
        print(f"  {len(res['dropped'])} windows left out for missing data:")
        for d in res["dropped"][:10]:
            why = ", ".join(f"{k} {v} frames" for k, v in list(d.get("missing", {}).items())[:3])
            print(f"    frames {d['start']}-{d['start'] + res['window'] - 1}: missing {why}")
    print(f"VERDICT: {v['verdict'].upper()} — {v['basis']}")
    if res.get("synthetic_model"):
        print("  (model trained on SYNTHETIC data: not for clinical use)")
    if args.json:
        from gmdesk.io.atomic import atomic_path
        from gmdesk.io.jsonfile import json_safe

        with atomic_path(Path(args.json)) as tmp:
            tmp.write_text(json.dumps(json_safe(res), indent=2, allow_nan=False), encoding="utf-8")
        print(f"wrote {args.json}")
    if args.csv:
        from gmdesk.evaluation.protocol import write_table

        write_table(res["snippets"], args.csv)
        print(f"wrote {args.csv}")
    return 0


def cmd_analyse(args: argparse.Namespace) -> int:
    from gmdesk.evaluation.insight import abnormal_closer_to_normal, ica_components, snippet_labels
    from gmdesk.evaluation.protocol import write_table
    from gmdesk.pipeline.cohort import cut_cohort
    from gmdesk.plots.insight import plot_ica, plot_similarity
    from gmdesk.screening.similarity import cosine_similarity_matrix

    sk = _skeleton(args)
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    entries = _entries(args.cohort, args.subset)
    if not (args.ica or args.cosine):
        args.ica = args.cosine = True
    if args.ica:
        rows = []
        for fs in ("coords", "angles", "both"):
            snips = cut_cohort(_features(args, entries, sk, fs), sk, 300, args.overlap)
            rows += ica_components(snips, seed=args.seed)
            print(f"ICA {fs}: {len(snips)} snippets, 5 folds")
        print(f"wrote {write_table(rows, out / 'ica_components.csv')} and {plot_ica(rows, out / 'ica_first_component.png')}")
    if args.cosine:
        from sklearn.base import clone
        from sklearn.model_selection import StratifiedKFold

        from gmdesk.pipeline.features import feature_layout

        fs = args.features
        snips = cut_cohort(_features(args, entries, sk, fs), sk, 300, args.overlap)
        est = _estimator("cnn1d-2", args, sk, feature_layout(sk, fs))
        closer = []
        folds = StratifiedKFold(5, shuffle=True, random_state=42).split(snips.X, snips.label)
        for k, (tr, te) in enumerate(folds):
            model = clone(est).fit(snips.X[tr], snips.label[tr])
            test = snips.subset(te)
            sim = cosine_similarity_matrix(model.embed(test.X))
            names = snippet_labels(test)
            np.savetxt(out / f"cosine_fold{k + 1}.csv", sim, delimiter=",", header=",".join(names), comments="")
            plot_similarity(sim, names, out / f"cosine_fold{k + 1}.png", f"1D-CNN embeddings, fold {k + 1} test snippets")
            for c in abnormal_closer_to_normal(sim, test.label, names):
                closer.append({"fold": k + 1} | c)
            print(f"cosine fold {k + 1}: {len(te)} snippets; "
                  f"{sum(c['fold'] == k + 1 for c in closer)} abnormal snippets closer to normal ones")
        write_table(closer or [{"fold": "", "snippet": "", "mean_similarity_to_normal": "",
                                "mean_similarity_to_abnormal": ""}], out / "abnormal_closer_to_normal.csv")
        print(f"wrote {out}/cosine_fold*.csv/png and {out / 'abnormal_closer_to_normal.csv'}")
    return 0


def _looks_like_cohort(path: Path) -> bool:
    try:
        with open(path, encoding="utf-8-sig") as fh:
            head = fh.readline()
    except (OSError, UnicodeDecodeError):
        return False
    return "infant_id" in head and "pose_file" in head


# -- parser -------------------------------------------------------------------------------------

# -- argument types: numbers and file names are checked when the command line is read ---------------

def _number(kind: type, lo: float | None = None, hi: float | None = None, lo_open: bool = False, hi_open: bool = False,
            what: str = "") -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        import math

        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {'a whole number' if kind is int else 'a number'}") from None
        if isinstance(v, float) and not math.isfinite(v):
            raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
        if (lo is not None and (v < lo or (lo_open and v == lo))) or (hi is not None and (v > hi or (hi_open and v == hi))):
            lo_s = "" if lo is None else f"{'>' if lo_open else '>='} {lo:g}"
            hi_s = "" if hi is None else f"{'<' if hi_open else '<='} {hi:g}"
            bounds = " and ".join(x for x in (lo_s, hi_s) if x)
            raise argparse.ArgumentTypeError(f"{text} is out of range ({what or 'must be'} {bounds})")
        return v

    return parse


POSITIVE_INT = _number(int, 1)
COUNT = _number(int, 0)
FPS = _number(float, 0, 1000, lo_open=True, what="a frame rate:")
SHARE = _number(float, 0, 1, lo_open=True, hi_open=True, what="strictly between")
PROBABILITY = _number(float, 0, 1)


def _output(*suffixes: str) -> Callable[[str], Path]:
    """A file to write; its extension says its format, and must be one of ``suffixes``."""

    def parse(text: str) -> Path:
        p = Path(text)
        if p.suffix.lower() not in suffixes:
            raise argparse.ArgumentTypeError(
                f"{text!r}: the file name says the format; use {' or '.join(suffixes)} (got {p.suffix or 'no extension'!r})")
        return p

    return parse


class _Help(argparse.ArgumentDefaultsHelpFormatter):
    """Shows a default only when there is one worth showing (not None, not a switch's False) and the
    help text does not already give it."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default in (None, False, argparse.SUPPRESS) or "default" in text:
            return text
        return super()._get_help_string(action) or text


def _classifier(text: str) -> str:
    """A classifier name (or alias); refused at once when unknown."""
    from gmdesk.learning.architectures import resolve_architecture

    try:
        return resolve_architecture(text)
    except GmdeskError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _classifiers(text: str) -> str:
    return ",".join(_classifier(t) for t in text.split(",") if t)


EXIT_CODES_HELP = "exit codes: 0 success; 1 bad data or input (the message names the file and the problem); " \
                  "2 bad command line; 130 cancelled"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``gmdesk`` (imports nothing heavier than NumPy: ``gmdesk --help`` is fast)."""
    from gmdesk.constants import DEFAULT_OVERLAP, WINDOW
    from gmdesk.learning.architectures import DEFAULT_CLASSIFIER, DEFAULT_FEATURE_SET, DEFAULT_NORMALISATION
    from gmdesk.pipeline.features import FEATURE_SETS, NORMALISATIONS
    from gmdesk.pipeline.snippets import NAN_POLICIES

    fmt = _Help
    ap = argparse.ArgumentParser(prog="gmdesk", description="General Movements screening from infant pose.",
                                 epilog=EXIT_CODES_HELP, formatter_class=fmt)
    ap.add_argument("--version", action="version", version=f"gmdesk {__version__}")
    ap.add_argument("--progress-json", action="store_true", help="report progress as JSON lines on stderr")
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help_text, description=help_text, epilog=EXIT_CODES_HELP, formatter_class=fmt)

    overlap = _number(int, 0, WINDOW - 1, what="frames shared by consecutive windows:")

    p = command("synth", "generate a SYNTHETIC cohort (DLC .h5 per infant + cohort.csv, with ground truth)")
    p.add_argument("outdir", help="folder to write the cohort in")
    p.add_argument("--n-normal", type=COUNT, default=6, help="internal normal infants")
    p.add_argument("--n-abnormal", type=COUNT, default=4, help="internal abnormal infants")
    p.add_argument("--n-external-normal", type=COUNT, default=2, help="external normal infants")
    p.add_argument("--n-external-abnormal", type=COUNT, default=1, help="external abnormal infants")
    p.add_argument("--seed", type=int, default=0, help="random seed: same seed, same cohort")
    p.add_argument("--duration", type=_number(float, 1, 36000), nargs=2, metavar=("MIN_S", "MAX_S"),
                   help="length range in seconds (default 120 180)")
    p.add_argument("--normal-share", type=PROBABILITY, help="share of normal-like periods in abnormal infants (default 0.25)")
    p.add_argument("--no-artefacts", action="store_true", help="clean poses with detector noise only")
    p.add_argument("--model", choices=("3d", "2d"), default="3d",
                   help="3d: joints move in 3-D, a camera with its own distance, tilt and roll per infant; "
                        "2d: the earlier planar model")
    p.add_argument("--video", metavar="INFANT_ID", help="also render this infant's figure to INFANT_ID.mp4")
    p.add_argument("--video-seconds", type=_number(float, 0.1, 3600), default=20.0, help="length of that video")
    p.set_defaults(func=cmd_synth)

    p = command("clean", "clean a pose file (likelihood, left/right swaps, geometry, trajectory jumps, makima)")
    p.add_argument("pose", help="DLC .h5/.csv or gmdesk .npz track")
    p.add_argument("-o", "--output", type=_output(".npz", ".h5", ".csv"),
                   help="cleaned track: .npz keeps point statuses and provenance, .h5/.csv is DLC's layout "
                        "(default POSE.clean.npz)")
    p.add_argument("--dlc-out", type=_output(".h5", ".csv"), help="also write the cleaned track as DLC .h5/.csv")
    p.add_argument("--report", nargs="?", const="-", metavar="REPORT.json", type=_report_arg,
                   help="list the whole review queue; with a .json file, also write the report (counts, swaps, gaps, "
                        "review queue, snippet coverage, provenance)")
    p.add_argument("--show", type=COUNT, default=10, help="review items to list without --report")
    _add_pose_args(p)
    _add_cleaning_args(p)
    p.set_defaults(func=cmd_clean)

    p = command("features", "per-frame features of a recording as CSV")
    p.add_argument("pose", help="DLC .h5/.csv or gmdesk .npz track")
    p.add_argument("-o", "--output", required=True, type=_output(".csv"), help="feature table to write (.csv)")
    p.add_argument("--set", choices=FEATURE_SETS, default="both", help="feature set")
    p.add_argument("--normalise", choices=NORMALISATIONS, default="paper", help="normalisation of the coordinates")
    p.add_argument("--raw", action="store_true", help="do not clean first")
    _add_pose_args(p)
    _add_cleaning_args(p)
    p.set_defaults(func=cmd_features)

    p = command("snippets", "clean, compute features and cut 300-frame snippets")
    p.add_argument("input", help="cohort.csv, or one pose file")
    p.add_argument("-o", "--output", required=True, type=_output(".npz"), help="snippet file to write (.npz)")
    p.add_argument("--features", choices=FEATURE_SETS, default=DEFAULT_FEATURE_SET, help="feature set")
    p.add_argument("--window", type=_number(int, 2, 100_000), default=WINDOW, help="snippet length in frames")
    p.add_argument("--overlap", type=COUNT, default=DEFAULT_OVERLAP, help="frames shared by consecutive windows")
    p.add_argument("--subset", help="only infants of this set (internal / external)")
    p.add_argument("--infant-id", help="id for a single pose file (default: the file's name)")
    p.add_argument("--nan-policy", choices=NAN_POLICIES, default="drop",
                   help="windows with missing data: leave out (and list), refuse, or keep NaN")
    _add_pose_args(p)
    _add_cleaning_args(p)
    p.set_defaults(func=cmd_snippets)

    def training_args(q: argparse.ArgumentParser, threshold: bool = True) -> None:
        q.add_argument("--epochs", type=POSITIVE_INT, default=250, help="most epochs of a network")
        q.add_argument("--patience", type=COUNT, default=10, help="early-stopping patience in epochs")
        q.add_argument("--seed", type=int, default=42, help="seed of splits, initialisation and shuffling")
        if threshold:
            q.add_argument("--threshold", type=SHARE, default=0.6,
                           help="infant verdict: normal if more than this share of snippets is normal")
        q.add_argument("--no-flip", action="store_true", help="no right-left flip augmentation")
        q.add_argument("--augment", type=_number(int, 0, 20), default=0,
                       help="augmented copies of each training snippet (random scale, rotation, time warp, jitter) "
                            "beside the flip; 0: none")
        q.add_argument("--subset", default="internal", help="cohort set to use ('' for all)")

    p = command("train", "train a classifier on a cohort and write a model bundle")
    p.add_argument("cohort", help="cohort table (.csv)")
    p.add_argument("--classifier", "--model", dest="model", default=DEFAULT_CLASSIFIER, metavar="CLASSIFIER",
                   type=_classifier,
                   help="kinematics, kinematics-gb, svm-rbf, svm-poly, lstm-2, lstm-3, cnn1d-2, cnn1d-3, vit-2, vit-4 "
                        "(old name: --model; the default is the recipe with the best infant-level figures on unseen "
                        "infants, see the README)")
    p.add_argument("-o", "--output", required=True, type=Path, help="bundle folder to write")
    p.add_argument("--features", choices=FEATURE_SETS, default=DEFAULT_FEATURE_SET, help="feature set")
    p.add_argument("--overlap", type=overlap, default=DEFAULT_OVERLAP, help="frames shared by consecutive windows")
    p.add_argument("--normalise", choices=NORMALISATIONS, default=DEFAULT_NORMALISATION,
                   help="coordinates: paper (sternum translation), body (turned and scaled to the body: camera-invariant), "
                        "body-frame (turned every frame)")
    p.add_argument("--cv", default="infant",
                   help="cross-validate first (comma-separated snippet, infant, loio; 'none' to skip): the infant-level "
                        "figures go into the model card, and the out-of-fold scores calibrate the model")
    p.add_argument("--no-calibration", action="store_true", help="do not calibrate snippet probabilities")
    p.add_argument("--min-snippets", type=_number(int, 1, 10_000), default=8,
                   help="fewest valid snippets for a normal/abnormal verdict (fewer: indeterminate)")
    p.add_argument("--model-id", help="the bundle's name (default: classifier-features-normalisation-overlap-seed)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing bundle folder")
    training_args(p)
    _add_pose_args(p)
    p.set_defaults(func=cmd_train)

    p = command("evaluate", "cross-validation (snippet and infant-grouped), overlap sweep, external test")
    p.add_argument("cohort", help="cohort table (.csv)")
    p.add_argument("-o", "--output", required=True, type=Path, help="folder for tables and plots")
    p.add_argument("--classifiers", "--models", dest="models", default=DEFAULT_CLASSIFIER, metavar="CLASSIFIERS",
                   type=_classifiers,
                   help="comma-separated classifiers (old name: --models)")
    p.add_argument("--feature-sets", default=DEFAULT_FEATURE_SET, help="comma-separated: coords,angles,both")
    p.add_argument("--overlaps", default=str(DEFAULT_OVERLAP), help="comma-separated overlaps")
    p.add_argument("--sweep", action="store_true", help="the paper's overlaps 299..100 (Fig. 2)")
    p.add_argument("--normalise", default=DEFAULT_NORMALISATION,
                   help="comma-separated normalisations: paper, body, body-frame")
    p.add_argument("--cv", default="snippet,infant",
                   help="snippet (the paper's: snippets of one infant in train and test), infant (grouped 5-fold) and/or "
                        "loio (leave one infant out); infant-level figures with 95 %% intervals are the headline")
    p.add_argument("--select", action="store_true",
                   help="nested model selection: choose classifier x feature set x normalisation x overlap by an inner "
                        "infant-grouped CV inside each outer training fold, and report the outer figures")
    p.add_argument("--external", action="store_true", help="train on internal, test the set=external infants")
    training_args(p)
    _add_pose_args(p)
    p.set_defaults(func=cmd_evaluate)

    p = command("assess", "score one recording with a model bundle: snippet scores + infant verdict")
    p.add_argument("pose", help="DLC .h5/.csv or gmdesk .npz track")
    p.add_argument("--bundle", "--model", dest="model", required=True, metavar="BUNDLE",
                   help="model bundle folder (old name: --model)")
    p.add_argument("--json", type=_output(".json"), help="write the full result as JSON")
    p.add_argument("--csv", type=_output(".csv"), help="write per-snippet scores as CSV")
    p.add_argument("--infant-id", help="the infant's id (default: the pose file's name)")
    _add_pose_args(p)
    p.set_defaults(func=cmd_assess)

    p = command("analyse", "ICA of the feature sets and cosine similarity of 1D-CNN embeddings")
    p.add_argument("cohort", help="cohort table (.csv)")
    p.add_argument("-o", "--output", required=True, type=Path, help="folder for tables and plots")
    p.add_argument("--ica", action="store_true", help="only the ICA (default: both analyses)")
    p.add_argument("--cosine", action="store_true", help="only the cosine similarity (default: both analyses)")
    p.add_argument("--features", choices=FEATURE_SETS, default="both", help="features of the 1D-CNN")
    p.add_argument("--overlap", type=overlap, default=DEFAULT_OVERLAP, help="frames shared by consecutive windows")
    training_args(p, threshold=False)
    _add_pose_args(p)
    p.set_defaults(func=cmd_analyse)

    p = command("case", "assessment case files: new, info, export, relink, assess, patient, review, signoff")
    cs = p.add_subparsers(dest="case_command", required=True, metavar="ACTION")
    q = cs.add_parser("new", help="create a case from a DLC pose file (and its video)", formatter_class=fmt)
    q.add_argument("case", type=_output(".gmcase"), help="new case file (.gmcase)")
    q.add_argument("pose", help="DLC .h5/.csv or gmdesk .npz track")
    q.add_argument("--video", help="the recording's video (must decode and have as many frames as the pose)")
    q.add_argument("--accept-frame-difference", action="store_true",
                   help="link a video whose frame count differs from the pose's (recorded in the case)")
    q.add_argument("--infant-id", help="the infant's id (default: the case file's name)")
    q.add_argument("--no-clean", action="store_true", help="store the pose without cleaning it")
    _add_pose_args(q)
    _add_cleaning_args(q)
    q = cs.add_parser("info", help="describe a case (read-only)", formatter_class=fmt)
    q.add_argument("case", help="case file (.gmcase)")
    q = cs.add_parser("export", help="export the current track (DLC .h5/.csv) and the edit log (CSV)", formatter_class=fmt)
    q.add_argument("case", help="case file (.gmcase)")
    q.add_argument("--track", type=_output(".h5", ".csv"), help="current track as DLC .h5 or .csv")
    q.add_argument("--edits", type=_output(".csv"), help="edit log, one row per changed point (.csv)")
    q = cs.add_parser("relink", help="point a case at its moved video", formatter_class=fmt)
    q.add_argument("case", help="case file (.gmcase)")
    q.add_argument("video", help="the video's new place")
    q.add_argument("--accept-different", action="store_true", help="accept a re-encoded copy (recorded in the case)")
    q.add_argument("--accept-frame-difference", action="store_true",
                   help="link a video whose frame count differs from the pose's (recorded in the case)")
    q = cs.add_parser("assess", help="assess the case's current track (edits included) and store the result",
                      formatter_class=fmt)
    q.add_argument("case", help="case file (.gmcase)")
    q.add_argument("--bundle", "--model", dest="model", required=True, metavar="BUNDLE", help="model bundle folder")
    q.add_argument("--skeleton", help="skeleton TOML file or shipped name (default infant24)")
    q = cs.add_parser("patient", help="record patient and recording fields (each change is kept in the case log)",
                      formatter_class=fmt)
    q.add_argument("case", help="case file (.gmcase)")
    q.add_argument("--date-of-birth", help="YYYY-MM-DD")
    q.add_argument("--gestational-age", help="at birth, weeks (38.5) or weeks+days (38+3)")
    q.add_argument("--recording-date", help="YYYY-MM-DD")
    q.add_argument("--reviewer", help="the clinician reviewing the assessment")
    q.add_argument("--site", help="the site or clinic")
    q = cs.add_parser("review", help="mark one snippet of a result: agree, disagree or unsure", formatter_class=fmt)
    q.add_argument("case", help="case file (.gmcase)")
    q.add_argument("--snippet", type=POSITIVE_INT, required=True, help="snippet number (1 = the first)")
    q.add_argument("--mark", choices=("agree", "disagree", "unsure"), required=True, help="the reviewer's judgement")
    q.add_argument("--note", help="a note for the record")
    q.add_argument("--result", type=POSITIVE_INT, help="result id (default the latest)")
    q = cs.add_parser("signoff", help="sign a result off", formatter_class=fmt)
    q.add_argument("case", help="case file (.gmcase)")
    q.add_argument("--reviewer", required=True, help="the reviewer's name")
    q.add_argument("--comment", help="free-text comment for the record")
    q.add_argument("--result", type=POSITIVE_INT, help="result id (default the latest)")
    p.set_defaults(func=cmd_case)

    p = command("report", "the assessment report for the clinical record (PDF, A4) from a case file")
    p.add_argument("case", help="case file (.gmcase) with a stored assessment")
    p.add_argument("-o", "--output", type=_output(".pdf"), help="report to write (default CASE.report.pdf)")
    p.add_argument("--bundle", help="the model bundle (default: what the result stored about its model)")
    p.add_argument("--result", type=POSITIVE_INT, help="result id (default the latest)")
    p.set_defaults(func=cmd_report)

    p = command("pose", "estimate pose in a video with a DeepLabCut (PyTorch) model")
    p.add_argument("video", help="the recording (.mp4, .mov, .avi ...)")
    p.add_argument("--dlc-model", "--model", dest="model", required=True, metavar="DLC_MODEL",
                   help="DLC project (config.yaml or folder), training folder, or exported .pt (old name: --model)")
    p.add_argument("-o", "--output", type=_output(".h5", ".csv"), help="DLC .h5/.csv to write (default VIDEO.gmdesk_pose.h5)")
    p.add_argument("--device", default="auto", help="auto (CUDA if available), cpu, cuda, cuda:1 ...")
    p.add_argument("--batch", type=_number(int, 1, 4096), default=8, help="frames per forward pass")
    p.add_argument("--max-size", type=_number(int, 32, 16384), help="downscale so the longest side is at most this many pixels")
    p.add_argument("--shuffle", type=POSITIVE_INT, default=1, help="project shuffle")
    p.add_argument("--skeleton", help="skeleton TOML file or shipped name (default infant24)")
    p.add_argument("--mapping", help="TOML mapping the model's body-part names to skeleton landmarks")
    p.set_defaults(func=cmd_pose)

    p = command("doctor", "check this installation: libraries, shipped resources and models (hashes), GPU")
    p.set_defaults(func=cmd_doctor)

    p = command("demo", "run the pipeline on the bundled SYNTHETIC demo recording")
    p.add_argument("--out", default="out/demo", type=Path, help="output folder")
    p.add_argument("--skeleton", help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_demo)

    p = command("skeleton", "validate and describe a skeleton file")
    p.add_argument("skeleton", nargs="?", help="skeleton TOML file or shipped name (default infant24)")
    p.set_defaults(func=cmd_skeleton)
    return ap


def _demo_model() -> Path:
    """The shipped demo model bundle."""
    from gmdesk.io.resources import bundle_path

    return bundle_path()


def _report_arg(text: str) -> str:
    if text == "-" or Path(text).suffix.lower() == ".json":
        return text
    raise argparse.ArgumentTypeError(f"{text!r}: the report is JSON; give a .json file name")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


#: Exit codes (also in ``gmdesk --help``): success, bad data or input, bad command line, cancelled.
EXIT_OK, EXIT_DATA, EXIT_USAGE, EXIT_CANCELLED = 0, 1, 2, 130


def _internal_error(command: str, exc: BaseException) -> int:
    """An error gmdesk did not expect: one readable line, the traceback in a log file."""
    import datetime as dt
    import os
    import tempfile
    import traceback

    text = "".join(traceback.format_exception(exc))
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    log = None
    for folder in (Path.home() / ".gmdesk" / "logs", Path(tempfile.gettempdir())):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            log = folder / f"gmdesk-{command}-{stamp}-{os.getpid()}.log"
            log.write_text(text, encoding="utf-8")
            break
        except OSError:
            log = None
    where = f"; details in {log}" if log else ""
    print(f"gmdesk {command}: internal error: {type(exc).__name__}: {exc}{where}", file=sys.stderr)
    return EXIT_DATA


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``gmdesk``: returns the exit code (0 ok, 1 data or input error, 2 usage error,
    130 cancelled)."""
    import os

    from gmdesk.errors import CancelledError

    global _JSON_PROGRESS
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2), already printed
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    _JSON_PROGRESS = args.progress_json
    func: Callable[[argparse.Namespace], int] = args.func
    if argv is None:  # a real command line: SIGTERM (the app's Cancel) unwinds like Ctrl+C, so
        signal.signal(signal.SIGTERM, _interrupt)  # atomic writes remove their temporary files
    try:
        return func(args)
    except (KeyboardInterrupt, CancelledError):
        print(f"gmdesk {args.command}: cancelled; nothing half-written was left", file=sys.stderr)
        return EXIT_CANCELLED
    except GmdeskError as exc:
        print(f"gmdesk {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_DATA
    except (OSError, ValueError, MemoryError) as exc:
        if os.environ.get("GMDESK_DEBUG") == "1":
            raise
        if isinstance(exc, OSError) and exc.filename:
            msg = f"{exc.filename}: {exc.strerror or exc}"
        elif isinstance(exc, MemoryError):
            msg = "not enough memory for this recording"
        else:
            msg = str(exc)
        print(f"gmdesk {args.command}: error: {msg}", file=sys.stderr)
        return EXIT_DATA
    except Exception as exc:  # noqa: BLE001 - the last line of defence: never a traceback on the terminal
        if os.environ.get("GMDESK_DEBUG") == "1":
            raise
        return _internal_error(args.command, exc)


if __name__ == "__main__":
    raise SystemExit(main())
