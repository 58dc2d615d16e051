"""``naheo-spec convert``: spectra to the HDF5 store, XDI or CSV."""
from __future__ import annotations

from pathlib import Path

import click

from naheo_spec.cli.common import (
    debug_flag,
    echo_err,
    format_option,
    json_option,
    merge_warnings,
    overwrite_option,
    print_json,
    report_failures,
    run_batch,
)
from naheo_spec.errors import InputError

FORMATS = ("h5", "xdi", "csv")


def _stem(spectrum) -> str:
    """File stem (without extension) plus the scan name for multi-scan files."""
    stem = Path(spectrum.source.path).stem if spectrum.source.path else "spectrum"
    return f"{stem}_{spectrum.source.scan}" if spectrum.source.scan else stem


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(),
              help="Output: an .h5/.nxs file (store) or a folder (xdi/csv: one file per spectrum).")
@click.option("--to", "fmt", type=click.Choice(FORMATS), default=None,
              help="Output format (default: h5 if OUTPUT ends in .h5/.hdf5/.nxs, else xdi).")
@format_option("in_format")
@click.option("--mu", "mu_expr", default=None, metavar="EXPR", help="Expression for mu, e.g. 'ln(i0/it)'.")
@click.option("--ref", "ref_expr", default=None, metavar="EXPR", help="Expression for the reference.")
@overwrite_option
@json_option
@click.pass_context
def convert(ctx, files, output, fmt, in_format, mu_expr, ref_expr, overwrite, as_json):
    """Convert FILES to the HDF5 results store (NeXus), XDI or CSV.

    Existing outputs are never replaced unless --overwrite is given; all outputs are checked
    before anything is read and written all or none. Unreadable inputs are reported and
    skipped; the good ones are still written (exit code 1).
    """
    from naheo_spec.cli.outputs import STORE_SUFFIXES, OutputPlan, unique_names
    from naheo_spec.io import read_spectra

    out = Path(output)
    if fmt is None:
        fmt = "h5" if out.suffix.lower() in STORE_SUFFIXES else "xdi"
    plan = OutputPlan(overwrite=overwrite)
    if fmt == "h5":
        plan.file("-o", out)
        if out.suffix.lower() not in STORE_SUFFIXES:
            plan.store("-o", out)        # raises: a store needs a store extension
    else:
        if out.exists() and not out.is_dir():
            raise InputError(f"-o {out}: exists and is not a folder (xdi/csv output writes one "
                             "file per spectrum into a folder)")
        plan.folder("-o", out)
    plan.check()
    outcomes = run_batch(files, lambda f: read_spectra(f, format=in_format, mu=mu_expr,
                                                       ref=ref_expr),
                         desc="reading", debug=debug_flag(ctx))
    spectra = [s for o in outcomes if o.ok for s in o.value]
    written: list[str] = []
    if spectra:
        # Two inputs may share a file name (run1/scan.xdi, run2/scan.xdi): suffix _2, _3...
        names = unique_names([_stem(s) for s in spectra])
        if fmt != "h5":
            clash = [n for n in names if (out / f"{n}.{fmt}").exists()]
            if clash and not overwrite:
                raise InputError(f"-o {out}: {out / (clash[0] + '.' + fmt)} exists; pass "
                                 "--overwrite to replace it")
        with plan.writing() as tx:
            if fmt == "h5":
                from naheo_spec.store import spectrum_to_record, write_records

                write_records(tx.path(out), [spectrum_to_record(s, name=n)
                                             for s, n in zip(spectra, names)])
                written.append(str(out))
            else:
                from naheo_spec.io.writers import write_csv, write_xdi

                writer = write_xdi if fmt == "xdi" else write_csv
                folder = tx.folder(out)
                for s, n in zip(spectra, names):
                    writer(s, folder / f"{n}.{fmt}")
                    written.append(str(out / f"{n}.{fmt}"))
    if as_json:
        print_json({"written": written, "spectra": len(spectra),
                    "failed": [{"file": o.file, "error": o.error} for o in outcomes if not o.ok],
                    "warnings": merge_warnings(*(o.warnings for o in outcomes))})
    else:
        for w in written:
            echo_err(f"wrote {w}")
    return report_failures(outcomes)
