"""Column text files: the numeric block, its labels, the choice of μ and reference.

A column file is a header (``#``/``%``/``!`` comment lines *or* free-form text,
e.g. an XDAC header with ``E0= 7112.00``) followed by a block of rows of numbers.
The data block starts at the first fully numeric row with the most common number
of values that is followed by rows starting with a number, so header lines that
contain numbers (``SPP= 2 2 2``) are not mistaken for data, and every later row
must be numeric with the same number of values (else ReadError with the line). The column labels are taken from the
last non-separator line before the block (``# energy mu i0``, ``Energy I0 It``)
when it has one word per column.

This module also holds the pieces shared with the XDI reader: :func:`parse_block`,
:func:`select_signals` and :func:`assemble_spectrum`.

References
----------
xraylarch ``read_ascii`` (labels from the last header line),
https://xraypy.github.io/xraylarch/xafs/ ; XDI specification,
https://github.com/XraySpectroscopy/XAS-Data-Interchange
"""
from __future__ import annotations

import re
import warnings
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from naheo_spec._validation import repair_axis
from naheo_spec.errors import DefaultAdjustedWarning, QualityWarning, ReadError
from naheo_spec.io.edges import (check_reference_edge, guess_edge, normalize_edge,
                                 normalize_element)
from naheo_spec.io.expressions import evaluate_expression, normalize_name
from naheo_spec.spectrum import SourceInfo, Spectrum

COMMENT_CHARS = "#%!"
#: Column names (normalised: lower case, non-word characters -> "_") recognised
#: when no expression is given.
ENERGY_NAMES = ("energy", "e", "energy_ev", "energy_kev", "ev", "en", "ene", "e_ev")
MU_NAMES = ("mutrans", "mu", "xmu", "mu_trans", "mue", "mu_e", "mufluor", "mu_fluor", "mufl")
I0_NAMES = ("i0", "io", "i_0", "izero")
IT_NAMES = ("itrans", "it", "i1", "i_t", "i_1", "itr", "trans")
IF_NAMES = ("ifluor", "if", "iff", "ifl", "fluo", "fluor", "ifluo", "i_f")
IR_NAMES = ("irefer", "ir", "iref", "i2", "i_r", "i_2")
MUREF_NAMES = ("murefer", "muref", "mu_ref", "mu_refer", "mu_reference", "reference", "ref")
#: ``ref=`` values that switch the reference channel off.
NO_REFERENCE = ("none", "no", "off", "")
#: A reference whose values are non-finite on more than this fraction of the rows
#: is dropped rather than costing the sample those rows.
MAX_BAD_REFERENCE_FRACTION = 0.05

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


def _is_number(tok: str) -> bool:
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
        if toks and _is_number(toks[0]):
            rows.append((i, delim, toks))
    if not rows:
        return None
    ncols = Counter(len(t) for _, _, t in rows).most_common(1)[0][0]
    row_index = {i: k for k, (i, _, _) in enumerate(rows)}
    for k, (i, delim, toks) in enumerate(rows):
        if len(toks) != ncols or not all(_is_number(t) for t in toks):
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
        if len(words) == ncols and not all(_is_number(w) for w in words):
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
        if len(toks) == ncols and _is_number(toks[0]):
            bad = next(c for c, t in enumerate(toks) if not _is_number(t))
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


# ---------------------------------------------------------------- choice of signals

@dataclass
class Selection:
    """Arrays chosen from the columns, and how."""

    energy: np.ndarray
    mu: np.ndarray
    reference: np.ndarray | None
    columns: dict[str, str]
    warnings: list[str]


def _first(names, cols) -> str | None:
    return next((n for n in names if n in cols), None)


def _energy_name(cols: dict[str, np.ndarray]) -> str:
    for n in cols:
        if n in ENERGY_NAMES or n.startswith("energy"):
            return n
    return next(iter(cols))


def _guess_mu(cols, energy_name, path, explain_guess: bool):
    """Pick μ without an expression: (array, description, guessed?)."""
    mu_col = _first(MU_NAMES, cols)
    i0, it, ifl = _first(I0_NAMES, cols), _first(IT_NAMES, cols), _first(IF_NAMES, cols)
    if mu_col:
        return cols[mu_col], mu_col, False
    if i0 and it:
        with np.errstate(all="ignore"):
            return np.log(cols[i0] / cols[it]), f"ln({i0}/{it})", explain_guess
    if i0 and ifl:
        with np.errstate(all="ignore"):
            return cols[ifl] / cols[i0], f"{ifl}/{i0}", explain_guess
    others = [n for n in cols if n != energy_name]
    if len(cols) == 2:
        return cols[others[0]], others[0], True
    raise ReadError(path, f"cannot tell which column holds mu (columns: {', '.join(cols)}); "
                          "pass an expression, e.g. mu='ln(i0/it)' (transmission), mu='if/i0' "
                          "(fluorescence) or mu='<column name>'")


def _guess_reference(cols):
    mr = _first(MUREF_NAMES, cols)
    if mr:
        return cols[mr], mr
    it, ir = _first(IT_NAMES, cols), _first(IR_NAMES, cols)
    if it and ir:
        with np.errstate(all="ignore"):
            return np.log(cols[it] / cols[ir]), f"ln({it}/{ir})"
    return None, None


def select_signals(cols: dict[str, np.ndarray], *, mu: str | None = None, ref: str | None = None,
                   path=None, explain_guess: bool = True) -> Selection:
    """Choose energy, μ and the reference channel from named columns.

    Parameters
    ----------
    cols : dict of str to ndarray
        Columns keyed by normalised name, in file order.
    mu, ref : str, optional
        Expressions over the column names (``"ln(i0/it)"``, ``"if/i0"``,
        ``"ln(it/ir)"``). ``ref="none"`` switches the reference off. Default None:
        μ is a ``mutrans``/``mu``/``xmu``/``mufluor`` column, else ln(i0/it), else
        if/i0, else the second column of a 2-column file; the reference is a
        ``murefer`` column, else ln(it/ir), else absent.
    path : str, optional
        File name for messages.
    explain_guess : bool
        If True (column files), a μ inferred from channel names or column position
        is reported as a warning. Default is True.

    Returns
    -------
    Selection

    Raises
    ------
    ReadError
        Bad or unknown expression (the message lists the columns), or no way to
        choose μ.
    """
    msgs: list[str] = []
    ename = _energy_name(cols)
    used = {"energy": ename}
    if mu is not None:
        mu_arr = evaluate_expression(mu, cols, role="mu", path=path)
        used["mu"] = str(mu).strip()
    else:
        mu_arr, used["mu"], guessed = _guess_mu(cols, ename, path, explain_guess)
        if guessed:
            msgs.append(f"{path}: mu not specified; used mu = {used['mu']} (columns: "
                        f"{', '.join(cols)}); pass mu=... to choose another")
        fl = _first(IF_NAMES, cols)
        if fl and fl not in used["mu"]:
            msgs.append(f"{path}: fluorescence column {fl!r} ignored (mu = {used['mu']}); pass "
                        f"mu='{fl}/{_first(I0_NAMES, cols) or 'i0'}' to use it")
    ref_arr = None
    if ref is not None and str(ref).strip().lower() in NO_REFERENCE:
        pass
    elif ref is not None:
        ref_arr = evaluate_expression(ref, cols, role="ref", path=path)
        used["reference"] = str(ref).strip()
    else:
        ref_arr, name = _guess_reference(cols)
        if name:
            used["reference"] = name
    for role, arr in (("mu", mu_arr), ("reference", ref_arr)):
        # plain columns with NaN are reported by repair_axis; explain computed ones here
        if arr is not None and role in used and used[role] not in cols and not np.all(np.isfinite(arr)):
            nbad = int(np.sum(~np.isfinite(arr)))
            msgs.append(f"{path}: {role} = {used[role]} is not finite on {nbad} row(s) "
                        "(log of a non-positive value or division by zero)")
    return Selection(energy=cols[ename], mu=mu_arr, reference=ref_arr, columns=used, warnings=msgs)


# ---------------------------------------------------------------- the Spectrum

def _warn_all(msgs: list[str], category) -> None:
    for m in msgs:
        warnings.warn(m, category, stacklevel=4)


def _screen_reference(energy, mu, ref, path, columns, msgs):
    """Drop a reference that would cost the sample many rows."""
    if ref is None:
        return None
    bad = ~np.isfinite(ref) & np.isfinite(mu) & np.isfinite(energy)
    if bad.sum() > MAX_BAD_REFERENCE_FRACTION * ref.size:
        m = (f"{path}: reference {columns.get('reference')} is not finite on {int(bad.sum())} of "
             f"{ref.size} rows; reference dropped")
        msgs.append(m)
        warnings.warn(m, QualityWarning, stacklevel=5)
        columns.pop("reference", None)
        return None
    return ref


def assemble_spectrum(*, path, sha256: str | None, fmt: str, energy, mu, reference=None,
                      columns: dict[str, str] | None = None, metadata: dict[str, Any] | None = None,
                      element=None, edge=None, scan: str | None = None,
                      notes: list[str] | None = None, check_reference: bool = True) -> Spectrum:
    """Repair the axis, fill element/edge, check the reference and build the Spectrum.

    Parameters
    ----------
    path, sha256, fmt, scan : str
        Source description (see :class:`~naheo_spec.spectrum.SourceInfo`).
    energy, mu, reference : ndarray of shape (M,)
        As read (energy in eV or keV, any order).
    columns : dict, optional
        Which columns/expressions were used.
    metadata : dict, optional
        Header fields.
    element, edge : str, optional
        From the header; guessed from the edge position when missing.
    notes : list of str, optional
        Messages already emitted as warnings by the caller, kept in ``warnings``.
    check_reference : bool
        Compare the reference's edge with the tabulated one. Default is True.

    Returns
    -------
    Spectrum
    """
    columns = dict(columns or {})
    metadata = dict(metadata or {})
    msgs = list(notes or [])
    energy = np.asarray(energy, dtype=float)
    mu = np.asarray(mu, dtype=float)
    ref = _screen_reference(energy, mu, None if reference is None else np.asarray(reference, float),
                            path, columns, msgs)
    cols = {"mu": mu} if ref is None else {"mu": mu, "reference": ref}
    energy, cols, repairs = repair_axis(energy, cols, path=path)
    msgs += repairs
    el, ed = normalize_element(element), normalize_edge(edge)
    for given, found, what in ((element, el, "element"), (edge, ed, "edge")):
        if given is not None and found is None:
            msgs.append(f"{path}: header {what} {str(given).strip()!r} not recognised; ignored")
    if el is None or ed is None:
        gel, ged, e0, msg = guess_edge(energy, cols["mu"], element=el, edge=ed)
        found = gel is not None and ged is not None
        el, ed = gel, ged
        metadata["edge_guess_e0_eV"] = e0
        msgs.append(f"{path}: {msg}")
        warnings.warn(msgs[-1], DefaultAdjustedWarning if found else QualityWarning, stacklevel=3)
    ref = cols.get("reference")
    if ref is not None and check_reference and el and ed:
        msg = check_reference_edge(energy, ref, el, ed)
        if msg:
            msgs.append(f"{path}: {msg}")
            warnings.warn(msgs[-1], QualityWarning, stacklevel=3)
    return Spectrum(axis=energy, signal=cols["mu"], axis_unit="eV", signal_label="mu",
                    reference=ref, element=el, edge=ed, metadata=metadata,
                    source=SourceInfo(path=str(path), sha256=sha256, format=fmt, scan=scan,
                                      columns=columns),
                    warnings=tuple(dict.fromkeys(msgs)))


def read_ascii(path, text: str, sha256: str | None, *, mu: str | None = None,
               ref: str | None = None) -> list[Spectrum]:
    """Read a column text file (see the module docstring for the layout rules).

    Parameters
    ----------
    path : str
        File name (for messages and provenance).
    text : str
        Decoded content.
    sha256 : str or None
        Hash of the file's bytes.
    mu, ref : str, optional
        Expressions for μ and the reference; see :func:`select_signals`.

    Returns
    -------
    list of Spectrum
        One spectrum.

    Raises
    ------
    ReadError
        As :func:`parse_block` and :func:`select_signals`.
    """
    lines = text.splitlines()
    block = parse_block(lines, path)
    names = column_names(block.labels, block.data.shape[1])
    cols = {n: block.data[:, i] for i, n in enumerate(names)}
    sel = select_signals(cols, mu=mu, ref=ref, path=path, explain_guess=True)
    _warn_all(sel.warnings, DefaultAdjustedWarning)
    fields = parse_header_fields(block.header)
    metadata: dict[str, Any] = {k: v for k, v in fields.items()}
    metadata["header"] = "\n".join(block.header)
    metadata["column_labels"] = " ".join(names)
    if block.labels is None:
        sel.columns["labels"] = "none found (generic col1..colN)"
    element = fields.get("element.symbol") or fields.get("element")
    edge = fields.get("element.edge") or fields.get("edge")
    return [assemble_spectrum(path=path, sha256=sha256, fmt="ascii", energy=sel.energy, mu=sel.mu,
                              reference=sel.reference, columns=sel.columns, metadata=metadata,
                              element=element, edge=edge, notes=sel.warnings)]
