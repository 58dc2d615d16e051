"""Linear combination of reference spectra (LCF): a region as a non-negative sum of measured
reference spectra, shifted in energy (one common shift or one per reference, bounded), on a
background; valence fractions from the weights.

Each reference is a measured block (any format :func:`naheo_spec.io.read` reads, including
a CasaXPS "Lineshapes" block). Over the fit window it is background-subtracted (the same
background type as the data; a "Lineshapes" block is already background-subtracted and is
used as stored, with a "Min Limits" background on the data) and normalized to unit area,
so each weight is the area (intensity x eV) that the reference's species contributes and
the weights' shares are the species' fractions (same element, same cross-section). The
mean oxidation state is the weighted mean of the references' oxidation numbers, given as
``=STATE`` or read from an oxide sample name (``MnO2`` -> Mn4+, ``Fe3O4`` -> Fe2.667+,
``Ni`` -> Ni0).

Fitting uses :func:`naheo_spec.xps.fit.fit_model` with tabulated components: a common shift
is first placed by a 0.05 eV grid search (weights by non-negative least squares at each
step), then refined; per-reference shifts start from the common solution.

Error budget (:mod:`naheo_spec.xps.valence`; terms combined in quadrature, the larger of
``fit`` and ``bootstrap`` only):

- ``fit``: covariance of the weights, scaled by the reduced chi-square;
- ``bootstrap``: standard deviation of the fractions over refits of ``envelope + residuals
  resampled in moving blocks`` (block length from the residuals' autocorrelation, at least
  ``n^(1/3)``: processed XPS data have correlated noise);
- ``background``: data and references prepared with the other background types, window
  ends moved by +-0.5 eV, end-point averaging 1 or 5 points;
- ``template``: the other shift mode (common <-> per reference) and, for states with more
  than one reference, each reference left out in turn;
- ``charge_reference``: 0 by construction (the shift is fitted; moving the data against the
  fixed window is what the window part of ``background`` measures).

References
----------
J. Fu et al., Appl. Surf. Sci. 2018, doi:10.1016/j.apsusc.2018.02.114 (Ni2+/Ni3+ from
fits with reference spectra); E. Kunsch, "The jackknife and the bootstrap for general
stationary observations", Ann. Stat. 17, 1217 (1989) (moving-block bootstrap); CasaXPS
manual, "Cu Auger line curve fitting" (reference spectra as line shapes).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from naheo_spec.diagnostics import WarningCode
from naheo_spec.errors import InputError, ProcessingError, QualityWarning

__all__ = ["Reference", "reference_from_spectrum", "parse_reference_specs", "load_references",
           "lcf_model", "fit_lcf", "infer_state", "SHIFT_MODES", "STATE_UNKNOWN",
           "MIXED_ELEMENTS"]

SHIFT_MODES = ("common", "per-reference")

STATE_UNKNOWN = WarningCode(
    "xps.lcf.state_unknown", QualityWarning,
    "A reference has no oxidation state (none given, none readable from its sample name): "
    "weights are reported, no valence fractions.")
MIXED_ELEMENTS = WarningCode(
    "xps.lcf.mixed_elements", QualityWarning,
    "The references belong to more than one element: weights are reported, valence "
    "fractions and a mean oxidation state are not (they would mix elements).")


@dataclass(frozen=True, eq=False)
class Reference:
    """A reference spectrum for LCF (raw; prepared per window by :meth:`prepared`).

    Attributes
    ----------
    name : str
        Label (block name by default).
    state : str or None
        Oxidation-state label (``"Mn3+"``, ``"Fe2.667+"``, ``"Ni0"``).
    energy_eV, signal : ndarray
        The block as read (ascending binding energy).
    source : str
        ``file:block``.
    is_lineshape : bool
        A CasaXPS "Lineshapes" block (already background-subtracted).
    sha256, block : str or None
        The source file's SHA-256 and the block name (to tell self-consistency fits).
    """

    name: str
    state: str | None
    energy_eV: np.ndarray
    signal: np.ndarray
    source: str
    is_lineshape: bool = False
    sha256: str | None = None
    block: str | None = None

    @property
    def element(self) -> str | None:
        m = re.match(r"^([A-Z][a-z]?)", self.state or "")
        return m.group(1) if m else None

    def prepared(self, window, background: str = "shirley", avg_width: int = 2):
        """``(x, net)`` on ``window``: background-subtracted, unit area (1/eV).

        Raises
        ------
        ProcessingError
            Fewer than 10 points in the window, or no positive area left.
        """
        from naheo_spec.xps.background import compute_background

        x, y = self.energy_eV, self.signal
        lo, hi = sorted(window)
        # the grid points nearest to the window's ends (half a step either way)
        h = 0.5 * float(np.median(np.diff(x))) if x.size > 1 else 0.0
        sel = (x > lo - h) & (x <= hi + h)
        if sel.sum() < 10:
            raise ProcessingError(f"reference {self.name!r} has {int(sel.sum())} points in "
                                  f"{lo:.1f}-{hi:.1f} eV ({x[0]:.1f}-{x[-1]:.1f} eV): wrong "
                                  "window or reference?")
        xs, ys = x[sel], y[sel]
        if self.is_lineshape:
            net = ys.copy()
        else:
            kind = "shirley" if background == "active-shirley" else background
            net = ys - compute_background(kind, xs, ys, avg_width=avg_width).values
        area = float(np.trapezoid(net, xs))
        if not area > 0:
            raise ProcessingError(f"reference {self.name!r}: no positive area left in "
                                  f"{lo:.1f}-{hi:.1f} eV after the {background} background")
        return xs, net / area


_OXIDE = re.compile(r"^([A-Z][a-z]?)(\d*)(?:O(\d*))?$")


def infer_state(sample: str | None) -> str | None:
    """Oxidation-state label of a binary oxide or a metal named like a formula (O as 2-).

    Examples
    --------
    >>> [infer_state(s) for s in ("MnO2", "Mn2O3", "Fe3O4", "NiO", "Ni", "Li2CO3", None)]
    ['Mn4+', 'Mn3+', 'Fe2.667+', 'Ni2+', 'Ni0', None, None]
    """
    if not sample:
        return None
    m = _OXIDE.match(str(sample).strip())
    if not m or m.group(1) == "O":
        return None
    n_m = int(m.group(2) or 1)
    if m.group(3) is None:                 # no oxygen: the metal
        return f"{m.group(1)}0" if not m.group(2) else None
    n_o = int(m.group(3) or 1)
    ox = 2.0 * n_o / n_m
    label = f"{ox:.0f}" if abs(ox - round(ox)) < 1e-9 else f"{ox:.3f}"
    return f"{m.group(1)}{label}+"


def reference_from_spectrum(spectrum, *, name: str | None = None,
                            state: str | None = None) -> Reference:
    """A :class:`Reference` from a read block (a measured spectrum or a CasaXPS
    "Lineshapes" block); ``state`` default: :func:`infer_state` of its sample name."""
    from naheo_spec.model import AxisKind

    if spectrum.axis_kind is not AxisKind.BINDING_ENERGY:
        raise InputError(f"reference {spectrum.name}: expected a binding-energy spectrum, got "
                         f"a {spectrum.axis_kind.value} axis (--photon-energy?)",
                         parameter="model")
    sample = spectrum.acquisition.sample if spectrum.acquisition else None
    is_ls = bool(spectrum.metadata.get("casa_lineshape"))
    st = state if state is not None else infer_state(sample)
    label = name or (str(spectrum.metadata.get("vamas_identifier")) if is_ls
                     else spectrum.source.scan) or spectrum.name
    src = f"{Path(spectrum.source.path).name if spectrum.source.path else '?'}:" \
          f"{spectrum.source.scan}"
    return Reference(str(label), st, np.asarray(spectrum.axis, dtype=float),
                     np.asarray(spectrum.signal, dtype=float), src, is_ls,
                     spectrum.source.sha256, spectrum.source.scan)


_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")


def parse_reference_specs(text: str) -> list[tuple[str, str | None, str | None]]:
    """``"FILE[:BLOCK][=STATE],..."`` -> ``[(file, block, state), ...]``.

    BLOCK is a block name or a 0-based index; STATE an oxidation-state label. A Windows
    drive (``C:\\``) is not taken for a block separator.

    Examples
    --------
    >>> parse_reference_specs("Mn.vms:MnO Mn 2p=Mn2+,Mn.vms:2, ref.txt")
    [('Mn.vms', 'MnO Mn 2p', 'Mn2+'), ('Mn.vms', '2', None), ('ref.txt', None, None)]
    """
    out = []
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        state = None
        if "=" in part:
            part, state = (v.strip() for v in part.rsplit("=", 1))
        drive = ""
        if _DRIVE.match(part):
            drive, part = part[:2], part[2:]
        if ":" in part:
            f, block = part.split(":", 1)
        else:
            f, block = part, None
        out.append((drive + f.strip(), (block or "").strip() or None, state or None))
    if not out:
        raise InputError("no reference spectra given (expected FILE[:BLOCK][=STATE],...)",
                         parameter="model")
    return out


def load_references(specs, *, read_options: dict | None = None) -> list[Reference]:
    """References from ``"FILE[:BLOCK][=STATE],..."`` (or the parsed tuples).

    A file read once; a file without BLOCK must hold exactly one measured block.

    Raises
    ------
    InputError
        Unreadable file, unknown block, a multi-block file without BLOCK, or fewer than
        two references.
    """
    from naheo_spec.io import read

    items = parse_reference_specs(specs) if isinstance(specs, str) else list(specs)
    cache: dict[str, object] = {}
    refs = []
    for f, block, state in items:
        if f not in cache:
            cache[f] = read(f, technique="xps", **(read_options or {}))
        coll = cache[f]
        if block is None:
            blocks = [b for b in coll]
            if len(blocks) != 1:
                raise InputError(f"reference file {f} holds {len(blocks)} blocks; name one as "
                                 f"{f}:BLOCK (blocks: {', '.join(b.source.scan or '?' for b in blocks)})",
                                 parameter="model")
            spec = blocks[0]
        else:
            spec = coll.select(int(block) if block.lstrip("-").isdigit() else block)
        refs.append(reference_from_spectrum(spec, state=state))
    if len(refs) < 2:
        raise InputError("a linear combination needs at least two reference spectra",
                         parameter="model")
    names = [r.name for r in refs]
    if len(set(names)) != len(names):
        refs = [replace(r, name=f"{r.name} [{i}]") for i, r in enumerate(refs)]
    return refs


def lcf_model(references, window, *, shift: str = "common", max_shift_eV: float = 1.5,
              background: str = "shirley", avg_width: int = 2, name: str = "lcf",
              prepared_shifts=None):
    """A :class:`~naheo_spec.xps.models.Model` of shifted unit-area reference curves.

    Each component's ``center`` is the position of its reference's maximum after the shift
    (bounded by +-``max_shift_eV``); with ``shift="common"`` all follow the first one.
    ``prepared_shifts`` (eV, one per reference): prepare each reference over the window
    moved by minus its shift, the energies that land on the data's window once shifted,
    so that data and references meet their backgrounds at corresponding points.
    """
    from naheo_spec.xps.models import Component, Model, Param, curve_peak

    if shift not in SHIFT_MODES:
        raise InputError(f"shift={shift!r}; expected one of {', '.join(SHIFT_MODES)}",
                         parameter="shift")
    if not max_shift_eV >= 0:
        raise InputError(f"max_shift_eV must be >= 0, got {max_shift_eV}", parameter="shift")
    comps = []
    lead = None
    shifts = list(prepared_shifts) if prepared_shifts is not None else [0.0] * len(references)
    for r, sh in zip(references, shifts):
        x, net = r.prepared((window[0] - sh, window[1] - sh), background, avg_width)
        anchor, width = curve_peak(x, net)
        if lead is not None and shift == "common":
            center = Param(link=lead[0], factor=anchor - lead[1])
        elif max_shift_eV == 0:
            center = Param(anchor, vary=False)
        else:
            center = Param(anchor, anchor - max_shift_eV, anchor + max_shift_eV)
        comps.append(Component(r.name, None, center, Param(width, vary=False), Param(1.0, 0.0),
                               state=r.state, curve=(x, net), curve_anchor=anchor,
                               role="reference", source=r.source))
        if lead is None:
            lead = (r.name, anchor)
    return Model(name, tuple(comps), window_eV=tuple(sorted(window)), background=background,
                 element=references[0].element,
                 metadata={"shift": shift, "max_shift_eV": max_shift_eV})


def _block_length(resid) -> int:
    """Moving-block length: twice the lag where the residuals' autocorrelation falls below
    1/e, at least ``n^(1/3)``."""
    r = np.asarray(resid, dtype=float) - np.mean(resid)
    n = r.size
    var = float(r @ r)
    lag = 1
    if var > 0:
        for k in range(1, n // 4):
            if float(r[:-k] @ r[k:]) / var < np.exp(-1):
                lag = k
                break
        else:
            lag = n // 4
    return int(max(2 * lag, round(n ** (1 / 3)), 2))


def _bootstrap(fit, refit_arrays, n: int, seed: int, states):
    """Fractions' standard deviations over moving-block residual resamples."""
    from naheo_spec.diagnostics import capture
    from naheo_spec.errors import NaheoError
    from naheo_spec.xps.valence import mos_of, state_fractions

    rng = np.random.default_rng(seed)
    resid = fit.residual
    m = resid.size
    L = min(_block_length(resid), m)
    reps = []
    for _ in range(n):
        starts = rng.integers(0, m - L + 1, size=int(np.ceil(m / L)))
        r = np.concatenate([resid[s:s + L] for s in starts])[:m]
        with capture():
            try:
                f = refit_arrays(fit.envelope + r)
            except NaheoError:
                continue
        reps.append(state_fractions(f)[0])
    if len(reps) < max(5, n // 2):
        return None, L, len(reps)
    err = {s: float(np.std([fr.get(s, 0.0) for fr in reps], ddof=1)) for s in states}
    err["mean_oxidation_state"] = float(np.std([mos_of(fr) for fr in reps], ddof=1))
    return err, L, len(reps)


def fit_lcf(spectrum, references, *, shift: str = "common", max_shift_eV: float | None = None,
            background: str | None = None, window=None, avg_width: int = 2, charge=None,
            error_budget: bool = True, n_bootstrap: int = 40, seed: int = 0):
    """Fit a region as a non-negative combination of shifted reference spectra.

    Parameters
    ----------
    spectrum : Spectrum
        The region (binding-energy axis).
    references : str or list of Reference
        ``"FILE[:BLOCK][=STATE],..."`` or :class:`Reference` objects (at least two).
    shift : {"common", "per-reference"}
        One energy shift for all references (default) or one each.
    max_shift_eV : float, optional
        Bound on each shift (eV). Default 1.5 with a charge reference, 2.0 without.
    background : str, optional
        Data background (and the references' when they are measured blocks). Default
        ``"shirley"``; ``"min-limits"`` when every reference is a CasaXPS Lineshapes block.
    window : (float, float), optional
        Fit window (binding energy after the charge shift). Default: the energy range
        common to the data and all references, less ``max_shift_eV`` at each end (every
        reference must cover the window after any allowed shift).
    avg_width : int
        End-point averaging half-width of the backgrounds. Default is 2.
    charge : ChargeReference, optional
        Applied to the data only (the references are compared by their shapes, the shift
        absorbs a common offset).
    error_budget : bool
        Run the refits of the budget. Default is True.
    n_bootstrap : int
        Residual-bootstrap refits (0: none). Default is 40.
    seed : int
        Bootstrap random seed. Default is 0.

    Returns
    -------
    XpsResult
        ``fit`` (components = the shifted, weighted references), ``valence`` (fractions by
        state, mean oxidation state, budget) and ``extra["lcf"]`` (per reference: weight,
        error, share, shift, state, source; shift mode, background, bootstrap settings).

    Raises
    ------
    InputError
        Bad references, shift mode or window.
    ProcessingError
        A reference or the data has too few points in the window.
    FitError
        The fit does not converge.
    """
    from naheo_spec.diagnostics import capture, unique
    from naheo_spec.provenance import Provenance
    from naheo_spec.xps.charge import NOT_REFERENCED, ChargeReference
    from naheo_spec.xps.fit import fit_model
    from naheo_spec.xps.pipeline import XpsResult
    from naheo_spec.xps.valence import (
        SELF_CONSISTENCY,
        ValenceResult,
        state_fractions,
        valence_with_budget,
    )

    refs = load_references(references) if isinstance(references, str) else list(references)
    if len(refs) < 2:
        raise InputError("a linear combination needs at least two reference spectra",
                         parameter="model")
    charge = charge or ChargeReference("none", 0.0, 0.0)
    notes = list(spectrum.warnings)
    if charge.method == "none":
        notes.append(NOT_REFERENCED.record(
            f"{spectrum.name}: no charge reference: binding energies as measured"))
    notes += list(charge.warnings)                 # an unreliable reference says so here
    if max_shift_eV is None:
        max_shift_eV = 1.5 if charge.method != "none" else 2.0
    all_ls = all(r.is_lineshape for r in refs)
    bkind = background or ("min-limits" if all_ls else "shirley")
    x = np.asarray(spectrum.axis, dtype=float) + charge.shift_eV
    y = np.asarray(spectrum.signal, dtype=float)
    # every reference must cover the window moved by the largest allowed shift
    ref_lo = max(r.energy_eV[0] for r in refs) + max_shift_eV
    ref_hi = min(r.energy_eV[-1] for r in refs) - max_shift_eV
    if window is None:
        lo, hi = max(x[0], ref_lo), min(x[-1], ref_hi)
        if not hi - lo > 1.0:
            raise ProcessingError(f"{spectrum.name}: the data ({x[0]:.1f}-{x[-1]:.1f} eV) and the "
                                  f"references (with +-{max_shift_eV} eV of shift) share no "
                                  "energy range")
        window = (float(lo), float(hi))
    window = tuple(sorted(float(v) for v in window))
    if window[0] < ref_lo - 1e-6 or window[1] > ref_hi + 1e-6:
        raise InputError(f"{spectrum.name}: window {window[0]:.2f}-{window[1]:.2f} eV: every "
                         f"reference must cover it after a shift of up to +-{max_shift_eV} eV; "
                         f"use a window inside {ref_lo:.2f}-{ref_hi:.2f} eV or a smaller "
                         "--max-shift", parameter="window")
    sigma = spectrum.sigma
    if sigma is None:
        from naheo_spec.xps.spectra import estimate_noise

        sigma = estimate_noise(y, raw_counts=False)[0]
    elements = {r.element for r in refs}
    if any(r.state is None for r in refs):
        notes.append(STATE_UNKNOWN.record(
            f"{spectrum.name}: no oxidation state for "
            f"{', '.join(r.name for r in refs if r.state is None)} (give FILE:BLOCK=STATE)"))
    elif len(elements) > 1:
        notes.append(MIXED_ELEMENTS.record(
            f"{spectrum.name}: references of {', '.join(sorted(e for e in elements if e))}: "
            "no valence fractions across elements"))
    with_states = all(r.state for r in refs) and len(elements) == 1
    name = spectrum.name

    def build(mode, refs_=refs, win=window, bg=bkind, aw=avg_width, shifts=None):
        m = lcf_model(refs_, win, shift=mode, max_shift_eV=max_shift_eV,
                      background=bg, avg_width=aw, prepared_shifts=shifts)
        if not with_states:
            m = m.with_components([replace(c, state=None) for c in m.components])
        return m

    def start_from(prev, m):
        cm = m.compile()
        p0 = []
        for nm in cm.names:
            comp, par = nm.rsplit(".", 1)
            k = prev.model.names.index(comp)
            if par == "center":
                p0.append(prev.centers_eV[k] - prev.model.components[k].curve_anchor
                          + m.component(comp).curve_anchor)
            else:
                p0.append(prev.areas[k])
        return np.clip(p0, cm.lower, cm.upper)

    def fitted_shifts(f):
        return [float(f.centers_eV[k] - c.curve_anchor) for k, c in enumerate(f.model.components)]

    def run(mode, *, xx=x, yy=y, win=window, bg=bkind, aw=avg_width, refs_=refs, sig=sigma):
        f = fit_model(xx, yy, build("common", refs_, win, bg, aw), sigma=sig,
                      background=bg, window=win, avg_width=aw, name=name)
        if mode == "per-reference" and len(refs_) > 1:
            m = build("per-reference", refs_, win, bg, aw)
            f = fit_model(xx, yy, m, sigma=sig, background=bg, window=win, avg_width=aw,
                          name=name, p0=start_from(f, m), prescan=False)
        # re-prepare the references over the windows their shifts map onto the data's
        # (backgrounds meet at corresponding energies), until the shifts settle
        for _ in range(3):
            sh = fitted_shifts(f)
            m = build(mode, refs_, win, bg, aw, shifts=sh)
            f = fit_model(xx, yy, m, sigma=sig, background=bg, window=win, avg_width=aw,
                          name=name, p0=start_from(f, m), prescan=False)
            if max(abs(a - b) for a, b in zip(sh, fitted_shifts(f))) < 0.01:
                break
        return f

    with capture() as caught:
        fit = run(shift)
    seen = {(w.code, w.message) for w in fit.warnings}
    notes += list(fit.warnings) + [w.prefixed(name) for w in caught
                                   if (w.code, w.message) not in seen]
    from naheo_spec.xps.builtin import signal_digest

    digest = signal_digest(spectrum.signal)
    own = [r.name for r in refs if signal_digest(r.signal) == digest]
    if own:
        notes.append(SELF_CONSISTENCY.record(
            f"{name}: the spectrum is itself the reference {', '.join(own)}: a self-consistency "
            "check (its fractions and error bars say nothing about other samples)",
            references=", ".join(own)))
    valence = None
    boot_info = None
    if with_states:
        if error_budget:
            other = "per-reference" if shift == "common" else "common"
            by_state: dict[str, list] = {}
            for r in refs:
                by_state.setdefault(r.state, []).append(r)
            variants = [f"shift {other}"] + [f"without {r.name}" for rs in by_state.values()
                                             if len(rs) > 1 for r in rs]

            def refit(background=None, window=None, avg_width=None, variant=None,
                      shift_eV=0.0):
                mode, refs_ = shift, refs
                if variant == f"shift {other}":
                    mode = other
                elif variant:
                    drop = variant[len("without "):]
                    refs_ = [r for r in refs if r.name != drop]
                bg = background or bkind
                return run(mode, xx=x + shift_eV, win=window if window is not None else
                           (fit.energy_eV[0], fit.energy_eV[-1]), bg=bg,
                           aw=avg_width if avg_width is not None else avg_width_default,
                           refs_=refs_)

            avg_width_default = avg_width
            extra = {}
            if n_bootstrap > 0:
                fx = fit.energy_eV

                def refit_arrays(ystar):
                    return fit_model(fx, ystar, fit.model, sigma=fit.sigma, background=bkind,
                                     avg_width=avg_width, name=name, prescan=False,
                                     p0=fit.free_values[:fit.model.compile().p0.size])

                states = list(fit.model.states)
                err, L, n_ok = _bootstrap(fit, refit_arrays, n_bootstrap, seed, states)
                boot_info = {"n_requested": n_bootstrap, "n_used": n_ok, "block_length": L,
                             "seed": seed}
                if err is not None:
                    extra["bootstrap"] = err
            alt_bg = ("min-limits",) if all_ls else ("shirley", "linear")
            # the shift is fitted: a charge-reference error moves the data against the fixed
            # window only, which the window term already covers
            valence = valence_with_budget(fit, refit, variants=variants, backgrounds=alt_bg,
                                          charge_ref_err_eV=0.0, model_note=name,
                                          extra_terms=extra)
        else:
            fr, fe, mos, mose = state_fractions(fit)
            valence = ValenceResult(fr, fe, mos, mose, {"fit": dict(fe)})
        notes += list(valence.warnings)
    cm = fit.model.compile()
    tot = float(np.sum(fit.areas))
    rows = []
    for k, (r, c) in enumerate(zip(refs, fit.model.components)):
        rows.append({"name": r.name, "source": r.source, "state": r.state,
                     "weight": float(fit.areas[k]), "weight_err": float(fit.areas_err[k]),
                     "share": float(fit.areas[k] / tot) if tot > 0 else None,
                     "shift_eV": float(fit.centers_eV[k] - c.curve_anchor),
                     "shift_err_eV": float(fit.centers_err_eV[k]),
                     "anchor_eV": float(c.curve_anchor), "lineshape_block": r.is_lineshape})
    info = {"shift_mode": shift, "max_shift_eV": max_shift_eV, "background": bkind,
            "window_eV": [float(fit.energy_eV[0]), float(fit.energy_eV[-1])],
            "references": rows, "bootstrap": boot_info,
            "references_prepared": "background-subtracted (as the data) and unit area over "
                                   "the window; Lineshapes blocks as stored"}
    prov = Provenance(step="xps.lcf", source_file=spectrum.source.path,
                      source_sha256=spectrum.source.sha256,
                      parameters={"block": spectrum.source.scan,
                                  "references": [r.source for r in refs],
                                  "states": [r.state for r in refs], "shift": shift,
                                  "max_shift_eV": max_shift_eV, "background": bkind,
                                  "window_eV": list(window), "avg_width": avg_width,
                                  "charge_reference": charge.to_dict(),
                                  "free_parameters": list(cm.names),
                                  "error_budget": valence.budget if valence else None,
                                  "alternatives": valence.alternatives if valence else None,
                                  "bootstrap": boot_info})
    region = spectrum.acquisition.region if spectrum.acquisition else None
    return XpsResult(spectrum.source.path, spectrum.source.scan, region, charge.shift_eV, charge,
                     bkind, fit, valence, None, unique(notes), prov, extra={"lcf": info})
