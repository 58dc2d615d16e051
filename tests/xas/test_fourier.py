"""XAFS Fourier transforms against xraylarch's xftf/xftr/ftwindow, and their physics."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import LARCH
from naheo_spec.errors import InputError
from naheo_spec.xas.fourier import WINDOWS, ftwindow, xftf, xftr

KTOE = 3.8099819442818976


@pytest.fixture(scope="module")
def feo_chi(xas_data):
    """chi(k) of FeO (feo_rt1.xdi, real data) from larch pre_edge + autobk (kweight 2)."""
    from larch import Group
    from larch.xafs import autobk, pre_edge

    d = np.loadtxt(xas_data / LARCH / "feo_rt1.xdi", usecols=(0, 1))
    g = Group(energy=d[:, 0], mu=d[:, 1])
    pre_edge(g)
    autobk(g, rbkg=1.0, kweight=2)
    return g.k.copy(), g.chi.copy()


def _rel(a, b):
    return float(np.abs(a - b).max() / np.abs(b).max())


@pytest.mark.parametrize("window", WINDOWS)
def test_ftwindow_equals_larch(window):
    from larch.xafs import ftwindow as lwin

    k = 0.05 * np.arange(400)
    for xmin, xmax, dx, dx2 in [(3, 12, 1, None), (2.1, 14.3, 0.5, 2.0), (0, 19.95, 0, 0),
                                (3, 12, 3, None)]:
        ours = ftwindow(k, xmin=xmin, xmax=xmax, dx=dx, dx2=dx2, window=window)
        ref = lwin(k, xmin=xmin, xmax=xmax, dx=dx, dx2=dx2, window=window)
        np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-14)


@pytest.mark.parametrize("window", WINDOWS)
def test_xftf_xftr_equal_larch(feo_chi, window):
    from larch import Group
    from larch.xafs import xftf as lxftf, xftr as lxftr

    k, chi = feo_chi
    for kweight in (1, 2, 3):
        # dk is the Bessel shape (kaiser) or the sigma (gaussian): 0 gives a null window
        for dk in ((0.5, 1.0, 3.0) if window in ("kaiser", "gaussian") else (0.0, 1.0, 3.0)):
            g = Group()
            lxftf(k, chi, group=g, kmin=3, kmax=11.5, kweight=kweight, dk=dk, window=window)
            ft = xftf(k, chi, kmin=3, kmax=11.5, kweight=kweight, dk=dk, window=window)
            np.testing.assert_allclose(ft.r_A, g.r, rtol=1e-14)
            assert _rel(ft.chir, g.chir) < 1e-10
            assert _rel(ft.magnitude, g.chir_mag) < 1e-10
            np.testing.assert_allclose(ft.window, g.kwin, atol=1e-14)
    # back transform of the complex chi(R) and of its real part (larch scales by 1/2 only
    # for complex input)
    for data in (g.chir, g.chir.real.copy()):
        g2 = Group()
        lxftr(g.r, data, group=g2, rmin=1.0, rmax=3.2, dr=0.5, window=window)
        bt = xftr(g.r, data, rmin=1.0, rmax=3.2, dr=0.5, window=window)
        np.testing.assert_allclose(bt.q_invA, g2.q, rtol=1e-14)
        assert _rel(bt.chiq, g2.chiq) < 1e-10


def test_xftf_resamples_nonuniform_k_like_larch(feo_chi):
    from larch import Group
    from larch.xafs import xftf as lxftf

    k, chi = feo_chi
    kk = np.sort(np.r_[k[5::3], 0.123])
    cc = np.interp(kk, k, chi)
    g = Group()
    lxftf(kk, cc, group=g, kmin=3, kmax=11, kstep=0.05, window="kaiser", dk=2)
    ft = xftf(kk, cc, kmin=3, kmax=11, kstep=0.05, window="kaiser", dk=2)
    assert _rel(ft.chir, g.chir) < 1e-10


def test_stack_transform_equals_rows(feo_chi):
    k, chi = feo_chi
    rng = np.random.default_rng(1)
    stack = chi[None, :] * (1 + 0.2 * rng.standard_normal((5, 1))) + 0.01 * rng.standard_normal(
        (5, chi.size))
    ft = xftf(k, stack, kmin=3, kmax=12, kweight=2, dk=1, window="hanning")
    assert ft.chir.shape == (5, ft.r_A.size)
    for i in range(5):
        one = xftf(k, stack[i], kmin=3, kmax=12, kweight=2, dk=1, window="hanning")
        np.testing.assert_allclose(ft.chir[i], one.chir, rtol=0, atol=1e-13)
    bt = xftr(ft.r_A, ft.chir, rmin=1, rmax=3, dr=0.5, window="hanning")
    one = xftr(ft.r_A, ft.chir[3], rmin=1, rmax=3, dr=0.5, window="hanning")
    np.testing.assert_allclose(bt.chiq[3], one.chiq, rtol=0, atol=1e-13)


@pytest.mark.parametrize("r_true", [1.6, 2.5, 3.4])
def test_single_frequency_peaks_at_its_distance(r_true):
    """chi(k) = sin(2 k R) (no phase shift) must give |chi(R)| peaked at R."""
    k = 0.05 * np.arange(321)
    ft = xftf(k, np.sin(2 * k * r_true), kmin=2, kmax=15, kweight=0, dk=1, window="hanning")
    r_peak = ft.r_A[np.argmax(ft.magnitude)]
    assert abs(r_peak - r_true) <= np.pi / (0.05 * 2048)  # one R-grid step


def test_filtered_back_transform_recovers_single_shell():
    """Back transform of an isolated shell returns the k-weighted signal inside the window."""
    k = 0.05 * np.arange(321)
    chi = np.sin(2 * k * 2.5) * np.exp(-2 * 0.003 * k ** 2)
    ft = xftf(k, chi, kmin=2, kmax=15, kweight=1, dk=1, window="hanning")
    bt = xftr(ft.r_A, ft.chir, rmin=1.5, rmax=3.5, dr=0.2, window="hanning")
    sel = (bt.q_invA > 4) & (bt.q_invA < 13)
    expected = np.interp(bt.q_invA[sel], k, chi * k)
    rms = np.sqrt(np.mean((bt.real[sel] - expected) ** 2)) / np.sqrt(np.mean(expected ** 2))
    assert rms < 0.05


def test_input_errors():
    k = 0.05 * np.arange(200)
    with pytest.raises(InputError, match="window"):
        xftf(k, np.sin(k), window="boxcar")
    with pytest.raises(InputError, match="kweight"):
        xftf(k, np.sin(k), kweight=4)
    with pytest.raises(InputError, match="chi must have shape"):
        xftf(k, np.sin(k)[:-1])
    with pytest.raises(InputError, match="NaN"):
        xftf(k, np.where(k > 3, np.nan, 0.0))
    with pytest.raises(InputError, match="nfft"):
        xftf(0.05 * np.arange(3000), np.zeros(3000))


def test_inputs_not_modified(feo_chi):
    k, chi = feo_chi
    kc, cc = k.copy(), chi.copy()
    k.setflags(write=False)
    chi.setflags(write=False)
    try:
        xftf(k, chi, kmin=3, kmax=12, window="hanning")
    finally:
        k.setflags(write=True)
        chi.setflags(write=True)
    np.testing.assert_array_equal(k, kc)
    np.testing.assert_array_equal(chi, cc)
