"""``naheo-spec xps``: charge reference, background, model fit and valence fractions per block."""
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

# Literal so that `--help` imports nothing heavy; tests check them against the library.
BACKGROUND_CHOICES = ("shirley", "active-shirley", "tougaard-u2", "tougaard-u3", "linear",
                      "min-limits")
JSON_KEYS = ("file", "block", "region", "energy_shift_eV", "background", "components",
             "valence_fractions", "valence_fractions_err", "mean_oxidation_state",
             "mean_oxidation_state_err", "reduced_chi2", "warnings")
JSON_DETAIL_KEYS = ("model", "charge_reference", "information_depth_nm", "error_terms",
                    "charge_balance")


def _failure_entry(file, block, region, error, warnings):
    d = {k: None for k in JSON_KEYS + JSON_DETAIL_KEYS}
    d.update(file=file, block=block, region=region, components=[], valence_fractions={},
             valence_fractions_err={}, warnings=merge_warnings(warnings), error=error)
    return d


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--region", default="Ni 2p", show_default=True,
              help="Core level to fit in every file (blocks whose region matches).")
@click.option("--block", default=None, metavar="NAME|INDEX",
              help="One block by name ('NiO Ni 2p') or 0-based index instead of --region.")
@click.option("--model", "model", default="ni2p", show_default=True,
              help="ni2p|mn2p|fe2p|cu2p|o1s|c1s|na1s|casa, a MODEL.toml file, or "
                   "lcf:FILE[:BLOCK][=STATE],... (linear combination of reference spectra; "
                   "STATE e.g. Mn3+, default read from an oxide sample name).")
@click.option("--ni-metal", is_flag=True,
              help="ni2p: add the Ni0 (metal) envelope for partly reduced surfaces.")
@click.option("--lcf-shift", type=click.Choice(("common", "per-reference")), default="common",
              show_default=True, help="lcf: one energy shift for all references or one each.")
@click.option("--max-shift", type=float, default=None, metavar="EV",
              help="lcf: bound on each reference's shift (default 1.5 eV with a charge "
                   "reference, 2.0 without).")
@click.option("--window", default=None, metavar="LO,HI",
              help="Fit window in binding energy (eV), e.g. 635,656 (default: the model's; "
                   "lcf: the range common to data and references).")
@click.option("--background", type=click.Choice(BACKGROUND_CHOICES), default=None,
              help="Background (default: the model's, Shirley for the built-ins).")
@click.option("--charge-ref", default="none", show_default=True, metavar="c1s|o1s|none|SHIFT",
              help="Charge reference per sample: its C 1s (C-C to 284.8 eV, electrode carbons "
                   "kept apart), lattice O 1s (529.6 eV), none, or a shift in eV.")
@click.option("--charge-ref-err", type=float, default=None, metavar="EV",
              help="Uncertainty of the charge reference (default 0.3 eV).")
@click.option("--photon-energy", type=float, default=None, metavar="EV",
              help="Photon energy for kinetic-energy files that do not store it.")
@click.option("--elements", default=None, metavar="Ni,Mn,...",
              help="Elements present (Auger overlaps; default: from --composition).")
@click.option("--composition", default=None, metavar="FORMULA",
              help="e.g. Na0.95Li0.06Ni0.25Cu0.05Fe0.15Mn0.49O2: report the charge balance.")
@click.option("--no-budget", is_flag=True, help="Skip the refits of the error budget (faster).")
@click.option("-o", "--output", type=click.Path(), default=None,
              help="Results store (.h5, NeXus); a summary table is written beside it (.csv).")
@click.option("--plot", "plot_dir", type=click.Path(file_okay=False), default=None,
              help="Folder for figures (PNG): one fit per block and the fraction series.")
@overwrite_option
@json_option
@click.pass_context
def xps(ctx, files, region, block, model, ni_metal, lcf_shift, max_shift, window, background,
        charge_ref, charge_ref_err, photon_energy, elements, composition, no_budget, output,
        plot_dir, overwrite, as_json):
    """Fit the REGION of each FILE with MODEL and report valence fractions, the mean
    oxidation state and their error budget (fit, background, template, charge reference).

    Values are surface values (information depth ~3 IMFP). Bad files are reported and
    skipped; the others are still processed (exit code 1).
    """
    from naheo_spec.cli.outputs import OutputPlan
    from naheo_spec.io import read
    from naheo_spec.xps.charge import charge_reference, parse_charge_ref
    from naheo_spec.xps.pipeline import select_blocks

    debug = debug_flag(ctx)
    plan = OutputPlan(overwrite=overwrite)
    store = plan.store("-o", output) if output else None
    figures = plan.folder("--plot", plot_dir) if plot_dir else None
    plan.check()
    parse_charge_ref(charge_ref)
    elems = set()
    if composition:
        from naheo_spec.xps.quantify import parse_formula

        elems |= set(parse_formula(composition))
    if elements:
        elems |= {e.strip() for e in elements.split(",") if e.strip()}
    opts = {"photon_energy": photon_energy} if photon_energy is not None else {}
    win = _parse_window(window)
    fit_opts = {"metal": ni_metal, "window": win}
    if model.startswith("lcf:"):
        from naheo_spec.xps.lcf import load_references

        fit_opts = {"references": load_references(model[4:], read_options=opts),
                    "shift": lcf_shift, "max_shift_eV": max_shift, "window": win}
    elif ni_metal and model != "ni2p":
        from naheo_spec.errors import InputError

        raise InputError("--ni-metal goes with --model ni2p", parameter="ni_metal")
    read_out = run_batch(files, lambda f: read(f, technique="xps", **opts), desc="reading",
                         debug=debug)
    entries, results, failures = [], [], [o for o in read_out if not o.ok]
    samples: list = []          # (file, sample, entry index) of each result
    n_items = len(failures)
    for o in read_out:
        if not o.ok:
            entries.append(_failure_entry(o.file, None, None, o.error, o.warnings))
            continue
        coll = o.value
        sel = run_batch([coll], lambda c: select_blocks(c, region, block), label=lambda c: str(c.path),
                        debug=debug)[0]
        if not sel.ok:
            failures.append(sel)
            n_items += 1
            entries.append(_failure_entry(o.file, block, region, sel.error, sel.warnings))
            continue
        charges: dict = {}

        def one(spec, coll=coll, charges=charges):
            sample = spec.acquisition.sample if spec.acquisition else None
            if sample not in charges:
                charges[sample] = charge_reference(charge_ref, collection=coll, sample=sample,
                                                   uncertainty_eV=charge_ref_err)
            return _analyze(spec, coll, model, background, charges[sample], elems, no_budget,
                            fit_opts)

        outs = run_batch(sel.value, one, label=lambda s: s.name, desc="xps", debug=debug)
        for spec, out in zip(sel.value, outs):
            n_items += 1
            if out.ok:
                res = out.value
                results.append(res)
                samples.append((spec.source.path, getattr(spec.acquisition, "sample", None),
                                len(entries)))
                d = res.to_json_dict()
                d["warnings"] = merge_warnings(res.warnings, out.warnings)
                entries.append(d)
            else:
                failures.append(out)
                entries.append(_failure_entry(spec.source.path, spec.source.scan,
                                              spec.acquisition.region if spec.acquisition else None,
                                              out.error, out.warnings))
    if composition and results:
        _charge_balance(composition, results, samples, entries, as_json)
    written = []
    if results and (store or figures):
        from naheo_spec.cli.outputs import write_results

        with plan.writing() as tx:
            if store:
                written += write_results(tx, results, *store,
                                         names=[f"{Path(r.file or 'x').stem}_{r.block}_xps"
                                                for r in results])
            if figures:
                _plots(results, tx.folder(figures))
                written.append(figures)
    for w in written:
        echo_err(f"wrote {w}")
    if as_json:
        print_json(entries)
    else:
        _print_table(entries)
    return report_failures(failures, total=n_items, unit="file/block")


def _parse_window(text):
    """``"635,656"`` -> ``(635.0, 656.0)``; None passes."""
    if text is None:
        return None
    from naheo_spec.errors import InputError

    try:
        lo, hi = (float(v) for v in str(text).replace(":", ",").split(","))
    except ValueError:
        raise InputError(f"window {text!r}: expected LO,HI in eV (e.g. 635,656)",
                         parameter="window") from None
    if not lo < hi:
        raise InputError(f"window {text!r}: LO must be below HI", parameter="window")
    return (lo, hi)


def _analyze(spec, coll, model, background, charge, elements, no_budget, fit_opts):
    from naheo_spec.xps.pipeline import analyze_region

    if model == "casa":
        from naheo_spec.xps.casa import refit_casa

        return refit_casa(spec, coll, charge=charge)
    if model.startswith("lcf:"):
        from naheo_spec.xps.lcf import fit_lcf

        return fit_lcf(spec, fit_opts["references"], shift=fit_opts["shift"],
                       max_shift_eV=fit_opts["max_shift_eV"], background=background,
                       window=fit_opts["window"], charge=charge, error_budget=not no_budget)
    return analyze_region(spec, model, background=background, charge=charge, elements=elements,
                          error_budget=not no_budget, metal=fit_opts["metal"],
                          window=fit_opts["window"])


def _charge_balance(composition, results, samples, entries, as_json):
    """One charge balance per sample (file and sample name): attached to its results (so the
    store summary has it), to their JSON entries, and said on stderr in text mode."""
    from naheo_spec.xps.pipeline import sample_charge_balance

    groups: dict = {}
    for k, (path, sample, _) in enumerate(samples):
        groups.setdefault((path, sample), []).append(k)
    for (path, sample), ks in groups.items():
        cb = sample_charge_balance([results[k] for k in ks], composition)
        if cb is None:
            continue
        for k in ks:
            results[k] = results[k].with_charge_balance(cb)
            e = entries[samples[k][2]]
            e["charge_balance"] = results[k].charge_balance()
            e["warnings"] = merge_warnings(e["warnings"], cb.warnings)
        if not as_json:
            who = f"{Path(path).name if path else ''}{f' [{sample}]' if sample else ''}"
            echo_err(f"charge balance {who} ({composition}): cations {cb.cation_charge:.3f} ± "
                     f"{cb.cation_charge_err:.3f} vs anions {cb.anion_charge:.3f}; residual "
                     f"{cb.residual:+.3f}")


def _fmt(v, nd=2):
    return "-" if v is None else f"{v:.{nd}f}"


def _print_table(entries):
    click.echo(f"{'block':42s} {'shift':>6s} {'fractions':40s} {'MOS':>5s} {'±':>5s}")
    for d in entries:
        if d.get("error"):
            continue
        name = Path(d["file"] or "?").name + f"[{d['block']}]"
        fr = ", ".join(f"{k} {v:.2f}±{d['valence_fractions_err'].get(k) or 0:.2f}"
                       for k, v in d["valence_fractions"].items() if v is not None)
        click.echo(f"{name[-42:]:42s} {_fmt(d['energy_shift_eV']):>6s} {fr[:40]:40s} "
                   f"{_fmt(d['mean_oxidation_state']):>5s} {_fmt(d['mean_oxidation_state_err']):>5s}")
        if d.get("casa_comparison"):
            _print_casa(d["casa_comparison"])
        if d.get("lcf"):
            _print_lcf(d["lcf"])
        echo_warnings(d["warnings"])


def _print_casa(cmp):
    """CasaXPS's stored values beside the refit (binding energy, eV)."""
    s = cmp["summary"]
    click.echo(f"  CasaXPS vs refit ({s['background']} background, {s['weights']} weights; "
               f"compared: off their bounds, tolerance {s['position_tolerance_eV']} eV / "
               f"{s['fraction_tolerance']})")
    click.echo(f"  {'component':12s} {'casa BE':>9s} {'ours':>9s} {'d':>7s} {'casa frac':>9s} "
               f"{'ours':>7s} {'d':>7s}  compared")
    for t in cmp["components"]:
        why = "yes" + ("" if t["within_tolerance"] else " (outside tolerance)") \
            if t["compared"] else f"no: {t['not_compared_because']}"
        click.echo(f"  {t['name'][:12]:12s} {t['casa_center_eV']:9.3f} {t['center_eV']:9.3f} "
                   f"{t['delta_center_eV']:+7.3f} {t['casa_area_fraction']:9.4f} "
                   f"{t['area_fraction']:7.4f} {t['delta_area_fraction']:+7.4f}  {why}")
    click.echo(f"  {s['n_within_tolerance']}/{s['n_compared']} compared components within "
               f"tolerance; objective refit/CasaXPS values = "
               f"{s['objective_refit'] / s['objective_at_casa_values']:.3f}")


def _print_lcf(lcf):
    """Weights and shifts of a linear combination of reference spectra."""
    click.echo(f"  LCF ({lcf['shift_mode']} shift, {lcf['background']} background):")
    for r in lcf["references"]:
        click.echo(f"  {r['name'][:30]:30s} weight {r['weight']:.3f}±{r['weight_err'] or 0:.3f} "
                   f"shift {r['shift_eV']:+.2f} eV  state {r['state']}")


def _plots(results, folder: Path, *, max_single: int = 24):
    from naheo_spec.cli.outputs import unique_names
    from naheo_spec.plot import save_figure
    from naheo_spec.plot.xps import plot_fit, plot_fraction_series

    if len(results) <= max_single:
        for r, n in zip(results, unique_names([f"{Path(r.file or 'x').stem}_{r.block}"
                                               for r in results])):
            save_figure(plot_fit(r), folder / f"{n}_fit.png")
    if any(r.valence for r in results):
        save_figure(plot_fraction_series(results), folder / "fractions.png")
