"""Text files of numbers: find the numeric block, its column labels and the header.

A column file is a header (``#``/``%``/``!`` comment lines *or* free-form text, e.g. an
XDAC header with ``E0= 7112.00``) followed by a block of rows of numbers, separated by
whitespace, commas or semicolons. The data block starts at the first fully numeric row with
the most common number of values that is followed by rows starting with a number, so
header lines that contain numbers (``SPP= 2 2 2``) are not mistaken for data, and every
later row must be numeric with the same number of values (else ReadError with the line).
The column labels are taken from the last non-separator line before the block
(``# energy mu i0``, ``Energy I0 It``) when it has one word per column.

These pieces are technique-neutral; each technique's readers decide what the columns mean.

References
----------
xraylarch ``read_ascii`` (labels from the last header line),
https://xraypy.github.io/xraylarch/xafs/
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import numpy as np

from naheo_spec.errors import ReadError
from naheo_spec.io.expressions import normalize_name

__all__ = ["Block", "parse_block", "column_names", "parse_header_fields", "is_number",
           "COMMENT_CHARS", "Peek", "peek_block"]

COMMENT_CHARS = "#%!"
_DEXP = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)[dD][+-]?\d+$")
_SEPARATOR = re.compile(r"^[\s\-=*~_+/.]*$")
_KEYVAL = re.compile(r"^([A-Za-z][\w .\-]*?)\s*[:=]\s*(.*)$")


@dataclass
class Block:
    """The numeric block of a text file and what precedes it.

    Attributes
    ----------
    data : ndarray of shape (M, N)
        Rows of numbers.
    first_line : int
        1-based line number of the first data row.
    header : list of str
        Lines before the block (raw, without line ends).
    labels : list of str or None
        Words of the label line (comment characters stripped) if it has one word per
        column, else None.
    label_line : int or None
        1-based line number of that label line.
    """

    data: np.ndarray
    first_line: int
    header: list[str]
    labels: list[str] | None
    label_line: int | None


def is_number(tok: str) -> bool:
    try:
        float(tok)
        return True
    except ValueError:
        return bool(_DEXP.match(tok))


def _split(line: str, delim: str | None) -> list[str]:
    if delim is None:
        return line.split()
    toks = [t.strip() for t in line.strip().split(delim)]
    if toks and toks[-1] == "":
        toks.pop()
    return toks


def _is_comment(s: str) -> bool:
    return s[:1] in COMMENT_CHARS


def _delimiter(line: str) -> str | None:
    for d in (",", ";"):
        if d in line:
            return d
    return None


def _find_data_start(lines: list[str]) -> tuple[int, str | None] | None:
    """Index and delimiter of the first data row, or None.

    Rows are the lines whose first value is a number. The data start is the first
    fully numeric row with the most common number of values that is followed by
    (up to) 3 more rows: header lines with numbers (``SPP= 2 2 2``, a lone number)
    are not taken for data, and a corrupt value in the first rows does not move the
    start past it (it is reported by :func:`parse_block` instead).
    """
    rows: list[tuple[int, str | None, list[str]]] = []
    for i, raw in enumerate(lines):
        s = raw.strip()
        if not s or _is_comment(s):
            continue
        delim = _delimiter(s)
        toks = _split(s, delim)
        if toks and is_number(toks[0]):
            rows.append((i, delim, toks))
    if not rows:
        return None
    ncols = Counter(len(t) for _, _, t in rows).most_common(1)[0][0]
    row_index = {i: k for k, (i, _, _) in enumerate(rows)}
    for k, (i, delim, toks) in enumerate(rows):
        if len(toks) != ncols or not all(is_number(t) for t in toks):
            continue
        needed = min(3, len(rows) - k - 1)
        j, seen = i + 1, 0
        while seen < needed and j < len(lines):
            t = lines[j].strip()
            if t and not _is_comment(t):
                if j not in row_index:
                    break
                seen += 1
            j += 1
        if seen >= needed:
            return i, delim
    return rows[0][0], rows[0][1]


def _no_data_error(path, lines: list[str]) -> ReadError:
    content = [s.strip() for s in lines if s.strip()]
    if all(_is_comment(s) for s in content):
        return ReadError(path, f"header only: {len(content)} comment line(s) and no data rows")
    return ReadError(path, "no rows of numbers found (text without numeric data columns)")


def _label_line(lines: list[str], start: int, ncols: int, delim: str | None):
    """Words of the last non-separator line before ``start`` if one per column."""
    for i in range(start - 1, -1, -1):
        s = lines[i].strip().lstrip(COMMENT_CHARS).strip()
        if _SEPARATOR.match(s):
            continue
        words = _split(s, delim) if delim else s.split()
        if len(words) == ncols and not all(is_number(w) for w in words):
            return words, i + 1
        return None, None
    return None, None


def parse_block(lines: list[str], path=None) -> Block:
    """Find and parse the numeric block of a text file.

    Parameters
    ----------
    lines : list of str
        File lines (as from ``str.splitlines``).
    path : str, optional
        File name for messages.

    Returns
    -------
    Block

    Raises
    ------
    ReadError
        No numeric rows (empty, header only, text without numbers), a single
        column, rows of unequal length, or a non-numeric value inside the block
        (with the line number and column).
    """
    found = _find_data_start(lines)
    if found is None:
        raise _no_data_error(path, lines)
    start, delim = found
    _check_row_before(lines, start, delim, path)
    rows: list[list[str]] = []
    line_nos: list[int] = []
    for k in range(start, len(lines)):
        s = lines[k].strip()
        if not s or _is_comment(s):
            continue
        rows.append(_split(s, delim))
        line_nos.append(k + 1)
    ncols = len(rows[0])
    if ncols < 2:
        raise ReadError(path, "only one column of numbers; need energy and at least one signal "
                              "column", line=line_nos[0])
    for toks, ln in zip(rows, line_nos):
        if len(toks) != ncols:
            raise ReadError(path, f"row has {len(toks)} values, expected {ncols} as in line "
                                  f"{line_nos[0]} (rows of unequal length)", line=ln)
    flat = [t for toks in rows for t in toks]
    try:
        data = np.array(flat, dtype=float).reshape(len(rows), ncols)
    except ValueError:
        data = _convert_slow(rows, line_nos, path)
    labels, label_no = _label_line(lines, start, ncols, delim)
    return Block(data=data, first_line=line_nos[0], header=lines[:start], labels=labels,
                 label_line=label_no)


def _check_row_before(lines: list[str], start: int, delim: str | None, path) -> None:
    """A row just above the data start that begins with a number and has as many
    values as the data rows is a corrupt first data row, not a header line."""
    ncols = len(_split(lines[start].strip(), delim))
    for k in range(start - 1, -1, -1):
        s = lines[k].strip()
        if not s or _is_comment(s):
            continue
        toks = _split(s, delim)
        if len(toks) == ncols and is_number(toks[0]):
            bad = next(c for c, t in enumerate(toks) if not is_number(t))
            raise ReadError(path, f"value {toks[bad]!r} is not a number", line=k + 1, column=bad + 1)
        return


def _convert_slow(rows, line_nos, path) -> np.ndarray:
    out = np.empty((len(rows), len(rows[0])))
    for r, (toks, ln) in enumerate(zip(rows, line_nos)):
        for c, t in enumerate(toks):
            try:
                out[r, c] = float(t)
            except ValueError:
                if _DEXP.match(t):
                    out[r, c] = float(re.sub("[dD]", "e", t))
                else:
                    raise ReadError(path, f"value {t!r} is not a number", line=ln,
                                    column=c + 1) from None
    return out


def column_names(labels: list[str] | None, ncols: int) -> list[str]:
    """Normalised, unique column names (``col1``, ``col2``... where there is no label)."""
    names: list[str] = []
    for i in range(ncols):
        base = normalize_name(labels[i]) if labels and i < len(labels) and labels[i] else f"col{i + 1}"
        name, k = base, 2
        while name in names:
            name, k = f"{base}_{k}", k + 1
        names.append(name)
    return names


def parse_header_fields(header: list[str]) -> dict[str, str]:
    """``key: value`` / ``key= value`` pairs of a free-form header (keys lower-cased)."""
    out: dict[str, str] = {}
    for line in header:
        s = line.strip().lstrip(COMMENT_CHARS).strip()
        m = _KEYVAL.match(s)
        if m and m.group(2).strip():
            out.setdefault(m.group(1).strip().lower(), m.group(2).strip())
    return out


@dataclass(frozen=True)
class Peek:
    """A quick look at the start of a text file (for sniffers).

    Attributes
    ----------
    x : ndarray
        First column of the numeric block seen in the head of the file.
    ncols : int
        Number of columns.
    header : str
        Lines before the block.
    labels : list of str or None
        Column labels, when found.
    """

    x: np.ndarray
    ncols: int
    header: str
    labels: list[str] | None


def peek_block(text: str | None, *, max_lines: int = 400) -> Peek | None:
    """:func:`parse_block` on the first ``max_lines`` complete lines, or None when they hold
    no well-formed numeric block (never raises)."""
    if not text:
        return None
    lines = text.splitlines()
    if len(lines) > max_lines:
        lines = lines[:max_lines]
    elif not text.endswith(("\n", "\r")) and len(lines) > 1:
        lines = lines[:-1]            # possibly cut in the middle by the 64 KiB head
    try:
        b = parse_block(lines)
    except ReadError:
        return None
    return Peek(b.data[:, 0], b.data.shape[1], "\n".join(b.header), b.labels)
