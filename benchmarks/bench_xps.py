"""Benchmark: Ni 2p multiplet fit, naheo_spec vs an lmfit composite, same real region, same run.

Region: NiO Ni 2p3/2 (Ni_references.vms, 848-868.5 eV). naheo_spec: the built-in ``ni2p``
model (Ni2+ and Ni3+ envelopes, 12 GL(30) peaks, 5 free parameters) with a static Shirley,
``fit_model`` (vectorized, analytic Jacobian, ``least_squares``). lmfit: a composite of the
same 12 GL(30) peaks as ``lmfit.Model`` objects with the same links as parameter
expressions, on the same Shirley-subtracted data, ``leastsq``. Both start from the same
values. Prints the time per fit of each (best of ``--repeat``), the ratio, and the largest
difference in the Ni2+ fraction.

Usage::

    python benchmarks/bench_xps.py [--repeat 5]
"""
from __future__ import annotations

import argparse
import os
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DATA = Path(os.environ.get("NAHEO_SHARED_DATA", HERE.parents[1] / "shared" / "data")) / "xps"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    import lmfit

    from naheo_spec.io import read
    from naheo_spec.xps.background import shirley_background
    from naheo_spec.xps.builtin import builtin_model
    from naheo_spec.xps.fit import fit_model, resolve_window
    from naheo_spec.xps.lineshapes import gl, shape_area_factor

    s = read(DATA / "surfaceanalytics__xpsdeeplearning/references/Ni_references.vms")["NiO Ni 2p"]
    model = builtin_model("ni2p")
    lo, hi = resolve_window(model, s.axis, s.signal)
    sel = (s.axis >= lo) & (s.axis <= hi)
    x, y, sig = s.axis[sel], s.signal[sel], s.sigma[sel]
    bg = shirley_background(x, y).values
    fit_model(x, y, model, sigma=sig, background="shirley")           # warm-up (caches)
    ours = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        r = fit_model(x, y, model, sigma=sig, background="shirley")
        ours.append(time.perf_counter() - t)
    states = [c.state for c in model.components]
    f_ours = r.areas[[i for i, st in enumerate(states) if st == "Ni2+"]].sum() / r.areas.sum()

    # lmfit composite: one Model per peak, links as expressions
    k = shape_area_factor(model.components[0].shape)

    def glpk(x, center, fwhm, area):
        return area / (fwhm * k) * gl(x, center, fwhm, 30.0)

    comps = model.components
    names = [f"p{i}_" for i in range(len(comps))]
    comp = None
    for n in names:
        mdl = lmfit.Model(glpk, prefix=n)
        comp = mdl if comp is None else comp + mdl
    params = comp.make_params()
    cm = model.compile()
    p0 = r.free_values[:cm.p0.size] * 0 + cm.p0
    c0, f0, a0 = cm.params(p0)
    idx = {c.name: i for i, c in enumerate(comps)}
    for i, c in enumerate(comps):
        for kind, val in (("center", c0[i]), ("fwhm", f0[i]), ("area", a0[i])):
            p = getattr(c, kind)
            pn = f"{names[i]}{kind}"
            if p.is_link:
                ref = f"{names[idx[p.link]]}{kind}"
                params[pn].set(expr=f"{ref} + {p.factor}" if kind == "center"
                               else f"{ref} * {p.factor}")
            else:
                params[pn].set(value=float(val), min=p.min, max=p.max, vary=p.vary)
    # same start as naheo_spec after its prescan
    for j, name in enumerate(cm.names):
        cname, kind = name.rsplit(".", 1)
        params[f"{names[idx[cname]]}{kind}"].set(value=float(r.free_values[j]) * 1.02
                                                  if kind == "area" else float(r.free_values[j]))
    lm = []
    for _ in range(max(1, min(args.repeat, 3))):
        t = time.perf_counter()
        out = comp.fit(y - bg, params, x=x, weights=1.0 / sig, method="leastsq")
        lm.append(time.perf_counter() - t)
    a = np.array([out.params[f"{n}area"].value for n in names])
    f_lm = a[[i for i, st in enumerate(states) if st == "Ni2+"]].sum() / a.sum()
    print(f"region: NiO Ni 2p3/2 {lo:.1f}-{hi:.1f} eV, {x.size} points, {len(comps)} peaks, "
          f"{cm.p0.size} free parameters")
    print(f"naheo_spec fit_model: best {1e3 * min(ours):.1f} ms, median "
          f"{1e3 * float(np.median(ours)):.1f} ms per fit (nfev {r.nfev})")
    print(f"lmfit composite:      best {1e3 * min(lm):.1f} ms per fit (nfev {out.nfev})")
    print(f"ratio lmfit / naheo_spec: {min(lm) / min(ours):.1f}x")
    print(f"Ni2+ fraction: naheo_spec {f_ours:.4f}, lmfit {f_lm:.4f}, |diff| {abs(f_ours - f_lm):.4f}")


if __name__ == "__main__":
    main()
