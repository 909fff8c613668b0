"""Peak memory of gmdesk refusing hostile files (issue #23): each file is refused in a child process and its
peak resident memory (ru_maxrss) is printed beside the file's size and the baseline (a missing file: the
interpreter and gmdesk's imports). Goal: peak - baseline <= 10 x the file's size.

    python bench/bad_input_memory.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def peak_kb(argv: list[str]) -> tuple[int, int, str]:
    """Run ``gmdesk argv`` in a child; its exit code, peak RSS (kB) and last stderr line."""
    code = ("import resource, sys; from gmdesk.cli.main import main; rc = main(sys.argv[1:]); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr); sys.exit(rc)")
    got = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=300, cwd=ROOT)
    lines = got.stderr.strip().splitlines()
    return got.returncode, int(lines[-1]), (lines[-2] if len(lines) > 1 else "")[:110]


def main() -> None:
    from tests.integration import test_bad_inputs as corpus

    cases = {
        "pickle memo bomb in HDF5 metadata": corpus.h5_memo_bomb,
        "HDF5 dataset declaring 64 GB": corpus.h5_huge_dataset,
        "HDF5 external link to a FIFO": corpus.h5_external_link,
        "track .npz declaring 5 GiB": corpus.track_bomb,
    }
    with tempfile.TemporaryDirectory() as d:
        bases = {}
        print(f"{'file':<36} {'size':>10} {'peak MB':>8} {'over base':>10} {'x size':>7}  exit  message")
        for name, make in cases.items():
            sub = Path(d) / name.replace(" ", "_")
            sub.mkdir()
            src = make(sub)
            cmd = ["features", str(src), "-o", str(sub / "f.csv")] if src.suffix == ".npz" else ["clean", str(src)]
            if cmd[0] not in bases:  # the same command refusing a missing file: interpreter and imports
                bases[cmd[0]] = peak_kb([cmd[0], str(Path(d) / f"missing{src.suffix}"), *cmd[2:]])[1]
                print(f"baseline of {cmd[0]} (a missing file): {bases[cmd[0]] / 1024:.0f} MB peak")
            base = bases[cmd[0]]
            rc, peak, msg = peak_kb(cmd)
            size = src.stat().st_size
            over = max(0, peak - base) * 1024
            print(f"{name:<36} {size:>10} {peak / 1024:>8.0f} {over / 1e6:>9.1f}M {over / size:>7.1f}  {rc:>4}  {msg}")


if __name__ == "__main__":
    main()
