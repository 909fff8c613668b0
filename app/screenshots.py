"""Save a screenshot of each view to a folder (offscreen): ``python -m app.screenshots OUT/``.

Opens the bundled synthetic demo (pose + 1080p H.264 video), runs the assessment with the demo
model, makes an edit, and grabs the frame view, trajectories, assessment and similarity tabs.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path


def main(out: str) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6 import QtWidgets

    from app.main import DEMO_MODEL, demo_case
    from app.window import MainWindow

    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    pose, video = demo_case(Path(tempfile.mkdtemp(prefix="gmdesk-shots-")))
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    win = MainWindow()
    win.resize(1500, 950)
    win.show()
    win.set_model(DEMO_MODEL)
    assert win.open_path(pose, video)
    win.seek(1234)
    app.processEvents()
    win.grab().save(str(out_dir / "1_frame_view.png"))
    win.run_assessment(block=True)
    app.processEvents()
    win.tabs.setCurrentIndex(1)
    app.processEvents()
    win.grab().save(str(out_dir / "2_assessment.png"))
    win.tabs.setCurrentIndex(2)
    app.processEvents()
    win.grab().save(str(out_dir / "3_similarity.png"))
    win.tabs.setCurrentIndex(3)
    app.processEvents()
    win.grab().save(str(out_dir / "3b_ica.png"))
    win.tabs.setCurrentIndex(0)
    j = win.session.track.landmarks.index("left_elbow")
    win.select_landmark(j)
    x, y = win.session.track.xy[win.frame, j]
    win.drag_landmark(j, float(x) + 60, float(y) - 40)
    app.processEvents()
    win.grab().save(str(out_dir / "4_after_edit_trajectories.png"))
    win.close()
    print(f"screenshots in {out_dir}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "out/screenshots")
