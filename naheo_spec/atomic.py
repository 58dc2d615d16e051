"""Atomic file writing: a run that is interrupted never leaves a half-written file
where a good one was, and an existing file is never replaced unless asked."""
from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path
from typing import Iterator

from naheo_spec.errors import StoreError


def check_writable(path: str | Path, *, overwrite: bool) -> Path:
    """Return ``path`` as a Path; raise StoreError if it exists and ``overwrite`` is False."""
    p = Path(path)
    if p.exists() and not overwrite:
        raise StoreError(f"{p}: exists; not overwritten (pass overwrite=True / --overwrite to replace it)")
    if p.exists() and p.is_dir():
        raise StoreError(f"{p}: is a directory, expected a file path")
    return p


def _final_mode(final: Path) -> int:
    """Mode of the file being replaced, else 0o666 minus the process umask."""
    if final.exists():
        return stat.S_IMODE(final.stat().st_mode)
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def atomic_path(path: str | Path, *, overwrite: bool = False) -> Iterator[Path]:
    """Context manager yielding a temporary path next to ``path``; on success the
    temporary file is renamed onto ``path`` (``os.replace``, atomic on POSIX), on any
    exception it is deleted and ``path`` is left untouched.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_path(d / "out.txt") as tmp:
    ...     _ = tmp.write_text("hello")
    >>> (d / "out.txt").read_text()
    'hello'
    """
    final = check_writable(path, overwrite=overwrite)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # Re-check: another process may have created the file meanwhile.
        if final.exists() and not overwrite:
            raise StoreError(f"{final}: appeared while writing; not overwritten")
        # mkstemp makes the file 0600; give it the mode a normally created file would have.
        os.chmod(tmp_path, _final_mode(final))
        os.replace(tmp_path, final)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()
