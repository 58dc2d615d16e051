"""normalize_stack on interleaved E0 groups: the rows of a group are gathered into a
scratch block, normalized there in place, and scattered back; every option must give
the numbers of normalize() on each row alone (one row: the contiguous path)."""
import numpy as np
import pytest

from naheo_spec.xas.normalize import normalize, normalize_stack


def _stack(n=40, seed=3):
    rng = np.random.default_rng(seed)
    e = np.linspace(8200.0, 8900.0, 451)
    e0 = 8333.0 + rng.choice([-3.1, 0.0, 2.4, 5.0], n)     # interleaved groups
    x = e[None, :] - e0[:, None]
    mu = (0.3 + 2e-4 * x + (0.8 + 0.2 * rng.random((n, 1))) / (1 + np.exp(-x / 1.5))
          * (1 - 1e-4 * np.clip(x, 0, None)) + 2e-3 * rng.standard_normal((n, e.size)))
    mu[5] = mu[5] * 40.0 + 7.0                                # scale and offset
    return e, mu, e0


@pytest.mark.parametrize("flat_method", ["polynomial", "quadratic"])
@pytest.mark.parametrize("nvict", [0, 2])
def test_groups_equal_single_rows(flat_method, nvict):
    e, mu, e0 = _stack()
    st = normalize_stack(e, mu, e0=e0, flat_method=flat_method, nvict=nvict, keep_curves=True,
                         on_invalid="record")
    bare = normalize_stack(e, mu, e0=e0, flat_method=flat_method, nvict=nvict,
                           flatten=False, on_invalid="record")
    assert st.valid.all() and bare.valid.all()
    np.testing.assert_array_equal(bare.norm, st.norm)         # same formula with or without
    np.testing.assert_array_equal(bare.edge_step, st.edge_step)    # flat and curves
    for i in range(0, mu.shape[0], 3):
        one = normalize(e, mu[i], e0=e0[i], flat_method=flat_method, nvict=nvict)
        assert st.edge_step[i] == pytest.approx(one.edge_step, rel=1e-12)
        assert st.noise_sigma[i] == pytest.approx(one.noise_sigma, rel=1e-12)
        for got, want in ((st.norm[i], one.norm), (st.flat[i], one.flat),
                          (st.pre_edge[i], one.pre_edge), (st.post_edge[i], one.post_edge)):
            assert np.max(np.abs(got - want)) < 1e-12 * max(1.0, np.max(np.abs(want)))


def test_constant_pre_edge_groups():
    # a coarse pre-edge: the default range holds fewer than 3 points, the pre-edge is the
    # mean (pre_degree 0), on the gathered rows of each group too
    rng = np.random.default_rng(5)
    e = np.concatenate([8333.0 + np.array([-60.0, -48.0, -36.0, -24.0, -12.0]),
                        np.arange(8323.0, 8700.0, 1.0)])
    n = 24
    e0 = 8333.0 + rng.choice([-1.0, 0.0, 1.2, 2.0], n)
    x = e[None, :] - e0[:, None]
    mu = 0.2 + 1.0 / (1 + np.exp(-x / 1.5)) + 1e-3 * rng.standard_normal((n, e.size))
    with pytest.warns(Warning):
        st = normalize_stack(e, mu, e0=e0)
    rows = np.flatnonzero(st.pre_degree == 0)
    assert rows.size > n // 2 and st.valid.all()
    for i in rows[:6]:
        with pytest.warns(Warning):
            one = normalize(e, mu[i], e0=e0[i])
        assert one.pre_degree == 0
        assert np.max(np.abs(st.norm[i] - one.norm)) < 1e-12
        assert np.max(np.abs(st.flat[i] - one.flat)) < 1e-12
        assert st.edge_step[i] == pytest.approx(one.edge_step, rel=1e-12)
