"""``naheo-spec convert``: spectra to the HDF5 store, XDI or CSV."""
from __future__ import annotations

import re
from pathlib import Path

import click

from naheo_spec.cli._common import (echo_err, json_option, overwrite_option, print_json,
                                    report_failures, run_batch)

FORMATS = ("h5", "xdi", "csv")


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "spectrum"


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
        if fmt == "h5":
            from naheo_spec.store import spectrum_to_record, write_records

            names: set[str] = set()
            records = []
            for s in spectra:
                name = _safe_name(s.name)
                base, i = name, 1
                while name in names:
                    i += 1
                    name = f"{base}_{i}"
                names.add(name)
                records.append(spectrum_to_record(s, name=name))
            write_records(out, records, overwrite=overwrite)
            written.append(str(out))
        else:
            from naheo_spec.io.writers import write_csv, write_xdi

            writer = write_xdi if fmt == "xdi" else write_csv
            out.mkdir(parents=True, exist_ok=True)
            for s in spectra:
                target = out / f"{_safe_name(s.name)}.{fmt}"
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
