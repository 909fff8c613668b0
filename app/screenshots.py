"""Save screenshots of each view (offscreen): ``python -m app.screenshots OUT/ [--size 1366x768 ...]``.

Opens the bundled synthetic demo (pose + 1080p H.264 video) at each window size, goes to the first
review item, runs the assessment with the demo model, makes an edit, and grabs the frame view with
the review list, the trajectories, the assessment (with two snippet reviews and a hover) and
similarity tabs, the out-of-date assessment after the edit, the patient form and the About box.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path


def shoot(out_dir: Path, size: tuple[int, int]) -> list[Path]:
    """Screenshots of the demo at window size ``size`` into ``out_dir`` (names start with the size)."""
    from PySide6 import QtCore, QtWidgets

    from app.main import DEMO_MODEL, demo_case
    from app.window import MainWindow

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    tmp = Path(tempfile.mkdtemp(prefix="gmdesk-shots-"))
    pose, video = demo_case(tmp)
    win = MainWindow(settings_file=tmp / "settings.ini")
    win.resize(*size)
    win.show()
    win.set_model(DEMO_MODEL)
    assert win.open_path(pose, video), win.last_error
    tag = f"{size[0]}x{size[1]}"
    shots: list[Path] = []

    def grab(name: str, widget=None) -> None:
        app.processEvents()
        p = out_dir / f"{tag}_{name}.png"
        (widget or win).grab().save(str(p))
        shots.append(p)

    win.jump_review(+1)
    win.jump_review(+1)
    s = win.session
    f, j = win.frame, win.selected
    if s.video is not None:
        s.video.set_cursor(f)
        s.video.wait_idle(10)
        win.seek(f, force=True)
    import numpy as np

    if np.isfinite(s.track.xy[f, j]).all():  # hover label on the selected point
        pos = win.view.mapFromScene(win.view.vb.mapViewToScene(QtCore.QPointF(*map(float, s.track.xy[f, j]))))
        win.view._moved(win.view.mapToScene(pos))
    grab("1_frame_view_review")
    win.run_assessment(block=True)
    panel = win.assessment
    win.tabs.setCurrentIndex(1)
    app.processEvents()
    tl = win.timeline
    for i in (2, 5):  # review two snippets, then hover over one of them
        if i < len(tl.snippets):
            panel.select_snippet(i)
            panel.note_edit.setText("arms only, legs still" if i == 2 else "")
            panel.review_snippet("disagree" if i == 2 else "agree")
    if len(tl.snippets) > 2:
        s2 = tl.snippets[2]
        pt = tl.getPlotItem().vb.mapViewToScene(QtCore.QPointF(s2["start_s"] + 5, 0.5))
        tl._moved(pt)
    grab("2_assessment")
    win.tabs.setCurrentIndex(2)
    grab("3_similarity")
    win.tabs.setCurrentIndex(0)
    j = s.track.landmarks.index("left_elbow")
    win.select_landmark(j)
    x, y = s.track.xy[win.frame, j]
    win.drag_landmark(j, float(np.nan_to_num(x, nan=900.0)) + 60, float(np.nan_to_num(y, nan=500.0)) - 40)
    grab("4_after_edit_trajectories")
    win.tabs.setCurrentIndex(1)
    grab("5_assessment_out_of_date")
    from app.record_dialogs import AboutDialog, PatientDialog

    dlg = PatientDialog(s.case, win)
    for field, value in (("date_of_birth", "2026-01-05"), ("gestational_age", "36+4"), ("recording_date", "2026-03-02")):
        dlg.edits[field].setText(value)
    dlg.show()
    grab("6_patient_form", dlg)
    dlg.save()
    panel.export_report(out_dir / f"{tag}_report.pdf")  # the report of the stored result, with the reviews
    about = AboutDialog(panel.model_summary(), win)
    about.show()
    grab("7_about", about)
    about.reject()
    win.close()
    win.wait_closed(60)
    return shots


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    ap = argparse.ArgumentParser(prog="python -m app.screenshots")
    ap.add_argument("out", nargs="?", default="out/screenshots")
    ap.add_argument("--size", action="append", help="window size WxH (repeatable); default 1366x768 and 1920x1080")
    args = ap.parse_args(argv)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    sizes = [tuple(int(v) for v in s.lower().split("x")) for s in (args.size or ["1366x768", "1920x1080"])]
    for size in sizes:
        for p in shoot(out_dir, size):
            print(p)


if __name__ == "__main__":
    main()
