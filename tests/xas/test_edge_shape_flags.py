"""edge_shape_flags decides its rules for a whole block (extrema first, counting for the
rows they leave open); every flag and message must be the per-row numpy.percentile rule."""
import numpy as np
import pytest

from naheo_spec.xas.normalize import (
    SHAPE_MAX,
    SHAPE_MAX_PRE,
    SHAPE_MIN_POST,
    SHAPE_SIDE_EV,
    edge_shape_flags,
)


def reference(energy, norm, e0):
    out = {}
    for i in range(norm.shape[0]):
        n_pre = np.searchsorted(energy, e0[i] - SHAPE_SIDE_EV, side="left")
        first = np.searchsorted(energy, e0[i] + SHAPE_SIDE_EV, side="right")
        problems = []
        with np.errstate(invalid="ignore"):
            if n_pre >= 3:
                p90 = np.percentile(np.abs(norm[i, :n_pre]), 90)
                if p90 > SHAPE_MAX_PRE:
                    problems.append(f"|norm| reaches {p90:.2f} below E0 - {SHAPE_SIDE_EV:g} eV")
            if energy.size - first >= 3:
                p10 = np.percentile(norm[i, first:], 10)
                if p10 < SHAPE_MIN_POST:
                    problems.append(f"norm drops to {p10:.2f} above E0 + {SHAPE_SIDE_EV:g} eV")
            p99 = np.percentile(norm[i], 99)
            if p99 > SHAPE_MAX:
                problems.append(f"norm reaches {p99:.2f}")
        if problems:
            out[i] = problems
    return out


@pytest.mark.parametrize("seed", range(8))
def test_flags_equal_per_row_percentiles(seed):
    rng = np.random.default_rng(seed)
    e = np.linspace(6900.0, 7900.0, 400)
    n = 200
    e0 = rng.uniform(7050.0, 7200.0, n)
    e0[:3] = [6905.0, 7890.0, 7899.0]                 # windows of fewer than 3 points
    noise = rng.choice([0.01, 0.1, 0.3], n)[:, None]
    norm = 1.0 / (1.0 + np.exp(-(e - e0[:, None]) / 3.0)) + noise * rng.standard_normal((n, e.size))
    norm[rng.random(n) < 0.1] *= 4.0                  # too high
    norm[rng.random(n) < 0.1, 250:] -= 0.9            # drops after the edge
    norm[rng.random(n) < 0.1, :100] += 0.5            # pre-edge far from 0
    norm[7, 10], norm[8, 300], norm[9, 50] = np.nan, np.inf, -np.inf
    got = edge_shape_flags(e, norm, e0)
    assert got == reference(e, norm, e0)
    assert len(got) > 10                              # the rules do fire


def test_clean_block_has_no_flags_and_empty_block():
    e = np.linspace(6900.0, 7900.0, 300)
    e0 = np.full(50, 7100.0)
    norm = 1.0 / (1.0 + np.exp(-(e - e0[:, None]) / 3.0))
    assert edge_shape_flags(e, norm, e0) == {}
    assert edge_shape_flags(e, norm[:0], e0[:0]) == {}


def test_screen_uses_each_rows_own_pre_edge_window():
    # rows with a lower E0 have shorter pre-edge windows; what lies beyond a row's own
    # window (the edge itself, a NaN) must not flag it, what lies inside must
    e = np.linspace(6900.0, 7900.0, 400)
    e0 = np.array([7100.0, 7150.0, 7100.0, 7100.0, 7150.0])
    norm = 1.0 / (1.0 + np.exp(-(e - e0[:, None]) / 3.0))
    n_pre = np.searchsorted(e, e0 - SHAPE_SIDE_EV, side="left")
    norm[2, n_pre[2] + 1] = np.nan                    # beyond its window: no flag
    norm[3, n_pre[3] - 1] = np.nan                    # inside its window: the exact rule
    norm[4, : n_pre[4] // 2] = 0.5                    # half its window at 0.5: flagged
    got = edge_shape_flags(e, norm, e0)
    assert got == reference(e, norm, e0)
    assert 0 not in got and 2 not in got and 4 in got
