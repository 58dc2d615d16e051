"""A SYNTHETIC air-exposure series built from real parts, for tutorials and tests.

No public Raman spectrum of a Na layered oxide or of Na2CO3 exists in the data this
package can ship, so the carbonate-growth demonstration is assembled, and labelled
synthetic everywhere (``source.format = "synthetic"``, ``metadata["synthetic"] = True``):

- **real** noise: the point-to-point scatter of spectra of the bundled RamanLab map
  (``"raman_map"``), taken as the residual of a 15-point quadratic Savitzky-Golay smoothing,
  one map spectrum per exposure step, on a smooth synthetic fluorescence background;
- **real** carbonate band shape: the calcite ν1 band of the bundled Renishaw spectrum
  (``"raman_calcite"``), baseline-subtracted, broadened with a Gaussian to a FWHM of 9 cm-1
  (a poorly crystalline surface carbonate; approximate) and moved from 1087.7 cm-1 to the
  natrite (Na2CO3) ν1 position 1080 cm-1 (Buzgar & Apopei 2009;
  ``reference_spectra/raman/bands.toml``);
- **synthetic** oxide bands: pseudo-Voigt Eg (~460 cm-1) and A1g (~570 cm-1) at the
  literature positions of the layered-oxide preset.

The carbonate area grows with exposure time so that the true carbonate index
(carbonate area / (Eg + A1g) area) follows ``index_per_day``; the truth travels with the
series (``metadata["true_carbonate_index"]``).
"""
from __future__ import annotations

import numpy as np

from naheo_spec.model import SourceInfo, SpectrumStack

__all__ = ["carbonate_growth_series", "NATRITE_V1_CM1"]

#: Na2CO3 (natrite) nu1(CO3), cm-1 (Buzgar & Apopei, Geologie 55, 97 (2009)).
NATRITE_V1_CM1 = 1080.0
#: Calcite nu1 in the bundled Renishaw spectrum, cm-1 (fitted: 1087.69 +- 0.01).
_CALCITE_V1_CM1 = 1087.69


#: FWHM (cm-1) the carbonate band is broadened to: surface carbonate on an electrode is
#: poorly crystalline, broader than the single-crystal calcite band (approximate).
CARBONATE_FWHM_CM1 = 9.0


def _carbonate_shape(axis: np.ndarray) -> np.ndarray:
    """The real calcite nu1 band broadened to :data:`CARBONATE_FWHM_CM1`, unit area,
    centred at the natrite position, on ``axis``."""
    from naheo_spec import datasets

    cal = datasets.load("raman_calcite")
    x, y = cal.axis, cal.signal
    win = (x > _CALCITE_V1_CM1 - 28) & (x < _CALCITE_V1_CM1 + 28)
    xs, ys = x[win], y[win]
    edge = np.r_[np.arange(4), np.arange(xs.size - 4, xs.size)]
    line = np.polyval(np.polyfit(xs[edge], ys[edge], 1), xs)
    band = np.clip(ys - line, 0.0, None)
    step = float(np.median(np.diff(xs)))
    half = band >= 0.5 * band.max()
    fwhm0 = step * max(int(half.sum()), 1)
    sig = np.sqrt(max(CARBONATE_FWHM_CM1 ** 2 - fwhm0 ** 2, 0.0)) / 2.3548
    if sig > 0:
        k = np.arange(-int(4 * sig / step) - 1, int(4 * sig / step) + 2) * step
        kern = np.exp(-0.5 * (k / sig) ** 2)
        band = np.convolve(band, kern / kern.sum(), mode="same")
    band /= np.trapezoid(band, xs)
    out = np.interp(axis, xs - _CALCITE_V1_CM1 + NATRITE_V1_CM1, band, left=0.0, right=0.0)
    return out / np.trapezoid(out, axis)


def carbonate_growth_series(*, days: int = 8, index_per_day=None, oxide_area: float = 2.0e5,
                            seed: int = 0) -> SpectrumStack:
    """A SYNTHETIC air-exposure series: oxide bands, a growing carbonate band, real noise.

    Parameters
    ----------
    days : int
        Number of spectra, one per day of exposure (0, 1, ...). Default is 8.
    index_per_day : sequence of float, optional
        True carbonate index of each day. Default: 0, 0, 0.005, 0.02, 0.05, 0.09, 0.14, 0.2.
    oxide_area : float
        Summed Eg + A1g area (counts x cm-1). Default 2e5: band heights of ~1500 counts over
        a real noise of ~55 counts (signal-to-noise ~30).
    seed : int
        Which map spectra serve as backgrounds (rows are drawn without replacement).

    Returns
    -------
    SpectrumStack
        Raman shift 100-2000 cm-1, coordinate ``exposure_h`` (h), ``metadata`` with
        ``synthetic=True``, ``true_carbonate_index`` and the recipe.

    Examples
    --------
    >>> st = carbonate_growth_series()
    >>> st.metadata["synthetic"], len(st), st.coordinate_units["exposure_h"]
    (True, 8, 'h')
    """
    from naheo_spec import datasets
    from naheo_spec.raman.lineshapes import pseudo_voigt

    truth = np.asarray(index_per_day if index_per_day is not None
                       else [0.0, 0.0, 0.005, 0.02, 0.05, 0.09, 0.14, 0.2][:days], dtype=float)
    if truth.size != days:
        raise ValueError(f"index_per_day has {truth.size} values for {days} days")
    from scipy.signal import savgol_filter

    base = datasets.load("raman_map")
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(base), size=days, replace=False)
    axis = base.axis
    noise = base.signals[rows] - savgol_filter(base.signals[rows], 15, 2, axis=1)
    background = 1500.0 * np.exp(-(axis - axis[0]) / 1500.0) + 300.0
    eg = pseudo_voigt(axis, 0.45 * oxide_area, 462.0, 38.0, 0.5)
    a1g = pseudo_voigt(axis, 0.55 * oxide_area, 572.0, 32.0, 0.5)
    carb = _carbonate_shape(axis)
    signals = background + eg + a1g + noise + truth[:, None] * oxide_area * carb
    meta = {"synthetic": True, "true_carbonate_index": truth.tolist(),
            "recipe": "real noise (RamanLab map, Savitzky-Golay residual) + smooth synthetic "
                      "background + synthetic Eg 462/A1g 572 pseudo-Voigts + real calcite nu1 "
                      "shape moved to 1080 cm-1 (natrite)",
            "map_rows": rows.tolist()}
    return SpectrumStack(axis, signals, axis_kind="raman_shift", signal_label="intensity",
                         coordinates={"exposure_h": 24.0 * np.arange(days)},
                         coordinate_units={"exposure_h": "h"},
                         labels=[f"day {d}" for d in range(days)], metadata=meta,
                         source=SourceInfo(path=None, format="synthetic",
                                           scan="air exposure (SYNTHETIC)"))
