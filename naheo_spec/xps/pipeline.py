"""One call per region: charge reference, background, model fit, valence fractions with
their error budget, information depth; results with ``to_json_dict``, ``to_record``, a short
repr and an HTML table for notebooks.

Values are **surface** values: the label ``information_depth_nm`` (95 % of the signal,
3 x TPP-2M IMFP of the region's electrons in the target cathode) says how deep.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from naheo_spec.diagnostics import WarningRecord, capture, unique, warnings_json
from naheo_spec.display import ResultDisplay
from naheo_spec.errors import InputError, ProcessingError
from naheo_spec.jsonsafe import finite_or_none as _num
from naheo_spec.model import Spectrum
from naheo_spec.provenance import Provenance
from naheo_spec.xps.charge import NOT_REFERENCED, ChargeReference
from naheo_spec.xps.fit import FitResult, fit_model, resolve_window
from naheo_spec.xps.models import Model, load_model

__all__ = ["XpsResult", "analyze_region", "resolve_model", "sample_charge_balance",
           "JSON_KEYS", "JSON_DETAIL_KEYS", "COMPONENT_KEYS", "NO_PEAK"]

#: Keys of :meth:`XpsResult.to_json_dict` (the CLI's ``--json`` schema), in order.
JSON_KEYS = ("file", "block", "region", "energy_shift_eV", "background", "components",
             "valence_fractions", "valence_fractions_err", "mean_oxidation_state",
             "mean_oxidation_state_err", "reduced_chi2", "warnings")
#: Keys that follow :data:`JSON_KEYS` in :meth:`XpsResult.to_json_dict`, always present (None
#: when they do not apply): the same numbers as the store's summary (:meth:`XpsResult.summary`),
#: built by the same methods.
JSON_DETAIL_KEYS = ("model", "charge_reference", "information_depth_nm", "error_terms",
                    "charge_balance")
COMPONENT_KEYS = ("name", "center_eV", "center_err_eV", "fwhm_eV", "area", "area_err",
                  "area_fraction")

from naheo_spec.diagnostics import WarningCode  # noqa: E402
from naheo_spec.errors import QualityWarning  # noqa: E402

NO_PEAK = WarningCode("xps.fit.no_peak", QualityWarning,
                      "The region holds no peak above the noise; nothing was fitted.")


def _jsonable(obj):
    """Nested dicts/lists with NaN/inf -> None and numpy scalars -> Python numbers."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return _num(float(obj))
    return obj


@dataclass(frozen=True, eq=False, repr=False)
class XpsResult(ResultDisplay):
    """The analysis of one XPS region.

    Attributes
    ----------
    file, block, region : str or None
    energy_shift_eV : float
        Charge-reference shift applied (eV).
    charge : ChargeReference
    background : str
    fit : FitResult
    valence : ValenceResult or None
        None for models without oxidation states (C 1s, O 1s, Na 1s).
    information_depth_nm : float or None
        95 % information depth of the region's photoelectrons (surface label).
    warnings : tuple of WarningRecord
    provenance : Provenance
    extra : dict
        Mn 3s check, CasaXPS comparison, charge balance... when computed.
    """

    file: str | None
    block: str | None
    region: str | None
    energy_shift_eV: float
    charge: ChargeReference
    background: str
    fit: FitResult
    valence: Any
    information_depth_nm: float | None
    warnings: tuple[WarningRecord, ...]
    provenance: Provenance
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        stem = Path(self.file).name if self.file else "spectrum"
        return f"{stem}:{self.block}" if self.block else stem

    @property
    def valence_fractions(self) -> dict[str, float]:
        return dict(self.valence.fractions) if self.valence else {}

    @property
    def mean_oxidation_state(self) -> float | None:
        return self.valence.mean_oxidation_state if self.valence else None

    def components_table(self) -> list[dict[str, Any]]:
        f = self.fit
        frac = f.area_fractions()
        return [{"name": c.name, "center_eV": _num(f.centers_eV[i]),
                 "center_err_eV": _num(f.centers_err_eV[i]), "fwhm_eV": _num(f.fwhms_eV[i]),
                 "area": _num(f.areas[i]), "area_err": _num(f.areas_err[i]),
                 "area_fraction": _num(frac[i])}
                for i, c in enumerate(f.model.components)]

    def error_terms(self) -> dict[str, dict[str, float | None]] | None:
        """The valence error budget, term by term (``fit``, ``background``, ``template``,
        ``charge_reference``; ``bootstrap`` for LCF): term -> {state: one-sigma error of
        its fraction, ``"mean_oxidation_state"``: error of the mean oxidation state}
        (dimensionless; NaN -> None). None without oxidation states."""
        if not self.valence:
            return None
        return {str(t): {str(k): _num(float(v)) for k, v in vals.items()}
                for t, vals in self.valence.budget.items()}

    def charge_balance(self) -> dict[str, Any] | None:
        """The charge balance attached by :meth:`with_charge_balance` (composition,
        oxidation states used, cation and anion charges, ``residual`` and ``residual_err``
        in elementary charges per formula unit, ``needed_for``), or None."""
        cb = self.extra.get("charge_balance")
        return None if cb is None else _jsonable(cb.to_dict())

    def with_charge_balance(self, balance) -> "XpsResult":
        """A copy carrying ``balance`` (a :class:`~naheo_spec.xps.quantify.ChargeBalance`,
        e.g. from :func:`sample_charge_balance`; None removes it) in ``extra``, with its
        warnings added to the result's."""
        from dataclasses import replace

        extra = {k: v for k, v in self.extra.items() if k != "charge_balance"}
        notes = list(self.warnings)
        if balance is not None:
            extra["charge_balance"] = balance
            notes += list(balance.warnings)
        return replace(self, extra=extra, warnings=unique(notes))

    def to_json_dict(self) -> dict[str, Any]:
        """:data:`JSON_KEYS` and :data:`JSON_DETAIL_KEYS` (NaN -> None), then
        ``casa_comparison`` for a re-run CasaXPS fit (:func:`naheo_spec.xps.casa.refit_casa`)
        and ``lcf`` for a linear combination of reference spectra
        (:func:`naheo_spec.xps.lcf.fit_lcf`)."""
        d = self._json_core()
        d.update(model=self.fit.model.name,
                 charge_reference=_jsonable({k: v for k, v in self.charge.to_dict().items()
                                             if k != "warnings"}),
                 information_depth_nm=_num(self.information_depth_nm),
                 error_terms=self.error_terms(), charge_balance=self.charge_balance())
        if "casa" in self.extra:
            d["casa_comparison"] = _jsonable(self.extra["casa"])
        if "lcf" in self.extra:
            d["lcf"] = _jsonable(self.extra["lcf"])
        return d

    def _json_core(self) -> dict[str, Any]:
        v = self.valence
        return {"file": self.file, "block": self.block, "region": self.region,
                "energy_shift_eV": _num(self.energy_shift_eV), "background": self.background,
                "components": self.components_table(),
                "valence_fractions": {k: _num(x) for k, x in (v.fractions.items() if v else [])},
                "valence_fractions_err": {k: _num(x) for k, x in
                                          (v.fractions_err.items() if v else [])},
                "mean_oxidation_state": _num(v.mean_oxidation_state) if v else None,
                "mean_oxidation_state_err": _num(v.mean_oxidation_state_err) if v else None,
                "reduced_chi2": _num(self.fit.reduced_chi2),
                "warnings": warnings_json(self.warnings)}

    def summary(self) -> dict[str, Any]:
        """Flat JSON-safe scalars for the store's table."""
        d = {"file": self.file, "block": self.block, "region": self.region,
             "model": self.fit.model.name, "background": self.background,
             "energy_shift_eV": _num(self.energy_shift_eV),
             "charge_reference": self.charge.method,
             "charge_reference_err_eV": _num(self.charge.uncertainty_eV),
             "charge_reference_reliable": bool(self.charge.reliable),
             "reduced_chi2": _num(self.fit.reduced_chi2),
             "information_depth_nm": _num(self.information_depth_nm),
             "surface_value": True, "n_warnings": len(self.warnings),
             "warnings": "; ".join(w.message for w in self.warnings)}
        if self.valence:
            d["mean_oxidation_state"] = _num(self.valence.mean_oxidation_state)
            d["mean_oxidation_state_err"] = _num(self.valence.mean_oxidation_state_err)
            for s, x in self.valence.fractions.items():
                key = re.sub(r"[^A-Za-z0-9]", "", s.replace("+", "p").replace("-", "m"))
                d[f"fraction_{key}"] = _num(x)
                d[f"fraction_{key}_err"] = _num(self.valence.fractions_err[s])
            for term, vals in (self.error_terms() or {}).items():
                d[f"mos_err_{term}"] = vals.get("mean_oxidation_state")
        cb = self.charge_balance()
        if cb is not None:
            d.update(charge_balance_composition=_formula(cb["composition"]),
                     charge_balance_cation_charge=cb["cation_charge"],
                     charge_balance_cation_charge_err=cb["cation_charge_err"],
                     charge_balance_anion_charge=cb["anion_charge"],
                     charge_balance_residual=cb["residual"],
                     charge_balance_residual_err=cb["residual_err"])
        return d

    def to_record(self, name: str | None = None):
        """A :class:`~naheo_spec.records.Record` of kind ``"xps"`` (NXfit-like): ``data`` holds
        binding energy, data, background, envelope, residual and one array per component;
        group ``parameters`` holds the component table (one row per component)."""
        from naheo_spec.records import DataArray, DataGroup, Record, nexus_name

        f = self.fit
        unit = "counts"
        data = {"binding_energy": DataArray(f.energy_eV, "eV", "binding energy (charge-referenced)"),
                "data": DataArray(f.data, unit, "measured intensity"),
                "background": DataArray(f.background, unit, f"{self.background} background"),
                "envelope": DataArray(f.envelope, unit, "background + components"),
                "residual": DataArray(f.residual, unit, "data - envelope")}
        for i, c in enumerate(f.model.components):
            data[nexus_name(f"component_{c.name}")] = DataArray(f.components[i], unit, c.name)
        idx = np.arange(len(f.model.components), dtype=float)
        params = {"component_index": DataArray(idx, "", "component number (model order)"),
                  "center": DataArray(f.centers_eV, "eV"),
                  "center_err": DataArray(f.centers_err_eV, "eV"),
                  "fwhm": DataArray(f.fwhms_eV, "eV"),
                  "fwhm_err": DataArray(f.fwhms_err_eV, "eV"),
                  "area": DataArray(f.areas, "counts*eV"),
                  "area_err": DataArray(f.areas_err, "counts*eV"),
                  "area_fraction": DataArray(f.area_fractions(), "")}
        rname = name or nexus_name(f"{Path(self.file or 'spectrum').stem}_{self.block or ''}_xps")
        return Record(name=rname, kind="xps", summary=self.summary(), provenance=self.provenance,
                      data=data, signal="data", axes=["binding_energy"],
                      groups={"parameters": DataGroup(params, "area", ["component_index"],
                                                      "fitted component parameters")})

    def __repr__(self) -> str:
        parts = []
        if self.valence:
            fr = ", ".join(f"{s} {v:.2f}±{self.valence.fractions_err[s]:.2f}"
                           for s, v in self.valence.fractions.items())
            parts.append(fr)
            parts.append(f"MOS {self.valence.mean_oxidation_state:.2f}"
                         f"±{self.valence.mean_oxidation_state_err:.2f}")
        return (f"<XpsResult {self.name} [{self.region}] model {self.fit.model.name}, "
                f"shift {self.energy_shift_eV:+.2f} eV: {'; '.join(parts) or 'no states'}, "
                f"{len(self.warnings)} warning(s)>")

    def display_title(self) -> str:
        return f"{self.name} [{self.region}]"

    def display_items(self):
        yield ("model", self.fit.model.name, None, "")
        yield ("background", self.background, None, "")
        yield ("charge-reference shift", self.energy_shift_eV, None, "eV")
        yield ("reduced chi-square", self.fit.reduced_chi2, None, "")
        if self.valence:
            for s, v in self.valence.fractions.items():
                yield (f"{s} fraction", v, self.valence.fractions_err[s], "")
            yield ("mean oxidation state", self.valence.mean_oxidation_state,
                   self.valence.mean_oxidation_state_err, "")

    def display_table(self):
        rows = self.components_table()
        if not rows:
            return None
        return (["component", "centre", "FWHM", "area fraction"],
                [[r["name"], (r["center_eV"], r["center_err_eV"], "eV"), (r["fwhm_eV"], None, "eV"),
                  r["area_fraction"]] for r in rows])

    def display_figure(self):
        """Data, background, components and residual (:func:`naheo_spec.plot.xps.plot_fit`)."""
        from naheo_spec.plot.xps import plot_fit

        return plot_fit(self)


def _formula(comp: dict) -> str:
    """``{"Mn": 1.0, "O": 2.0}`` -> ``"Mn1O2"`` (amounts as given, ``%g``)."""
    return "".join(f"{el}{float(n):g}" for el, n in comp.items())


def sample_charge_balance(results, composition, *, assumed: dict[str, float] | None = None):
    """Charge balance of one sample from its fitted regions.

    The mean oxidation state of each fitted element (the first result with a finite value
    per element, as the ``xps`` command does) goes into
    :func:`naheo_spec.xps.quantify.charge_balance`. Attach it to each result with
    :meth:`XpsResult.with_charge_balance`; :meth:`XpsResult.to_json_dict` (key
    ``charge_balance``) and :meth:`XpsResult.summary` (``charge_balance_*``) then report it.

    Parameters
    ----------
    results : iterable of XpsResult
        The regions of ONE sample (Ni 2p, Mn 2p...).
    composition : str or dict
        Formula (``"Na0.95Li0.06Ni0.25Cu0.05Fe0.15Mn0.49O2"``) or element -> amount.
    assumed : dict of str to float, optional
        Oxidation states of elements without a fit (default: see ``charge_balance``).

    Returns
    -------
    ChargeBalance or None
        None when no result has a mean oxidation state. Charges are in elementary charges
        per formula unit; an ``xps.charge_balance.unbalanced`` record in its ``warnings``
        when the states cannot balance the formula.
    """
    from naheo_spec.xps.quantify import charge_balance

    fitted = {}
    for r in results:
        el = r.fit.model.element
        v = r.valence
        if v and el and np.isfinite(v.mean_oxidation_state):
            fitted.setdefault(el, (v.mean_oxidation_state, v.mean_oxidation_state_err))
    if not fitted:
        return None
    with capture():
        return charge_balance(composition, fitted, assumed=assumed)


def resolve_model(model, *, elements=(), photon_energy_eV=None, shift_window_eV=1.5,
                  variant="default", metal: bool = False, charge_shift_eV: float = 0.0) -> Model:
    """A :class:`Model` from a built-in name, a TOML path or a Model.

    ``metal``: add the metal (Ni0) envelope; ``ni2p`` only (:func:`builtin_model`).
    ``charge_shift_eV``: the charge-reference shift (eV) of the axis to fit, which moves
    the built-in Auger envelopes with it (:func:`builtin_model`).
    """
    from naheo_spec.xps.builtin import BUILTIN_MODELS, builtin_model

    if metal and model != "ni2p":
        raise InputError(f"the metal (Ni0) envelope exists for the ni2p model only, not "
                         f"{model!r}", parameter="ni_metal")
    if isinstance(model, Model):
        return model
    if isinstance(model, str) and model in BUILTIN_MODELS:
        return builtin_model(model, variant=variant, elements=elements,
                             photon_energy_eV=photon_energy_eV, shift_window_eV=shift_window_eV,
                             metal=metal, charge_shift_eV=charge_shift_eV)
    if isinstance(model, (str, Path)) and str(model).endswith(".toml"):
        return load_model(model)
    raise InputError(f"model {model!r}: expected one of ni2p, mn2p, fe2p, cu2p, o1s, c1s, na1s, "
                     "casa, lcf:FILE[:BLOCK][=STATE],... or a MODEL.toml file", parameter="model")


def _has_peak(x, y, sigma) -> bool:
    """More than 5 noise levels between the data and the straight line joining its ends."""
    line = y[0] + (y[-1] - y[0]) * (x - x[0]) / (x[-1] - x[0])
    return bool(np.max((y - line) / np.maximum(sigma, 1e-300)) > 5.0)


def analyze_region(spectrum: Spectrum, model="ni2p", *, background: str | None = None,
                   charge: ChargeReference | None = None, elements=(), window=None,
                   avg_width: int = 2, error_budget: bool = True,
                   tougaard: dict | None = None, metal: bool = False,
                   template_floor: bool = True, block=None) -> XpsResult:
    """Fit one region and report fractions, mean oxidation state and their error budget.

    Parameters
    ----------
    spectrum : Spectrum or path
        An XPS block (binding-energy axis), or a file: its block ``block``, or its only
        block.
    model : str or Model or path
        Built-in name (``ni2p``, ``mn2p``, ``fe2p``, ``cu2p``, ``o1s``, ``c1s``, ``na1s``),
        a MODEL.toml path, or a Model. Default ``"ni2p"``.
    background : str, optional
        Default None: the model's (Shirley for the built-ins).
    charge : ChargeReference, optional
        Default None: no reference (flagged with ``xps.charge.not_referenced``).
    elements : iterable of str
        Elements present (Auger overlaps: ``mn2p`` models the Ni LMM when ``"Ni"`` is in).
    window : (float, float), optional
        Fit window (charge-referenced binding energy). Default: the model's.
    avg_width : int
        Background end-point averaging half-width. Default is 2.
    error_budget : bool
        Run the refits of the error budget. Default is True.
    tougaard : dict, optional
        ``B``, ``C``, ``D``, ``T0`` of a Tougaard background.
    metal : bool
        ``ni2p`` only: add the Ni0 envelope (template from the measured Ni metal spectrum,
        position from the NIST SRD-20 median of Ni metal) for partly reduced surfaces.
        Default False (CLI ``--ni-metal``).
    template_floor : bool
        When the spectrum is itself the source of one of the model's templates (the same
        counts, in whatever file: :func:`naheo_spec.xps.builtin.signal_digest`), raise the
        template term to the
        model's documented minimum (:func:`naheo_spec.xps.builtin.template_floor`) and flag
        ``xps.valence.self_consistency``. Default True.

    Returns
    -------
    XpsResult

    Raises
    ------
    InputError
        ``metal`` with a model other than ``ni2p``.
    ProcessingError
        Not a binding-energy spectrum, or no peak in the window (flat region).
    FitError
        The fit does not converge.
    """
    from naheo_spec.model import AxisKind
    from naheo_spec.xps.builtin import (
        AL_KA_EV,
        auger_overlaps,
        signal_digest,
        template_variants,
    )
    from naheo_spec.xps.builtin import template_floor as model_floor
    from naheo_spec.xps.quantify import information_depth_nm
    from naheo_spec.xps.valence import BE_DEPENDENT, SELF_CONSISTENCY, valence_with_budget

    spectrum = _region_spectrum(spectrum, block)
    if spectrum.axis_kind is not AxisKind.BINDING_ENERGY:
        raise ProcessingError(f"{spectrum.name}: expected a binding-energy XPS spectrum, got a "
                              f"{spectrum.axis_kind.value} axis")
    notes: list[WarningRecord] = list(spectrum.warnings)
    charge = charge or ChargeReference("none", 0.0, 0.0)
    acq = spectrum.acquisition
    hv = (acq.photon_energy_eV if acq is not None and acq.photon_energy_eV else AL_KA_EV)
    if charge.method == "none":
        notes.append(NOT_REFERENCED.record(
            f"{spectrum.name}: no charge reference: binding energies as measured"))
    notes += list(charge.warnings)                 # an unreliable reference says so here
    shift_window = 1.5 if charge.method != "none" else 2.0
    m = resolve_model(model, elements=elements, photon_energy_eV=hv,
                      shift_window_eV=shift_window, metal=metal,
                      charge_shift_eV=charge.shift_eV)
    x = spectrum.axis + charge.shift_eV
    y, sigma = spectrum.signal, spectrum.sigma
    if sigma is None:
        from naheo_spec.xps.spectra import estimate_noise

        sigma = estimate_noise(y, raw_counts=False)[0]
    win = resolve_window(m, x, y, window)
    if win is not None:
        sel = (x >= win[0]) & (x <= win[1])
        if sel.sum() < 10:
            region = acq.region if acq else None
            raise ProcessingError(
                f"{spectrum.name}: the {m.name} window {win[0]:.1f}-{win[1]:.1f} eV holds "
                f"{int(sel.sum())} points of this block ({x[0]:.1f}-{x[-1]:.1f} eV, region "
                f"{region!r}): wrong region for model {m.name!r}?")
        if not _has_peak(x[sel], y[sel], sigma[sel]):
            raise ProcessingError(f"{spectrum.name}: no peak above the noise in "
                                  f"{win[0]:.1f}-{win[1]:.1f} eV: nothing to fit")
    bkind = background or m.background
    name = spectrum.name
    with capture() as caught:
        fit = fit_model(x, y, m, sigma=sigma, background=bkind, window=win, avg_width=avg_width,
                        tougaard=tougaard, name=name)
    notes += [w.prefixed(name) for w in caught] + list(fit.warnings)
    valence = None
    digest = signal_digest(spectrum.signal)
    own = sorted({src["template"] for src in m.metadata.get("template_sources", [])
                  if src.get("signal_sha256") == digest})
    floor = None
    if own:
        floor = model_floor(m.name) if template_floor else None
        notes.append(SELF_CONSISTENCY.record(
            f"{name}: the spectrum is the source of template(s) {', '.join(own)} of "
            f"{m.name}: a self-consistency check"
            + (f"; template term raised to its documented minimum (fractions "
               f"{floor['fraction']:.3f}, mean oxidation state "
               f"{floor['mean_oxidation_state']:.3f})" if floor else ""),
            templates=", ".join(own)))
    if m.states and len(m.states) >= 1:
        variants = template_variants(m.name) if isinstance(model, str) else ()

        def refit(background=None, window=None, avg_width=None, variant=None, shift_eV=0.0):
            mm = m if variant is None else resolve_model(
                model, elements=elements, photon_energy_eV=hv, shift_window_eV=shift_window,
                variant=variant, metal=metal, charge_shift_eV=charge.shift_eV)
            return fit_model(x + shift_eV, y, mm, sigma=sigma, background=background or bkind,
                             window=window if window is not None else win,
                             avg_width=avg_width if avg_width is not None else 2,
                             tougaard=tougaard, name=name)

        if error_budget:
            # Template envelopes were derived on Shirley-subtracted spectra: only Shirley
            # forms are consistent with them; free-peak models also try linear and Tougaard.
            alt_bg = (("shirley", "active-shirley") if m.metadata.get("variant") is not None
                      else ("shirley", "linear", "tougaard-u2", "active-shirley"))
            valence = valence_with_budget(fit, refit, variants=variants, backgrounds=alt_bg,
                                          charge_ref_err_eV=max(charge.uncertainty_eV, 0.3)
                                          if charge.method != "none" else 0.3,
                                          model_note=name, template_floor=floor)
        else:
            from naheo_spec.xps.valence import ValenceResult, state_fractions

            fr, fe, mos, mose = state_fractions(fit)
            valence = ValenceResult(fr, fe, mos, mose, {"fit": dict(fe)})
        notes += list(valence.warnings)
        if m.metadata.get("ni3_rests_on_binding_energy") and \
                valence.fractions.get("Ni3+", 0.0) > 0.02:
            notes.append(BE_DEPENDENT.record(
                f"{name}: Ni3+ fraction {valence.fractions['Ni3+']:.2f} rests on the Ni3+ "
                f"envelope being the NiO one moved by {m.metadata.get('ni3_offset_eV')} eV "
                "(no real Ni3+ reference; NiO's non-local-screening shoulder, Ni(OH)2 and Ni3+ "
                "coincide near 855.5-856 eV)", fraction=valence.fractions["Ni3+"]))
    modelled = {"Ni"} if m.metadata.get("auger_modelled") else set()
    if fit.energy_eV.size:
        with capture():
            notes += auger_overlaps((fit.energy_eV[0] - charge.shift_eV,
                                     fit.energy_eV[-1] - charge.shift_eV),
                                    set(elements) - {m.element}, hv, modelled=modelled)
    depth = None
    if m.window_eV is not None:
        ke = hv - float(np.mean(fit.energy_eV))
        depth = information_depth_nm(ke)
    prov = Provenance(step="xps.fit", source_file=spectrum.source.path,
                      source_sha256=spectrum.source.sha256,
                      parameters={"block": spectrum.source.scan, "model": m.to_dict(),
                                  "background": bkind, "background_parameters":
                                      fit.background_parameters,
                                  "window_eV": [float(fit.energy_eV[0]), float(fit.energy_eV[-1])],
                                  "avg_width": avg_width, "charge_reference": charge.to_dict(),
                                  "elements": sorted(elements), "photon_energy_eV": hv,
                                  "noise": spectrum.sigma_source,
                                  "error_budget": (valence.budget if valence else None),
                                  "alternatives": (valence.alternatives if valence else None),
                                  "information_depth": "3 x TPP-2M IMFP, target cathode "
                                                       "(approximate parameters)"})
    region = acq.region if acq is not None else m.region
    return XpsResult(spectrum.source.path, spectrum.source.scan, region, charge.shift_eV,
                     charge, bkind, fit, valence, depth, unique(notes), prov)


def _region_spectrum(spectrum, block) -> Spectrum:
    """``spectrum`` itself, or the block of the file it names (by name or index; a file of
    one block needs none)."""
    if isinstance(spectrum, Spectrum):
        return spectrum
    if not isinstance(spectrum, (str, Path)):
        raise InputError(f"analyze_region needs a Spectrum or a file path, got "
                         f"{type(spectrum).__name__}", parameter="spectrum")
    from naheo_spec.io import read
    from naheo_spec.model.collection import listing

    coll = read(spectrum, technique="xps")
    if block is not None:
        return select_blocks(coll, block=block)[0]
    if len(coll) == 1:
        return coll[0]
    raise InputError(f"{spectrum}: {len(coll)} blocks; choose one with block= (a name or "
                     f"0-based index): {listing(coll.names)}", parameter="block")


def select_blocks(collection, region: str | None = "Ni 2p", block=None) -> list[Spectrum]:
    """The blocks of a file to fit: ``block`` (a name or 0-based index) when given, else
    every measured block of ``region`` (CasaXPS "Lineshapes" blocks are not measurements).

    Raises
    ------
    ReadError
        No block of that region (the message lists the file's regions), or an unknown block.
    """
    from naheo_spec.errors import ReadError
    from naheo_spec.xps.spectra import region_name

    if block is not None:
        key = int(block) if str(block).lstrip("-").isdigit() else block
        return [collection.select(key)]
    want = region_name(region)
    hits = [b for b in collection if b.acquisition is not None
            and not b.metadata.get("casa_lineshape")
            and (region_name(b.acquisition.region) == want
                 or want in (region_name(a) for a in b.source.aliases))]
    if not hits:
        regions = sorted({str(b.acquisition.region) for b in collection
                          if b.acquisition is not None})
        raise ReadError(collection.path, f"no block of region {region!r}; the file holds "
                                         f"regions: {', '.join(regions)}")
    return hits
