"""The ``gmdesk`` command line: every step of the pipeline without the GUI.

This module builds the parser from the command modules (:mod:`gmdesk.cli.commands`), reads the global
options, runs the command and turns what goes wrong into a message and an exit code.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import signal
import sys
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gmdesk import __version__
from gmdesk.cli.args import EXIT_CODES_HELP, HelpFormatter, ProgressBar
from gmdesk.cli.commands import (
    analyse,
    assess,
    batch,
    case,
    clean,
    demo,
    doctor,
    evaluate,
    features,
    pose,
    pose_export,
    report,
    skeleton,
    snippets,
    synth,
    train,
)
from gmdesk.errors import CancelledError, GmdeskError, UsageError
from gmdesk.text import escape_controls

logger = logging.getLogger(__name__)

#: The commands in the order ``gmdesk --help`` lists them.
COMMANDS = (synth, clean, features, snippets, train, evaluate, assess, analyse, case, report, batch, pose, pose_export,
            doctor, demo, skeleton)

#: Exit codes (also in ``gmdesk --help``): success, bad data or input, bad command line, cancelled.
EXIT_OK, EXIT_DATA, EXIT_USAGE, EXIT_CANCELLED = 0, 1, 2, 130

#: How ``--verbose`` (and warnings without it) are logged on stderr.
LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``gmdesk`` (imports nothing heavier than NumPy: ``gmdesk --help`` is fast)."""
    ap = argparse.ArgumentParser(prog="gmdesk", description="General Movements screening from infant pose.",
                                 epilog=EXIT_CODES_HELP, formatter_class=HelpFormatter)
    ap.add_argument("--version", action="version", version=f"gmdesk {__version__}")
    ap.add_argument("--progress-json", action="store_true", help="report progress as JSON lines on stderr")
    ap.add_argument("-v", "--verbose", action="store_true", help="log gmdesk's debug messages on stderr (without it: warnings)")
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(sub).set_defaults(func=command.run)
    return ap


class _EscapingFormatter(logging.Formatter):
    """Log lines with control and bidirectional characters from files shown as escapes."""

    def format(self, record: logging.LogRecord) -> str:
        return escape_controls(super().format(record))


class _EscapingStream:
    """stdout for a command: text from files (a reviewer's name, an infant id) cannot move the cursor, recolour or
    retitle the terminal, or reorder what is read (bidirectional overrides); they are written as escapes."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        return self._stream.write(escape_controls(text))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _log_to_stderr(verbose: bool) -> Callable[[], None]:
    """Log warnings and errors to stderr, and with ``verbose`` gmdesk's own debug messages too (other libraries
    stay at warnings); returns what undoes it (the library never adds handlers: the command line, or a program
    embedding gmdesk, chooses where logs go)."""
    root, ours = logging.getLogger(), logging.getLogger("gmdesk")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_EscapingFormatter(LOG_FORMAT))
    levels = root.level, ours.level
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    ours.setLevel(logging.DEBUG if verbose else logging.NOTSET)

    def undo() -> None:
        root.removeHandler(handler)
        root.setLevel(levels[0])
        ours.setLevel(levels[1])

    return undo


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _internal_error(command: str, exc: BaseException) -> int:
    """An error gmdesk did not expect: one readable line, the traceback in a log file."""
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
    print(f"gmdesk {command}: internal error: {type(exc).__name__}: {escape_controls(exc)}{where}", file=sys.stderr)
    return EXIT_DATA


def _data_error(exc: OSError | ValueError | MemoryError) -> str:
    """The message of an error in the data or its files, without a traceback."""
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.filename}: {exc.strerror or exc}"
    if isinstance(exc, MemoryError):
        return "not enough memory for this recording"
    return str(exc)


def _run(args: argparse.Namespace) -> int:
    """Run the command; what goes wrong becomes a message on stderr and an exit code."""
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except (KeyboardInterrupt, CancelledError):
        print(f"gmdesk {args.command}: cancelled; nothing half-written was left", file=sys.stderr)
        return EXIT_CANCELLED
    except UsageError as exc:
        print(f"gmdesk {args.command}: error: {escape_controls(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except GmdeskError as exc:
        print(f"gmdesk {args.command}: error: {escape_controls(exc)}", file=sys.stderr)
        return EXIT_DATA
    except (OSError, ValueError, MemoryError) as exc:
        if os.environ.get("GMDESK_DEBUG") == "1":
            raise
        print(f"gmdesk {args.command}: error: {escape_controls(_data_error(exc))}", file=sys.stderr)
        return EXIT_DATA
    except Exception as exc:  # noqa: BLE001 - the last line of defence: never a traceback on the terminal
        if os.environ.get("GMDESK_DEBUG") == "1":
            raise
        return _internal_error(args.command, exc)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``gmdesk``: returns the exit code (0 ok, 1 data or input error, 2 usage error,
    130 cancelled)."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2), already printed
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    ProgressBar.json_lines = args.progress_json
    if argv is None:  # a real command line: SIGTERM (the app's Cancel) unwinds like Ctrl+C, so
        signal.signal(signal.SIGTERM, _interrupt)  # atomic writes remove their temporary files
    undo_logging = _log_to_stderr(args.verbose)
    logger.debug("gmdesk %s, Python %s: %s", __version__, sys.version.split()[0], args)
    stdout, sys.stdout = sys.stdout, _EscapingStream(sys.stdout)
    try:
        return _run(args)
    finally:
        sys.stdout = stdout
        undo_logging()


if __name__ == "__main__":
    raise SystemExit(main())
