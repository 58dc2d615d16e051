"""What kind of axis a text file holds, from its header words or, failing that, its numbers.

Used by the technique-neutral text reader and by the sniffers of technique readers, so
that they agree. Words in the header or the column labels decide first (``cm-1``,
``Raman``, ``##RRUFFID`` -> Raman shift; ``Binding Energy``, ``BE_``, a core level such as
``Ni2p`` or ``Na 1s`` -> binding energy; ``E_kin``, ``kinetic`` -> kinetic energy;
``i0``, ``itrans``, ``mu`` -> photon energy). Without words the numbers decide, and the
result is flagged as a guess:

- ascending, from >= 1000 to <= 100000 -> photon energy in eV (hard X-ray absorption);
- ascending, below 200 with steps < 0.01 -> photon energy in keV;
- descending with steps <= 0.5 and a span <= 200 -> binding energy (an XPS region,
  exported from high to low binding energy as XPS software does);
- any other range within -200..5000 -> Raman shift (cm-1), e.g. descending Renishaw
  exports, anti-Stokes starts, 100-3500 cm-1 scans;
- anything else -> unknown.

Pipelines never rely on this: ``naheo-spec xps`` and ``naheo-spec raman`` read their
inputs as their own technique.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from naheo_spec.model.axis import AxisKind

__all__ = ["AxisGuess", "infer_axis_kind", "CORE_LEVEL"]

#: A core level name: element symbol followed by a level (``Ni2p``, ``Na 1s``, ``Mn 2p3/2``).
CORE_LEVEL = re.compile(r"\b([A-Z][a-z]?)\s?([1-5][spdf])(\s?[13579]/2)?\b")

_RAMAN = re.compile(r"raman|cm-1|cm\^-1|cm\^\{-1\}|1/cm|cm-\u00b9|cm\u207b\u00b9|wavenumber|"
                    r"rruffid|xunits\s+1/cm|laser", re.I)
_WAVELENGTH = re.compile(r"wavelength|\(nm\)|\bnm\b", re.I)
_KINETIC = re.compile(r"kinetic|e_kin|\bke\b|ekin", re.I)
_BINDING = re.compile(r"binding|\bbe_|e_bin|excitation energy|characteristic energy|"
                      r"\bcps\b|counts per second|\bxps\b|vamas|casaxps|avantage|prodigy", re.I)
_XAS = re.compile(r"\b(i0|io|itrans|it|i1|ifluor|if|irefer|ir|mu|mutrans|xmu|mufluor|murefer|"
                  r"xdi)\b|absorption", re.I)


@dataclass(frozen=True)
class AxisGuess:
    """Result of :func:`infer_axis_kind`.

    Attributes
    ----------
    kind : AxisKind
        The kind found (UNKNOWN when nothing fits).
    unit : str
        Its unit as given in the file (``"keV"`` for a photon-energy axis in keV).
    from_words : bool
        True when header words decided, False when only the numbers did (a guess).
    reason : str
        What decided, for messages.
    """

    kind: AxisKind
    unit: str
    from_words: bool
    reason: str


def _from_words(text: str, label_text: str) -> tuple[AxisKind, str] | None:
    if _RAMAN.search(text):
        return AxisKind.RAMAN_SHIFT, "words for a Raman shift (cm-1, Raman, laser...)"
    if _KINETIC.search(text):
        return AxisKind.KINETIC_ENERGY, "words for a kinetic-energy axis"
    if _BINDING.search(text) or CORE_LEVEL.search(text):
        return AxisKind.BINDING_ENERGY, "words for an XPS binding-energy axis or a core level"
    if _XAS.search(label_text) or "XDI/" in text:   # column names only: "it"/"if" are words
        return AxisKind.PHOTON_ENERGY, "X-ray absorption column names (i0, itrans, mu...)"
    if _WAVELENGTH.search(text):
        return AxisKind.WAVELENGTH, "words for a wavelength axis"
    return None


def infer_axis_kind(x, *, header: str = "", labels=None) -> AxisGuess:
    """Kind of the axis ``x`` from header words, else from the numbers (see module doc).

    Parameters
    ----------
    x : array-like, shape (M,)
        The first column as read (any order).
    header : str
        Header lines of the file.
    labels : sequence of str, optional
        Column labels.

    Returns
    -------
    AxisGuess

    Examples
    --------
    >>> infer_axis_kind([890.0, 889.9, 889.8], header="Ni2p NiO").kind.value
    'binding_energy'
    >>> g = infer_axis_kind(np.linspace(1318.9, 59.4, 1015))
    >>> g.kind.value, g.from_words
    ('raman_shift', False)
    """
    label_text = " ".join(str(s) for s in (labels or []))
    found = _from_words(f"{header or ''} {label_text}", label_text)
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    kev = x.size > 1 and np.nanmax(np.abs(x)) < 200 and np.median(np.abs(np.diff(x))) < 0.01
    if found is not None:
        kind, why = found
        unit = "keV" if kind is AxisKind.PHOTON_ENERGY and kev else kind.default_unit
        return AxisGuess(kind, unit, True, why)
    if x.size < 2:
        return AxisGuess(AxisKind.UNKNOWN, "", False, "too few values")
    d = np.diff(x)
    step = float(np.median(np.abs(d)))
    ascending = np.mean(d > 0) > 0.9
    descending = np.mean(d < 0) > 0.9
    lo, hi = float(x.min()), float(x.max())
    if ascending and lo >= 1000.0 and hi <= 100000.0:
        return AxisGuess(AxisKind.PHOTON_ENERGY, "eV", False,
                         f"ascending {lo:.0f}..{hi:.0f}: X-ray photon energies in eV")
    if ascending and kev:
        return AxisGuess(AxisKind.PHOTON_ENERGY, "keV", False,
                         f"ascending {lo:.4g}..{hi:.4g} in steps < 0.01: photon energies in keV")
    if descending and step <= 0.5 and hi - lo <= 200.0 and lo >= -10.0:
        return AxisGuess(AxisKind.BINDING_ENERGY, "eV", False,
                         f"descending {hi:.1f}..{lo:.1f} in {step:.3g} steps: an XPS region")
    if -200.0 <= lo and hi <= 5000.0:
        return AxisGuess(AxisKind.RAMAN_SHIFT, "1/cm", False,
                         f"{lo:.0f}..{hi:.0f} in {step:.3g} steps: a Raman shift range")
    return AxisGuess(AxisKind.UNKNOWN, "", False, f"range {lo:.4g}..{hi:.4g} fits no technique")
