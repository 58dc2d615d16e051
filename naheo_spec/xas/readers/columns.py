"""XAS column text files: which columns are energy, μ and the reference foil.

The numeric block and its labels are found by :func:`naheo_spec.io.text.parse_block`;
this module decides what they mean for X-ray absorption: the energy column (eV, or keV
converted), μ from a ``mu``/``mutrans``/``xmu`` column or an expression over the channels
(``ln(i0/it)``, ``if/i0``), and the simultaneous reference (``murefer`` or ``ln(it/ir)``).
Element and edge come from the header or are guessed from the edge position.

It also holds the pieces shared with the XDI and Athena readers: :func:`select_signals`
and :func:`assemble_spectrum`.

References
----------
xraylarch ``read_ascii`` (labels from the last header line),
https://xraypy.github.io/xraylarch/xafs/ ; XDI specification,
https://github.com/XraySpectroscopy/XAS-Data-Interchange
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from naheo_spec.diagnostics import WarningCode, WarningRecord
from naheo_spec.errors import (
    DefaultAdjustedWarning,
    QualityWarning,
    ReadError,
    RepairWarning,
)
from naheo_spec.io.axis_hints import infer_axis_kind
from naheo_spec.io.expressions import evaluate_expression
from naheo_spec.io.registry import FormatSpec
from naheo_spec.io.repair import repair_axis
from naheo_spec.io.text import (
    column_names,
    parse_block,
    parse_header_fields,
    peek_block,
)
from naheo_spec.model import AxisKind, SourceInfo, Spectrum, XasAcquisition
from naheo_spec.model.collection import listing
from naheo_spec.xas.edges import (
    guess_edge,
    normalize_edge,
    normalize_element,
)

#: An XAS energy axis whose largest value is below this many "eV" is taken to be in keV:
#: the hard X-ray edges handled here lie between ~1 and ~100 keV.
KEV_DETECTION_LIMIT = 200.0

MU_GUESSED = WarningCode("xas.read.mu_guessed", DefaultAdjustedWarning,
                         "No mu expression was given; mu was chosen from the column names.")
FLUORESCENCE_IGNORED = WarningCode(
    "xas.read.fluorescence_ignored", DefaultAdjustedWarning,
    "A fluorescence channel exists but transmission mu was used; pass mu='if/i0' to use it.")
EXPRESSION_NONFINITE = WarningCode(
    "xas.read.expression_nonfinite", DefaultAdjustedWarning,
    "A computed mu or reference is not finite on some rows (log of a non-positive value...).")
REFERENCE_DROPPED = WarningCode(
    "xas.read.reference_dropped", QualityWarning,
    "The reference channel is not finite on many rows and was dropped.")
KEV_CONVERTED = WarningCode("xas.read.kev_converted", RepairWarning,
                            "The energy axis looked like keV and was converted to eV.")
HEADER_VALUE_IGNORED = WarningCode(
    "xas.read.header_value_ignored", DefaultAdjustedWarning,
    "The header's element or edge was not recognised and was ignored.")
EDGE_GUESSED = WarningCode("xas.read.edge_guessed", DefaultAdjustedWarning,
                           "Element/edge were not in the header and were guessed from the "
                           "edge position.")
EDGE_UNKNOWN = WarningCode("xas.read.edge_unknown", QualityWarning,
                           "Element/edge are not in the header and no tabulated edge fits.")
REFERENCE_NOT_FOIL = WarningCode(
    "xas.read.reference_not_foil", QualityWarning,
    "The reference channel's edge is far from the tabulated edge: probably not a metal foil.")

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

@dataclass
class Selection:
    """Arrays chosen from the columns, and how."""

    energy: np.ndarray
    mu: np.ndarray
    reference: np.ndarray | None
    columns: dict[str, str]
    warnings: list[WarningRecord]


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
    raise ReadError(path, f"cannot tell which column holds mu (columns: {listing(list(cols))}); "
                          "pass an expression, e.g. mu='ln(i0/it)' (transmission), mu='if/i0' "
                          "(fluorescence) or mu='<column name>'", parameter="mu")


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
            msgs.append(MU_GUESSED.record(
                f"{path}: mu not specified; used mu = {used['mu']} (columns: "
                f"{listing(list(cols))}); pass mu=... to choose another", mu=used["mu"]))
        fl = _first(IF_NAMES, cols)
        if fl and fl not in used["mu"]:
            msgs.append(FLUORESCENCE_IGNORED.record(
                f"{path}: fluorescence column {fl!r} ignored (mu = {used['mu']}); pass "
                f"mu='{fl}/{_first(I0_NAMES, cols) or 'i0'}' to use it"))
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
            msgs.append(EXPRESSION_NONFINITE.record(
                f"{path}: {role} = {used[role]} is not finite on {nbad} row(s) "
                "(log of a non-positive value or division by zero)", rows=nbad))
    return Selection(energy=cols[ename], mu=mu_arr, reference=ref_arr, columns=used, warnings=msgs)




# ---------------------------------------------------------------- the Spectrum

def _screen_reference(energy, mu, ref, path, columns, msgs):
    """Drop a reference that would cost the sample many rows."""
    if ref is None:
        return None
    bad = ~np.isfinite(ref) & np.isfinite(mu) & np.isfinite(energy)
    if bad.sum() > MAX_BAD_REFERENCE_FRACTION * ref.size:
        msgs.append(REFERENCE_DROPPED.warn(
            f"{path}: reference {columns.get('reference')} is not finite on {int(bad.sum())} of "
            f"{ref.size} rows; reference dropped", stacklevel=4))
        columns.pop("reference", None)
        return None
    return ref


def kev_to_ev(energy: np.ndarray, path) -> tuple[np.ndarray, WarningRecord | None]:
    """Convert an energy axis that looks like keV (max below 200) to eV, with a warning."""
    finite = energy[np.isfinite(energy)]
    if finite.size and np.max(np.abs(finite)) < KEV_DETECTION_LIMIT:
        rec = KEV_CONVERTED.warn(f"{path}: energy looks like keV (max {finite.max():.4g}); "
                                 "converted to eV", stacklevel=3)
        return energy * 1000.0, rec
    return energy, None


def fill_edge(energy, mu, element, edge, path) -> tuple[str | None, str | None,
                                                      list[WarningRecord], float | None]:
    """Element and edge from the header values, completed from the edge position when
    missing (a coded warning says so). Returns (element, edge, records, guessed E0 or None).
    """
    msgs: list[WarningRecord] = []
    el, ed = normalize_element(element), normalize_edge(edge)
    for given, found, what in ((element, el, "element"), (edge, ed, "edge")):
        if given is not None and found is None:
            msgs.append(HEADER_VALUE_IGNORED.warn(
                f"{path}: header {what} {str(given).strip()!r} not recognised; ignored",
                stacklevel=4))
    if el is not None and ed is not None:
        return el, ed, msgs, None
    gel, ged, e0, msg = guess_edge(energy, mu, element=el, edge=ed)
    code = EDGE_GUESSED if gel is not None and ged is not None else EDGE_UNKNOWN
    msgs.append(code.warn(f"{path}: {msg}", stacklevel=4, e0_eV=e0))
    return gel, ged, msgs, e0


def assemble_spectrum(*, path, sha256: str | None, fmt: str, energy, mu, reference=None,
                      columns: dict[str, str] | None = None, metadata: dict[str, Any] | None = None,
                      element=None, edge=None, scan: str | None = None,
                      notes: list[WarningRecord] | None = None, check_reference: bool = True,
                      header: str | None = None, aliases: tuple[str, ...] = (),
                      acquisition: XasAcquisition | None = None) -> Spectrum:
    """Repair the axis, fill element/edge, check the reference and build the Spectrum.

    Parameters
    ----------
    path, sha256, fmt, scan : str
        Source description (see :class:`~naheo_spec.model.SourceInfo`).
    energy, mu, reference : ndarray of shape (M,)
        As read (energy in eV or keV, any order).
    columns : dict, optional
        Which columns/expressions were used.
    metadata : dict, optional
        Header fields.
    element, edge : str, optional
        From the header; guessed from the edge position when missing.
    notes : list of WarningRecord, optional
        Records already emitted by the caller, kept in ``warnings``.
    check_reference : bool
        Compare the reference's edge with the tabulated one. Default is True.
    header : str, optional
        The file's header, verbatim.
    aliases : tuple of str
        Other names of the block (see :class:`~naheo_spec.model.SourceInfo`).
    acquisition : XasAcquisition, optional
        Measurement settings read from the header.

    Returns
    -------
    Spectrum
    """
    columns = dict(columns or {})
    metadata = dict(metadata or {})
    msgs: list[WarningRecord] = list(notes or [])
    energy = np.asarray(energy, dtype=float)
    mu = np.asarray(mu, dtype=float)
    ref = _screen_reference(energy, mu, None if reference is None else np.asarray(reference, float),
                            path, columns, msgs)
    energy, kev = kev_to_ev(energy, path)
    if kev is not None:
        msgs.append(kev)
    cols = {"mu": mu} if ref is None else {"mu": mu, "reference": ref}
    energy, cols, repairs = repair_axis(energy, cols, path=path)
    msgs += repairs
    el, ed, notes, e0 = fill_edge(energy, cols["mu"], element, edge, path)
    msgs += notes
    if e0 is not None:
        metadata["edge_guess_e0_eV"] = e0
    ref = cols.get("reference")
    if ref is not None and check_reference and el and ed:
        msg = reference_note(energy, ref, el, ed)
        if msg:
            msgs.append(REFERENCE_NOT_FOIL.warn(f"{path}: {msg}", stacklevel=3))
    return Spectrum(energy, cols["mu"], axis_kind=AxisKind.PHOTON_ENERGY, axis_unit="eV",
                    signal_label="mu", reference=ref, element=el, edge=ed,
                    acquisition=acquisition, metadata=metadata, header=header,
                    source=SourceInfo(path=str(path), sha256=sha256, format=fmt, scan=scan,
                                      columns=columns, aliases=aliases),
                    warnings=tuple(dict.fromkeys(msgs)))


def reference_note(energy, reference, element: str, edge: str) -> str | None:
    """Why a file's reference channel cannot calibrate the energy (None when it can).

    The same rule as the XANES pipeline's foil calibration
    (:func:`naheo_spec.xas.energy_calibration.foil_rows`, default 5 eV limit), so that
    ``naheo-spec info`` and ``naheo-spec xanes`` judge a channel alike.
    """
    from naheo_spec.errors import InputError
    from naheo_spec.xas.energy_calibration import FEW, foil_rows

    try:
        fr = foil_rows(energy, np.asarray(reference, dtype=float)[None, :], element=element,
                       edge=edge)
    except InputError:                       # no tabulated edge for this element/edge
        return None
    if fr.accepted[0] or fr.status[0] == FEW:
        return None
    return (f"reference channel: {fr.problem(0)}; do not use it for energy calibration "
            "without checking")


def read_columns(probe, *, mu: str | None = None, ref: str | None = None) -> list[Spectrum]:
    """Read an XAS column text file.

    Parameters
    ----------
    probe : Probe
        The file.
    mu, ref : str, optional
        Expressions for μ and the reference; see :func:`select_signals`.

    Returns
    -------
    list of Spectrum
        One spectrum.

    Raises
    ------
    ReadError
        As :func:`naheo_spec.io.text.parse_block` and :func:`select_signals`.
    """
    path = probe.path
    lines = probe.text.splitlines()
    block = parse_block(lines, path)
    names = column_names(block.labels, block.data.shape[1])
    cols = {n: block.data[:, i] for i, n in enumerate(names)}
    sel = select_signals(cols, mu=mu, ref=ref, path=path, explain_guess=True)
    for rec in sel.warnings:
        rec.emit(stacklevel=3)
    fields = parse_header_fields(block.header)
    metadata: dict[str, Any] = {k: v for k, v in fields.items()}
    metadata["column_labels"] = " ".join(names)
    if block.labels is None:
        sel.columns["labels"] = "none found (generic col1..colN)"
    element = fields.get("element.symbol") or fields.get("element")
    edge = fields.get("element.edge") or fields.get("edge")
    return [assemble_spectrum(path=path, sha256=probe.sha256, fmt="xas-columns",
                              energy=sel.energy, mu=sel.mu, reference=sel.reference,
                              columns=sel.columns, metadata=metadata, element=element, edge=edge,
                              notes=sel.warnings, header="\n".join(block.header))]


def sniff_columns(probe) -> float:
    """0.7 when the head of a text file looks like XAS columns by name, 0.55 by numbers
    alone (ascending photon energies), else 0.02."""
    peek = peek_block(probe.head_text)
    if peek is None or peek.ncols < 2:
        return 0.0
    guess = infer_axis_kind(peek.x, header=peek.header, labels=peek.labels)
    if guess.kind is not AxisKind.PHOTON_ENERGY:
        return 0.02
    return 0.7 if guess.from_words else 0.55


FORMAT = FormatSpec(
    name="xas-columns", technique="xas",
    description="column text (energy, i0/it/if/ir or mu; free or #-comment header) for X-ray "
                "absorption",
    sniff=sniff_columns, read=read_columns, extensions=("dat", "txt", "xmu", "asc", "csv"),
    options=("mu", "ref"), aliases=("ascii", "columns", "column"))
