"""Quantification: information depth (TPP-2M), atomic %, Li detection limit, Mn 3s check,
charge balance against a composition.

References
----------
.. [1] S. Tanuma, C. J. Powell, D. R. Penn, Surf. Interface Anal. 21, 165 (1994),
   doi:10.1002/sia.740210302 (TPP-2M).
.. [2] J. H. Scofield, J. Electron Spectrosc. Relat. Phenom. 8, 129 (1976) (cross-sections,
   reference_spectra/xps/sensitivity.toml).
.. [3] J. L. Junta and M. F. Hochella Jr., Geochim. Cosmochim. Acta 58, 4985 (1994) (Mn 3s).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from naheo_spec.chemistry import parse_formula  # noqa: F401  (re-exported: XPS callers)
from naheo_spec.diagnostics import WarningCode, WarningRecord
from naheo_spec.errors import InputError, QualityWarning

__all__ = ["tpp2m_imfp", "information_depth_nm", "parse_formula", "charge_balance",
           "region_intensity", "xps_composition", "QUANT_REL_ERR", "TRANSMISSION_EXPONENT",
           "ChargeBalance", "mn3s_check", "atomic_percent", "li_detection_limit",
           "CHARGE_UNBALANCED", "TARGET_CATHODE"]

CHARGE_UNBALANCED = WarningCode(
    "xps.charge_balance.unbalanced", QualityWarning,
    "The fitted valence fractions do not balance the composition's anion charge within "
    "their errors.")

#: Parameters for the TPP-2M IMFP of the target O3 cathode
#: Na0.95Li0.06Ni0.25Cu0.05Fe0.15Mn0.49O2 (approximate): density from the alpha-NaFeO2
#: prototype cell (a = 3.0187, c = 15.934 A, Z = 3; reference_spectra/structures) with the
#: target formula mass (107.4 g/mol) -> 4.26 g/cm3; valence electrons per formula unit with
#: TPP-2M's counting (Na 1, Li 1, Ni 10, Cu 11, Fe 8, Mn 7, O 6) -> 20.1; band gap unknown,
#: taken as 0 (approximate).
TARGET_CATHODE = {"density_g_cm3": 4.26, "valence_electrons": 20.1, "molar_mass": 107.4,
                  "band_gap_eV": 0.0, "approximate": True}


def tpp2m_imfp(kinetic_energy_eV, *, density_g_cm3: float, valence_electrons: float,
               molar_mass: float, band_gap_eV: float = 0.0):
    """Inelastic mean free path (nm) from the TPP-2M formula.

    Tanuma, Powell and Penn [1]_.

    ``lambda = E / (Ep^2 (beta ln(gamma E) - C/E + D/E^2))`` (A), with
    ``Ep = 28.8 sqrt(Nv rho / M)``, ``beta = -0.10 + 0.944 / sqrt(Ep^2 + Eg^2) + 0.069 rho^0.1``,
    ``gamma = 0.191 rho^-0.5``, ``C = 1.97 - 0.91 U``, ``D = 53.4 - 20.8 U``, ``U = Nv rho / M``.

    Examples
    --------
    >>> lam = tpp2m_imfp(632.0, **{k: v for k, v in TARGET_CATHODE.items() if k != "approximate"})
    >>> bool(1.0 < float(lam) < 2.0)
    True
    """
    e = np.asarray(kinetic_energy_eV, dtype=float)
    u = valence_electrons * density_g_cm3 / molar_mass
    ep = 28.8 * np.sqrt(u)
    beta = -0.10 + 0.944 / np.sqrt(ep ** 2 + band_gap_eV ** 2) + 0.069 * density_g_cm3 ** 0.1
    gamma = 0.191 / np.sqrt(density_g_cm3)
    c = 1.97 - 0.91 * u
    d = 53.4 - 20.8 * u
    lam_a = e / (ep ** 2 * (beta * np.log(gamma * e) - c / e + d / e ** 2))
    return lam_a / 10.0


def information_depth_nm(kinetic_energy_eV: float, *, emission_angle_deg: float = 0.0,
                         material: dict | None = None) -> float:
    """Depth (nm) from which 95 % of the signal comes: ``3 lambda cos(theta)``.

    Examples
    --------
    >>> round(information_depth_nm(632.0), 1)    # Ni 2p3/2 under Al Ka in the target cathode
    4.4
    """
    mat = dict(material or TARGET_CATHODE)
    mat.pop("approximate", None)
    return float(3.0 * tpp2m_imfp(kinetic_energy_eV, **mat)
                 * np.cos(np.radians(emission_angle_deg)))




#: Oxidation states taken as fixed when no fit of the element is given.
FIXED_STATES = {"Na": 1.0, "Li": 1.0, "K": 1.0, "Mg": 2.0, "O": -2.0, "F": -1.0}


@dataclass(frozen=True)
class ChargeBalance:
    """What the fitted oxidation states imply for the total cation charge.

    Attributes
    ----------
    composition : dict
    oxidation_states : dict of str to (float, float)
        Element -> (oxidation state, error) used.
    cation_charge, cation_charge_err : float
    anion_charge : float
        Magnitude of the anion charge (O 2-...).
    residual, residual_err : float
        cation - anion charge.
    needed_for : dict
        What the elements without a fit would need (e.g. the Ni/Mn mean that balances).
    warnings : tuple of WarningRecord
    """

    composition: dict[str, float]
    oxidation_states: dict[str, tuple[float, float]]
    cation_charge: float
    cation_charge_err: float
    anion_charge: float
    residual: float
    residual_err: float
    needed_for: dict[str, float] = field(default_factory=dict)
    warnings: tuple[WarningRecord, ...] = ()

    def to_dict(self) -> dict:
        return {"composition": self.composition,
                "oxidation_states": {k: list(v) for k, v in self.oxidation_states.items()},
                "cation_charge": self.cation_charge, "cation_charge_err": self.cation_charge_err,
                "anion_charge": self.anion_charge, "residual": self.residual,
                "residual_err": self.residual_err, "needed_for": self.needed_for}


def charge_balance(composition, fitted: dict[str, tuple[float, float]], *,
                   assumed: dict[str, float] | None = None,
                   composition_err: dict[str, float] | None = None) -> ChargeBalance:
    """Charge balance of a composition with fitted oxidation states.

    Parameters
    ----------
    composition : str or dict
        Formula (``"Na0.95Li0.06Ni0.25Cu0.05Fe0.15Mn0.49O2"``) or element -> amount.
    fitted : dict of str to (float, float)
        Element -> (mean oxidation state, error) from the fits.
    assumed : dict of str to float, optional
        Oxidation states for elements without a fit (default Na+1, Li+1, O-2 and, for this
        cathode, Cu+2 and Fe+3 as the paper reports).
    composition_err : dict of str to float, optional
        One-sigma errors of the amounts (a composition measured by XPS itself, see
        :func:`xps_composition`): propagated into ``residual_err`` with the state errors.

    Returns
    -------
    ChargeBalance
        With a :data:`CHARGE_UNBALANCED` warning when ``|residual| > max(2 residual_err, 0.02)``.

    Examples
    --------
    Na, Li, Cu2+ and Fe3+ leave 2.44 for Ni and Mn: Ni3+ needs as much Mn3+.

    >>> cb = charge_balance("Na0.95Li0.06Ni0.25Cu0.05Fe0.15Mn0.49O2", {"Ni": (2.0, 0.05), "Mn": (4.0, 0.05)})
    >>> round(cb.needed_for["Mn+Ni"], 2), round(cb.residual, 2)
    (2.44, 0.02)
    """
    comp = parse_formula(composition) if isinstance(composition, str) else dict(composition)
    states = dict(FIXED_STATES)
    states.update({"Cu": 2.0, "Fe": 3.0})
    states.update(assumed or {})
    used: dict[str, tuple[float, float]] = {}
    cat, var, anion = 0.0, 0.0, 0.0
    for el, n in comp.items():
        if el in fitted:
            v, e = fitted[el]
        elif el in states:
            v, e = states[el], 0.0
        else:
            raise InputError(f"no oxidation state for {el} (fit its region or pass it as "
                             "assumed)", parameter="composition")
        used[el] = (float(v), float(e))
        dn = float((composition_err or {}).get(el, 0.0))
        var += (v * dn) ** 2
        if v < 0:
            anion += -v * n
        else:
            cat += v * n
            var += (e * n) ** 2
    fixed_cat = sum(n * used[el][0] for el, n in comp.items()
                    if el not in fitted and used[el][0] > 0)
    need = {}
    if fitted:
        key = "+".join(sorted(fitted, key=lambda e: -comp.get(e, 0)))
        need[key] = anion - fixed_cat
    res = cat - anion
    err = float(np.sqrt(var))
    notes = []
    if abs(res) > max(2.0 * err, 0.02):
        notes.append(CHARGE_UNBALANCED.warn(
            f"cation charge {cat:.3f} +- {err:.3f} vs anion charge {anion:.3f}: the fitted "
            f"states do not balance (residual {res:+.3f}); the elements fitted would need "
            f"{', '.join(f'{k} {v:.2f}' for k, v in need.items())} in total",
            residual=res))
    return ChargeBalance(comp, used, cat, err, anion, res, err, need, tuple(notes))


#: Relative one-sigma error of an amount from one region's area: the spread of measured
#: relative sensitivity factors, e.g. Ni 2p 2.67 +- 0.54 (Kratos; Biesinger et al., Surf.
#: Interface Anal. 41, 324 (2009)), i.e. 20 %; it covers cross-section, IMFP and
#: transmission errors together.
QUANT_REL_ERR = 0.20
#: Analyser transmission ``T ~ KE^n`` used for every block: the transmission channels stored
#: in the shared SPECS/CasaXPS files are either placeholders (all 1) or follow KE^-0.50
#: (fitted on the EX491 FeO survey block, 630-960 eV KE: n = -0.503); one shape for all keeps
#: blocks with and without a stored channel comparable.
TRANSMISSION_EXPONENT = -0.50


def region_intensity(spectrum, window, *, avg_width: int = 3, fraction: float = 1.0) -> dict:
    """Shirley-net area of one region per scan and dwell, divided by the transmission.

    Parameters
    ----------
    spectrum : Spectrum
        An XPS block (binding-energy axis; ``acquisition`` with photon energy, scans, dwell).
    window : (float, float)
        Binding-energy window (eV) covering the whole region (satellites included).
    avg_width : int
        Shirley end-point averaging half-width. Default is 3.
    fraction : float
        Share of the area to count (e.g. the lattice component's share of O 1s). Default 1.

    Returns
    -------
    dict
        ``area`` (counts x eV per scan per second / transmission), ``net_area``,
        ``kinetic_energy_eV`` (window centre), ``transmission`` (relative,
        ``(KE / 1000 eV)^TRANSMISSION_EXPONENT``), ``window_eV``.

    Raises
    ------
    InputError
        Fewer than 10 points in the window or no acquisition metadata.
    """
    from naheo_spec.xps.background import shirley_background

    acq = spectrum.acquisition
    if acq is None or not acq.photon_energy_eV:
        raise InputError(f"{spectrum.name}: no photon energy: cannot quantify",
                         parameter="spectrum")
    x, y = np.asarray(spectrum.axis, dtype=float), np.asarray(spectrum.signal, dtype=float)
    lo, hi = sorted(window)
    sel = (x >= lo) & (x <= hi)
    if sel.sum() < 10:
        raise InputError(f"{spectrum.name}: {int(sel.sum())} points in {lo}-{hi} eV",
                         parameter="window")
    xs, ys = x[sel], y[sel]
    net = float(np.trapezoid(ys - shirley_background(xs, ys, avg_width=avg_width).values, xs))
    ke = float(acq.photon_energy_eV - np.mean(xs))
    t = (ke / 1000.0) ** TRANSMISSION_EXPONENT
    norm = max(acq.n_scans or 1, 1) * (acq.dwell_s or 1.0)
    return {"area": fraction * net / norm / t, "net_area": net, "kinetic_energy_eV": ke,
            "transmission": t, "window_eV": [lo, hi], "fraction": fraction}


def xps_composition(regions: dict[str, dict], *, per: str | None = None,
                    rel_err: float = QUANT_REL_ERR) -> tuple[dict, dict]:
    """Amounts of the elements from region intensities (Scofield RSF, TPP-2M IMFP).

    Parameters
    ----------
    regions : dict
        Region name (``"Ni 2p"``, ``"O 1s"``) -> :func:`region_intensity` output.
    per : str, optional
        Element to normalize to 1 (default: amounts sum to 1).
    rel_err : float
        Relative error of each amount (default :data:`QUANT_REL_ERR`); the normalizing
        element's error is carried by the others (ratio of two amounts: sqrt(2) x).

    Returns
    -------
    composition, composition_err : dict of str to float
        Element -> amount, and its one-sigma error.

    Examples
    --------
    >>> c, e = xps_composition({"O 1s": {"area": 2.93 * 1.7, "kinetic_energy_eV": 957.0},
    ...                         "C 1s": {"area": 1.0 * 1.7, "kinetic_energy_eV": 957.0}},
    ...                        per="C")
    >>> round(c["O"], 3), round(e["O"], 3)
    (1.0, 0.283)
    """
    from naheo_spec.xps.spectra import element_of

    ap = atomic_percent({k: {"area": v["area"], "kinetic_energy_eV": v["kinetic_energy_eV"]}
                         for k, v in regions.items()})
    amounts = {}
    for k in regions:
        el = element_of(k)
        amounts[el] = amounts.get(el, 0.0) + ap[k]["atomic_percent"] / 100.0
    if per is not None:
        if per not in amounts:
            raise InputError(f"per={per!r} is not among {sorted(amounts)}", parameter="per")
        ref = amounts[per]
        comp = {el: v / ref for el, v in amounts.items()}
        err = {el: (0.0 if el == per else float(v * rel_err * np.sqrt(2.0)))
               for el, v in comp.items()}
    else:
        comp = amounts
        err = {el: float(v * rel_err) for el, v in comp.items()}
    return comp, err


def mn3s_check(x, y, *, sigma=None) -> dict:
    """Mn 3s multiplet splitting (eV) and the Mn oxidation states whose literature range
    contains it.

    A consistency check beside Mn 2p, never a number of its own (the Mn3+ and Mn4+
    ranges overlap); ranges from [3]_.

    Examples
    --------
    >>> x = np.linspace(78.0, 96.0, 361)
    >>> y = 100 + 800 * np.exp(-0.5 * ((x - 83.0) / 1.0) ** 2) + 400 * np.exp(-0.5 * ((x - 88.2) / 1.3) ** 2)
    >>> d = mn3s_check(x, y)
    >>> round(d["splitting_eV"], 1), d["consistent_with"]
    (5.2, ['Mn3+'])
    """
    from naheo_spec.xps.builtin import reference_table
    from naheo_spec.xps.fit import fit_model
    from naheo_spec.xps.lineshapes import parse_lineshape
    from naheo_spec.xps.models import Component, Model, Param

    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    order = np.argsort(x)
    x, y = x[order], y[order]
    imax = int(np.argmax(y - np.min(y)))
    c0 = float(x[imax])
    sh = parse_lineshape("GL(30)")
    comps = (Component("Mn 3s low", sh, Param(c0, c0 - 2, c0 + 2), Param(2.0, 0.8, 4.0),
                       Param(1.0, 0.0)),
             Component("Mn 3s high", sh, Param(c0 + 5.0, c0 + 3.5, c0 + 7.5),
                       Param(2.5, 0.8, 5.0), Param(0.5, 0.0)))
    fit = fit_model(x, y, Model("mn3s", comps), sigma=sigma, background="shirley",
                    prescan=False)
    split = float(fit.centers_eV[1] - fit.centers_eV[0])
    err = float(np.hypot(*fit.centers_err_eV))
    ranges = reference_table("binding_energies")["mn3s"]
    names = {"MnII": "Mn2+", "MnIII": "Mn3+", "MnIV": "Mn4+"}
    ok = [names[k] for k in ("MnII", "MnIII", "MnIV")
          if ranges[k][0] - err <= split <= ranges[k][1] + err]
    return {"splitting_eV": split, "splitting_err_eV": err, "consistent_with": ok,
            "ranges_eV": {names[k]: list(ranges[k]) for k in names}, "source": ranges["source"]}


def atomic_percent(regions: dict[str, dict]) -> dict[str, dict]:
    """Atomic % from region areas.

    Parameters
    ----------
    regions : dict
        Region name (``"Ni 2p"``) -> ``{"area": ..., "kinetic_energy_eV": ...,
        "transmission": ..., "material": optional TPP-2M parameters}``. Areas should include
        satellites (the whole envelope). ``transmission`` defaults to 1 (the file's own
        transmission channel averaged over the region when the pipeline has it).

    Returns
    -------
    dict
        Region -> ``{"atomic_percent", "rsf", "imfp_nm", "corrected_area"}``, plus
        ``"library"`` -> the RSF library name.

    Raises
    ------
    InputError
        A region without a tabulated Scofield cross-section.

    Examples
    --------
    >>> r = atomic_percent({"O 1s": {"area": 2.93, "kinetic_energy_eV": 957.0},
    ...                     "C 1s": {"area": 1.0, "kinetic_energy_eV": 1202.0}})
    >>> round(r["O 1s"]["atomic_percent"] + r["C 1s"]["atomic_percent"], 6)
    100.0
    """
    from naheo_spec.xps.builtin import reference_table

    tab = reference_table("sensitivity")
    rsf = dict(tab["rsf"])
    rsf.update({k: v for k, v in tab.get("fe3p", {}).items() if isinstance(v, float)})
    corrected = {}
    info = {}
    for name, d in regions.items():
        if name not in rsf:
            raise InputError(f"no Scofield cross-section for region {name!r} in "
                             f"reference_spectra/xps/sensitivity.toml; known: "
                             f"{', '.join(sorted(rsf))}", parameter="regions")
        mat = dict(d.get("material") or TARGET_CATHODE)
        mat.pop("approximate", None)
        lam = float(tpp2m_imfp(d["kinetic_energy_eV"], **mat))
        t = float(d.get("transmission", 1.0))
        corrected[name] = d["area"] / (rsf[name] * lam * t)
        info[name] = {"rsf": rsf[name], "imfp_nm": lam, "transmission": t}
    tot = sum(corrected.values())
    out: dict[str, dict] = {}
    for name in regions:
        out[name] = dict(info[name], corrected_area=corrected[name],
                         atomic_percent=100.0 * corrected[name] / tot)
    out["library"] = {"name": tab["library"], "source": tab["source"]}
    return out


def li_detection_limit(x, y, *, sigma, fwhm_eV: float = 1.5, li_rsf: float | None = None,
                       reference_area: float, reference_rsf: float,
                       reference_amount: float) -> dict:
    """Detection limit of Li in a Li 1s / TM 3p window.

    A Li 1s peak smaller than 3 sigma of the integrated noise over one FWHM cannot be told
    from the overlapping TM 3p structure: the limit is that area, converted to an amount
    relative to a reference region of known amount (e.g. Fe 3p of Fe0.15).

    Returns
    -------
    dict
        ``min_area``, ``li_amount_limit`` (per formula unit) and ``li_rsf``.

    Examples
    --------
    >>> x = np.linspace(50, 62, 121); s = np.full(121, 10.0)
    >>> d = li_detection_limit(x, np.zeros(121), sigma=s, reference_area=1000.0,
    ...                        reference_rsf=1.669, reference_amount=0.15)
    >>> bool(d["li_amount_limit"] > 0)
    True
    """
    from naheo_spec.xps.builtin import reference_table

    if li_rsf is None:
        li_rsf = float(reference_table("sensitivity")["rsf"]["Li 1s"])
    x = np.asarray(x, dtype=float)
    step = float(np.median(np.abs(np.diff(x))))
    npts = max(int(round(fwhm_eV / step)), 1)
    s = float(np.median(np.asarray(sigma, dtype=float)))
    min_area = 3.0 * s * np.sqrt(npts) * step
    amount = reference_amount * (min_area / li_rsf) / (reference_area / reference_rsf)
    return {"min_area": float(min_area), "li_amount_limit": float(amount), "li_rsf": li_rsf}
