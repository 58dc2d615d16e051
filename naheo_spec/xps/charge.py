"""Charge referencing: one binding-energy shift per sample, from C 1s, lattice O 1s or given.

- ``"c1s"``: the C 1s block of the same sample is fitted with the ``c1s`` model, which keeps
  the electrode's own carbons apart from adventitious carbon (sp2 carbon black near 284.4 eV,
  PVDF CH2/CF2 near 286.3/290.8 eV, carbonate); the adventitious C-C line is moved to
  284.8 eV;
- ``"o1s"``: the lattice-oxide O 1s component is moved to 529.6 eV (air-exposed Na layered
  oxides have carbonate-rich C 1s; docs/uncertainties.md, XPS);
- a number: that shift (eV) is applied as given.

The shift's uncertainty (default 0.3 eV for either reference, Biesinger's ±0.2-0.3 eV;
Greczynski and Hultman 2020 on why adventitious carbon is unreliable) travels with it and
enters every result that depends on an absolute binding energy
(:mod:`naheo_spec.xps.valence`, ``charge_reference`` term).

References
----------
G. Greczynski and L. Hultman, Prog. Mater. Sci. 107, 100591 (2020),
doi:10.1016/j.pmatsci.2019.100591; M. C. Biesinger, Appl. Surf. Sci. 605, 154752 (2022).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from naheo_spec.diagnostics import WarningCode, WarningRecord, warnings_json
from naheo_spec.errors import InputError, ProcessingError, QualityWarning

__all__ = ["ChargeReference", "charge_reference", "NOT_REFERENCED", "REFERENCE_AT_BOUND",
           "NO_REFERENCE_LINE", "find_sample_block", "parse_charge_ref"]

NOT_REFERENCED = WarningCode(
    "xps.charge.not_referenced", QualityWarning,
    "No charge reference was applied: binding energies are as measured, and fractions that "
    "rest on absolute positions are uncertain by the sample's unknown charging.")

REFERENCE_AT_BOUND = WarningCode(
    "xps.charge.at_bound", QualityWarning,
    "A position or width of the charge-reference fit (C 1s or O 1s) ended at its bound: the "
    "reference line's position is not determined by the data and the shift is unreliable; "
    "give the shift (--charge-ref SHIFT) or use the other reference.")

NO_REFERENCE_LINE = WarningCode(
    "xps.charge.no_reference_line", QualityWarning,
    "The charge-reference line (adventitious C-C or lattice O) has no significant area "
    "(not above 3 sigma): its fitted position, hence the shift, is not determined.")


@dataclass(frozen=True)
class ChargeReference:
    """A binding-energy shift and where it came from.

    Attributes
    ----------
    method : str
        ``"c1s"``, ``"o1s"``, ``"given"`` or ``"none"``.
    shift_eV : float
        Added to every binding energy of the sample.
    uncertainty_eV : float
        One-sigma uncertainty of the shift (eV).
    reference_block : str or None
        ``file:block`` of the C 1s / O 1s block used.
    measured_eV, target_eV : float or None
        Fitted position of the reference line before the shift, and where it is put (eV).
    reliable : bool
        False when the reference fit says the shift is not determined (a position or width
        at its bound, or no significant reference line: codes ``xps.charge.at_bound``,
        ``xps.charge.no_reference_line``). The shift is still applied; its
        ``uncertainty_eV`` does not cover such a failure.
    warnings : tuple of WarningRecord
        Why it is unreliable (and any other note of the reference fit); every result that
        uses this reference carries them.
    """

    method: str
    shift_eV: float
    uncertainty_eV: float
    reference_block: str | None = None
    measured_eV: float | None = None
    target_eV: float | None = None
    reliable: bool = True
    warnings: tuple[WarningRecord, ...] = ()

    def to_dict(self) -> dict:
        """JSON-safe description: method, shift and uncertainty (eV), reference block,
        measured and target positions (eV), ``reliable`` and the warnings (code, message)."""
        return {"method": self.method, "shift_eV": self.shift_eV,
                "uncertainty_eV": self.uncertainty_eV, "reference_block": self.reference_block,
                "measured_eV": self.measured_eV, "target_eV": self.target_eV,
                "reliable": self.reliable, "warnings": warnings_json(self.warnings)}


def parse_charge_ref(text: str | float | None):
    """``"c1s"``, ``"o1s"``, ``"none"`` or a number (eV) from a CLI value.

    Examples
    --------
    >>> parse_charge_ref("C1s"), parse_charge_ref("-0.45"), parse_charge_ref(None)
    ('c1s', -0.45, 'none')
    """
    if text is None:
        return "none"
    if isinstance(text, (int, float)):
        return float(text)
    t = str(text).strip().lower().replace(" ", "")
    if t in ("c1s", "o1s", "none"):
        return t
    try:
        return float(t)
    except ValueError:
        raise InputError(f"charge_ref={text!r}: expected 'c1s', 'o1s', 'none' or a shift in eV",
                         parameter="charge_ref") from None


def find_sample_block(collection, sample: str | None, region: str):
    """The block of ``collection`` with the same sample and ``region`` (``"C 1s"``), or None."""
    from naheo_spec.xps.spectra import region_name

    want = region_name(region)
    hits = [b for b in collection
            if b.acquisition is not None and region_name(b.acquisition.region) == want
            and (sample is None or b.acquisition.sample == sample)
            and not b.metadata.get("casa_lineshape")]
    return hits[0] if hits else None


def charge_reference(method, *, collection=None, sample: str | None = None,
                     uncertainty_eV: float | None = None) -> ChargeReference:
    """Resolve a charge reference for one sample.

    Parameters
    ----------
    method : str or float
        ``"c1s"``, ``"o1s"``, ``"none"`` or a shift (eV).
    collection : SpectrumCollection, optional
        The file's blocks (needed for ``"c1s"``/``"o1s"``).
    sample : str, optional
        Sample name whose C 1s / O 1s block is used.
    uncertainty_eV : float, optional
        Default None: 0.3 eV for C 1s and O 1s (reference_spectra/xps/binding_energies.toml),
        0.3 eV for a given shift, 0 for ``"none"``.

    Returns
    -------
    ChargeReference
        ``reliable`` is False, with a coded warning, when a fitted position or width of the
        reference fit ends at its bound (``xps.charge.at_bound``; parameters that only shape
        components whose area is within one sigma of zero are not counted -- the data do
        not constrain them -- but the reference line's own always are) or when the
        reference line's area is not above 3 sigma (``xps.charge.no_reference_line``).

    Raises
    ------
    ProcessingError
        The sample has no C 1s / O 1s block in the file, or its fit fails.

    Examples
    --------
    >>> charge_reference(0.42).shift_eV, charge_reference("none").method
    (0.42, 'none')
    """
    from naheo_spec.xps.builtin import builtin_model, reference_table

    m = parse_charge_ref(method)
    table = reference_table("binding_energies")["charge_reference"]
    if m == "none":
        return ChargeReference("none", 0.0, 0.0)
    if isinstance(m, float):
        u = table["adventitious_c1s_uncertainty_eV"] if uncertainty_eV is None else uncertainty_eV
        return ChargeReference("given", m, float(u))
    region, model_name, comp, target, ukey = {
        "c1s": ("C 1s", "c1s", "C-C adventitious", table["adventitious_c1s_eV"],
                "adventitious_c1s_uncertainty_eV"),
        "o1s": ("O 1s", "o1s", "lattice O", table["lattice_o1s_eV"],
                "lattice_o1s_uncertainty_eV")}[m]
    if collection is None:
        raise InputError(f"charge_ref={m!r} needs the file's blocks", parameter="charge_ref")
    block = find_sample_block(collection, sample, region)
    if block is None:
        raise ProcessingError(f"{collection.path}: no {region} block for sample {sample!r}: "
                              f"cannot charge-reference with {m}; pass --charge-ref with a "
                              "shift in eV or 'none'")
    from naheo_spec.xps.fit import fit_model

    model = builtin_model(model_name, shift_window_eV=3.0)
    try:
        fit = fit_model(block.axis, block.signal, model, sigma=block.sigma,
                        background="shirley", name=block.name)
    except (ProcessingError, InputError) as exc:
        raise ProcessingError(f"{block.name}: {region} fit for the charge reference failed: "
                              f"{exc}") from exc
    k = model.names.index(comp)
    if fit.areas[k] <= 0:
        raise ProcessingError(f"{block.name}: no {comp} intensity found in {region}: cannot "
                              "charge-reference")
    measured = float(fit.centers_eV[k])
    u = float(table[ukey]) if uncertainty_eV is None else float(uncertainty_eV)
    u = float(np.hypot(u, fit.centers_err_eV[k]))
    notes = _reference_fit_notes(model, fit, k, block.name, region, measured)
    return ChargeReference(m, float(target) - measured, u, block.name, measured, float(target),
                           reliable=not notes, warnings=tuple(notes))


def _reference_fit_notes(model, fit, k: int, block: str, region: str,
                         measured_eV: float) -> list[WarningRecord]:
    """Coded records for a reference fit whose positions/widths end at a bound, or whose
    reference component ``k`` has no significant area (see :func:`charge_reference`)."""
    cm = model.compile()
    # a component whose area is within one sigma of zero is indistinguishable from absent:
    # the data do not constrain its position or width, so where they stop says nothing
    present = fit.areas > np.maximum(fit.areas_err, 1e-12 * max(float(np.sum(fit.areas)), 1.0))
    present[k] = True                       # the reference line counts even when empty
    hits = []
    for name in fit.at_bound:
        kind = name.rsplit(".", 1)[-1]
        if kind not in ("center", "fwhm") or name not in cm.names:
            continue
        j = cm.names.index(name)
        moved = (cm.Cm if kind == "center" else cm.Fm)[:, j] != 0
        if np.any(moved & present):
            hits.append(f"{name} = {fit.free_values[j]:.3f}")
    ref = model.components[k].name
    notes = []
    if hits:
        notes.append(REFERENCE_AT_BOUND.record(
            f"{block}: {region} charge reference unreliable: {', '.join(hits)} at its bound "
            f"({ref} fitted at {measured_eV:.2f} eV)", parameters=", ".join(hits),
            block=block, measured_eV=measured_eV))
    area, err = float(fit.areas[k]), float(fit.areas_err[k])
    if not area > 3.0 * err:
        notes.append(NO_REFERENCE_LINE.record(
            f"{block}: {region} charge reference unreliable: the {ref} line has area "
            f"{area:.3g} +- {err:.3g} (not above 3 sigma)", area=area, area_err=err,
            block=block))
    return notes
