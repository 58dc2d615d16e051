"""Wavelength <-> Raman shift.

A Raman shift is the difference of wavenumbers between the laser and the scattered light:
``shift (cm-1) = 1e7 / laser (nm) - 1e7 / wavelength (nm)`` (Stokes side positive).
"""
from __future__ import annotations

import math

import numpy as np

from naheo_spec.errors import InputError

__all__ = ["nm_to_shift", "shift_to_nm", "check_laser"]


def check_laser(laser_nm, *, where: str = "") -> float:
    """``laser_nm`` as a float, or InputError naming ``laser_wavelength``.

    Examples
    --------
    >>> check_laser("532")
    532.0
    """
    try:
        value = float(laser_nm)
    except (TypeError, ValueError):
        raise InputError(f"{where}laser_wavelength={laser_nm!r} is not a number (nm)",
                         parameter="laser_wavelength") from None
    if not math.isfinite(value) or not 150.0 <= value <= 2000.0:
        raise InputError(f"{where}laser_wavelength={laser_nm!r} nm is outside 150-2000 nm",
                         parameter="laser_wavelength")
    return value


def nm_to_shift(wavelength_nm, laser_nm: float) -> np.ndarray:
    """Raman shift (cm-1) of scattered light at ``wavelength_nm`` for a laser at ``laser_nm``.

    Parameters
    ----------
    wavelength_nm : array-like
        Wavelength of the scattered light (nm, in air as the instrument reports it).
    laser_nm : float
        Excitation wavelength (nm).

    Returns
    -------
    ndarray
        Shift in cm-1; positive on the Stokes side (wavelength longer than the laser).

    Examples
    --------
    >>> float(round(nm_to_shift(547.15, 532.0)[()], 1))
    520.5
    """
    lam = check_laser(laser_nm)
    return 1e7 / lam - 1e7 / np.asarray(wavelength_nm, dtype=float)


def shift_to_nm(shift_cm1, laser_nm: float) -> np.ndarray:
    """Inverse of :func:`nm_to_shift`.

    Examples
    --------
    >>> x = np.array([100.0, 1000.0])
    >>> bool(np.allclose(nm_to_shift(shift_to_nm(x, 785.0), 785.0), x))
    True
    """
    lam = check_laser(laser_nm)
    return 1e7 / (1e7 / lam - np.asarray(shift_cm1, dtype=float))
