"""Valence fractions, mean oxidation state, and an error budget whose terms are the ones
that dominate in practice.

Fractions are the summed areas of each state's components over the summed areas of all
state components (satellites included: they belong to their state's envelope; Auger and
other components without a state are left out). The mean oxidation state is the
fraction-weighted formal oxidation number.

Error budget (each term a one-sigma-like spread of every fraction; combined in quadrature):

- ``fit``: the fit covariance propagated to the fractions (delta method);
- ``background``: the largest change when the background type or its end points (window
  ends +-0.5 eV, averaging width 1 or 5 points) change. For the built-in template models
  the types tried are static and active Shirley only (the templates were derived on
  Shirley-subtracted spectra, so a linear or Tougaard background is inconsistent with
  them); free-peak models also try linear and Tougaard U2;
- ``template``: the largest change over the model's template variants
  (:func:`naheo_spec.xps.builtin.template_variants`) that the data do not reject (a variant
  whose reduced chi-square is more than twice the nominal one is reported as rejected and
  left out);
- ``charge_reference``: the change when the data are moved by +-``charge_ref_err_eV``
  (default 0.3 eV) against the model's absolute positions.

References
----------
Fractions from fitted envelopes: M. C. Biesinger et al., Appl. Surf. Sci. 257, 2717 (2011);
why background and template choice dominate: shared/notes/xps.md §6.5.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from naheo_spec.diagnostics import WarningCode, WarningRecord, capture
from naheo_spec.errors import NaheoError, QualityWarning
from naheo_spec.xps.builtin import oxidation_number

__all__ = ["ValenceResult", "state_fractions", "valence_with_budget", "TEMPLATE_REJECTED",
           "BE_DEPENDENT", "REJECT_RATIO"]

#: A template variant whose reduced chi-square exceeds this multiple of the nominal one is
#: rejected by the data (left out of the template term, listed in the budget).
REJECT_RATIO = 2.0

TEMPLATE_REJECTED = WarningCode(
    "xps.valence.template_rejected", QualityWarning,
    "A template variant fitted much worse than the nominal model and was left out of the "
    "template-choice error term.")
BE_DEPENDENT = WarningCode(
    "xps.valence.rests_on_binding_energy", QualityWarning,
    "A valence fraction rests on an absolute or relative binding energy that no real "
    "reference fixes (Ni3+: NiO envelope moved by a literature offset; the NiO shoulder, "
    "Ni(OH)2 and Ni3+ coincide): treat it with its template-choice error.")


@dataclass(frozen=True)
class ValenceResult:
    """Fractions, mean oxidation state and their error budget.

    Attributes
    ----------
    fractions : dict of str to float
        State -> area fraction.
    fractions_err : dict of str to float
        Total one-sigma error per state (quadrature sum of the budget terms).
    mean_oxidation_state, mean_oxidation_state_err : float
    budget : dict of str to dict of str to float
        Term (``fit``, ``background``, ``template``, ``charge_reference``) -> state -> error;
        ``"mean_oxidation_state"`` key inside each term too.
    alternatives : list of dict
        Every alternative fit: term, label, fractions, reduced chi-square, used or rejected.
    warnings : tuple of WarningRecord
    """

    fractions: dict[str, float]
    fractions_err: dict[str, float]
    mean_oxidation_state: float
    mean_oxidation_state_err: float
    budget: dict[str, dict[str, float]] = field(default_factory=dict)
    alternatives: list[dict[str, Any]] = field(default_factory=list)
    warnings: tuple[WarningRecord, ...] = ()


def state_fractions(fit) -> tuple[dict[str, float], dict[str, float], float, float]:
    """Fractions, their covariance errors, mean oxidation state and its covariance error.

    Parameters
    ----------
    fit : FitResult

    Returns
    -------
    fractions, fit_errors : dict
    mos, mos_err : float
        NaN when a state has no oxidation number (then only fractions are meaningful).
    """
    states = fit.model.states
    comps = fit.model.components
    k = len(comps)
    s_mat = np.zeros((len(states), k))
    for j, c in enumerate(comps):
        if c.state:
            s_mat[states.index(c.state), j] = 1.0
    sa = s_mat @ fit.areas
    tot = float(sa.sum())
    if not states or tot <= 0:
        return {}, {}, float("nan"), float("nan")
    f = sa / tot
    # d f_i / d A_j = (S_ij - f_i sum_l S_lj) / tot
    g = (s_mat - f[:, None] * s_mat.sum(axis=0)[None, :]) / tot
    cov = g @ fit.area_covariance @ g.T
    ferr = np.sqrt(np.clip(np.diag(cov), 0, None))
    try:
        n = np.array([oxidation_number(s) for s in states])
        mos = float(n @ f)
        mos_err = float(np.sqrt(max(n @ cov @ n, 0.0)))
    except NaheoError:
        mos, mos_err = float("nan"), float("nan")
    return ({s: float(v) for s, v in zip(states, f)}, {s: float(v) for s, v in zip(states, ferr)},
            mos, mos_err)


def _mos(fr: dict[str, float]) -> float:
    try:
        return float(sum(oxidation_number(s) * v for s, v in fr.items()))
    except NaheoError:
        return float("nan")


def valence_with_budget(nominal, refit: Callable[..., Any], *, variants=(),
                        backgrounds=("linear", "tougaard-u2", "active-shirley"),
                        window_shifts_eV=(-0.5, 0.5), avg_widths=(1, 5),
                        charge_ref_err_eV: float = 0.3, model_note: str = "") -> ValenceResult:
    """Fractions of the nominal fit and the error budget from refits.

    Parameters
    ----------
    nominal : FitResult
        The nominal fit.
    refit : callable
        ``refit(background=None, window=None, avg_width=None, variant=None, shift_eV=0.0)``
        -> FitResult: the same fit with one choice changed (the pipeline supplies it).
    variants : sequence of str
        Template variants of the model (besides ``"default"``).
    backgrounds : sequence of str
        Alternative background types.
    window_shifts_eV : sequence of float
        Moves of both window ends (eV) for the end-point term.
    avg_widths : sequence of int
        Alternative end-point averaging half-widths.
    charge_ref_err_eV : float
        Charge-reference uncertainty (eV). Default 0.3 (adventitious carbon).
    model_note : str
        Label for messages.

    Returns
    -------
    ValenceResult
    """
    f0, ferr_fit, mos0, mos_err_fit = state_fractions(nominal)
    states = list(f0)
    notes: list[WarningRecord] = []
    alts: list[dict[str, Any]] = []
    terms: dict[str, list[dict[str, float]]] = {"background": [], "template": [],
                                                "charge_reference": []}

    def run(term, label, **kw):
        with capture():
            try:
                r = refit(**kw)
            except NaheoError as exc:
                alts.append({"term": term, "label": label, "error": str(exc), "used": False})
                return None
        fr = state_fractions(r)[0]
        entry = {"term": term, "label": label, "fractions": fr, "mean_oxidation_state": _mos(fr),
                 "reduced_chi2": r.reduced_chi2, "used": True}
        alts.append(entry)
        return entry

    for b in backgrounds:
        if b != nominal.background_kind:
            e = run("background", f"background {b}", background=b)
            if e:
                terms["background"].append(e["fractions"])
    lo, hi = nominal.energy_eV[0], nominal.energy_eV[-1]
    for d in window_shifts_eV:
        e = run("background", f"window {lo + d:.2f}-{hi + d:.2f} eV", window=(lo + d, hi + d))
        if e:
            terms["background"].append(e["fractions"])
    for aw in avg_widths:
        e = run("background", f"end-point averaging {aw}", avg_width=aw)
        if e:
            terms["background"].append(e["fractions"])
    for v in variants:
        if v == "default":
            continue
        e = run("template", f"template {v}", variant=v)
        if not e:
            continue
        if e["reduced_chi2"] > REJECT_RATIO * nominal.reduced_chi2:
            e["used"] = False
            notes.append(TEMPLATE_REJECTED.record(
                f"{model_note}: template variant {v!r} rejected by the data (reduced chi2 "
                f"{e['reduced_chi2']:.3g} vs {nominal.reduced_chi2:.3g}); left out of the "
                "template term", variant=v))
            continue
        terms["template"].append(e["fractions"])
    for d in (-charge_ref_err_eV, charge_ref_err_eV):
        e = run("charge_reference", f"charge reference {d:+.2f} eV", shift_eV=d)
        if e:
            terms["charge_reference"].append(e["fractions"])
    budget: dict[str, dict[str, float]] = {"fit": dict(ferr_fit)}
    budget["fit"]["mean_oxidation_state"] = mos_err_fit
    for term, lst in terms.items():
        d = {s: float(max((abs(fr.get(s, 0.0) - f0[s]) for fr in lst), default=0.0))
             for s in states}
        d["mean_oxidation_state"] = float(max((abs(_mos(fr) - mos0) for fr in lst),
                                              default=0.0))
        budget[term] = d
    tot = {s: float(np.sqrt(sum(budget[t][s] ** 2 for t in budget))) for s in states}
    mos_tot = float(np.sqrt(sum(budget[t]["mean_oxidation_state"] ** 2 for t in budget
                                if np.isfinite(budget[t]["mean_oxidation_state"]))))
    return ValenceResult(f0, tot, mos0, mos_tot if np.isfinite(mos0) else float("nan"),
                         budget, alts, tuple(notes))
