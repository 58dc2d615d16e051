"""Recognise metal-foil scans among XAS spectra.

A metal foil has its first inflection point (maximum of the derivative) at the tabulated
edge energy and no white line; a transition-metal oxide has its main edge several eV
higher and a white line. Both EXAFS (which chooses metal FT windows for a foil) and XANES
(which refuses to read an oxidation state off an oxide calibration line for a foil) use
this one rule.

The thresholds were measured on the shared real data (project XAS notes;
tests/xas/test_exafs_pipeline.py, tests/xas/test_foil_detection.py): foils at
-6.5..0 eV from the tabulated edge (uncalibrated monochromators sit a few eV low:
XAS Data Library fe.060 at -6.5 eV) with a normalized maximum of 1.03-1.08 over
E0..E0+60 eV; oxides at +4..+19 eV and >= 1.16.
"""

from __future__ import annotations

import numpy as np

from naheo_spec.errors import InputError

__all__ = ["FOIL_E0_WINDOW_EV", "WHITE_LINE_MAX", "WHITE_LINE_SPAN_EV", "metal_foil_rows"]

#: A foil: max-derivative E0 minus the tabulated edge energy within this window (eV).
FOIL_E0_WINDOW_EV = (-8.0, 3.0)
#: A foil: the normalized absorption stays below this over E0..E0 + WHITE_LINE_SPAN_EV.
WHITE_LINE_MAX = 1.12
#: Span above E0 (eV) searched for a white line.
WHITE_LINE_SPAN_EV = 60.0


def metal_foil_rows(energy, norm, e0_eV, *, element: str | None, edge: str | None = "K",
                    valid=None) -> np.ndarray:
    """Which rows of a normalized stack look like a metal foil.

    Parameters
    ----------
    energy : array-like, shape (M,)
        Common energy grid (eV).
    norm : array-like, shape (N, M)
        Normalized absorption (edge step 1).
    e0_eV : array-like, shape (N,)
        Edge energy of each row on the same energy scale as the tabulated edge (eV),
        located by the **maximum of the derivative** (a half-height E0 of a foil lies
        5-8 eV above its first inflection point and would not match).
    element, edge : str
        Absorber and edge; without an element no row is a foil.
    valid : array-like of bool, shape (N,), optional
        Rows to consider; default all.

    Returns
    -------
    ndarray of bool, shape (N,)
        True where E0 - E_tab lies in :data:`FOIL_E0_WINDOW_EV` and the normalized
        absorption stays below :data:`WHITE_LINE_MAX` over E0..E0 + 60 eV.

    Notes
    -----
    Tabulated edge energies from xraydb (Elam, Ravel and Sieber, Radiat. Phys. Chem. 63,
    121 (2002)).

    Examples
    --------
    >>> import numpy as np
    >>> e = np.linspace(7050, 7300, 501)
    >>> foil = 1 / (1 + np.exp(-(e - 7112.0) / 1.5))       # step at the Fe K edge
    >>> oxide = 1.3 / (1 + np.exp(-(e - 7124.0) / 1.5))     # 12 eV higher, white line
    >>> metal_foil_rows(e, np.vstack([foil, oxide]), np.array([7112.0, 7124.0]),
    ...                 element="Fe").tolist()
    [True, False]
    """
    from naheo_spec.xas.edges import tabulated_edge_energy

    energy = np.asarray(energy, dtype=float)
    norm = np.atleast_2d(np.asarray(norm, dtype=float))
    e0 = np.atleast_1d(np.asarray(e0_eV, dtype=float))
    out = np.zeros(e0.size, dtype=bool)
    if not element:
        return out
    try:
        tab = tabulated_edge_energy(element, edge or "K")
    except InputError:
        return out
    ok = np.isfinite(e0) if valid is None else (np.asarray(valid, dtype=bool) & np.isfinite(e0))
    with np.errstate(invalid="ignore"):
        near = ok & (e0 - tab >= FOIL_E0_WINDOW_EV[0]) & (e0 - tab <= FOIL_E0_WINDOW_EV[1])
    for i in np.flatnonzero(near):
        sel = (energy > e0[i]) & (energy < e0[i] + WHITE_LINE_SPAN_EV)
        vals = norm[i, sel]
        vals = vals[np.isfinite(vals)]
        out[i] = vals.size > 0 and float(vals.max()) < WHITE_LINE_MAX
    return out
