"""Entry point of ``gmdesk-app``: ``gmdesk-app [CASE_OR_POSE] [--video V] [--model BUNDLE] [--demo]``."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEMO_POSE = REPO / "resources" / "demo" / "demo_infant.h5"
DEMO_VIDEO = REPO / "resources" / "demo" / "demo_infant.mp4"
DEMO_MODEL = REPO / "models" / "demo-cnn1d-synthetic"


def demo_case(folder: Path | None = None) -> tuple[Path, Path | None]:
    """Copies of the demo pose and video in a writable folder (the case is created beside them).

    Existing copies are kept: the demo case may hold the user's practice edits.
    """
    import shutil

    folder = folder or Path.home() / ".gmdesk" / "demo"
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for src in (DEMO_POSE, DEMO_VIDEO):
        dst = folder / src.name
        if not dst.exists() and src.is_file():
            shutil.copy2(src, dst)
        out.append(dst if dst.exists() else None)
    return out[0], out[1]


def main(argv: list[str] | None = None) -> int:
    """Start the desktop application."""
    ap = argparse.ArgumentParser(prog="gmdesk-app", description="gmdesk desktop application")
    ap.add_argument("path", nargs="?", help="case (.gmcase) or pose file (.h5/.csv)")
    ap.add_argument("--video", help="the recording's video")
    ap.add_argument("--model", help="model bundle folder")
    ap.add_argument("--demo", action="store_true", help="open the bundled SYNTHETIC demo case and model")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    from PySide6 import QtWidgets

    from app.window import MainWindow

    qapp = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    win = MainWindow()
    win.show()
    if args.demo:
        win.set_model(DEMO_MODEL)
        if win.open_path(*demo_case()):
            win.run_assessment()
    elif args.path:
        win.open_path(args.path, args.video)
        if args.model:
            win.set_model(args.model)
    elif args.model:
        win.set_model(args.model)
    return qapp.exec()


if __name__ == "__main__":
    raise SystemExit(main())
