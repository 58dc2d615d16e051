"""Shell-peak assignment in |chi(R)|: windows, highest-maximum rule, refinement, misses."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import LARCH
from naheo_spec.errors import InputError, QualityWarning
from naheo_spec.xas.ft_peaks import PEAK_WINDOWS, find_shell_peaks

RSTEP = np.pi / (0.05 * 2048)  # xftf's R grid step, A
R = RSTEP * np.arange(326)


def _gauss(r0, height, width=0.15):
    return height * np.exp(-0.5 * ((R - r0) / width) ** 2)


def test_oxide_windows_pick_both_shells_with_subgrid_precision():
    # ripple below 1.1 A larger than the first shell must be ignored
    mag = _gauss(0.7, 3.0, 0.1) + _gauss(1.537, 2.0) + _gauss(2.713, 1.2)
    o, m = find_shell_peaks(R, mag)
    assert (o.label, m.label) == ("TM-O", "TM-TM")
    assert o.window_A == PEAK_WINDOWS["oxide"]["TM-O"]
    # parabolic refinement beats the 0.031 A grid by an order of magnitude
    assert abs(o.r_apparent_A - 1.537) < 0.003 and abs(m.r_apparent_A - 2.713) < 0.003
    assert o.magnitude == pytest.approx(2.0, rel=0.01)
    assert m.magnitude == pytest.approx(1.2, rel=0.01)


def test_highest_local_maximum_wins_not_the_first():
    mag = _gauss(1.2, 0.5, 0.06) + _gauss(1.65, 1.5) + _gauss(2.9, 0.8)
    assert mag[np.argmin(abs(R - 1.2))] > mag[np.argmin(abs(R - 1.2)) + 1]  # a real local max
    (o, _) = find_shell_peaks(R, mag)
    assert abs(o.r_apparent_A - 1.65) < 0.005


def test_tail_of_an_outside_peak_is_not_a_peak():
    """A monotonic flank inside a window (peak just outside) is reported as missing."""
    mag = _gauss(0.9, 2.0, 0.2) + _gauss(2.7, 1.0)
    with pytest.warns(QualityWarning, match="no TM-O peak"):
        o, m = find_shell_peaks(R, mag)
    assert np.isnan(o.r_apparent_A) and np.isnan(o.magnitude) and not o.found
    assert o.to_json_dict() == {"label": "TM-O", "r_apparent_A": None, "magnitude": None}
    assert abs(m.r_apparent_A - 2.7) < 0.005


def test_custom_and_metal_windows():
    mag = _gauss(2.18, 1.0) + _gauss(4.1, 0.4)
    (nn,) = find_shell_peaks(R, mag, windows="metal")
    assert nn.label == "TM-TM" and abs(nn.r_apparent_A - 2.18) < 0.005
    peaks = find_shell_peaks(R, mag, windows={"shell1": (1.8, 2.7), "shell3": (3.5, 4.5)})
    assert [p.label for p in peaks] == ["shell1", "shell3"]
    assert abs(peaks[1].r_apparent_A - 4.1) < 0.005


def test_bad_windows_and_arrays():
    mag = _gauss(1.5, 1.0)
    with pytest.raises(InputError, match="windows"):
        find_shell_peaks(R, mag, windows="sulfide")
    with pytest.raises(InputError, match="rmin < rmax"):
        find_shell_peaks(R, mag, windows={"x": (2.0, 1.0)})
    with pytest.raises(InputError, match="equal length"):
        find_shell_peaks(R, mag[:-1])


def test_real_ni_foil_metal_window(xas_data):
    """Ni foil (ni_metal_rt.xdi): nearest-neighbour peak at 2.18 A apparent (notes section 3)."""
    from larch import Group
    from larch.xafs import autobk, pre_edge, xftf

    d = np.loadtxt(xas_data / LARCH / "ni_metal_rt.xdi", usecols=(0, 1))
    g = Group(energy=d[:, 0], mu=d[:, 1])
    pre_edge(g)
    autobk(g, rbkg=1.0, kweight=2)
    xftf(g, kmin=3, kmax=min(12, g.k.max() - 1), kweight=2, dk=1, window="hanning")
    (nn,) = find_shell_peaks(g.r, g.chir_mag, windows="metal")
    assert abs(nn.r_apparent_A - 2.18) < 0.05


def test_stack_version_equals_rows():
    from naheo_spec.xas.ft_peaks import shell_peaks_stack

    rows = np.vstack([_gauss(1.5, 2.0) + _gauss(2.8, 1.0), _gauss(1.71, 0.7) + _gauss(2.41, 0.9),
                      np.full(R.size, np.nan), _gauss(0.9, 2.0, 0.2) + _gauss(2.6, 1.0)])
    found, msgs = shell_peaks_stack(R, rows)
    assert len(msgs) == 1 and msgs[0].code == "xas.ft.peak_missing"
    assert "no TM-O peak" in msgs[0].message and "[3]" in msgs[0].message
    for i in (0, 1, 3):
        with pytest.warns(QualityWarning) if i == 3 else _no_warning():
            one = find_shell_peaks(R, rows[i])
        for p in one:
            pos, height = found[p.label]
            np.testing.assert_equal(pos[i], p.r_apparent_A)
            np.testing.assert_equal(height[i], p.magnitude)
    assert np.isnan(found["TM-O"][0][2]) and np.isnan(found["TM-TM"][0][2])


def _no_warning():
    import contextlib
    import warnings

    @contextlib.contextmanager
    def ctx():
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            yield
    return ctx()
