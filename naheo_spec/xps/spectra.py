"""What every XPS reader shares: region names, the noise model, and building the Spectrum.

Noise. Poisson standard deviations are used only for raw integer counts. The real files of
the tests' real data are processed (counts/s, PCA-smoothed, non-integer): their
point-to-point scatter is 0.1-0.4 x sqrt(counts). For them the noise is modelled as
``sigma_i = k * sqrt(max(y_i, y_floor))`` -- the Poisson shape -- with the scale ``k``
estimated from the data's own second differences (a robust median absolute deviation),
and the spectrum carries the coded record :data:`PROCESSED_COUNTS`. Smoothed data have
correlated noise, so this estimate is a lower bound on the real counting noise: reduced
chi-square values of such fits are not a goodness-of-fit test, and the error budget of
:mod:`naheo_spec.xps.valence` does not rely on the covariance alone.

References
----------
ISO 14976:1998, Surface chemical analysis - Data transfer format (VAMAS);
W. A. Dench, L. B. Hazell, M. P. Seah, Surf. Interface Anal. 13, 63 (1988).
"""
from __future__ import annotations

import re
from typing import Any

import numpy as np

from naheo_spec.diagnostics import WarningCode, WarningRecord
from naheo_spec.errors import InputError, QualityWarning, ReadError
from naheo_spec.io.axis_hints import CORE_LEVEL
from naheo_spec.io.repair import repair_axis
from naheo_spec.model import AxisKind, SourceInfo, Spectrum, XpsAcquisition

__all__ = ["region_name", "element_of", "estimate_noise", "build_xps_spectrum",
           "PROCESSED_COUNTS", "NO_PHOTON_ENERGY_HINT", "kinetic_to_binding"]

PROCESSED_COUNTS = WarningCode(
    "xps.read.processed_counts", QualityWarning,
    "Intensities are processed (non-integer, counts/s or smoothed): counting statistics do "
    "not apply and the noise was estimated from the data.")

#: Placeholder values some writers put into unknown VAMAS fields.
_PLACEHOLDER = 1e30

_REGION_WORD = re.compile(r"^\s*([A-Z][a-z]?)\s*([1-5][spdf])\s*([13579]/2)?\s*$")
_AUGER_WORD = re.compile(r"^\s*([A-Z][a-z]?)\s*([KLMN][KLMNV][KLMNV])\s*$")


def region_name(text: str | None) -> str | None:
    """Canonical region name: ``"Ni2p"`` -> ``"Ni 2p"``, ``"Mn 2p3/2"`` -> ``"Mn 2p3/2"``;
    other names are returned stripped (``"Survey"``, ``"Ni LMM"``).

    Examples
    --------
    >>> region_name("Ni2p"), region_name(" Na 1s "), region_name("Survey"), region_name("NiLLM")
    ('Ni 2p', 'Na 1s', 'Survey', 'Ni LMM')
    """
    if text is None:
        return None
    s = str(text).strip()
    m = _REGION_WORD.match(s)
    if m:
        return f"{m.group(1)} {m.group(2)}{m.group(3) or ''}"
    m = _AUGER_WORD.match(s)
    if m:
        # "NiLLM" in EX502 is the Ni LMM window (610-684 eV BE); the Auger is LMM.
        trans = "LMM" if m.group(2) == "LLM" else m.group(2)
        return f"{m.group(1)} {trans}"
    return s or None


def element_of(region: str | None) -> str | None:
    """Element symbol of a core-level region name (``"Ni 2p"`` -> ``"Ni"``), else None.

    Examples
    --------
    >>> element_of("Mn 2p"), element_of("Survey")
    ('Mn', None)
    """
    if not region:
        return None
    m = CORE_LEVEL.search(region)
    return m.group(1) if m else None


def kinetic_to_binding(kinetic, photon_energy_eV: float, work_function_eV: float = 0.0):
    """Binding energy (eV) from kinetic energy: ``BE = hv - KE - phi``.

    For VAMAS files the work function is already folded into the stored kinetic
    energies (the SPECS files reproduce their own BE exports with ``phi = 0``).

    Examples
    --------
    >>> float(kinetic_to_binding(632.81, 1486.61))
    853.8
    """
    return float(photon_energy_eV) - np.asarray(kinetic, dtype=float) - float(work_function_eV)


def estimate_noise(signal, *, raw_counts: bool, floor_fraction: float = 0.01
                   ) -> tuple[np.ndarray, str, float]:
    """Per-point standard deviation of an XPS signal.

    Parameters
    ----------
    signal : array-like, shape (M,)
        Counts or counts/s, on an ascending or descending axis (order does not matter).
    raw_counts : bool
        True for unprocessed integer counts: Poisson ``sqrt(y)`` (scale 1).
    floor_fraction : float
        ``y`` is floored at this fraction of its maximum before the square root, so that
        near-zero points do not get zero weight-defining sigma. Default is 0.01.

    Returns
    -------
    sigma : ndarray, shape (M,)
        Standard deviations (same unit as ``signal``).
    source : str
        ``"poisson"`` or ``"estimated"``.
    scale : float
        ``k`` in ``sigma = k sqrt(y)`` (1 for Poisson).

    Raises
    ------
    InputError
        Fewer than 5 finite points.

    References
    ----------
    Robust scale of second differences: a MAD estimate, e.g. P. J. Rousseeuw and
    C. Croux, J. Am. Stat. Assoc. 88, 1273 (1993).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = rng.poisson(10000, 2000).astype(float)
    >>> s, src, k = estimate_noise(y, raw_counts=False)
    >>> src, bool(0.9 < k < 1.1)
    ('estimated', True)
    """
    y = np.asarray(signal, dtype=float)
    if y.size < 5 or not np.all(np.isfinite(y)):
        raise InputError("signal must hold at least 5 finite values to estimate its noise",
                         parameter="signal")
    ymax = float(np.max(np.abs(y))) or 1.0
    base = np.sqrt(np.maximum(np.abs(y), max(floor_fraction * ymax, 1e-12)))
    if raw_counts:
        return np.sqrt(np.maximum(y, 1.0)), "poisson", 1.0
    d2 = (y[:-2] - 2.0 * y[1:-1] + y[2:]) / np.sqrt(6.0)
    z = d2 / base[1:-1]
    k = 1.4826 * float(np.median(np.abs(z - np.median(z))))
    if not np.isfinite(k) or k <= 0:
        # A perfectly smooth curve: give it a tiny but non-zero noise (1e-4 of the
        # Poisson-shaped scale) so that fits stay defined; reduced chi2 will say so.
        k = 1e-4 * float(np.median(base))
    return k * base, "estimated", k


def _clean(v) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    if not np.isfinite(f) or abs(f) >= _PLACEHOLDER:
        return None
    return f


def is_integer_counts(y) -> bool:
    """True when every value is a non-negative integer (raw pulse counts)."""
    y = np.asarray(y, dtype=float)
    return bool(y.size and np.all(y >= 0) and np.all(np.abs(y - np.round(y)) < 1e-9))


def build_xps_spectrum(*, path: str, sha256: str, fmt: str, name: str, axis, signal,
                       axis_kind: AxisKind = AxisKind.BINDING_ENERGY, photon_energy=None,
                       work_function=None, channels: dict | None = None,
                       sample: str | None = None, region: str | None = None,
                       intensity_unit: str = "counts", pass_energy=None, dwell=None,
                       n_scans=None, source_label: str | None = None,
                       analyser_mode: str | None = None, metadata: dict | None = None,
                       header: str | None = None, aliases=(), columns=None,
                       warnings: list[WarningRecord] | None = None,
                       photon_energy_given: float | None = None) -> Spectrum:
    """One XPS block as a :class:`~naheo_spec.model.Spectrum` on a binding-energy axis.

    ``Spectrum.element``/``edge`` stay None (they name XAS absorbers); the region
    (``acquisition.region``) names the core level.

    Kinetic-energy axes are converted with the block's photon energy (or
    ``photon_energy_given``, which wins); without one, ReadError. The axis is repaired
    (NaN rows, order) with descending binding energy treated as natural; the noise model
    of :func:`estimate_noise` is attached.

    Raises
    ------
    ReadError
        Kinetic energies without a photon energy; too few finite points.
    """
    where = f"{path}:{name}" if name else path
    notes = list(warnings or [])
    hv = photon_energy_given if photon_energy_given is not None else _clean(photon_energy)
    wf = _clean(work_function)
    x = np.asarray(axis, dtype=float)
    kind = AxisKind(axis_kind)
    md = dict(metadata or {})
    if kind is AxisKind.KINETIC_ENERGY:
        if hv is None:
            raise ReadError(path, f"block {name!r} is on a kinetic-energy scale and the file does "
                                  "not store the photon energy: pass photon_energy= "
                                  "(--photon-energy), e.g. 1486.6 for Al Ka")
        md["kinetic_energy_first_eV"] = float(x[0])
        # VAMAS: the work function is folded into KE by the instrument (see module doc of
        # naheo_spec.model.acquisition); text files may give one explicitly.
        phi = float(md.pop("apply_work_function_eV", 0.0) or 0.0)
        x = kinetic_to_binding(x, hv, phi)
        kind = AxisKind.BINDING_ENERGY
    cols = {"signal": np.asarray(signal, dtype=float)}
    for k, v in (channels or {}).items():
        cols[k] = np.asarray(v, dtype=float)
    x, cols, repairs = repair_axis(x, cols, path=where, axis_name="binding energy",
                                   descending_is_natural=True)
    notes += repairs
    y = cols.pop("signal")
    raw = intensity_unit == "counts" and is_integer_counts(y)
    sigma, src, k = estimate_noise(y, raw_counts=raw)
    md["noise_scale"] = k
    if not raw:
        notes.append(PROCESSED_COUNTS.record(
            f"{where}: intensities are processed ({intensity_unit}, non-integer): noise "
            f"estimated from the data (sigma = {k:.3g} sqrt(y))", noise_scale=k))
    region = region_name(region)
    acq = XpsAcquisition(photon_energy_eV=hv, work_function_eV=wf,
                         pass_energy_eV=_clean(pass_energy), dwell_s=_clean(dwell),
                         n_scans=int(n_scans) if _clean(n_scans) else None,
                         source_label=source_label or None, analyser_mode=analyser_mode or None,
                         sample=sample or None, region=region, intensity_unit=intensity_unit,
                         raw_counts=raw)
    al = tuple(dict.fromkeys(a for a in (*aliases, region) if a and a != name))
    return Spectrum(x, y, axis_kind=AxisKind.BINDING_ENERGY, signal_label="intensity",
                    signal_unit=intensity_unit, sigma=sigma, sigma_source=src,
                    channels=cols, element=None, edge=None,
                    acquisition=acq, metadata=md, header=header,
                    source=SourceInfo(path=path, sha256=sha256, format=fmt, scan=name,
                                      columns=columns or {}, aliases=al),
                    warnings=tuple(notes))


def unique_block_names(names: list[str]) -> list[str]:
    """Make repeated names unique with ``" #2"``, ``" #3"``... (first kept as is).

    Examples
    --------
    >>> unique_block_names(["NiO Ni 2p", "NiO Ni 2p", "Ni Survey"])
    ['NiO Ni 2p', 'NiO Ni 2p #2', 'Ni Survey']
    """
    seen: dict[str, int] = {}
    out = []
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n} #{seen[n]}")
    return out


def metadata_scalars(d: dict[str, Any]) -> dict[str, Any]:
    """Drop None values (metadata keeps only what the file said)."""
    return {k: v for k, v in d.items() if v is not None}
