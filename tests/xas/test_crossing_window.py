"""The windowed half-height crossing search gives the full-length search's answer
(``half_height_rows(...)["k"]``, the grid index below each row's crossing)."""
import numpy as np

from naheo_spec.numerics.polyfit import index_of
from naheo_spec.xas.e0 import TOP_LEVEL, half_height_rows


def _full(energy, norm, e0, level):
    """The search over every row's full length (the implementation before the window)."""
    n, m = norm.shape
    idx = np.arange(m)
    start = index_of(energy, e0 - 30.0)
    hi = norm >= max(TOP_LEVEL, level + 0.05)
    top = hi[:, :-1] & hi[:, 1:] & (idx[None, :-1] >= start[:, None])
    i_top = np.where(top.any(axis=1), np.argmax(top, axis=1), m - 1)
    up = (norm[:, :-1] < level) & (norm[:, 1:] >= level) & (idx[None, :-1] < i_top[:, None])
    k = (m - 2) - np.argmax(up[:, ::-1], axis=1)
    return np.where(up.any(axis=1), k, -1)


def test_window_equals_full_search():
    rng = np.random.default_rng(3)
    e = np.linspace(6900.0, 7600.0, 500)
    for spread in (2.0, 40.0, 300.0):
        n = 800
        e0 = 7120.0 + rng.uniform(-spread, spread, n)
        width = rng.uniform(0.5, 80.0, n)[:, None]
        norm = np.clip((e[None, :] - e0[:, None]) / width, 0, 1.2)
        norm += rng.normal(0, rng.uniform(0.0, 0.4, n)[:, None], norm.shape)
        norm[::9, :60] = 0.7                       # crossings far before the window
        norm[::13] = 0.1                           # no crossing
        norm[::17, 300:] = 0.6                     # no top
        for level in (0.5, 0.3):
            for guess in (e0, e0 + rng.normal(0, 15, n)):
                got = half_height_rows(e, norm, guess, level=level)["k"]
                assert np.array_equal(got, _full(e, norm, guess, level))
    assert half_height_rows(e, np.zeros((0, e.size)), np.zeros(0))["k"].size == 0
