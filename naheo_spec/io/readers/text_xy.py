"""Plain text of columns for any technique: the first column is the axis, the second the signal.

The axis kind comes from the header words or, failing them, from the numbers
(:func:`naheo_spec.io.axis_hints.infer_axis_kind`); a kind decided by numbers alone is
reported with the coded warning ``io.axis.kind_guessed`` and can be forced with
``axis_kind=`` (``--axis-kind``). Files whose axis runs downwards (XPS binding energy,
Renishaw Raman exports) are stored ascending without a warning: that order is natural for
them. Further columns become named channels (``Background_C 1s``...). The header is kept
verbatim and its ``key: value`` / ``key=value`` lines are mapped to ``metadata``.

X-ray absorption column files are read by the ``xas-columns`` format (μ expressions,
reference foil, element/edge), which claims them more confidently; files with more than
:data:`MAX_COLUMNS` columns (matrix layouts of series and maps) are left to the
technique readers.
"""
from __future__ import annotations

from naheo_spec.diagnostics import WarningCode
from naheo_spec.errors import DefaultAdjustedWarning, ReadError, RepairWarning
from naheo_spec.io.axis_hints import infer_axis_kind
from naheo_spec.io.registry import FormatSpec
from naheo_spec.io.repair import repair_axis
from naheo_spec.io.text import (
    column_names,
    parse_block,
    parse_header_fields,
    peek_block,
)
from naheo_spec.model import AxisKind, SourceInfo, Spectrum
from naheo_spec.model.axis import axis_kind as coerce_axis_kind

__all__ = ["FORMAT", "read_text_xy", "KIND_GUESSED", "KEV_CONVERTED", "MAX_COLUMNS"]

#: Files with more columns than this are matrices (series, maps), not x-y data.
MAX_COLUMNS = 12

KEV_CONVERTED = WarningCode(
    "io.axis.kev_converted", RepairWarning,
    "The photon-energy axis looked like keV and was converted to eV.")
KIND_GUESSED = WarningCode(
    "io.axis.kind_guessed", DefaultAdjustedWarning,
    "The axis kind was inferred from the numbers alone (no header words); force it with "
    "axis_kind= / --axis-kind if it is wrong.")

_TECHNIQUE_KIND = {"xps": AxisKind.BINDING_ENERGY, "raman": AxisKind.RAMAN_SHIFT,
                   "xas": AxisKind.PHOTON_ENERGY}
_SIGNAL = {AxisKind.BINDING_ENERGY: ("intensity", ""), AxisKind.KINETIC_ENERGY: ("intensity", ""),
           AxisKind.RAMAN_SHIFT: ("intensity", ""), AxisKind.WAVELENGTH: ("intensity", ""),
           AxisKind.PHOTON_ENERGY: ("mu", ""), AxisKind.UNKNOWN: ("signal", "")}


def read_text_xy(probe, *, axis_kind=None, technique: str | None = None) -> list[Spectrum]:
    """Read an x-y text file.

    Parameters
    ----------
    probe : Probe
        The file.
    axis_kind : AxisKind or str, optional
        Force the axis kind. Default None: from the header words, else ``technique``'s
        natural kind, else inferred from the numbers (with a warning).
    technique : str, optional
        ``"xps"`` or ``"raman"`` when the caller knows (the pipelines do).

    Returns
    -------
    list of Spectrum
        One spectrum; extra columns as channels named by their labels.

    Raises
    ------
    ReadError
        No numeric block, a single column, ragged rows, or a matrix layout.
    """
    path = probe.path
    block = parse_block(probe.text.splitlines(), path)
    ncols = block.data.shape[1]
    if ncols > MAX_COLUMNS:
        raise ReadError(path, f"{ncols} columns: a matrix layout (series or map), not x-y data; "
                              "read it with its technique's reader (--format)")
    names = column_names(block.labels, ncols)
    header = "\n".join(block.header)
    notes = []
    if axis_kind is not None:
        kind, unit, why = coerce_axis_kind(axis_kind), None, "given"
    else:
        guess = infer_axis_kind(block.data[:, 0], header=header, labels=block.labels)
        kind, unit, why = guess.kind, guess.unit, guess.reason
        if not guess.from_words and technique in _TECHNIQUE_KIND:
            kind, unit, why = _TECHNIQUE_KIND[technique], None, f"read as {technique}"
        elif not guess.from_words:
            notes.append(KIND_GUESSED.warn(
                f"{path}: no header words tell what the axis is; {why}: read as "
                f"{kind.value} (pass axis_kind= / --axis-kind to change)", stacklevel=3,
                axis_kind=kind.value))
    x = block.data[:, 0]
    if unit == "keV":
        x = x * 1000.0
        notes.append(KEV_CONVERTED.warn(
            f"{path}: photon-energy axis {block.data[0, 0]:.6g}..{block.data[-1, 0]:.6g} read "
            "as keV and converted to eV (pass axis_kind= / --axis-kind to change)",
            stacklevel=3))
    cols = {n: block.data[:, i] for i, n in enumerate(names) if i > 0}
    natural = kind in (AxisKind.BINDING_ENERGY, AxisKind.RAMAN_SHIFT)
    x, cols, repairs = repair_axis(x, cols, path=path, axis_name=kind.value.replace("_", " "),
                                   descending_is_natural=natural)
    signal_name = names[1]
    label, sunit = _SIGNAL[kind]
    meta = dict(parse_header_fields(block.header))
    meta["column_labels"] = " ".join(names)
    meta["axis_kind_reason"] = why
    return [Spectrum(x, cols.pop(signal_name), axis_kind=kind, signal_label=label,
                     signal_unit=sunit, channels=cols, metadata=meta, header=header or None,
                     source=SourceInfo(path=path, sha256=probe.sha256, format="text-xy",
                                       columns={"axis": names[0], "signal": signal_name}),
                     warnings=tuple(notes + repairs))]


def _sniff(probe) -> float:
    peek = peek_block(probe.head_text)
    if peek is None or peek.ncols < 2 or peek.ncols > MAX_COLUMNS:
        return 0.0
    guess = infer_axis_kind(peek.x, header=peek.header, labels=peek.labels)
    if guess.kind is AxisKind.PHOTON_ENERGY:
        return 0.1           # the xas-columns format knows these better
    if guess.kind is AxisKind.UNKNOWN:
        return 0.15
    return 0.4 if guess.from_words else 0.3


FORMAT = FormatSpec(name="text-xy", technique="any",
                    description="plain x-y text (any delimiter): axis kind from the header words "
                                "or the numbers; extra columns as channels",
                    sniff=_sniff, read=read_text_xy, extensions=("txt", "csv", "xy", "dat"),
                    options=("axis_kind", "technique"), aliases=("xy", "text", "two-column"))
