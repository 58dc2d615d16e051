"""naheo_spec.numerics.percentile: the block-wise threshold tests equal the per-row
np.percentile comparison exactly (ties at the threshold, NaN, inf, empty rows, masks)."""
import doctest

import numpy as np
import pytest

from naheo_spec.numerics import percentile
from naheo_spec.numerics.percentile import row_percentile_above, row_percentile_below


def _expected(x, mask, q, t, above):
    out = []
    for i in range(x.shape[0]):
        v = x[i][mask[i]]
        if v.size == 0:
            out.append(False)
            continue
        with np.errstate(invalid="ignore"):
            p = np.percentile(v, q)
        out.append(bool(p > t) if above else bool(p < t))
    return np.array(out)


@pytest.mark.parametrize("q", [0, 10, 50, 90, 99, 100, 33.3])
@pytest.mark.parametrize("seed", range(4))
def test_equals_np_percentile(q, seed):
    rng = np.random.default_rng(seed)
    n, m = 400, 37
    x = rng.normal(0.3, 0.2, (n, m))
    x[rng.random((n, m)) < 0.2] = 0.3                 # ties exactly at the threshold
    x[:40] = np.round(x[:40], 1)                       # many ties
    x[5, 3] = np.nan
    x[6, 4] = np.inf
    x[7, :] = -np.inf
    x[8, 2] = np.nextafter(0.3, 1.0)                   # one ulp either side
    x[9, 2] = np.nextafter(0.3, 0.0)
    mask = rng.random((n, m)) < 0.7
    mask[10] = False                                   # empty row
    mask[11] = False
    mask[11, 0] = True                                 # one value
    mask[12] = True
    for t in (0.3, 0.2, 0.5, 0.0, -1.0):
        for above, fn in ((True, row_percentile_above), (False, row_percentile_below)):
            got = fn(x, mask, q, t)
            assert np.array_equal(got, _expected(x, mask, q, t, above)), (q, t, above)
    # prefix / suffix windows as edge_shape_problems builds them, and mask=None
    cols = np.arange(m)
    pre = cols[None, :] < rng.integers(0, m, n)[:, None]
    assert np.array_equal(row_percentile_above(np.abs(x), pre, q, 0.2),
                          _expected(np.abs(x), pre, q, 0.2, True))
    full = np.ones((n, m), dtype=bool)
    assert np.array_equal(row_percentile_above(x, None, q, 0.4),
                          _expected(x, full, q, 0.4, True))


def test_bad_shape_and_doctest():
    with pytest.raises(ValueError, match="2-D"):
        row_percentile_above(np.zeros(3), None, 50, 0.0)
    assert doctest.testmod(percentile).failed == 0


def _edge_shape_reference(energy, norm, e0):
    """The per-E0-group np.percentile implementation edge_shape_problems had before."""
    from naheo_spec.xas.normalize import SHAPE_MAX, SHAPE_MAX_PRE, SHAPE_MIN_POST, SHAPE_SIDE_EV

    out = [None] * norm.shape[0]
    p99 = np.percentile(norm, 99, axis=1)
    for u in np.unique(e0):
        rows = np.flatnonzero(e0 == u)
        pre, post = energy < u - SHAPE_SIDE_EV, energy > u + SHAPE_SIDE_EV
        p90 = np.percentile(np.abs(norm[np.ix_(rows, pre)]), 90, axis=1) \
            if pre.sum() >= 3 else None
        p10 = np.percentile(norm[np.ix_(rows, post)], 10, axis=1) if post.sum() >= 3 else None
        for j, i in enumerate(rows):
            problems = []
            if p90 is not None and p90[j] > SHAPE_MAX_PRE:
                problems.append(f"|norm| reaches {p90[j]:.2f} below E0 - {SHAPE_SIDE_EV:g} eV")
            if p10 is not None and p10[j] < SHAPE_MIN_POST:
                problems.append(f"norm drops to {p10[j]:.2f} above E0 + {SHAPE_SIDE_EV:g} eV")
            if p99[i] > SHAPE_MAX:
                problems.append(f"norm reaches {p99[i]:.2f}")
            if problems:
                out[i] = ("normalized mu does not look like an absorption edge ("
                          + "; ".join(problems) + "): check E0 and the ranges, or whether "
                          "the edge lies outside the scan")
    return out


def test_edge_shape_problems_unchanged():
    from naheo_spec.xas.normalize import edge_shape_problems

    rng = np.random.default_rng(7)
    e = np.linspace(7000.0, 7300.0, 301)
    n = 600
    e0 = rng.choice(np.linspace(7010.0, 7290.0, 40), n)
    norm = np.clip((e[None, :] - e0[:, None]) / rng.uniform(2, 60, n)[:, None], 0, 1)
    norm += rng.normal(0, rng.uniform(0.01, 0.3, n)[:, None], norm.shape)
    norm[::7] *= rng.uniform(0.5, 4.0, (len(norm[::7]), 1))          # some over 3
    norm[::11, -100:] = 0.0                                           # cut after the edge
    got = edge_shape_problems(e, norm, e0)
    assert got == _edge_shape_reference(e, norm, e0)
    assert sum(g is not None for g in got) > 50
