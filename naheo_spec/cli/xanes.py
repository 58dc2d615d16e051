"""``naheo-spec xanes``: foil calibration, normalization, E0 and oxidation state per scan."""
from __future__ import annotations

from pathlib import Path

import click

from naheo_spec.cli.common import (
    debug_flag,
    echo_err,
    echo_warnings,
    format_option,
    json_option,
    merge_warnings,
    overwrite_option,
    print_json,
    report_failures,
    run_batch,
)
from naheo_spec.jsonsafe import finite_or_none

# Kept literal so that `naheo-spec xanes --help` does not import numpy/scipy;
# tests check it equals naheo_spec.xas.e0.E0_METHODS.
E0_METHOD_CHOICES = ("max-derivative", "half-height", "zero-second-derivative", "arctan",
                     "integral")
JSON_KEYS = ("file", "scan", "element", "edge", "e0_method", "e0_eV", "e0_err_eV",
             "e0_err_terms_eV", "edge_step", "foil_shift_eV", "oxidation_state",
             "oxidation_state_err", "markers", "warnings")


def _range(text, name, side):
    """Parse 'LO,HI' (eV relative to E0); the pre-edge range must lie below E0 (side -1),
    the post-edge range above it (side +1)."""
    if text is None:
        return None
    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError:
        raise click.BadParameter(f"expected two numbers 'LO,HI' (eV relative to E0), got {text!r}",
                                 param_hint=name) from None
    if not lo < hi:
        raise click.BadParameter(f"LO must be below HI, got {text!r}", param_hint=name)
    if (side < 0 and hi > 0) or (side > 0 and lo < 0):
        where = "below E0 (negative values)" if side < 0 else "above E0 (positive values)"
        raise click.BadParameter(f"the range must lie {where}, got {text!r}", param_hint=name)
    return (lo, hi)


def _read_foil(path, scan):
    """Read the separate foil scan, keeping its read warnings for every entry (each said to
    come from the foil file, whatever its text)."""
    if not path:
        return None, []
    from naheo_spec.diagnostics import capture
    from naheo_spec.io import read_spectrum

    with capture() as caught:
        foil = read_spectrum(path, scan=scan)
    return foil, [m.prefixed(f"foil {path}") for m in caught]


def _failure_entry(file, scan, error, warnings):
    d = {k: None for k in JSON_KEYS}
    d.update(file=file, scan=scan, warnings=merge_warnings(warnings), error=error)
    return d


#: With --stack, a stack of more than this many scans prints a summary (not a line per
#: scan) and, with -o, runs through the out-of-core engine of ``naheo-spec batch``.
LARGE_STACK = 10000


class _Lines:
    """Valence lines per element: the --standards one, else the element's built-in line
    (said so once), none with --no-valence."""

    def __init__(self, standards, data_root, e0_method, preset, no_valence, as_json):
        self.source, self.as_json, self.no_valence = None, as_json, no_valence
        self.e0_method, self.preset, self.data_root = e0_method, preset, data_root
        self.cache: dict = {}
        self.told: set = set()
        if standards and not no_valence:
            from naheo_spec.xas.builtin import resolve_standards

            self.source = resolve_standards(standards)

    def _builtin(self, element):
        from naheo_spec.xas.builtin import builtin_calibration, builtin_marker_calibrations

        cal = builtin_calibration(element, e0_method=self.e0_method or "half-height",
                                  preset=self.preset or "larch")
        marks = builtin_marker_calibrations(element, preset=self.preset or "larch")
        return cal, marks

    def get(self, element):
        """(calibration, marker calibrations, note) for a scan of ``element``."""
        if self.no_valence:
            return None, None, None
        key = element if self.source is None or self.source[0] == "builtin" else "toml"
        if key in self.cache:
            return self.cache[key]
        note = None
        if self.source is None:
            from naheo_spec.xas.builtin import available_elements

            if element not in available_elements():
                self.cache[key] = (None, None, None)
                return self.cache[key]
            from naheo_spec.xas.builtin import BUILTIN_LINE

            cal, marks = self._builtin(element)
            note = BUILTIN_LINE.record(
                f"oxidation state from the built-in {element} line ({_describe(cal)}); "
                "--standards FILE.toml for your own standards, --no-valence to turn it off")
        elif self.source[0] == "builtin":
            if element is not None and element != self.source[1]:
                raise click.UsageError(f"--standards {self.source[1].lower()} is for "
                                       f"{self.source[1]} but a scan is {element}")
            cal, marks = self._builtin(self.source[1])
        else:
            from naheo_spec.xas.standards import build_calibration

            cal, marks = build_calibration(self.source[1], e0_method=self.e0_method,
                                           data_root=self.data_root), None
        if not self.as_json and key not in self.told:
            what = "built-in " + element if note or self.source[0] == "builtin" \
                else str(self.source[1])
            echo_err(f"calibration from {what}: {_describe(cal)}")
            self.told.add(key)
        self.cache[key] = (cal, marks, note)
        return self.cache[key]


@click.command()
@click.argument("scans", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--standards", default=None, metavar="NAME|FILE",
              help="Valence standards: a built-in set (mn, fe, ni; shipped with the package) "
                   "or a TOML file of [[standard]] entries (file, valence[, group, reference]). "
                   "Default: the scan element's built-in line when there is one.")
@click.option("--no-valence", is_flag=True,
              help="No oxidation state (no built-in line either).")
@click.option("--data-root", type=click.Path(file_okay=False), default=None,
              help="Folder that standards' relative paths are resolved against when the TOML "
                   "says so (default: $NAHEO_SHARED_DATA). Paths in a TOML without that setting "
                   "are relative to the TOML's folder.")
@click.option("--reference", "foil_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Separate foil scan for the energy calibration of every SCAN "
                   "(default: each scan's own reference channel).")
@click.option("--reference-scan", "foil_scan", default=None,
              help="Group/scan of --reference to use when it holds several (Athena project).")
@click.option("--e0-method", type=click.Choice(E0_METHOD_CHOICES), default=None,
              help="E0 definition (default: the standards' method, else half-height).")
@click.option("--preset", type=click.Choice(["larch", "athena"]), default=None,
              help="Normalization defaults (default: larch, or the standards').")
@click.option("--pre-range", default=None, metavar="LO,HI", help="Pre-edge range, eV relative to E0.")
@click.option("--norm-range", default=None, metavar="LO,HI", help="Post-edge range, eV relative to E0.")
@click.option("--nnorm", type=click.IntRange(0, 3), default=None, help="Post-edge polynomial degree.")
@click.option("--normalized", is_flag=True,
              help="The spectra are already normalized (pre-edge 0, step 1): no refit; E0 is "
                   "where they cross 0.5 (half-height).")
@click.option("--noise-correlation", type=click.FloatRange(min=1.0), default=1.0,
              show_default=True, metavar="N",
              help="Points over which the noise is correlated (smoothed data: the smoothing "
                   "width); linearly interpolated data are detected without it.")
@click.option("--energy-scale-sigma", type=click.FloatRange(min=0.0), default=None,
              metavar="EV",
              help="Absolute energy-scale uncertainty of scans without a foil (default 1.0 eV, "
                   "an uncalibrated monochromator); lower it only for energies calibrated "
                   "upstream (e.g. normalized exports aligned on their foils).")
@click.option("--energy-drift-sigma", type=click.FloatRange(min=0.0), default=None,
              metavar="EV",
              help="Scan-to-scan drift of scans without a foil (default 0.2 eV).")
@click.option("--max-foil-offset", type=float, default=5.0, show_default=True,
              help="Reject a foil whose E0 is further than this from the tabulated edge, eV.")
@click.option("--relative-to", "relative_to", default=None, metavar="SCAN|first|pristine",
              help="E0 shift (and valence change) of every scan relative to this one, with the "
                   "error of a difference: a scan name, 'first', or 'pristine'.")
@click.option("--lcf", is_flag=True,
              help="Linear combination fit of each scan with the element's built-in standards "
                   "(-20..+30 eV about E0).")
@click.option("--mu", "mu_expr", default=None, metavar="EXPR", help="Expression for mu, e.g. 'ln(i0/it)'.")
@format_option()
@click.option("-o", "--output", type=click.Path(), default=None,
              help="Results store (.h5); a summary table is written beside it (.csv).")
@click.option("--plot", "plot_dir", type=click.Path(file_okay=False), default=None,
              help="Folder for figures (PNG): per-scan normalization, stack, calibration, E0 vs scan.")
@click.option("--stack", "stack_mode", is_flag=True,
              help="Each SCAN is an HDF5 file holding one [nScan, nEnergy] stack: process it "
                   "vectorized, block by block (never whole in memory); one entry per scan.")
@click.option("--chunk", type=click.IntRange(min=1), default=None, metavar="N",
              help="With --stack: scans per block (default 20000).")
@click.option("--all-rows", is_flag=True,
              help=f"With --stack: print (and with -o, store) every scan as for small stacks, "
                   f"even for a stack of more than {LARGE_STACK} scans (memory grows with the "
                   "stack). Default: a large stack prints a summary, and with -o runs through "
                   "the out-of-core engine of naheo-spec batch.")
@overwrite_option
@json_option
@click.pass_context
def xanes(ctx, scans, standards, no_valence, data_root, foil_path, foil_scan, e0_method, preset,
          pre_range, norm_range, nnorm, normalized, noise_correlation, energy_scale_sigma,
          energy_drift_sigma, max_foil_offset, relative_to, lcf, mu_expr, fmt, output, plot_dir,
          stack_mode, chunk, all_rows, overwrite, as_json):
    """XANES of each SCAN: energy calibration on the simultaneous foil, normalization, E0 with its
    error budget and, from the standards (built-in by default), the oxidation state.

    Bad scans are reported and skipped; the others are still processed (exit code 1).
    """
    from naheo_spec.cli.outputs import OutputPlan
    from naheo_spec.io import read_spectra
    from naheo_spec.xas.xanes import analyze_xanes

    debug = debug_flag(ctx)
    if chunk is not None and not stack_mode:
        raise click.UsageError("--chunk only applies with --stack")
    if all_rows and not stack_mode:
        raise click.UsageError("--all-rows only applies with --stack")
    if stack_mode and (mu_expr or plot_dir or lcf or relative_to):
        raise click.UsageError("--mu, --plot, --lcf and --relative-to are not available "
                               "with --stack")
    if standards and no_valence:
        raise click.UsageError("--standards and --no-valence contradict each other")
    plan = OutputPlan(overwrite=overwrite)
    store = plan.store("-o", output) if output else None
    figures = plan.folder("--plot", plot_dir) if plot_dir else None
    shifts_csv = None
    if store and relative_to is not None:        # the shift table beside the store
        shifts_csv = plan.file("-o", store[0].with_name(store[0].stem + "_shifts.csv"))
    plan.check()
    lines = _Lines(standards, data_root, e0_method, preset, no_valence, as_json)
    foil, foil_warnings = _read_foil(foil_path, foil_scan)
    opts = dict(e0_method=e0_method, preset=preset,
                pre_range=_range(pre_range, "--pre-range", -1),
                norm_range=_range(norm_range, "--norm-range", +1), nnorm=nnorm,
                max_foil_offset_eV=max_foil_offset, normalized=normalized,
                noise_correlation=noise_correlation, energy_scale_sigma_eV=energy_scale_sigma,
                energy_drift_sigma_eV=energy_drift_sigma)
    if foil is not None:
        opts["foil"] = foil
    if stack_mode:
        large = [] if all_rows else _large_stacks(scans)
        if large and store:
            return _large_stack_store(scans, large, opts, chunk, plan=plan, store=store,
                                      overwrite=overwrite, as_json=as_json, cli=dict(
                                          standards=standards, no_valence=no_valence,
                                          data_root=data_root, foil_path=foil_path,
                                          foil_scan=foil_scan))
        return _stacks(scans, opts, chunk or 20000, lines, plan=plan, store=store,
                       as_json=as_json, debug=debug, summary_only=bool(large))
    read = run_batch(scans, lambda f: read_spectra(f, format=fmt, technique="xas", mu=mu_expr),
                     desc="reading", debug=debug)
    items = [s for o in read if o.ok for s in o.value]

    def one(s):
        cal, marks, note = lines.get(s.element)
        r = analyze_xanes(s, calibration=cal, marker_calibrations=marks, **opts)
        return r if note is None else _with_note(r, note)

    outcomes = run_batch(items, one, label=lambda s: s.name, desc="xanes", debug=debug)
    by_id = {id(s): o for s, o in zip(items, outcomes)}
    entries, results, series = [], [], []
    for o in read:
        if not o.ok:
            entries.append(_failure_entry(o.file, None, o.error, o.warnings))
            continue
        for spec in o.value:
            out = by_id[id(spec)]
            if out.ok:
                results.append(out.value)
                series.append(out.value)
                d = out.value.to_json_dict()
                d["warnings"] = merge_warnings(foil_warnings, out.value.warnings, out.warnings)
                entries.append(d)
            else:
                series.append(None)
                entries.append(_failure_entry(spec.source.path, spec.source.scan, out.error,
                                              out.warnings))
    extras = _extras(results, series, entries, lines, relative_to, lcf, as_json)
    written = []
    if results and (store or figures):
        from naheo_spec.cli.outputs import write_results

        with plan.writing() as tx:
            if store:
                to_store, names = list(results), [r.name for r in results]
                for key, obj in extras.items():
                    to_store.append(obj)
                    names.append(key)
                written += write_results(tx, to_store, *store, names=names)
                if shifts_csv is not None and "relative_shifts" in extras:
                    _write_table(tx.path(shifts_csv), extras["relative_shifts"].table())
                    written.append(shifts_csv)
            if figures:
                _plots(results, extras.get("valence_calibration"), tx.folder(figures),
                       relative=extras.get("relative_shifts"))
                written.append(figures)
    for w in written:
        echo_err(f"wrote {w}")
    if as_json:
        print_json(entries)
    else:
        _print_table(entries)
        if "relative_shifts" in extras:
            _print_relative(extras["relative_shifts"])
    failed_reads = [o for o in read if not o.ok]
    return report_failures(failed_reads + [o for o in outcomes if not o.ok],
                           total=len(failed_reads) + len(items), unit="file/scan")


def _with_note(result, note):
    from dataclasses import replace

    return replace(result, warnings=tuple(result.warnings) + (note,))


def _extras(results, series, entries, lines, relative_to, lcf, as_json) -> dict:
    """Relative shifts and LCF (added to the JSON entries), and the calibration to store."""
    extras = {}
    cals = [v[0] for v in lines.cache.values() if v[0] is not None]
    if len(cals) == 1:
        extras["valence_calibration"] = cals[0]
    if relative_to is not None and results:
        from naheo_spec.xas.relative import relative_shifts

        elements = {r.element for r in results}
        if len(elements) > 1:
            raise click.UsageError(f"--relative-to needs scans of one element, got "
                                   f"{sorted(map(str, elements))}")
        done = [r if r is not None else _FailedRow() for r in series]
        cal = cals[0] if len(cals) == 1 else None
        rel = relative_shifts(done, relative_to, calibration=cal)
        extras["relative_shifts"] = rel
        k = 0
        for d in entries:
            if d.get("error") is None:
                while k < len(done) and isinstance(done[k], _FailedRow):
                    k += 1
                d["relative"] = rel.row_json(k)
                k += 1
    if lcf and results:
        for d, r in zip([d for d in entries if d.get("error") is None], results):
            d["lcf"] = _lcf_entry(r)
    return extras


class _FailedRow:
    """Placeholder for a failed scan in a series (relative_shifts skips it)."""

    name, e0_method, foil_shift_eV, norm_alt_eV = "failed", "", None, ()
    e0_eV = float("nan")


def _lcf_entry(r) -> dict:
    import numpy as np

    from naheo_spec.numerics.lcf import fit_lcf
    from naheo_spec.xas.builtin import builtin_spectra

    from naheo_spec.diagnostics import capture
    from naheo_spec.errors import NaheoError

    try:
        energy, spectra = builtin_spectra(r.element)
        stds = {name: (energy[np.isfinite(v)], v[np.isfinite(v)]) for name, v in spectra.items()}
        with capture() as caught:
            fit = fit_lcf(r.energy, r.norm, stds, e0=r.e0_eV, emin=-20.0, emax=30.0,
                          allow_shift=r.foil_shift_eV is None)
    except NaheoError as exc:          # reported in the entry, the run goes on
        return {"error": f"{type(exc).__name__}: {exc}"}
    return {"warnings": [w.to_json() for w in caught if w.code != "lcf.weight_at_zero"],
            "weights": {k: v for k, v in fit.weights.items() if v > 0},
            "weight_errs": {k: fit.weight_errs[k] for k, v in fit.weights.items() if v > 0},
            "r_factor": fit.r_factor, "shift_eV": fit.shift_eV,
            "standards": "built-in " + str(r.element)}


def _write_table(path, rows) -> None:
    """Rows of dicts as a CSV file (the relative-shift table)."""
    import csv

    keys = list(dict.fromkeys(k for r in rows for k in r))
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        for r in rows:
            w.writerow({k: "" if r.get(k) is None else r[k] for k in keys})


def _print_relative(rel):
    import numpy as np

    click.echo(f"E0 shifts relative to {rel.labels[rel.reference]} (cancelled in differences: "
               f"{', '.join(rel.cancelled)})")
    echo_warnings(rel.warnings)
    for i, lab in enumerate(rel.labels):
        dv = "" if not np.isfinite(rel.valence_change[i]) else \
            f"  valence {rel.valence_change[i]:+.2f} ± {rel.valence_change_err[i]:.2f}"
        click.echo(f"  {lab[-40:]:40s} {_fmt(finite_or_none(rel.shift_eV[i]), 2):>7s} ± "
                   f"{_fmt(finite_or_none(rel.shift_err_eV[i]), 2)} eV{dv}")


def _large_stacks(files) -> list:
    """The FILEs whose stack has more than LARGE_STACK scans."""
    from naheo_spec.xas.outofcore import stack_rows

    return [f for f in files if (stack_rows(f) or 0) > LARGE_STACK]


def _toml_value(v) -> str:
    import json

    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, (int, float)):
        return repr(v)
    return json.dumps(str(v))               # a JSON string is a TOML basic string


def _large_stack_store(files, large, opts, chunk, *, plan, store, overwrite, as_json, cli):
    """--stack -o on a stack of more than LARGE_STACK scans: the batch engine
    (:func:`naheo_spec.batch.runner.run`: chunks read ahead, vectorized blocks, per-scan
    columns chunked and compressed, warnings as a sparse table, resumable) with the
    options of this command; prints a summary, not one line per scan."""
    import shutil

    from naheo_spec.batch.config import config_from_toml
    from naheo_spec.batch.runner import run
    from naheo_spec.xas.builtin import resolve_standards

    if len(files) != 1:
        raise click.UsageError(f"-o with --stack on a stack of more than {LARGE_STACK} scans "
                               f"({Path(large[0]).name}) takes one FILE (one store per stack), "
                               "or pass --all-rows")
    if cli["foil_scan"]:
        raise click.UsageError(f"--reference-scan is not available for a stack of more than "
                               f"{LARGE_STACK} scans written with -o; pass --all-rows")
    path = Path(files[0]).resolve()
    out, table = (Path(p).resolve() for p in store)
    xanes = {k: opts[k] for k in ("e0_method", "preset", "pre_range", "norm_range", "nnorm",
                                  "max_foil_offset_eV", "energy_scale_sigma_eV",
                                  "energy_drift_sigma_eV") if opts.get(k) is not None}
    if opts.get("normalized"):
        xanes["normalized"] = True
    if opts.get("noise_correlation", 1.0) != 1.0:
        xanes["noise_correlation"] = float(opts["noise_correlation"])
    if cli["foil_path"]:
        xanes["foil"] = str(Path(cli["foil_path"]).resolve())
    if not cli["no_valence"]:
        src = resolve_standards(cli["standards"]) if cli["standards"] else ("builtin", None)
        xanes["standards"] = "builtin" if src[0] == "builtin" else str(Path(src[1]).resolve())
        if cli["data_root"]:
            xanes["data_root"] = str(Path(cli["data_root"]).resolve())
    text = (f"[input]\nstack = {_toml_value(str(path))}\n[xanes]\n"
            + "".join(f"{k} = {_toml_value(v)}\n" for k, v in xanes.items())
            + f"[output]\nstore = {_toml_value(str(out))}\nsummary = {_toml_value(str(table))}"
            + f"\n[compute]\nchunk = {int(chunk or 20000)}\n")
    cfg = config_from_toml(text.encode(), out.with_name(out.stem + ".xanes-stack.toml"))
    if overwrite and not cfg.work_dir.exists():      # plan.check() allowed replacing them
        for p in (out, table):
            p.unlink(missing_ok=True)
    summary = run(cfg, progress=None if not as_json else False, spawn_safe=True)
    if not summary.interrupted:
        shutil.rmtree(cfg.work_dir, ignore_errors=True)   # the store is complete
    stats = _store_summary(out)
    stats.update(done=summary.done, failed=summary.n_failed, seconds=round(summary.seconds, 3),
                 per_spectrum_ms=summary.per_spectrum_ms, store=str(out), table=str(table),
                 first_failures=summary.failed[:5])
    if as_json:
        print_json(stats)
    else:
        _print_stack_summary(stats)
        echo_err(f"wrote {out} and {table}")
    return 1 if summary.n_failed else 0


#: Percentiles of the stack summary.
SUMMARY_PERCENTILES = (1, 5, 25, 50, 75, 95, 99)


def _column_stats(values, status=None) -> dict:
    import numpy as np

    v = np.asarray(values, dtype=float)
    if status is not None:
        v = v[status == 1]
    v = v[np.isfinite(v)]
    if not v.size:
        return {"n": 0}
    q = np.percentile(v, SUMMARY_PERCENTILES)
    return {"n": int(v.size), "min": float(v.min()), "max": float(v.max()),
            **{f"p{p}": float(x) for p, x in zip(SUMMARY_PERCENTILES, q)}}


def _store_summary(out) -> dict:
    """Counts, percentiles of each per-scan column and warning counts of the stack entry
    of a batch store (columns read one at a time)."""
    import h5py
    import numpy as np

    with h5py.File(out, "r") as f:
        name = next(k for k in f if "scans" in f[k] and "status" in f[k]["scans"])
        g = f[name]["scans"]
        status = g["status"][()]
        cols = {k: _column_stats(g[k][()], status) for k in g
                if k not in ("scan_index", "status")}
        w = f[name].get("warnings")
        counts = {}
        if w is not None and "codes" in w and "code_index" in w:
            codes = [str(c) for c in w["codes"].asstr()[()]]
            ci, rows = w["code_index"][()], w["row"][()]
            for k, c in enumerate(codes):
                counts[c] = int(np.unique(rows[ci == k]).size)
    return {"entry": name, "n_scans": int(status.size), "n_ok": int((status == 1).sum()),
            "n_failed": int((status == 0).sum()), "columns": cols,
            "scans_with_warning": counts}


def _print_stack_summary(s: dict) -> None:
    click.echo(f"{s['entry']}: {s['n_scans']} scans, {s['n_ok']} ok, {s['n_failed']} failed; "
               f"{s['seconds']:.1f} s")
    cols = [c for c, v in s["columns"].items() if v.get("n")]
    head = ["p" + str(p) for p in SUMMARY_PERCENTILES]
    click.echo(f"{'column':22s} {'n':>8s} " + " ".join(f"{h:>10s}" for h in head))
    for c in cols:
        v = s["columns"][c]
        click.echo(f"{c:22s} {v['n']:8d} " + " ".join(f"{v[h]:10.4g}" for h in head))
    for code, n in sorted(s["scans_with_warning"].items(), key=lambda kv: -kv[1]):
        click.echo(f"warning {code}: {n} scans")
    for f in s["first_failures"]:
        click.echo(f"failed {f.get('scan') or ''}: {f['error']}")
    click.echo(f"per-scan table: {s['table']}; store: {s['store']}")


def _stacks(files, opts, chunk, lines, *, plan, store, as_json, debug, summary_only=False):
    """--stack: xanes_hdf5_stack on each file; one JSON entry per scan, in file order (a
    summary per stack instead with ``summary_only``: a large stack without -o)."""
    from naheo_spec.xas.outofcore import stack_element, xanes_hdf5_stack

    notes = {}

    def one(f):
        cal, marks, note = lines.get(stack_element(f))
        notes[str(f)] = note
        return xanes_hdf5_stack(f, chunk_scans=chunk, calibration=cal,
                                marker_calibrations=marks, **opts)

    outcomes = run_batch(files, one, desc="xanes stack", debug=debug)
    cals = [v[0] for v in lines.cache.values() if v[0] is not None]
    calibration = cals[0] if len(cals) == 1 else None
    entries, results, n_failed = [], [], 0
    for o in outcomes:
        if not o.ok:
            entries.append(_failure_entry(o.file, None, o.error, o.warnings))
            continue
        res = o.value
        results.append(res)
        note = notes.get(str(o.file))
        if summary_only:
            entries.append(res.summary())
            bad = [e for e in res.errors if e is not None]
            n_failed += len(bad)
            if bad:
                echo_err(f"error: {o.file}: {len(bad)} of {len(res)} scans failed "
                         f"(first: {bad[0]})")
            continue
        for d in res.to_json_list():
            if "error" in d:                 # the shape of a failed scan without --stack
                entries.append(_failure_entry(d["file"], d["scan"], _strip_type(d["error"]), []))
                continue
            if note is not None:             # said per scan, as without --stack
                d["warnings"] = d["warnings"] + [note.to_json()]
            entries.append(d)
        bad = [e for e in res.errors if e is not None]
        n_failed += len(bad)
        if bad:
            echo_err(f"error: {o.file}: {len(bad)} of {len(res)} scans failed "
                     f"(first: {bad[0]})")
        if not as_json:
            echo_warnings([w.prefixed(Path(o.file).name) for w in res.warnings])
    if store and results:
        from naheo_spec.cli.outputs import write_results

        to_store = list(results)
        names = [Path(r.files[0] or "stack").stem + "_xanes_stack" for r in results]
        if calibration is not None:
            to_store.append(calibration)
            names.append("valence_calibration")
        with plan.writing() as tx:
            written = write_results(tx, to_store, *store, names=names)
        echo_err(f"wrote {written[0]} and {written[1]}")
    if as_json:
        print_json(entries)
    elif summary_only:
        for d in entries:
            click.echo("  ".join(f"{k}={v}" for k, v in d.items() if k != "warnings"))
    else:
        _print_table(entries, show_warnings=False)
    rc = report_failures(outcomes)
    return 1 if n_failed else rc


def _strip_type(error: str) -> str:
    """'ProcessingError: msg' -> 'msg' (run_batch reports naheo_spec errors without the type)."""
    from naheo_spec import errors

    kind, sep, msg = error.partition(": ")
    cls = getattr(errors, kind, None)
    return msg if sep and isinstance(cls, type) and issubclass(cls, errors.NaheoError) else error


def _describe(cal) -> str:
    if not getattr(cal, "has_line", False):
        return "no line (fewer than 2 distinct valences)"
    return (f"slope {cal.slope_eV:.2f} eV/valence, "
            f"{len(cal.points)} standards, rms {cal.rms_residual_eV:.2f} eV")


def _fmt(v, nd):
    return "-" if v is None else f"{v:.{nd}f}"


def _print_table(entries, show_warnings=True):
    click.echo(f"{'scan':40s} {'el':>2s} {'E0 (eV)':>10s} {'±':>5s} {'step':>7s} {'foil shift':>10s} "
               f"{'valence':>7s} {'±':>5s}")
    for d in entries:
        if d.get("error"):
            continue
        name = Path(d["file"] or "?").name + (f"[{d['scan']}]" if d.get("scan") else "")
        click.echo(f"{name[-40:]:40s} {d['element'] or '?':>2s} {_fmt(d['e0_eV'], 2):>10s} "
                   f"{_fmt(d['e0_err_eV'], 2):>5s} {_fmt(d['edge_step'], 3):>7s} "
                   f"{_fmt(d['foil_shift_eV'], 2):>10s} {_fmt(d['oxidation_state'], 2):>7s} "
                   f"{_fmt(d['oxidation_state_err'], 2):>5s}")
        if show_warnings:
            echo_warnings(d["warnings"])


def _plots(results, calibration, folder: Path, *, max_single: int = 24, relative=None):
    from naheo_spec.cli.outputs import unique_names
    from naheo_spec.plot import save_figure
    from naheo_spec.plot.xanes import (
        plot_calibration,
        plot_edge_vs_scan,
        plot_normalization,
        plot_stack,
    )

    if len(results) <= max_single:  # one figure per scan is useless for a 1000-scan series
        for r, n in zip(results, unique_names([r.name for r in results])):
            save_figure(plot_normalization(r), folder / f"{n}_norm.png")
    save_figure(plot_stack(results), folder / "stack.png")
    save_figure(plot_edge_vs_scan(results), folder / "e0_vs_scan.png")
    if calibration is not None and getattr(calibration, "has_line", False):
        save_figure(plot_calibration(calibration, samples=results), folder / "calibration.png")
    if relative is not None:
        from naheo_spec.plot.xanes import plot_relative_shifts

        save_figure(plot_relative_shifts(relative), folder / "e0_shift_vs_scan.png")
        for coord in ("state_of_charge", "potential"):
            if coord in relative.coordinates:
                save_figure(plot_relative_shifts(relative, x=coord),
                            folder / f"e0_shift_vs_{coord}.png")
