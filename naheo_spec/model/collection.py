"""The blocks of one file: XPS regions of a VAMAS file, Athena groups, HDF5 stacks.

:class:`SpectrumCollection` is what :func:`naheo_spec.io.read` returns: an ordered,
immutable sequence of blocks (each a :class:`~naheo_spec.model.spectrum.Spectrum` or a
:class:`~naheo_spec.model.stack.SpectrumStack`) that can be indexed by position or
selected by name.

Names are matched forgivingly but never ambiguously: case, runs of spaces and the
separators ``. _ - :`` are ignored (so larch's ``NiO_000`` finds Athena's ``NiO.000``, and
``"ni 2p"`` finds ``"Ni 2p"``); a block also answers to its ``source.aliases`` (e.g. the
XPS region name). A name that matches several blocks, or none, raises
:class:`~naheo_spec.errors.ReadError` listing the candidates or the closest names.
"""
from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from typing import Union

from naheo_spec.diagnostics import WarningRecord
from naheo_spec.errors import ReadError
from naheo_spec.model.spectrum import Spectrum, check_warnings
from naheo_spec.model.stack import SpectrumStack

__all__ = ["SpectrumCollection", "normalize_block_name"]

Block = Union[Spectrum, SpectrumStack]
_SEP = re.compile(r"[\s._\-:]+")
#: Longest list of names quoted in a message before it is cut.
MAX_LISTED = 12


def normalize_block_name(name: str) -> str:
    """Lower case with separators removed: the key used to match block names.

    Examples
    --------
    >>> normalize_block_name("NiO_000") == normalize_block_name("NiO.000")
    True
    """
    return _SEP.sub("", str(name).strip().lower())


def listing(names: Sequence[str], limit: int = MAX_LISTED) -> str:
    """Names joined by commas, cut after ``limit`` names with a count of the rest."""
    names = [str(n) for n in names]
    if len(names) <= limit:
        return ", ".join(names)
    return ", ".join(names[:limit]) + f", ... ({len(names) - limit} more)"


def _block_name(block: Block, i: int) -> str:
    return block.source.scan or str(i)


class SpectrumCollection(Sequence):
    """Ordered blocks of one file, selectable by index or name.

    Parameters
    ----------
    blocks : sequence of Spectrum or SpectrumStack
        In file order.
    path : str, optional
        The file (for messages).
    format : str, optional
        The registered format that read it.
    warnings : sequence of WarningRecord, optional
        File-level warnings (each block keeps its own in ``block.warnings``).

    Examples
    --------
    >>> import numpy as np
    >>> from naheo_spec.model.spectrum import SourceInfo
    >>> a = Spectrum(np.arange(5.0), np.ones(5), source=SourceInfo(scan="NiO.000"))
    >>> c = SpectrumCollection([a], path="NiO.prj")
    >>> c["NiO_000"] is a, c.names
    (True, ('NiO.000',))
    """

    def __init__(self, blocks: Sequence[Block], *, path: str | None = None,
                 format: str | None = None, warnings=()):
        self._blocks = tuple(blocks)
        for b in self._blocks:
            if not isinstance(b, (Spectrum, SpectrumStack)):
                raise TypeError(f"a collection holds Spectrum or SpectrumStack blocks, "
                                f"got {type(b).__name__}")
        self.path = path
        self.format = format
        self.warnings: tuple[WarningRecord, ...] = check_warnings(warnings, "SpectrumCollection")

    # Sequence protocol ------------------------------------------------------
    def __len__(self) -> int:
        return len(self._blocks)

    def __getitem__(self, key):
        if isinstance(key, slice):
            return SpectrumCollection(self._blocks[key], path=self.path, format=self.format,
                                      warnings=self.warnings)
        if isinstance(key, str):
            return self.select(key)
        return self._blocks[key]

    def __iter__(self):
        return iter(self._blocks)

    def __eq__(self, other) -> bool:
        if isinstance(other, SpectrumCollection):
            return self._blocks == other._blocks
        if isinstance(other, (list, tuple)):
            return list(self._blocks) == list(other)
        return NotImplemented

    __hash__ = None

    def __repr__(self) -> str:
        return (f"<SpectrumCollection {self.path or ''}: {len(self)} block(s): "
                f"{listing(self.names, 6)}>")

    # selection --------------------------------------------------------------
    @property
    def names(self) -> tuple[str, ...]:
        """Block names in file order."""
        return tuple(_block_name(b, i) for i, b in enumerate(self._blocks))

    def find(self, name: str) -> list[int]:
        """Indices of the blocks that answer to ``name`` (name first, then aliases)."""
        want = normalize_block_name(name)
        hits = [i for i, n in enumerate(self.names) if normalize_block_name(n) == want]
        if hits:
            return hits
        return [i for i, b in enumerate(self._blocks)
                if any(normalize_block_name(a) == want for a in b.source.aliases)]

    def select(self, key: str | int) -> Block:
        """The block named (or numbered, 0-based) ``key``.

        Raises
        ------
        ReadError
            No block or several blocks answer to ``key``; the message lists the
            candidates or suggests the closest names.
        """
        if isinstance(key, int) and not isinstance(key, bool):
            if -len(self) <= key < len(self):
                return self._blocks[key]
            raise ReadError(self.path, f"block index {key} out of range (file holds "
                                       f"{len(self)} block(s))")
        hits = self.find(str(key))
        if len(hits) == 1:
            return self._blocks[hits[0]]
        if hits:
            raise ReadError(self.path, f"{len(hits)} blocks answer to {key!r}: "
                                       f"{listing([self.names[i] for i in hits])}; give the full "
                                       "name or an index")
        close = difflib.get_close_matches(str(key), self.names, n=3, cutoff=0.5)
        hint = f"; did you mean {listing(close)}?" if close else ""
        raise ReadError(self.path, f"no scan or block named {key!r}{hint} Available: "
                                   f"{listing(self.names)}")

    def spectra(self) -> list[Spectrum]:
        """Every spectrum: single blocks as they are, stacks row by row."""
        out: list[Spectrum] = []
        for b in self._blocks:
            out.extend(b if isinstance(b, SpectrumStack) else [b])
        return out
