"""``naheo-spec exafs``: chi(k), |chi(R)| peaks and optional shell fits, per scan."""
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

WINDOWS = ("hanning", "kaiser", "parzen", "welch", "sine", "gaussian")


def _failure_entry(file, error, warnings, scan=None):
    return {"file": file, "element": None, "e0_eV": None, "kmax_data": None, "ft_peaks": [],
            "shell_fit": None, "warnings": merge_warnings(warnings), "scan": scan, "error": error}


@click.command()
@click.argument("scans", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--rbkg", type=float, default=1.0, show_default=True, help="AUTOBK rbkg, Å.")
@click.option("--bkg-kweight", type=int, default=None,
              help="k-weight of the background fit (default: preset; larch 1, athena 2).")
@click.option("--preset", type=click.Choice(["larch", "athena"]), default="larch", show_default=True,
              help="Normalization/background defaults.")
@click.option("--kweight", type=click.IntRange(0, 3), default=2, show_default=True, help="FT k-weight.")
@click.option("--kmin", type=float, default=3.0, show_default=True, help="FT k start, Å⁻¹.")
@click.option("--kmax", type=float, default=None, help="FT k end, Å⁻¹ (default: min(kmax_data-1, 12)).")
@click.option("--dk", type=float, default=1.0, show_default=True, help="FT window sill, Å⁻¹.")
@click.option("--window", type=click.Choice(WINDOWS), default="hanning", show_default=True)
@click.option("--peak-windows", type=click.Choice(["auto", "oxide", "metal"]), default="auto",
              show_default=True,
              help="Where to look for FT peaks: oxide (TM-O 1.1-2.0 Å, TM-TM 2.2-3.3 Å), metal "
                   "(TM-TM 1.8-2.7 Å, foils), or auto: metal for a recognised foil (E0 at the "
                   "tabulated edge, no white line), oxide otherwise.")
@click.option("--composition", default=None, metavar="FORMULA",
              help="Sample formula, e.g. Na0.95Li0.06Ni0.25Cu0.05Fe0.15Mn0.49O2 (default: the "
                   "file's Sample.formula): the k range stops before the next element's edge; "
                   "fluorescence data are corrected for self-absorption.")
@click.option("--mode", "measurement_mode", type=click.Choice(["fluorescence", "transmission"]),
              default=None, help="Measurement mode (default: from the file).")
@click.option("--no-self-absorption", is_flag=True,
              help="Do not correct fluorescence data for self-absorption.")
@click.option("--no-step-check", is_flag=True,
              help="Do not look for a step (another element's edge) in mu(E) inside the "
                   "EXAFS range.")
@click.option("--fit", "fit_spec", default=None, metavar="CIF_OR_TEMPLATE",
              help="Shell fit from a CIF file or a template: 'rocksalt:a=4.177', "
                   "'o3:a=2.96,c=16.0,z=0.26,Ni=0.25,Mn=0.49,Fe=0.26', 'ref:NiO'.")
@click.option("--absorber", default=None, help="Absorbing element for --fit (default: the scan's element).")
@click.option("--share-tmtm", is_flag=True,
              help="With --fit and several scans (e.g. the Ni, Fe and Mn edges of one electrode): "
                   "fit them together with one TM-TM distance (the layer's hexagonal a).")
@click.option("--rmin", type=float, default=1.0, show_default=True, help="Fit R start, Å.")
@click.option("--rmax", type=float, default=3.2, show_default=True, help="Fit R end, Å.")
@click.option("--s02", type=float, default=0.8, show_default=True,
              help="Amplitude reduction factor S0² (fixed; N is fitted).")
@click.option("--mu", "mu_expr", default=None, metavar="EXPR", help="Expression for mu, e.g. 'ln(i0/it)'.")
@format_option()
@click.option("-o", "--output", type=click.Path(), default=None,
              help="Results store (.h5); a summary table is written beside it (.csv).")
@click.option("--plot", "plot_dir", type=click.Path(file_okay=False), default=None,
              help="Folder for figures (PNG): chi(k), |chi(R)|, fits, distances vs scan.")
@overwrite_option
@json_option
@click.pass_context
def exafs(ctx, scans, rbkg, bkg_kweight, preset, kweight, kmin, kmax, dk, window, peak_windows,
          composition, measurement_mode, no_self_absorption, no_step_check,
          fit_spec, absorber, share_tmtm,
          rmin, rmax, s02, mu_expr, fmt, output, plot_dir, overwrite, as_json):
    """EXAFS of each SCAN: background (AUTOBK), chi(k), Fourier transform, apparent TM–O and
    TM–TM peak positions and, with --fit, first- and second-shell distances from FEFF paths.

    FT peak positions are apparent (not phase-corrected): 0.3–0.5 Å below the bond lengths.
    Only --fit gives distances: R ± the error against crystallography (fit, k range and
    FEFF theory), and the smaller error of differences between scans of one series. Multi-scan files (Athena projects) give one entry per scan.
    E0 is the maximum of dμ/dE (the k = 0 origin of AUTOBK and larch; `xanes` reports the
    half-height E0 by default): the output says which. A failed --fit says which k or R
    range (or background k-weight) passes the checks.
    """
    from naheo_spec.cli.outputs import OutputPlan
    from naheo_spec.io import read_spectra
    from naheo_spec.xas.exafs import analyze_exafs

    debug = debug_flag(ctx)
    plan = OutputPlan(overwrite=overwrite)
    store = plan.store("-o", output) if output else None
    distances = plan.file("-o", Path(output).with_name(Path(output).stem + "_distances.csv")) \
        if output and fit_spec else None
    figures = plan.folder("--plot", plot_dir) if plot_dir else None
    plan.check()
    read = run_batch(scans, lambda f: read_spectra(f, format=fmt, technique="xas", mu=mu_expr),
                     desc="reading", debug=debug)
    items = [(o, s) for o in read if o.ok for s in o.value]
    paths_cache: dict[str, tuple] = {}

    if composition:
        from naheo_spec.chemistry import parse_formula

        parse_formula(composition)                    # a bad formula fails before any work
    opts = dict(rbkg=rbkg, preset=preset, kmin=kmin, kmax=kmax, kweight=kweight, dk=dk,
                window=window, peak_windows=None if peak_windows == "auto" else peak_windows,
                composition=composition, measurement_mode=measurement_mode,
                self_absorption=False if no_self_absorption else "auto",
                detect_steps=not no_step_check)

    def process(item):
        _, spec = item
        res = analyze_exafs(spec, bkg_kweight=bkg_kweight, **opts)
        if fit_spec:
            from naheo_spec.xas.exafs_fit import fit_exafs_result, structure_paths

            el = absorber or res.element
            if el not in paths_cache:
                paths_cache[el] = structure_paths(fit_spec, el)

            def reanalyze(kw, spec=spec):
                return analyze_exafs(spec, bkg_kweight=kw, **opts)

            res = fit_exafs_result(res, paths_cache[el], rmin_A=rmin, rmax_A=rmax, s02=s02,
                                   reanalyze=reanalyze)
        return res

    done = {id(s): o for o, s in zip(run_batch(items, process, label=lambda it: it[1].name,
                                                 desc="exafs", debug=debug), (s for _, s in items))}
    entries, results, failures = [], [], [o for o in read if not o.ok]
    for o in read:  # input order; one entry per scan
        if not o.ok:
            entries.append(_failure_entry(o.file, o.error, o.warnings))
            continue
        for spec in o.value:
            out = done[id(spec)]
            if out.ok:
                results.append(out.value)
                d = out.value.to_json_dict()
                d["scan"] = spec.source.scan
                d["warnings"] = merge_warnings(spec.warnings, out.value.warnings, out.warnings)
                entries.append(d)
            else:
                failures.append(out)
                entries.append(_failure_entry(str(spec.source.path), out.error, out.warnings,
                                              scan=spec.source.scan))
    if share_tmtm:
        _share_tm_tm(results, entries, paths_cache, rmin, rmax, s02, fit_spec)
    written = []
    if results and (store or figures):
        from naheo_spec.cli.outputs import write_results

        fitted = [r for r in results if r.shell_fit is not None]
        with plan.writing() as tx:
            if store:
                written += write_results(tx, results, *store,
                                         names=[r.default_name() for r in results])
                if fitted:
                    _write_distances(fitted, tx.path(distances))
                    written.append(distances)
            if figures:
                _plots(results, tx.folder(figures))
                written.append(figures)
    for w in written:
        echo_err(f"wrote {w}")
    if as_json:
        print_json(entries)
    else:
        _print_table(entries)
    failed_reads = [o for o in read if not o.ok]
    return report_failures(failures, total=len(failed_reads) + len(items), unit="file/scan")


def _share_tm_tm(results, entries, paths_cache, rmin, rmax, s02, fit_spec):
    """Refit every fitted scan together with one TM-TM distance; update results and entries."""
    from dataclasses import replace

    from naheo_spec.errors import InputError
    from naheo_spec.xas.shellfit import fit_shells_multi

    if not fit_spec:
        raise InputError("--share-tmtm needs --fit", parameter="share_tmtm")
    fitted = [i for i, r in enumerate(results) if r.shell_fit is not None]
    if len(fitted) < 2:
        raise InputError(f"--share-tmtm needs at least two fitted scans, got {len(fitted)}",
                         parameter="share_tmtm")
    labels, datasets = [], []
    for i in fitted:
        r = results[i]
        label = f"{r.element}:{r.scan or Path(r.file or 'scan').stem}"
        labels.append(label)
        p = r.shell_fit.provenance.parameters
        datasets.append((label, r.k_invA, r.chi, paths_cache[r.element],
                         {"kmin": p["kmin"], "kmax": p["kmax"]}))
    ref = results[fitted[0]].shell_fit.provenance.parameters
    multi = fit_shells_multi(datasets, kweight=ref["kweight"], dk=ref["dk"], window=ref["window"],
                             rmin_A=rmin, rmax_A=rmax, s02=s02)
    shared = multi.to_json_dict()["shared"]
    for i, label in zip(fitted, labels):
        fit = multi.fits[label]
        results[i] = replace(results[i], shell_fit=fit)
        for d in entries:
            if d.get("error") is None and d["file"] == results[i].file and \
                    d.get("scan") == results[i].scan:
                d["shell_fit"] = dict(fit.to_json_dict(), shared=shared, datasets=labels)
                d["warnings"] = d["warnings"] + [w.to_json() for w in fit.warnings]
    r, e = multi.shared["r_tmtm_A"]
    echo_err(f"shared TM-TM distance of {len(labels)} scans ({', '.join(labels)}): "
             f"{r:.4f} ± {e if e is None else round(e, 4)} Å, R-factor {multi.r_factor:.4f}")


def _write_distances(results, target: Path) -> Path:
    """Distances vs scan (one row per fitted scan) as CSV next to the store: OUT_distances.csv."""
    import csv

    from naheo_spec.xas.shellfit import distances_table

    rows = distances_table([r.shell_fit for r in results],
                           names=[r.scan or Path(r.file or "?").name for r in results])
    for row, r in zip(rows, results):
        row["file"] = r.file
        row["state_of_charge"] = r.metadata.get("state_of_charge")
    keys = list(dict.fromkeys(k for row in rows for k in row))
    with open(target, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)
    return target


def _print_table(entries):
    for d in entries:
        if d.get("error"):
            continue
        peaks = ", ".join(f"{p['label']} {p['r_apparent_A']:.3f} Å" if p["r_apparent_A"] is not None
                          else f"{p['label']} not found" for p in d["ft_peaks"])
        name = Path(d["file"]).name + (f" [{d['scan']}]" if d.get("scan") else "")
        lo, hi = d["ft_k_range"]
        click.echo(f"{name}: {d['element']} E0 {d['e0_eV']:.2f} eV ({d['e0_method']}), data to "
                   f"k={d['kmax_data']:.2f} Å⁻¹, FT k {lo:.2f}–{hi:.2f} Å⁻¹; apparent peaks "
                   f"(not phase-corrected, {d['peak_windows']} windows): {peaks}")
        fit = d.get("shell_fit")
        if fit:
            budget = fit.get("r_uncertainty") or {}
            for p in fit["paths"]:
                u = budget.get(p["label"], {})
                tot = u.get("total", p["r_err_A"])
                err = "?" if tot is None else f"{tot:.3f}"
                ser = "" if u.get("series") is None else f" (between scans ± {u['series']:.4f})"
                click.echo(f"    {p['label']:8s} R = {p['r_A']:.3f} ± {err} Å{ser}  N = {p['n']:.2f}  "
                           f"σ² = {p['sigma2_A2']:.4f} Å²")
            click.echo(f"    ΔE0 = {fit['e0_shift_eV']:.2f} eV, R-factor = {fit['r_factor']:.4f}")
        echo_warnings(d["warnings"])


def _plots(results, folder: Path):
    from naheo_spec.cli.outputs import unique_names
    from naheo_spec.plot import save_figure
    from naheo_spec.plot.exafs import (
        plot_chik,
        plot_chir,
        plot_distances_vs_scan,
        plot_shell_fit,
    )

    names = unique_names([r.default_name() for r in results])
    for r, n in zip(results, names):
        save_figure(plot_chik(r), folder / f"{n}_chik.png")
        save_figure(plot_chir(r), folder / f"{n}_chir.png")
        if r.shell_fit is not None:
            save_figure(plot_shell_fit(r), folder / f"{n}_fit.png")
    fitted = [r for r in results if r.shell_fit is not None]
    if len(fitted) > 1:
        save_figure(plot_distances_vs_scan(fitted), folder / "distances_vs_scan.png")
