"""Shell fit of an :class:`~naheo_spec.xas.exafs.ExafsResult` from a structure spec.

Glue between the EXAFS pipeline (chi(k) and its transform window) and the FEFF/feffit
layer: build the structure, run (or reuse the cached) FEFF calculation, select the
first TM–O and TM–TM single-scattering paths and fit them over the same k range,
k-weight and window as the pipeline's Fourier transform, so that model and data
overlay in the plots.
"""
from __future__ import annotations

from typing import Any

from naheo_spec.errors import InputError
from naheo_spec.xas.exafs import ExafsResult


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


def fit_exafs_result(result: ExafsResult, paths, *, rmin_A: float = 1.0, rmax_A: float = 3.2,
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

    Returns
    -------
    ExafsResult
        A copy carrying the :class:`~naheo_spec.xas.shellfit.ShellFitResult` (its warnings
        appended to the result's).

    References
    ----------
    M. Newville, J. Synchrotron Rad. 8, 322 (2001), doi:10.1107/S0909049500016964 (feffit).
    """
    from naheo_spec.xas.shellfit import fit_shells

    ft = result.provenance.parameters.get("xftf", {})
    kws = {"kmin": result.ft_kmin_invA, "kmax": result.ft_kmax_invA, "kweight": result.kweight,
           "dk": ft.get("dk", 1.0), "window": ft.get("window", "hanning"),
           "rmin_A": rmin_A, "rmax_A": rmax_A, "source_file": result.file}
    kws.update(fit_kws)
    fit = fit_shells(result.k_invA, result.chi, paths, **kws)
    return result.with_shell_fit(fit)
