"""``naheo-spec xanes``: foil calibration, normalization, E0 and oxidation state per scan."""
from __future__ import annotations

from pathlib import Path

import click

from naheo_spec.cli.common import (
    debug_flag,
    echo_err,
    echo_warnings,
    json_option,
    merge_warnings,
    overwrite_option,
    print_json,
    report_failures,
    run_batch,
)

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
    """Read the separate foil scan, keeping its read warnings for every entry."""
    if not path:
        return None, []
    from naheo_spec.diagnostics import capture
    from naheo_spec.io import read_spectrum

    with capture() as caught:
        foil = read_spectrum(path, scan=scan)
    return foil, [m if str(path) in m.message else m.prefixed(f"foil {path}") for m in caught]


def _failure_entry(file, scan, error, warnings):
    d = {k: None for k in JSON_KEYS}
    d.update(file=file, scan=scan, warnings=merge_warnings(warnings), error=error)
    return d


@click.command()
@click.argument("scans", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--standards", type=click.Path(exists=True, dir_okay=False), default=None,
              help="TOML file of [[standard]] entries (file, valence[, group, reference]) "
                   "for the edge-position vs valence line.")
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
@click.option("--max-foil-offset", type=float, default=5.0, show_default=True,
              help="Reject a foil whose E0 is further than this from the tabulated edge, eV.")
@click.option("--mu", "mu_expr", default=None, metavar="EXPR", help="Expression for mu, e.g. 'ln(i0/it)'.")
@click.option("-o", "--output", type=click.Path(), default=None,
              help="Results store (.h5); a summary table is written beside it (.csv).")
@click.option("--plot", "plot_dir", type=click.Path(file_okay=False), default=None,
              help="Folder for figures (PNG): per-scan normalization, stack, calibration, E0 vs scan.")
@click.option("--stack", "stack_mode", is_flag=True,
              help="Each SCAN is an HDF5 file holding one [nScan, nEnergy] stack: process it "
                   "vectorized, block by block (never whole in memory); one entry per scan.")
@click.option("--chunk", type=click.IntRange(min=1), default=None, metavar="N",
              help="With --stack: scans per block (default 20000).")
@overwrite_option
@json_option
@click.pass_context
def xanes(ctx, scans, standards, data_root, foil_path, foil_scan, e0_method, preset, pre_range, norm_range, nnorm,
          max_foil_offset, mu_expr, output, plot_dir, stack_mode, chunk, overwrite, as_json):
    """XANES of each SCAN: energy calibration on the simultaneous foil, normalization, E0 with a
    noise-based uncertainty and, with --standards, the oxidation state from the calibration line.

    Bad scans are reported and skipped; the others are still processed (exit code 1).
    """
    from naheo_spec.cli.outputs import OutputPlan
    from naheo_spec.io import read_spectra
    from naheo_spec.xas.xanes import analyze_xanes

    debug = debug_flag(ctx)
    if chunk is not None and not stack_mode:
        raise click.UsageError("--chunk only applies with --stack")
    if stack_mode and (mu_expr or plot_dir):
        raise click.UsageError("--mu and --plot are not available with --stack")
    plan = OutputPlan(overwrite=overwrite)
    store = plan.store("-o", output) if output else None
    figures = plan.folder("--plot", plot_dir) if plot_dir else None
    plan.check()
    calibration = None
    if standards:
        from naheo_spec.xas.standards import build_calibration

        calibration = build_calibration(standards, e0_method=e0_method, data_root=data_root)
        if not as_json:
            echo_err(f"calibration from {standards}: {_describe(calibration)}")
    foil, foil_warnings = _read_foil(foil_path, foil_scan)
    opts = dict(e0_method=e0_method, calibration=calibration, preset=preset,
                pre_range=_range(pre_range, "--pre-range", -1),
                norm_range=_range(norm_range, "--norm-range", +1), nnorm=nnorm,
                max_foil_offset_eV=max_foil_offset)
    if foil is not None:
        opts["foil"] = foil
    if stack_mode:
        return _stacks(scans, opts, chunk or 20000, calibration, plan=plan, store=store,
                       as_json=as_json, debug=debug)
    read = run_batch(scans, lambda f: read_spectra(f, technique="xas", mu=mu_expr),
                     desc="reading", debug=debug)
    items = [s for o in read if o.ok for s in o.value]
    outcomes = run_batch(items, lambda s: analyze_xanes(s, **opts), label=lambda s: s.name,
                         desc="xanes", debug=debug)
    by_id = {id(s): o for s, o in zip(items, outcomes)}
    entries, results = [], []
    for o in read:
        if not o.ok:
            entries.append(_failure_entry(o.file, None, o.error, o.warnings))
            continue
        for spec in o.value:
            out = by_id[id(spec)]
            if out.ok:
                results.append(out.value)
                d = out.value.to_json_dict()
                d["warnings"] = merge_warnings(foil_warnings, out.value.warnings, out.warnings)
                entries.append(d)
            else:
                entries.append(_failure_entry(spec.source.path, spec.source.scan, out.error, out.warnings))
    written = []
    if results and (store or figures):
        from naheo_spec.cli.outputs import write_results

        with plan.writing() as tx:
            if store:
                to_store, names = list(results), [r.name for r in results]
                if calibration is not None:
                    to_store.append(calibration)
                    names.append("valence_calibration")
                written += write_results(tx, to_store, *store, names=names)
            if figures:
                _plots(results, calibration, tx.folder(figures))
                written.append(figures)
    for w in written:
        echo_err(f"wrote {w}")
    if as_json:
        print_json(entries)
    else:
        _print_table(entries)
    failed_reads = [o for o in read if not o.ok]
    return report_failures(failed_reads + [o for o in outcomes if not o.ok],
                           total=len(failed_reads) + len(items), unit="file/scan")


def _stacks(files, opts, chunk, calibration, *, plan, store, as_json, debug):
    """--stack: xanes_hdf5_stack on each file; one JSON entry per scan, in file order."""
    from naheo_spec.xas.outofcore import xanes_hdf5_stack

    outcomes = run_batch(files, lambda f: xanes_hdf5_stack(f, chunk_scans=chunk, **opts),
                         desc="xanes stack", debug=debug)
    entries, results, n_failed = [], [], 0
    for o in outcomes:
        if not o.ok:
            entries.append(_failure_entry(o.file, None, o.error, o.warnings))
            continue
        res = o.value
        results.append(res)
        entries.extend(d if "error" not in d else   # the shape of a failed scan without --stack
                       _failure_entry(d["file"], d["scan"], _strip_type(d["error"]), [])
                       for d in res.to_json_list())
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


def _plots(results, calibration, folder: Path, *, max_single: int = 24):
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
