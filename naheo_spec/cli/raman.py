"""``naheo-spec raman``: spikes, baselines, band fits, carbonate index, series tracking.

Series and maps (LabSpec matrix files, ``.wdf`` series/maps) are analysed as series
automatically; several single-spectrum files become one series when ``--coordinates`` or
``--names-as-coordinates`` gives them a coordinate (air-exposure time, potential).
"""
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

# Literal so that `naheo-spec raman --help` imports nothing heavy; tests check they equal
# naheo_spec.raman.baseline.METHODS and presets.SHAPES.
BASELINES = ("arpls", "asls", "airpls", "snip", "modpoly", "none")
SHAPES = ("lorentzian", "gaussian", "pseudo-voigt", "voigt")
JSON_KEYS = ("file", "index", "coordinate", "bands", "carbonate_index", "carbonate_index_err",
             "carbonate_upper_limit", "a1g_eg_ratio", "spikes_removed", "warnings")


def _failure_entry(file, error, warnings, index=None):
    d = {k: None for k in JSON_KEYS}
    d.update(file=file, index=index, bands=[], spikes_removed=0,
             warnings=[w.to_json() for w in merge_warnings(warnings)], error=error)
    return d


def _calibration(path, laser):
    if not path:
        return None, []
    from naheo_spec.diagnostics import capture
    from naheo_spec.io import read_spectrum
    from naheo_spec.raman.calibration import calibrate_axis

    with capture() as caught:
        spec = read_spectrum(path, technique="raman", laser_wavelength=laser)
        cal = calibrate_axis(spec)
    # on stderr also with --json (stdout keeps the entries)
    echo_err(f"axis calibration from {path}: {cal.reference} band at "
             f"{cal.measured_cm1:.2f} ± {cal.measured_err_cm1:.2f} cm-1 (reference "
             f"{cal.reference_cm1} cm-1): offset {cal.offset_cm1:+.2f} cm-1")
    return cal, caught


def _jobs(reads, *, combine: bool):
    """Jobs in input order: ``(label, data, read_index)``; a failed read is a job with
    ``data`` None. With ``combine`` the single spectra of all files form one series placed at
    the first of them."""
    from naheo_spec.model import SpectrumStack

    jobs, singles, where = [], [], None
    for k, o in enumerate(reads):
        if not o.ok:
            jobs.append((o.file, None, k))
            continue
        for block in o.value:
            if isinstance(block, SpectrumStack) or not combine:
                jobs.append((o.file, block, k))
            else:
                if where is None:
                    where = len(jobs)
                    jobs.append(None)
                singles.append(block)
    if singles:
        jobs[where] = (f"series of {len(singles)} files", singles, None)
    return jobs


def _stack_spectra(spectra):
    import numpy as np

    from naheo_spec.model import SpectrumStack

    first = spectra[0].axis
    if all(s.axis.size == first.size and np.allclose(s.axis, first) for s in spectra):
        return SpectrumStack.from_spectra(spectra, axis=first)
    lo = max(s.axis[0] for s in spectra)
    hi = min(s.axis[-1] for s in spectra)
    return SpectrumStack.from_spectra(spectra, axis=first[(first >= lo) & (first <= hi)])


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--preset", default="layered-oxide", show_default=True, metavar="NAME|FILE.toml",
              help="Band preset: layered-oxide, in-situ, carbonate, calcite, or a TOML file.")
@click.option("--baseline", type=click.Choice(BASELINES), default="arpls", show_default=True,
              help="Baseline method (pybaselines).")
@click.option("--lam", type=float, default=None,
              help="Whittaker lam for 1024 points (scaled with the point count; default 1e6 "
                   "for arpls).")
@click.option("--shape", type=click.Choice(SHAPES), default=None,
              help="Line shape for every band (default: the preset's, pseudo-Voigt).")
@click.option("--eta", type=click.FloatRange(0, 1), default=None,
              help="Fix the pseudo-Voigt Lorentzian fraction (default: free).")
@click.option("--calibrate-si", "calibrate", type=click.Path(exists=True, dir_okay=False),
              default=None, help="Si (520.7) or polystyrene (1001.4 cm-1) spectrum of the same "
                                 "instrument: measure the axis offset and apply it to every FILE.")
@click.option("--check-axis", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Like --calibrate-si but only report the offset (not applied).")
@click.option("--coordinates", "coord_file", type=click.Path(exists=True, dir_okay=False),
              default=None, help="CSV of coordinates (time, potential, state of charge, "
                                 "exposure) joined to the spectra by index or timestamp.")
@click.option("--join", "join_by", type=click.Choice(["auto", "index", "time"]), default="auto",
              show_default=True, help="How --coordinates rows match spectra.")
@click.option("--tolerance", type=float, default=None,
              help="Largest time difference (s) for --join time (default: half the spacing).")
@click.option("--time-offset", type=float, default=0.0, show_default=True,
              help="Seconds added to the --coordinates times before --join time: the "
                   "spectra's clock at the log's first row (both counted from their start).")
@click.option("--names-as-coordinates", is_flag=True,
              help="Read coordinates (Time_288, X_12, 48h, 7d) from the file names and treat "
                   "the single-spectrum FILEs as one series.")
@click.option("--laser-wavelength", type=float, default=None,
              help="Laser wavelength (nm) for files whose x is in nm and that do not store it.")
@click.option("--shift-min", type=float, default=80.0, show_default=True,
              help="Lowest Raman shift kept (cm-1; cuts the Rayleigh edge and anti-Stokes side).")
@click.option("--snr", "snr_threshold", type=float, default=3.0, show_default=True,
              help="Signal-to-noise ratio for a band to count as detected.")
@click.option("--resolution", type=click.FloatRange(min=0, min_open=True), default=None,
              metavar="CM1",
              help="Instrument resolution (cm-1): no band is fitted narrower and the carbonate "
                   "detection filter uses it (default: the preset's, 4 in layered-oxide; never "
                   "below two sampling steps).")
@click.option("--neighbour-despike/--no-neighbour-despike", "neighbour_despike", default=None,
              help="Neighbour-frame spike test (default: on for series of 5 or more spectra, "
                   "off for maps; on a map it compares adjacent positions).")
@click.option("--normalize-to", default=None, metavar="BAND",
              help="Divide every area by this band's (in-situ series).")
@click.option("-o", "--output", type=click.Path(), default=None,
              help="Results store (.h5); a summary table is written beside it (.csv).")
@click.option("--table", "table_path", type=click.Path(dir_okay=False), default=None,
              help="CSV of every band of every spectrum against its coordinate.")
@click.option("--plot", "plot_dir", type=click.Path(file_okay=False), default=None,
              help="Folder for figures (PNG): baseline and fit per spectrum, series map, bands "
                   "vs coordinate.")
@overwrite_option
@json_option
@click.pass_context
def raman(ctx, files, preset, baseline, lam, shape, eta, calibrate, check_axis, coord_file,
          join_by, tolerance, time_offset, names_as_coordinates, laser_wavelength, shift_min, snr_threshold,
          resolution, neighbour_despike, normalize_to, output, table_path, plot_dir, overwrite,
          as_json):
    """Raman bands of each FILE: spikes removed, baseline subtracted, bands fitted from a
    preset, carbonate index (relative) with detection and upper limit, A1g/Eg.

    Masked spectra (all-zero, saturated, spike-dominated) keep an entry with an error; bad
    files are reported and skipped; the others are still processed (exit code 1).
    """
    from naheo_spec.cli.outputs import OutputPlan

    debug = debug_flag(ctx)
    if calibrate and check_axis:
        raise click.UsageError("give --calibrate-si or --check-axis, not both")
    plan = OutputPlan(overwrite=overwrite)
    store = plan.store("-o", output) if output else None
    table_out = plan.file("--table", table_path) if table_path else None
    figures = plan.folder("--plot", plot_dir) if plot_dir else None
    plan.check()
    from naheo_spec.diagnostics import WarningCode
    from naheo_spec.errors import NaheoError, QualityWarning
    from naheo_spec.io import read
    from naheo_spec.raman.pipeline import analyze_raman_series
    from naheo_spec.raman.presets import load_preset

    pre = load_preset(preset)
    if normalize_to:
        pre.band(normalize_to)
    cal, cal_warnings = _calibration(calibrate or check_axis, laser_wavelength)
    applied = cal if calibrate else None
    reads = run_batch(files, lambda f: read(f, technique="raman",
                                            laser_wavelength=_laser_for(f, laser_wavelength)),
                      desc="reading", debug=debug)
    combine = bool((coord_file or names_as_coordinates)
                   and sum(1 for o in reads if o.ok and len(o.value) == 1
                           and not hasattr(o.value[0], "signals")) > 1)
    jobs = _jobs(reads, combine=combine)
    rejected = WarningCode("raman.coordinates.rejected", QualityWarning,
                           "The coordinates could not be joined to this series; it was "
                           "processed without them.")

    def process(job):
        label, data, _ = job
        from naheo_spec.model import SpectrumStack

        notes = []
        if isinstance(data, list):
            stack = _stack_spectra(data)
            if names_as_coordinates:
                from naheo_spec.raman.coordinates import coordinates_from_names

                c, u = coordinates_from_names([s.source.path for s in data])
                stack = stack.with_changes(coordinates={**stack.coordinates, **c},
                                           coordinate_units={**stack.coordinate_units, **u})
            data = stack
        if coord_file and isinstance(data, SpectrumStack):
            from naheo_spec.raman.coordinates import join_coordinates

            try:
                data = join_coordinates(data, coord_file, by=join_by, tolerance=tolerance,
                                        time_offset=time_offset)
            except NaheoError as exc:
                notes.append(rejected.warn(str(exc), stacklevel=2))
        res = analyze_raman_series(data, preset=pre, baseline=baseline, lam=lam, shape=shape,
                                   eta=eta, calibration=applied, shift_range=(shift_min, None),
                                   snr_threshold=snr_threshold, normalize_to=normalize_to,
                                   resolution=resolution, neighbour_despike=neighbour_despike)
        if notes:
            from dataclasses import replace

            res = replace(res, warnings=tuple(notes) + res.warnings)
        return res

    work = [j for j in jobs if j[1] is not None]
    outcomes = run_batch(work, process, label=lambda j: str(j[0]), desc="raman", debug=debug)
    by_job = {id(j): o for j, o in zip(work, outcomes)}
    entries, results = [], []
    for job in jobs:
        label, data, k = job
        if data is None:
            o = reads[k]
            entries.append(_failure_entry(o.file, o.error, o.warnings))
            continue
        out = by_job[id(job)]
        if not out.ok:
            entries.append(_failure_entry(label, out.error, out.warnings))
            continue
        res = out.value
        results.append(res)
        extra = merge_warnings(cal_warnings, reads[k].warnings if k is not None else [])
        for i in range(len(res)):
            d = res.entry_json(i)
            if extra:
                d["warnings"] = [w.to_json() for w in extra] + d["warnings"]
            entries.append(d)
    if results and (store or figures or table_out):
        with plan.writing() as tx:
            written = []
            if store:
                from naheo_spec.cli.outputs import write_results

                to_store = [r if len(r) > 1 else r[0] for r in results]
                written += write_results(tx, to_store, *store,
                                         names=[_record_name(r) for r in results])
            if table_out:
                _write_table(results, tx.path(table_out))
                written.append(table_out)
            if figures:
                _plots(results, tx.folder(figures))
                written.append(figures)
        for w in written:
            echo_err(f"wrote {w}")
    if as_json:
        print_json(entries)
    else:
        _print_table(entries)
    failed = [o for o in reads if not o.ok] + [o for o in outcomes if not o.ok]
    masked = sum(1 for e in entries if e.get("error"))
    rc = report_failures(failed, total=len(reads), unit="input")
    if masked and not as_json:
        echo_err(f"{masked} spectrum/spectra masked or failed (see the entries' errors)")
    return rc


def _laser_for(path, laser):
    """--laser-wavelength is passed only to readers that take it."""
    if laser is None:
        return None
    from naheo_spec.io.registry import get_format, sniff

    scored = sniff(path, technique="raman")
    if scored and "laser_wavelength" in scored[0][1].options:
        return laser
    return None


def _record_name(res) -> str:
    stem = Path(res.file or "spectrum").stem
    return f"{stem}_raman_series" if len(res) > 1 else f"{stem}_raman"


def _write_table(results, target: Path) -> None:
    import csv

    rows = [r for res in results for r in res.to_records()]
    cols: list[str] = []
    for r in rows:
        for k in r:
            if k not in cols:
                cols.append(k)
    with open(target, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=cols)
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in cols})


def _fmt(v, nd=1):
    return "-" if v is None else f"{v:.{nd}f}"


def _print_table(entries):
    click.echo(f"{'spectrum':44s} {'carb. index':>12s} {'A1g/Eg':>7s} {'spikes':>6s}  "
               "bands detected (centre cm-1)")
    from naheo_spec.diagnostics import WarningRecord

    for d in entries:
        name = f"{Path(d['file'] or '?').name}[{d['index'] if d['index'] is not None else '-'}]"
        if d.get("error"):
            click.echo(f"{name[-44:]:44s} error: {d['error']}")
            continue
        bands = ", ".join(f"{b['name']} {b['center_cm1']:.1f}" for b in d["bands"]
                          if b["detected"] and b["center_cm1"] is not None)
        ci = _fmt(d["carbonate_index"], 4)
        if d["carbonate_upper_limit"] is not None:
            ci = f"<{d['carbonate_upper_limit']:.4f}"
        click.echo(f"{name[-44:]:44s} {ci:>12s} {_fmt(d['a1g_eg_ratio'], 2):>7s} "
                   f"{d['spikes_removed']:>6d}  {bands or '-'}")
        echo_warnings([WarningRecord(w["code"], w["message"]) for w in d["warnings"]])


def _plots(results, folder: Path, *, max_single: int = 24):
    from naheo_spec.cli.outputs import unique_names
    from naheo_spec.plot import save_figure
    from naheo_spec.plot.raman import plot_baseline, plot_fit, plot_series_bands, plot_series_map

    singles = [(res, i) for res in results for i in range(len(res)) if res.valid[i]]
    if len(singles) <= max_single:   # one figure per spectrum is useless for a 1000-row series
        names = unique_names([f"{Path(res.file_of(i) or 'spectrum').stem}_{res.index_of(i)}"
                              for res, i in singles])
        for (res, i), n in zip(singles, names):
            r = res[i]
            save_figure(plot_baseline(r), folder / f"{n}_baseline.png")
            save_figure(plot_fit(r), folder / f"{n}_fit.png")
    for res, n in zip(results, unique_names([Path(r.file or "series").stem for r in results])):
        if len(res) > 1 and res.valid.sum() > 1:
            save_figure(plot_series_map(res), folder / f"{n}_map.png")
            save_figure(plot_series_bands(res), folder / f"{n}_bands.png")
