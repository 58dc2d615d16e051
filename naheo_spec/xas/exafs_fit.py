"""Shell fit of an :class:`~naheo_spec.xas.exafs.ExafsResult` from a structure spec.

Glue between the EXAFS pipeline (chi(k) and its transform window) and the FEFF/feffit
layer: build the structure, run (or reuse the cached) FEFF calculation, select the
first TM–O and TM–TM single-scattering paths and fit them over the same k range,
k-weight and window as the pipeline's Fourier transform, so that model and data
overlay in the plots.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable

from naheo_spec.diagnostics import WarningCode, capture
from naheo_spec.errors import InputError, NaheoError, QualityWarning
from naheo_spec.xas.exafs import ExafsResult

#: Warning codes of a fit that did not pass its checks (a suggestion is searched for).
FAILED_FIT_CODES = frozenset({
    "xas.shellfit.high_r_factor", "xas.shellfit.n_off", "xas.shellfit.large_delr",
    "xas.shellfit.sigma2_off", "xas.shellfit.at_bound", "xas.shellfit.not_converged",
    "xas.shellfit.undetermined", "xas.shellfit.no_uncertainties"})

TRY_RANGE = WarningCode(
    "xas.shellfit.try_range", QualityWarning,
    "The fit failed its checks; a nearby k or R range (or background k-weight) passes them: "
    "the message says which options to use.")
NO_PASSING_RANGE = WarningCode(
    "xas.shellfit.no_passing_range", QualityWarning,
    "The fit failed its checks and none of the nearby k/R ranges tried passes them: check "
    "the structure model, the background and the data quality.")


def structure_paths(structure_spec: Any, absorber: str, *, rmax_A: float = 5.0, cache_dir=None):
    """FEFF paths (first TM–O, first TM–TM) for a structure spec and absorber.

    Parameters
    ----------
    structure_spec : str or Structure
        ``"rocksalt:a=4.177"``, ``"o3:a=..,c=..,z=..,Ni=..,..."``, ``"ref:NAME"``, a CIF path
        (see :func:`naheo_spec.xas.structures.parse_structure_spec`), or a Structure.
    absorber : str
        Absorbing element symbol, e.g. ``"Ni"``.
    rmax_A : float
        FEFF cluster radius, Å. Default is 5.0.
    cache_dir : path, optional
        FEFF cache folder (default ``$NAHEO_CACHE/feff`` or ``~/.cache/naheo_spec/feff``).

    Returns
    -------
    tuple of FeffPath
        ``(tm_o, tm_tm)``.
    """
    from naheo_spec.xas.feff import run_feff, select_shell_paths
    from naheo_spec.xas.structures import parse_structure_spec

    if not absorber:
        raise InputError("a shell fit needs the absorbing element (--absorber, e.g. Ni)")
    structure = (parse_structure_spec(structure_spec, absorber=absorber)
                 if isinstance(structure_spec, str) else structure_spec)
    return tuple(select_shell_paths(run_feff(structure, absorber, rmax_A=rmax_A, cache_dir=cache_dir),
                                    absorber=absorber))


def _fit_kws(result: ExafsResult, rmin_A, rmax_A, fit_kws) -> dict[str, Any]:
    ft = result.provenance.parameters.get("xftf", {})
    dk = ft.get("dk", 1.0)
    # the k-range sensitivity refits must stay inside the data and before any next edge
    top = (result.k_limit.kmax_invA - dk / 2.0 if result.k_limit is not None
           else result.kmax_data_invA - 1.0)
    kws = {"kmin": result.ft_kmin_invA, "kmax": result.ft_kmax_invA, "kweight": result.kweight,
           "dk": dk, "window": ft.get("window", "hanning"),
           "rmin_A": rmin_A, "rmax_A": rmax_A, "source_file": result.file,
           "k_sensitivity": True, "k_sensitivity_max_invA": float(top)}
    kws.update(fit_kws)
    return kws


def _passes(fit) -> bool:
    return not ({w.code for w in fit.warnings} & FAILED_FIT_CODES)


def _candidates(kmin, kmax, rmax):
    """Nearby (kmin, kmax, rmax) in the order they are tried: shorter k range first (noise,
    glitches and leftover steps sit at high k), then without the next shells (rmax 3.0 A),
    then a different kmin."""
    out = []
    for kmn, kmx, rmx in [(kmin, kmax - 1, rmax), (kmin, kmax - 2, rmax), (kmin, kmax, 3.0),
                          (kmin, kmax - 1, 3.0), (kmin, kmax - 2, 3.0), (2.0, kmax, rmax),
                          (2.0, kmax - 1, rmax), (2.0, kmax, 3.0), (4.0, kmax, rmax),
                          (4.0, kmax - 1, rmax)]:
        key = (round(kmn, 2), round(kmx, 2), round(rmx, 2))
        if kmx - kmn >= 5.0 and rmx < rmax + 1e-9 and key != (round(kmin, 2), round(kmax, 2),
                                                                  round(rmax, 2)) \
                and key not in out:
            out.append(key)
    return out


def suggest_fit_range(result: ExafsResult, paths, *, rmin_A: float = 1.0, rmax_A: float = 3.2,
                      reanalyze: Callable[[int], ExafsResult] | None = None,
                      **fit_kws) -> dict[str, Any] | None:
    """A nearby k/R range (and background k-weight) where the shell fit passes its checks.

    The default fit of a real spectrum can fail on a glitch or a leftover step at high k,
    on weak next shells inside the R range, or on a background fitted with k-weight 1.
    This tries, in order and stopping at the first fit without a failure warning
    (:data:`FAILED_FIT_CODES`): the same background with kmax lowered by 1 and 2 A^-1,
    rmax 3.0 A, kmin 2 or 4 A^-1; then, when ``reanalyze`` is given and the background
    k-weight was 1, the background with k-weight 2 and the same ranges.

    Parameters
    ----------
    result : ExafsResult
        The analysed spectrum (its FT k range and window are the starting point).
    paths : sequence of FeffPath
        As for :func:`fit_exafs_result`.
    rmin_A, rmax_A : float
        The R range of the failed fit, A.
    reanalyze : callable, optional
        ``reanalyze(bkg_kweight) -> ExafsResult`` re-runs the pipeline on the same
        spectrum with another background k-weight. Default None: not tried.
    **fit_kws
        The other options of the failed fit (s02, ...).

    Returns
    -------
    dict or None
        ``kmin``, ``kmax``, ``rmin_A``, ``rmax_A``, ``bkg_kweight``, ``r_factor``,
        ``distances_A`` ({label: R}) and ``options`` (the CLI flags to use); None when
        nothing tried passes.

    References
    ----------
    B. Ravel and M. Newville, J. Synchrotron Rad. 12, 537 (2005),
    doi:10.1107/S0909049505012719 (fit ranges in ARTEMIS);
    S. Calvin, *XAFS for Everyone* (CRC Press, 2013), ch. 14 (choosing k and R ranges).
    """
    from naheo_spec.xas.shellfit import fit_shells

    base = _fit_kws(result, rmin_A, rmax_A, fit_kws)
    bkw = int(result.provenance.parameters.get("autobk", {}).get("kweight", 2))
    trials = [(result, bkw, c) for c in _candidates(base["kmin"], base["kmax"], base["rmax_A"])]
    second = None
    if reanalyze is not None and bkw == 1:
        with capture():
            try:
                second = reanalyze(2)
            except NaheoError:
                second = None
    if second is not None:
        first = (round(base["kmin"], 2), round(min(base["kmax"], second.ft_kmax_invA), 2),
                 round(base["rmax_A"], 2))
        trials += [(second, 2, c) for c in [first] + _candidates(*first)]
    for res, kw, (kmin, kmax, rmax) in trials:
        kws = dict(base, kmin=kmin, kmax=min(kmax, res.ft_kmax_invA), rmax_A=rmax,
                   k_sensitivity=False)
        with capture():
            try:
                fit = fit_shells(res.k_invA, res.chi, paths, **kws)
            except NaheoError:
                continue
        if _passes(fit):
            opts = []
            if kw != bkw:
                opts.append(f"--bkg-kweight {kw}")
            if abs(kws["kmin"] - base["kmin"]) > 1e-6:
                opts.append(f"--kmin {kws['kmin']:.1f}")
            if abs(kws["kmax"] - base["kmax"]) > 1e-6:
                opts.append(f"--kmax {kws['kmax']:.1f}")
            if abs(rmax - base["rmax_A"]) > 1e-6:
                opts.append(f"--rmax {rmax:.1f}")
            return {"kmin": float(kws["kmin"]), "kmax": float(kws["kmax"]),
                    "rmin_A": float(base["rmin_A"]), "rmax_A": float(rmax), "bkg_kweight": kw,
                    "r_factor": float(fit.r_factor),
                    "distances_A": {p.label: round(float(p.r_A), 4) for p in fit.paths},
                    "options": " ".join(opts)}
    return None


def _suggestion_record(fit, base, suggestion):
    failed = sorted({w.code.split(".")[-1] for w in fit.warnings} & {c.split(".")[-1]
                                                                     for c in FAILED_FIT_CODES})
    where = (f"k {base['kmin']:.2f}-{base['kmax']:.2f} 1/angstrom, "
             f"R {base['rmin_A']:.2f}-{base['rmax_A']:.2f} angstrom")
    if suggestion is None:
        return NO_PASSING_RANGE.record(
            f"the fit over {where} fails ({', '.join(failed)}) and no nearby k/R range or "
            "background k-weight passes: check the structure model (--fit), the background "
            "(--rbkg, --bkg-kweight) and the data")
    dist = ", ".join(f"{k} {v:.3f}" for k, v in suggestion["distances_A"].items())
    return TRY_RANGE.record(
        f"the fit over {where} fails ({', '.join(failed)}); it passes every check with "
        f"k {suggestion['kmin']:.2f}-{suggestion['kmax']:.2f} 1/angstrom, "
        f"R {suggestion['rmin_A']:.2f}-{suggestion['rmax_A']:.2f} angstrom, background "
        f"k-weight {suggestion['bkg_kweight']} (R-factor {suggestion['r_factor']:.3f}; {dist} "
        f"angstrom): try {suggestion['options']}", options=suggestion["options"])


def fit_exafs_result(result: ExafsResult, paths, *, rmin_A: float = 1.0, rmax_A: float = 3.2,
                     suggest: bool = True, reanalyze: Callable[[int], ExafsResult] | None = None,
                     **fit_kws) -> ExafsResult:
    """Fit ``paths`` to ``result.chi`` and return the result with ``shell_fit`` set.

    The k range (``result.ft_kmin_invA``..``ft_kmax_invA``), k-weight and FT window are
    taken from the pipeline result so that the fit and the displayed transform agree;
    ``fit_kws`` go to :func:`naheo_spec.xas.shellfit.fit_shells` (e.g. ``s02``, ``vary_n``).

    Parameters
    ----------
    result : ExafsResult
        Output of :func:`naheo_spec.xas.exafs.analyze_exafs`.
    paths : sequence of FeffPath
        E.g. from :func:`structure_paths`.
    rmin_A, rmax_A : float
        R range of the fit, Å. Defaults are 1.0 and 3.2.
    suggest : bool
        When the fit fails its checks, look for a nearby range that passes
        (:func:`suggest_fit_range`) and say which options to use (coded warning
        ``xas.shellfit.try_range``, or ``xas.shellfit.no_passing_range``). Default is True.
    reanalyze : callable, optional
        ``reanalyze(bkg_kweight) -> ExafsResult``, lets the suggestion try a background
        k-weight of 2 when the result used 1. Default None.

    Returns
    -------
    ExafsResult
        A copy carrying the :class:`~naheo_spec.xas.shellfit.ShellFitResult` (its warnings
        appended to the result's; ``shell_fit.suggestion`` set when one was searched).

    References
    ----------
    M. Newville, J. Synchrotron Rad. 8, 322 (2001), doi:10.1107/S0909049500016964 (feffit).
    """
    from naheo_spec.xas.shellfit import fit_shells

    kws = _fit_kws(result, rmin_A, rmax_A, fit_kws)
    fit = fit_shells(result.k_invA, result.chi, paths, **kws)
    if suggest and not _passes(fit):
        suggestion = suggest_fit_range(result, paths, rmin_A=rmin_A, rmax_A=rmax_A,
                                       reanalyze=reanalyze, **fit_kws)
        rec = _suggestion_record(fit, kws, suggestion)
        rec.emit(stacklevel=2)
        fit = replace(fit, suggestion=suggestion, warnings=tuple(fit.warnings) + (rec,))
    return result.with_shell_fit(fit)
