"""Outputs of a CLI run: checked before any computation, written all or none.

Every subcommand declares its outputs first (``-o`` store and the table beside it, a
``--plot`` folder, ``convert``'s files) with an :class:`OutputPlan`. :meth:`OutputPlan.check`
refuses, in one ``error:`` line naming the path and the flag, an existing file without
``--overwrite``, a missing or unwritable folder, or a store name without a store
extension (``-o`` is never renamed behind the user's back) -- before any work is done.
The results are then written inside :meth:`OutputPlan.writing`: every file goes to a
temporary name next to its target, and only when all of them are complete are they moved
into place; if anything fails, nothing is left behind.
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from naheo_spec.errors import InputError

__all__ = ["OutputPlan", "STORE_SUFFIXES", "unique_names", "write_results"]

STORE_SUFFIXES = (".h5", ".hdf5", ".nxs")
FIGURE_SUFFIXES = (".png", ".pdf", ".svg")


@dataclass
class _Target:
    flag: str
    path: Path
    folder: bool


def _problem_with_parent(path: Path) -> str | None:
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.exists():
        return f"folder {parent} does not exist (create it first)"
    if not parent.is_dir():
        return f"{parent} is not a folder"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"folder {parent} is not writable"
    return None


class OutputPlan:
    """The outputs one CLI run will write.

    Parameters
    ----------
    overwrite : bool
        The run's ``--overwrite``.
    """

    def __init__(self, *, overwrite: bool):
        self.overwrite = overwrite
        self.targets: list[_Target] = []

    def store(self, flag: str, path) -> tuple[Path, Path]:
        """A results store (``.h5``/``.hdf5``/``.nxs``) and its summary table (``.csv``)."""
        p = Path(path)
        if p.suffix.lower() not in STORE_SUFFIXES:
            raise InputError(f"{flag} {p}: a results store must end in "
                             f"{', '.join(STORE_SUFFIXES)} (the summary table is written beside "
                             "it as .csv)")
        return self.file(flag, p), self.file(flag, p.with_suffix(".csv"))

    def file(self, flag: str, path) -> Path:
        """One output file."""
        p = Path(path)
        self.targets.append(_Target(flag, p, False))
        return p

    def folder(self, flag: str, path) -> Path:
        """A folder of outputs (figures); created if its parent exists."""
        p = Path(path)
        self.targets.append(_Target(flag, p, True))
        return p

    def check(self) -> None:
        """Refuse the run before any work when an output cannot be written.

        Raises
        ------
        InputError
            One line naming the flag, the path and the problem.
        """
        seen: dict[Path, str] = {}
        for t in self.targets:
            key = t.path.resolve()
            if key in seen:
                raise InputError(f"{t.flag} {t.path}: the same path is also given to {seen[key]}")
            seen[key] = t.flag
            if t.folder:
                if t.path.exists() and not t.path.is_dir():
                    raise InputError(f"{t.flag} {t.path}: exists and is not a folder")
                if t.path.is_dir():
                    if not os.access(t.path, os.W_OK | os.X_OK):
                        raise InputError(f"{t.flag} {t.path}: folder is not writable")
                    old = [f.name for f in t.path.iterdir() if f.suffix in FIGURE_SUFFIXES]
                    if old and not self.overwrite:
                        raise InputError(f"{t.flag} {t.path}: folder already holds {len(old)} "
                                         "figure(s); pass --overwrite to replace them or choose "
                                         "an empty folder")
                    continue
                problem = _problem_with_parent(t.path)
                if problem:
                    raise InputError(f"{t.flag} {t.path}: {problem}")
                continue
            if t.path.is_dir():
                raise InputError(f"{t.flag} {t.path}: is a folder, expected a file name")
            if t.path.exists() and not self.overwrite:
                raise InputError(f"{t.flag} {t.path}: exists; pass --overwrite to replace it")
            problem = _problem_with_parent(t.path)
            if problem:
                raise InputError(f"{t.flag} {t.path}: {problem}")

    @contextlib.contextmanager
    def writing(self):
        """Context in which outputs are written to temporary names; all are moved into place
        at the end, or all removed if the block fails.

        Yields
        ------
        Transaction
            ``tx.path(final)`` gives the temporary path to write a file to;
            ``tx.folder(final)`` the temporary folder to write a folder's files to.
        """
        tx = _Transaction(self.overwrite)
        try:
            yield tx
        except BaseException:
            tx.rollback()
            raise
        tx.commit()


class _Transaction:
    def __init__(self, overwrite: bool):
        self.overwrite = overwrite
        self.files: list[tuple[Path, Path]] = []
        self.folders: list[tuple[Path, Path]] = []

    def path(self, final) -> Path:
        final = Path(final)
        fd, name = tempfile.mkstemp(prefix=f".{final.stem}.", suffix=f".tmp{final.suffix}",
                                    dir=final.parent if str(final.parent) else ".")
        os.close(fd)
        os.unlink(name)        # writers create the file themselves
        self.files.append((Path(name), final))
        return Path(name)

    def folder(self, final) -> Path:
        final = Path(final)
        parent = final.parent if str(final.parent) else Path(".")
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=parent))
        self.folders.append((tmp, final))
        return tmp

    def commit(self) -> None:
        for tmp, final in self.files:
            if tmp.exists():
                os.replace(tmp, final)
        for tmp, final in self.folders:
            final.mkdir(exist_ok=True)
            for f in sorted(tmp.iterdir()):
                os.replace(f, final / f.name)
            tmp.rmdir()

    def rollback(self) -> None:
        for tmp, _ in self.files:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        for tmp, _ in self.folders:
            shutil.rmtree(tmp, ignore_errors=True)


def unique_names(names):
    """Make record names NeXus-safe (letters, digits, ``_``) and unique (``_2``, ``_3``...)."""
    seen: set[str] = set()
    out = []
    for n in names:
        base = re.sub(r"[^A-Za-z0-9_]+", "_", n).strip("_") or "result"
        if base[0].isdigit():
            base = "r_" + base
        name, i = base, 1
        while name in seen:
            i += 1
            name = f"{base}_{i}"
        seen.add(name)
        out.append(name)
    return out


def write_results(tx, results, store: Path, table: Path, *, names=None) -> list[Path]:
    """Write ``results`` (objects with ``to_record(name)``) to the store and its summary table
    inside the transaction ``tx`` of :meth:`OutputPlan.writing`; returns the final paths."""
    from naheo_spec.store import write_records, write_summary_table

    if names is None:
        names = [getattr(r, "name", "result") for r in results]
    names = unique_names(names)
    records = [r.to_record(n) for r, n in zip(results, names)]
    write_records(tx.path(store), records)
    write_summary_table(tx.path(table), records)
    return [store, table]
