"""Files a user names: only regular files are opened, reads are capped before parsing, and a command's
output is never one of its inputs.

``open()`` on a FIFO blocks until a writer appears (forever, for a file left by someone else), and a
device such as ``/dev/zero`` reads forever; both arrive as "files" through a command line, a cohort
table or a bundle folder. Every reader of a file from elsewhere goes through :func:`check_regular` or
:func:`open_regular` (which opens without blocking and checks what it opened, so a file swapped for a
FIFO between the check and the open is still refused). Every command that writes checks its outputs
with :func:`refuse_overwriting_inputs` before it reads anything: ``clean p.h5 -o p.h5`` or
``report c.pdf -o c.pdf`` would replace the very data they were given.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from gmdesk.errors import GmdeskError, UsageError

logger = logging.getLogger(__name__)

#: Largest JSON/TOML/YAML/text file gmdesk parses from elsewhere unless the reader says otherwise.
MAX_TEXT_BYTES = 64 * 1024 * 1024


def _kind(mode: int) -> str:
    """What a non-regular file is, in words."""
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a plain file"


def check_regular(path: str | Path, what: str = "file", error: type[GmdeskError] = GmdeskError) -> os.stat_result:
    """The status of ``path`` if it is a regular file (symbolic links followed).

    Raises
    ------
    error
        It does not exist, or it is a folder, FIFO, device or socket ("is not a regular file").
    """
    p = Path(path)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise error(f"{what} {str(p)!r} does not exist") from None
    except OSError as exc:
        raise error(f"{what} {str(p)!r} cannot be read: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise error(f"{what} {str(p)!r} is not a regular file ({_kind(st.st_mode)})")
    return st


def open_regular(path: str | Path, what: str = "file", error: type[GmdeskError] = GmdeskError,
                 max_bytes: int | None = None) -> BinaryIO:
    """Open a regular file for reading (binary) without ever blocking on a FIFO.

    The file is opened non-blocking and checked with ``fstat`` on the open descriptor, so what is read is
    what was checked. With ``max_bytes``, a larger file is refused before anything is read.

    Raises
    ------
    error
        Missing, not a regular file, larger than ``max_bytes``, or unreadable.
    """
    p = Path(path)
    check_regular(p, what, error)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(p, flags)
    except OSError as exc:
        raise error(f"{what} {str(p)!r} cannot be read: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise error(f"{what} {str(p)!r} is not a regular file ({_kind(st.st_mode)})")
        if max_bytes is not None and st.st_size > max_bytes:
            raise error(f"{what} {str(p)!r} is {st.st_size} bytes; more than the {max_bytes} one may have")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_capped(path: str | Path, what: str = "file", max_bytes: int = MAX_TEXT_BYTES,
                error: type[GmdeskError] = GmdeskError) -> bytes:
    """The bytes of a regular file of at most ``max_bytes`` (checked before reading, and while reading: a file
    that grows meanwhile is refused too)."""
    with open_regular(path, what, error, max_bytes) as fh:
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise error(f"{what} {str(path)!r} is more than the {max_bytes} bytes one may have")
    return data


@contextlib.contextmanager
def regular_file(path: str | Path, what: str = "file", error: type[GmdeskError] = GmdeskError,
                 max_bytes: int | None = None) -> Iterator[BinaryIO]:
    """:func:`open_regular` as a context manager."""
    fh = open_regular(path, what, error, max_bytes)
    try:
        yield fh
    finally:
        fh.close()


def check_npz(path: str | Path, what: str = "file", max_bytes: int = 1 << 30, error: type[GmdeskError] = GmdeskError) -> None:
    """Refuse a ``.npz`` whose members would inflate to more than ``max_bytes`` in all, before any is loaded
    (a few MB of zeros deflate 1000:1). The sizes are those the archive declares; ``zipfile`` never
    decompresses more than a member declares, so the declaration bounds what a later load reads."""
    with open_regular(path, what, error) as fh:
        try:
            with zipfile.ZipFile(fh) as z:
                infos = z.infolist()
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            raise error(f"cannot read {what} {str(path)!r}: not a .npz archive ({exc})") from None
    if len(infos) > 10_000:
        raise error(f"{what} {str(path)!r} has {len(infos)} members; more than any gmdesk file")
    total = sum(i.file_size for i in infos)
    if total > max_bytes:
        raise error(f"{what} {str(path)!r} would inflate to {total} bytes, more than the {max_bytes} allowed; refusing it")


# -- outputs are not inputs -------------------------------------------------------------------

def same_file(a: str | Path, b: str | Path) -> bool:
    """Whether two paths name the same file: equal after resolving links and ``..``, or the same inode
    (a hard link, a bind mount, another spelling on a case-insensitive disk)."""
    pa, pb = Path(a), Path(b)
    with contextlib.suppress(OSError, ValueError):
        if pa.exists() and pb.exists() and os.path.samefile(pa, pb):
            return True
    try:
        return pa.resolve() == pb.resolve()
    except (OSError, RuntimeError):
        return os.path.abspath(pa) == os.path.abspath(pb)


def is_within(path: str | Path, folder: str | Path) -> bool:
    """Whether ``path`` is ``folder`` or lies inside it (links resolved)."""
    try:
        p, f = Path(path).resolve(), Path(folder).resolve()
    except (OSError, RuntimeError):
        return False
    return p == f or f in p.parents or same_file(p, f)


Named = Iterable[tuple[str, "str | Path | None"]]


def refuse_overwriting_inputs(outputs: Named, inputs: Named, folders: Named = ()) -> None:
    """Refuse a command whose output would replace one of its inputs (or another of its outputs).

    Parameters
    ----------
    outputs : iterable of (name, path)
        What the command writes, each with the option that names it ("-o"); None entries are skipped.
    inputs : iterable of (name, path)
        What the command reads (files or folders); None entries are skipped.
    folders : iterable of (name, path)
        Output folders the command writes into or replaces: refused when an input is the folder or lies inside it.

    Raises
    ------
    UsageError
        Naming both the output and the input (the CLI's exit code 2); nothing has been written.
    """
    outs = [(n, Path(p)) for n, p in outputs if p not in (None, "", "-")]
    ins = [(n, Path(p)) for n, p in inputs if p not in (None, "", "-")]
    dirs = [(n, Path(p)) for n, p in folders if p not in (None, "", "-")]
    for on, op in outs:
        for iname, ip in ins:
            if same_file(op, ip) or (ip.is_dir() and is_within(op, ip)):
                inside = "" if same_file(op, ip) else " (inside it)"
                raise UsageError(f"{on} {str(op)!r} is the input {iname} {str(ip)!r}{inside}: writing it would replace "
                                 "what the command reads; choose another output (nothing was written)")
    for k, (on, op) in enumerate(outs):
        for on2, op2 in outs[k + 1:]:
            if same_file(op, op2):
                raise UsageError(f"{on} and {on2} are the same file {str(op)!r}; give each output its own file "
                                 "(nothing was written)")
    for dn, dp in dirs:
        for iname, ip in ins:
            if is_within(ip, dp):
                raise UsageError(f"{dn} {str(dp)!r} holds the input {iname} {str(ip)!r}: the command writes into or "
                                 "replaces that folder; choose another (nothing was written)")


def refuse_replacing_other_kind(path: str | Path, magic: bytes, kind: str, option: str = "-o") -> None:
    """Refuse to replace an existing file that is not of ``kind`` (its first bytes are not ``magic``):
    ``report -o case.pdf`` must never replace a case file that happens to end in ``.pdf``.

    Raises
    ------
    UsageError
        The file exists and is not a ``kind`` (or not a regular file).
    """
    p = Path(path)
    if not os.path.lexists(p):
        return
    try:
        st = os.stat(p)
    except OSError:
        st = None
    if st is None or not stat.S_ISREG(st.st_mode):
        raise UsageError(f"{option} {str(p)!r} exists and is not a regular file; choose another output (nothing was written)")
    try:
        with open_regular(p, "output") as fh:
            head = fh.read(len(magic))
    except GmdeskError:
        head = b""
    if head != magic:
        raise UsageError(f"{option} {str(p)!r} exists and is not a {kind}: it would be replaced and lost; choose another "
                         "output (nothing was written)")
