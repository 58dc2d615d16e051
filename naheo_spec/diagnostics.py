"""Structured warnings: a stable code, a message for people, and data.

Every warning naheo_spec reports is a :class:`WarningRecord`. Its ``code`` (lower-case,
dotted: ``"xas.foil.rejected"``, ``"io.repair.sorted"``) is stable across versions and is
what code branches on; the ``message`` is for people and may change; ``data`` holds the
numbers behind it. Results carry their records in a ``warnings`` tuple; the CLI's
``--json`` prints each as ``{"code": ..., "message": ...}``.

Codes are declared once, where they are raised, with :class:`WarningCode`, which binds
the code to a Python warning category (:class:`~naheo_spec.errors.RepairWarning`,
:class:`~naheo_spec.errors.DefaultAdjustedWarning`, :class:`~naheo_spec.errors.QualityWarning`)
and a one-line description (the documentation's table of codes is built from these).
Emitting a record issues a normal Python warning of that category whose instance carries
the record (``w.message.record``, ``w.message.code``).

For stacks of up to millions of spectra, :class:`StackWarnings` stores warnings as a sparse
table (row, code, message index) over a small table of distinct messages, with counts per
code and per-row masks, instead of one Python string per row.

Examples
--------
>>> from naheo_spec.errors import QualityWarning
>>> DEMO = WarningCode("demo.example.noisy", QualityWarning, "Example code for the docs.")
>>> rec = DEMO.record("scan 3 is noisy", snr=2.5)
>>> rec.code, rec.data["snr"], rec.to_json()
('demo.example.noisy', 2.5, {'code': 'demo.example.noisy', 'message': 'scan 3 is noisy'})
>>> b = StackWarningsBuilder(5)
>>> b.add(DEMO, [1, 3], "noisy scan")
>>> sw = b.build()
>>> sw.counts(), sw.mask(DEMO).tolist()
({'demo.example.noisy': 2}, [False, True, False, True, False])
"""
from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np

from naheo_spec.errors import NaheoWarning, QualityWarning
from naheo_spec.frozen import FrozenDict, frozen_dict

__all__ = ["WarningCode", "WarningRecord", "StackWarnings", "StackWarningsBuilder",
           "registered_codes", "capture", "emit", "format_warnings", "warnings_json",
           "UNCLASSIFIED"]

_CODE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
_REGISTRY: dict[str, "WarningCode"] = {}


@dataclass(frozen=True)
class WarningCode:
    """A declared warning code.

    Parameters
    ----------
    code : str
        Lower-case dotted name, ``technique.area.what`` (``"xas.foil.rejected"``).
    category : type
        Python warning category (a :class:`~naheo_spec.errors.NaheoWarning` subclass).
    description : str
        One line for the documentation: what happened and what to do.

    Raises
    ------
    ValueError
        A malformed code, or the same code declared twice with a different meaning.
    """

    code: str
    category: type = QualityWarning
    description: str = ""

    def __post_init__(self):
        if not _CODE.match(self.code):
            raise ValueError(f"warning code {self.code!r} must be lower-case and dotted, "
                             "e.g. 'xas.foil.rejected'")
        if not (isinstance(self.category, type) and issubclass(self.category, NaheoWarning)):
            raise ValueError(f"category of {self.code!r} must be a NaheoWarning subclass")
        old = _REGISTRY.get(self.code)
        if old is not None and (old.category, old.description) != (self.category,
                                                                    self.description):
            raise ValueError(f"warning code {self.code!r} is already declared differently")
        _REGISTRY[self.code] = self

    def record(self, message: str, **data: Any) -> "WarningRecord":
        """A record of this code, not emitted."""
        return WarningRecord(self.code, str(message), FrozenDict(data))

    def warn(self, message: str, *, stacklevel: int = 2, **data: Any) -> "WarningRecord":
        """Emit a Python warning of this code's category and return its record."""
        rec = self.record(message, **data)
        rec.emit(stacklevel=stacklevel + 1)
        return rec

    def __str__(self) -> str:
        return self.code


#: Code for warnings of unknown origin (e.g. a third-party library's text, wrapped).
UNCLASSIFIED = WarningCode("general.unclassified", QualityWarning,
                           "A warning from outside naheo_spec, kept with its original text.")


def registered_codes() -> dict[str, WarningCode]:
    """All codes declared so far (import a technique's modules to declare its codes)."""
    return dict(sorted(_REGISTRY.items()))


def _as_code(code) -> WarningCode:
    if isinstance(code, WarningCode):
        return code
    found = _REGISTRY.get(str(code))
    if found is None:
        raise ValueError(f"warning code {code!r} is not declared")
    return found


@dataclass(frozen=True)
class WarningRecord:
    """One warning: stable ``code``, human ``message`` and its ``data``.

    ``str(record)`` is the message. Records compare by value.
    """

    code: str
    message: str
    data: FrozenDict = field(default_factory=FrozenDict)

    def __post_init__(self):
        if not isinstance(self.data, FrozenDict):
            object.__setattr__(self, "data", frozen_dict(self.data))

    def __str__(self) -> str:
        return self.message

    @property
    def category(self) -> type:
        """The Python warning category declared for the code (QualityWarning if unknown)."""
        wc = _REGISTRY.get(self.code)
        return wc.category if wc is not None else QualityWarning

    def to_json(self) -> dict[str, str]:
        """``{"code": ..., "message": ...}`` (the CLI's ``--json`` form)."""
        return {"code": self.code, "message": self.message}

    def prefixed(self, prefix: str | None) -> "WarningRecord":
        """The same record with ``"prefix: "`` in front of the message (no-op for None/empty
        or when the message already starts with it)."""
        if not prefix or self.message.startswith(f"{prefix}:"):
            return self
        return WarningRecord(self.code, f"{prefix}: {self.message}", self.data)

    def emit(self, *, stacklevel: int = 2) -> "WarningRecord":
        """Issue this record as a Python warning (its category, carrying the record)."""
        warnings.warn(self.category(self.message, self), stacklevel=stacklevel + 1)
        return self

    def is_(self, code: "WarningCode | str") -> bool:
        """True when this record has ``code``."""
        return self.code == str(code)


def emit(records: Iterable[WarningRecord], *, stacklevel: int = 2) -> None:
    """Emit each record as a Python warning."""
    for r in records:
        r.emit(stacklevel=stacklevel + 1)


@contextmanager
def capture() -> Iterator[list[WarningRecord]]:
    """Collect the warnings raised inside the block as records, without showing them.

    naheo_spec warnings keep their record; other warnings are wrapped with code
    ``general.unclassified``. The caller decides what to re-emit (usually the records it
    keeps in a result, prefixed with the scan name).

    Examples
    --------
    >>> from naheo_spec.errors import QualityWarning
    >>> with capture() as got:
    ...     warnings.warn("plain text", QualityWarning)
    >>> got[0].code
    'general.unclassified'
    """
    out: list[WarningRecord] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield out
    for w in caught:
        rec = getattr(w.message, "record", None)
        out.append(rec if isinstance(rec, WarningRecord)
                   else UNCLASSIFIED.record(str(w.message), category=w.category.__name__))


def unique(records: Iterable[WarningRecord]) -> tuple[WarningRecord, ...]:
    """Records in first-seen order without repeats."""
    return tuple(dict.fromkeys(records))


def warnings_json(records: Iterable[WarningRecord]) -> list[dict[str, str]]:
    """``[record.to_json(), ...]``."""
    return [r.to_json() for r in records]


def format_warnings(records: Iterable[WarningRecord], *, with_codes: bool = True) -> list[str]:
    """Plain-text lines for people: ``"[code] message"`` (or just the message)."""
    return [f"[{r.code}] {r.message}" if with_codes else r.message for r in records]


# --------------------------------------------------------------------------- stacks
@dataclass(frozen=True, eq=False)
class StackWarnings:
    """Warnings (or errors) of the rows of a stack as a sparse coded table.

    Attributes
    ----------
    n_rows : int
        Number of rows (spectra) of the stack.
    rows : ndarray of int64, shape (K,)
        Row of each entry (sorted).
    code_index : ndarray of int32, shape (K,)
        Index into :attr:`codes`.
    message_index : ndarray of int32, shape (K,)
        Index into :attr:`messages`.
    codes : tuple of str
        Distinct codes.
    messages : tuple of str
        Distinct messages. Producers keep row-specific numbers in the result's arrays
        rather than in the text, so this table stays small for any number of rows.
    """

    n_rows: int
    rows: np.ndarray
    code_index: np.ndarray
    message_index: np.ndarray
    codes: tuple[str, ...] = ()
    messages: tuple[str, ...] = ()

    @classmethod
    def empty(cls, n_rows: int) -> "StackWarnings":
        z = np.zeros(0, dtype=np.int64)
        return cls(int(n_rows), z, z.astype(np.int32), z.astype(np.int32))

    def __len__(self) -> int:
        return int(self.rows.size)

    def __eq__(self, other) -> bool:
        if not isinstance(other, StackWarnings):
            return NotImplemented
        return (self.n_rows == other.n_rows
                and [self.for_row(i) for i in range(self.n_rows)]
                == [other.for_row(i) for i in range(other.n_rows)])

    __hash__ = None

    def counts(self) -> dict[str, int]:
        """Number of rows with each code (a row counted once per code)."""
        out = {}
        seen = np.zeros(self.n_rows, dtype=bool)
        for k, c in enumerate(self.codes):
            sel = self.code_index == k
            if sel.any():
                # distinct rows by marking them (np.unique took ~1 s at 10^6 rows)
                seen[:] = False
                seen[self.rows[sel]] = True
                out[c] = int(np.count_nonzero(seen))
        return out

    def mask(self, code: "WarningCode | str") -> np.ndarray:
        """Boolean (n_rows,): rows that carry ``code``."""
        out = np.zeros(self.n_rows, dtype=bool)
        c = str(code)
        if c in self.codes:
            out[self.rows[self.code_index == self.codes.index(c)]] = True
        return out

    def any_mask(self) -> np.ndarray:
        """Boolean (n_rows,): rows with at least one entry."""
        out = np.zeros(self.n_rows, dtype=bool)
        out[self.rows] = True
        return out

    def for_row(self, i: int) -> tuple[WarningRecord, ...]:
        """The records of row ``i`` in the order they were added."""
        lo, hi = np.searchsorted(self.rows, [i, i + 1])
        return tuple(WarningRecord(self.codes[self.code_index[k]],
                                   self.messages[self.message_index[k]])
                     for k in range(lo, hi))

    def first(self, i: int) -> WarningRecord | None:
        """The first record of row ``i`` (None when the row has none)."""
        recs = self.for_row(i)
        return recs[0] if recs else None

    def summary(self, *, unit: str = "rows") -> tuple[WarningRecord, ...]:
        """One record per code: ``"<count> of <n> <unit>: <first message>"``."""
        out = []
        for code, cnt in self.counts().items():
            k = self.codes.index(code)
            first = self.messages[int(self.message_index[np.flatnonzero(self.code_index == k)[0]])]
            out.append(WarningRecord(code, f"{cnt} of {self.n_rows} {unit}: {first}",
                                     FrozenDict(count=cnt, n_rows=self.n_rows)))
        return tuple(out)

    def take(self, rows: Sequence[int] | np.ndarray) -> "StackWarnings":
        """The table restricted to ``rows`` (renumbered 0..len(rows)-1)."""
        rows = np.asarray(rows, dtype=np.int64)
        if not len(self):                 # the usual input block: nothing to renumber
            return StackWarnings.empty(rows.size)
        b = StackWarningsBuilder(rows.size)
        where = {int(r): j for j, r in enumerate(rows)}
        for k in range(len(self)):
            j = where.get(int(self.rows[k]))
            if j is not None:
                b.add(self.codes[self.code_index[k]], [j], self.messages[self.message_index[k]])
        return b.build()

    @classmethod
    def concat(cls, parts: Sequence["StackWarnings"]) -> "StackWarnings":
        """Stack the tables of consecutive blocks of rows (chunks of one stack)."""
        b = StackWarningsBuilder(sum(p.n_rows for p in parts))
        offset = 0
        for p in parts:
            b.add_table(p, offset)
            offset += p.n_rows
        return b.build()

    def to_arrays(self) -> dict[str, Any]:
        """Plain arrays and lists for a store: ``rows``, ``code_index``, ``message_index``,
        ``codes``, ``messages``, ``n_rows``."""
        return {"n_rows": self.n_rows, "rows": self.rows, "code_index": self.code_index,
                "message_index": self.message_index, "codes": list(self.codes),
                "messages": list(self.messages)}

    @classmethod
    def from_arrays(cls, d: dict[str, Any]) -> "StackWarnings":
        """Inverse of :meth:`to_arrays`."""
        return cls(int(d["n_rows"]), np.asarray(d["rows"], dtype=np.int64),
                   np.asarray(d["code_index"], dtype=np.int32),
                   np.asarray(d["message_index"], dtype=np.int32),
                   tuple(str(c) for c in d["codes"]), tuple(str(m) for m in d["messages"]))


class StackWarningsBuilder:
    """Accumulate coded warnings for the rows of a stack, vectorized by row set.

    Parameters
    ----------
    n_rows : int
        Number of rows.
    """

    def __init__(self, n_rows: int):
        self.n_rows = int(n_rows)
        self._codes: dict[str, int] = {}
        self._messages: dict[str, int] = {}
        self._parts: list[tuple[np.ndarray, int, np.ndarray]] = []
        self._seq = 0

    def add(self, code: "WarningCode | str", rows, message: "str | Sequence[str]") -> None:
        """Add ``code`` to every row in ``rows`` with ``message`` (one string for all rows,
        or one per row)."""
        rows = np.atleast_1d(np.asarray(rows, dtype=np.int64))
        if rows.size == 0:
            return
        if rows.min() < 0 or rows.max() >= self.n_rows:
            raise IndexError(f"row out of range 0..{self.n_rows - 1}")
        c = self._codes.setdefault(str(code), len(self._codes))
        if isinstance(message, str):
            m = np.full(rows.size, self._messages.setdefault(message, len(self._messages)),
                        dtype=np.int32)
        else:
            if len(message) != rows.size:
                raise ValueError("one message per row, or one for all")
            m = np.array([self._messages.setdefault(str(t), len(self._messages))
                          for t in message], dtype=np.int32)
        self._parts.append((rows, c, m))

    def add_table(self, table: "StackWarnings", offset: int = 0) -> None:
        """Add every entry of ``table`` with its rows shifted by ``offset`` (one ``add``
        per code and message; the used indices found with ``bincount``, sorted as
        ``np.unique`` would give them, ~10x faster on a 20 000-row chunk's table)."""
        if not len(table):
            return
        ci, mi = np.asarray(table.code_index), np.asarray(table.message_index)
        for c in np.flatnonzero(np.bincount(ci)):
            in_c = ci == c
            rows_c, mi_c = table.rows[in_c], mi[in_c]
            for m in np.flatnonzero(np.bincount(mi_c)):
                self.add(table.codes[int(c)], rows_c[mi_c == m] + offset,
                         table.messages[int(m)])

    def add_records(self, row: int, records: Iterable[WarningRecord]) -> None:
        """Add the records of one row (e.g. from a per-row helper)."""
        for r in records:
            self.add(r.code, [row], r.message)

    def build(self) -> StackWarnings:
        if not self._parts:
            return StackWarnings.empty(self.n_rows)
        rows = np.concatenate([p[0] for p in self._parts])
        code = np.concatenate([np.full(p[0].size, p[1], dtype=np.int32) for p in self._parts])
        msg = np.concatenate([p[2] for p in self._parts])
        order = np.argsort(rows, kind="stable")     # by row, then insertion order
        rows, code, msg = rows[order], code[order], msg[order]
        # the same (row, code, message) twice is one warning: one int64 key per entry
        key = (rows * len(self._codes) + code) * max(len(self._messages), 1) + msg
        _, first = np.unique(key, return_index=True)
        keep = np.sort(first)
        return StackWarnings(self.n_rows, rows[keep], code[keep], msg[keep],
                             tuple(self._codes), tuple(self._messages))
