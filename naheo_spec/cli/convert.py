"""``naheo-spec convert``: spectra to the HDF5 store, XDI or CSV."""
from __future__ import annotations

from pathlib import Path

import click

from naheo_spec.cli._common import (echo_err, json_option, overwrite_option, print_json,
                                    report_failures, run_batch)

FORMATS = ("h5", "xdi", "csv")


def _stem(spectrum) -> str:
    """File stem (without extension) plus the scan name for multi-scan files."""
    stem = Path(spectrum.source.path).stem if spectrum.source.path else "spectrum"
    return f"{stem}_{spectrum.source.scan}" if spectrum.source.scan else stem


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(),
              help="Output: an .h5 file (store) or a directory (xdi/csv: one file per spectrum).")
@click.option("--to", "fmt", type=click.Choice(FORMATS), default=None,
              help="Output format (default: h5 if OUTPUT ends in .h5/.nxs, else xdi).")
@click.option("--mu", "mu_expr", default=None, metavar="EXPR", help="Expression for mu, e.g. 'ln(i0/it)'.")
@click.option("--ref", "ref_expr", default=None, metavar="EXPR", help="Expression for the reference.")
@overwrite_option
@json_option
@click.pass_context
def convert(ctx, files, output, fmt, mu_expr, ref_expr, overwrite, as_json):
    """Convert FILES to the HDF5 results store (NeXus), XDI or CSV.

    Existing outputs are never replaced unless --overwrite is given. Unreadable inputs
    are reported and skipped; the good ones are still written (exit code 1).
    """
    from naheo_spec.io import read_spectra

    debug = ctx.obj.get("debug", False) if ctx.obj else False
    out = Path(output)
    if fmt is None:
        fmt = "h5" if out.suffix.lower() in (".h5", ".hdf5", ".nxs") else "xdi"
    outcomes = run_batch(files, lambda f: read_spectra(f, mu=mu_expr, ref=ref_expr), desc="reading",
                         debug=debug)
    spectra = [s for o in outcomes if o.ok for s in o.value]
    written: list[str] = []
    if spectra:
        from naheo_spec.cli._output import unique_names
        from naheo_spec.store.atomic import check_writable

        # Two inputs may share a file name (run1/scan.xdi, run2/scan.xdi): suffix _2, _3...
        names = unique_names([_stem(s) for s in spectra])
        if fmt == "h5":
            from naheo_spec.store import spectrum_to_record, write_records

            write_records(out, [spectrum_to_record(s, name=n) for s, n in zip(spectra, names)],
                          overwrite=overwrite)
            written.append(str(out))
        else:
            from naheo_spec.io.writers import write_csv, write_xdi

            if out.exists() and not out.is_dir():
                raise click.UsageError(f"-o {out}: exists and is not a directory (xdi/csv output "
                                       "writes one file per spectrum into a folder)")
            writer = write_xdi if fmt == "xdi" else write_csv
            targets = [out / f"{n}.{fmt}" for n in names]
            for t in targets:  # refuse before writing anything
                check_writable(t, overwrite=overwrite)
            out.mkdir(parents=True, exist_ok=True)
            for s, target in zip(spectra, targets):
                writer(s, target, overwrite=overwrite)
                written.append(str(target))
    if as_json:
        print_json({"written": written, "spectra": len(spectra),
                    "failed": [{"file": o.file, "error": o.error} for o in outcomes if not o.ok],
                    "warnings": [w for o in outcomes for w in o.warnings]})
    else:
        for w in written:
            echo_err(f"wrote {w}")
    return report_failures(outcomes)
