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
why background and template choice dominate: docs/uncertainties.md (XPS section).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from naheo_spec.diagnostics import WarningCode, WarningRecord, capture
from naheo_spec.errors import NaheoError, QualityWarning
from naheo_spec.xps.builtin import oxidation_number

__all__ = ["ValenceResult", "state_fractions", "valence_with_budget", "TEMPLATE_REJECTED",
           "BE_DEPENDENT", "REJECT_RATIO", "combine_budget", "STATISTICAL_TERMS",
           "SELF_CONSISTENCY", "mos_of"]

#: A template variant whose reduced chi-square exceeds this multiple of the nominal one is
#: rejected by the data (left out of the template term, listed in the budget).
REJECT_RATIO = 2.0

TEMPLATE_REJECTED = WarningCode(
    "xps.valence.template_rejected", QualityWarning,
    "A template variant fitted much worse than the nominal model and was left out of the "
    "template-choice error term.")
SELF_CONSISTENCY = WarningCode(
    "xps.valence.self_consistency", QualityWarning,
    "The fitted spectrum is itself the source of one of the model's templates or reference "
    "spectra: the result is a self-consistency check, not a validation.")
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
    template_floor : dict or None
        ``{"fraction": ..., "mean_oxidation_state": ..., "source": ...}`` when the template
        term was raised to a documented minimum (self-consistency fits).
    """

    fractions: dict[str, float]
    fractions_err: dict[str, float]
    mean_oxidation_state: float
    mean_oxidation_state_err: float
    budget: dict[str, dict[str, float]] = field(default_factory=dict)
    alternatives: list[dict[str, Any]] = field(default_factory=list)
    warnings: tuple[WarningRecord, ...] = ()
    template_floor: dict[str, float] | None = None


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


def mos_of(fractions: dict[str, float]) -> float:
    """Fraction-weighted oxidation number (NaN when a state has none).

    Examples
    --------
    >>> mos_of({"Mn3+": 0.6, "Mn4+": 0.4})
    3.4
    """
    try:
        return float(sum(oxidation_number(s) * v for s, v in fractions.items()))
    except NaheoError:
        return float("nan")


_mos = mos_of


def valence_with_budget(nominal, refit: Callable[..., Any], *, variants=(),
                        backgrounds=("linear", "tougaard-u2", "active-shirley"),
                        window_shifts_eV=(-0.5, 0.5), avg_widths=(1, 5),
                        charge_ref_err_eV: float = 0.3, model_note: str = "",
                        extra_terms: dict[str, dict[str, float]] | None = None,
                        template_floor: dict[str, float] | None = None) -> ValenceResult:
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
        Charge-reference uncertainty (eV). Default 0.3 (adventitious carbon); 0 skips the
        term (models that fit the energy shift, as LCF does).
    model_note : str
        Label for messages.
    extra_terms : dict, optional
        Terms computed elsewhere (term -> state -> error, with ``"mean_oxidation_state"``),
        e.g. ``"bootstrap"`` (LCF residual bootstrap).
    template_floor : dict, optional
        ``{"fraction": f, "mean_oxidation_state": m, ...}``: minimum of the template term
        (each state's and the mean oxidation state's), for fits where the template variants
        cannot act (the spectrum is itself a template source).

    Returns
    -------
    ValenceResult
        Totals from :func:`combine_budget`.
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
    for d in ((-charge_ref_err_eV, charge_ref_err_eV) if charge_ref_err_eV > 0 else ()):
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
    for term, d in (extra_terms or {}).items():
        budget[term] = {k: float(d.get(k, 0.0)) for k in states + ["mean_oxidation_state"]}
    if template_floor:
        t = budget["template"]
        for s in states:
            t[s] = max(t[s], float(template_floor["fraction"]))
        t["mean_oxidation_state"] = max(t["mean_oxidation_state"],
                                        float(template_floor["mean_oxidation_state"]))
    tot, mos_tot = combine_budget(budget, states)
    return ValenceResult(f0, tot, mos0, mos_tot if np.isfinite(mos0) else float("nan"),
                         budget, alts, tuple(notes),
                         dict(template_floor) if template_floor else None)


#: Terms that measure the same thing (the statistical scatter of the data about the model):
#: the larger of the two enters the total, not both.
STATISTICAL_TERMS = ("fit", "bootstrap")


def combine_budget(budget: dict[str, dict[str, float]], states) -> tuple[dict, float]:
    """Total error per state and of the mean oxidation state from a budget.

    Terms are combined in quadrature, except :data:`STATISTICAL_TERMS` (the covariance and a
    residual bootstrap both estimate the data's scatter about the model): the larger of the
    two is used.

    Examples
    --------
    >>> b = {"fit": {"A": 0.03, "mean_oxidation_state": 0.03},
    ...      "bootstrap": {"A": 0.04, "mean_oxidation_state": 0.04},
    ...      "background": {"A": 0.03, "mean_oxidation_state": 0.03}}
    >>> tot, mos = combine_budget(b, ["A"])
    >>> round(tot["A"], 3), round(mos, 3)
    (0.05, 0.05)
    """
    keys = list(states) + ["mean_oxidation_state"]
    out = {}
    for k in keys:
        stat = max((budget[t].get(k, 0.0) for t in STATISTICAL_TERMS if t in budget),
                   default=0.0)
        other = [budget[t].get(k, 0.0) for t in budget if t not in STATISTICAL_TERMS]
        vals = [v for v in [stat] + other if np.isfinite(v)]
        out[k] = float(np.sqrt(sum(v * v for v in vals)))
    mos = out.pop("mean_oxidation_state")
    return out, mos
