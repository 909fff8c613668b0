"""Entry point of ``gmdesk-app``: ``gmdesk-app [CASE_OR_POSE] [--video V] [--model BUNDLE] [--demo] [--verbose]``."""

from __future__ import annotations

import argparse
import logging
import logging.handlers
import sys
from pathlib import Path

from gmdesk import __version__
from gmdesk.io.resources import bundle_path, demo_path

DEMO_POSE = demo_path("demo_infant.h5")
DEMO_VIDEO = demo_path("demo_infant.mp4")
DEMO_MODEL = bundle_path()
LOG_FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"
LOG_MAX_BYTES = 1024 * 1024  # the log file is rotated at 1 MB ...
LOG_BACKUPS = 3  # ... keeping the 3 before it (app.log.1 to app.log.3)

log = logging.getLogger("gmdesk.app")
_log_handlers: list[logging.Handler] = []  # the handlers configure_logging added (replaced when it is called again)


def configure_logging(verbose: bool = False, folder: Path | None = None) -> Path | None:
    """The application's logging (the gmdesk library only logs to its module loggers and adds no handlers):
    INFO and above to ``folder/app.log`` (default ``~/.gmdesk/logs``, created; rotated at 1 MB, 3 old files
    kept) and WARNING and above to stderr; ``verbose``: DEBUG and above to both. Returns the log file, or
    None where it cannot be written (then a warning says why and only stderr gets the messages)."""
    root = logging.getLogger()
    for handler in _log_handlers:
        root.removeHandler(handler)
        handler.close()
    _log_handlers.clear()
    formatter = logging.Formatter(LOG_FORMAT)
    stderr = logging.StreamHandler()
    stderr.setLevel(logging.DEBUG if verbose else logging.WARNING)
    _log_handlers.append(stderr)
    path: Path | None = (Path.home() / ".gmdesk" / "logs" if folder is None else Path(folder)) / "app.log"
    problem = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        to_file = logging.handlers.RotatingFileHandler(path, maxBytes=LOG_MAX_BYTES, backupCount=LOG_BACKUPS,
                                                       encoding="utf-8")
    except OSError as exc:
        path, problem = None, exc
    else:
        to_file.setLevel(logging.DEBUG if verbose else logging.INFO)
        _log_handlers.append(to_file)
    for handler in _log_handlers:
        handler.setFormatter(formatter)
        root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    if problem is not None:
        log.warning("no log file (%s): messages go to stderr only", problem)
    return path


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


def smoke_test(folder: Path) -> int:
    """Open the demo (pose + video) from a fresh copy in ``folder``, run the demo model's
    assessment as a user would, print the verdict and save ``folder/smoke.png``. Exit code 0
    only if everything worked. Runs offscreen when there is no display."""
    import os
    import time

    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    t0 = time.perf_counter()
    from PySide6 import QtWidgets

    from app.window import MainWindow

    qapp = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    win = MainWindow()
    win.resize(1500, 950)
    win.show()
    qapp.processEvents()
    shown = time.perf_counter() - t0
    win.set_model(DEMO_MODEL)
    if not win.open_path(*demo_case(folder)):
        print(f"smoke test FAILED: {getattr(win, 'last_error', 'demo did not open')}")
        return 1
    s = win.session
    video = f"video {s.video.info.width}x{s.video.info.height} {s.video.info.codec}" if s.video else "NO video"
    print(f"window shown in {shown:.1f} s; opened {s.case.path.name}: {s.n_frames} frames, {video}")
    win.run_assessment(block=True)
    qapp.processEvents()
    if win.result is None:
        print(f"smoke test FAILED: {getattr(win, 'last_error', 'no assessment result')}")
        return 1
    v = win.result.verdict
    win.play_snippet(0)
    win.toggle_play()
    win.tabs.setCurrentIndex(1)
    qapp.processEvents()
    shot = folder / "smoke.png"
    win.grab().save(str(shot))
    print(f"verdict: {win.result.headline}: {v.basis} (model {win.result.model_id})")
    win.close()  # a background job (a seek proxy) is cancelled first; the window closes once it stopped
    if not win.wait_closed(30):
        print("smoke test FAILED: the window did not close within 30 s")
        return 1
    print(f"screenshot: {shot}; smoke test passed in {time.perf_counter() - t0:.1f} s")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Start the desktop application."""
    ap = argparse.ArgumentParser(prog="gmdesk-app", description="gmdesk desktop application")
    ap.add_argument("path", nargs="?", help="case (.gmcase) or pose file (.h5/.csv)")
    ap.add_argument("--video", help="the recording's video")
    ap.add_argument("--model", help="model bundle folder")
    ap.add_argument("--demo", action="store_true", help="open the bundled SYNTHETIC demo case and model")
    ap.add_argument("--smoke-test", metavar="DIR",
                    help="installation check: open the demo in DIR, assess it, print the verdict, save a screenshot, quit")
    ap.add_argument("--verbose", action="store_true", help="log DEBUG messages too (log file and stderr)")
    args = ap.parse_args(argv)
    log_file = configure_logging(args.verbose)
    log.info("gmdesk-app %s started (log file %s)", __version__, log_file)
    if args.smoke_test:
        return smoke_test(Path(args.smoke_test))
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
